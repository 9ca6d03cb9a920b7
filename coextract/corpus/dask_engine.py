"""Tag corpora larger than one machine on Dask (`pip install 'coextract[dask]'`): what both ways in share.

Two ways in, one tagging code path (`engine.tag_records` and
`engine.output_records`, as `coextract tag` uses):

- `tag_dataframe(ddf, text_column=...)` (here): a Dask DataFrame in, a Dask
  DataFrame out, one output row per input row (`id`, `error`, `aspects`, `opinions`).
- `dask_parts.tag_files_on_dask` (`coextract tag --engine dask`): one task per
  input file, each writing a part file.

The model travels with the tasks as bytes (`ModelFiles`), sent to each worker
once; a worker process loads it into onnxruntime once and keeps it (`_taggers`),
so workers need the model on no shared file system. Input files must be
readable by the workers at the same path. A worker that dies mid-task is
replaced by Dask and its tasks run again; a part appears only when complete, so
every record is written exactly once.
"""

import json
import os
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path

from coextract.corpus.engine import chunks, output_records
from coextract.corpus.readers import record_from_fields
from coextract.corpus.writers import OutputFields, columns
from coextract.errors import CoextractError
from coextract.runtime.model_files import digest_of, read_model_files
from coextract.runtime.model_folder import gives_relations
from coextract.runtime.model_names import resolve_model
from coextract.runtime.tagger import Tagger, load_files

PART_FORMATS = ("jsonl", "parquet")
SUCCESS = "_SUCCESS"


def require_dask():
    try:
        import dask.dataframe  # noqa: F401
        import distributed
    except ImportError:
        raise CoextractError("the Dask engine needs Dask: pip install 'coextract[dask]'") from None
    return distributed


@dataclass(frozen=True)
class ModelFiles:
    """An exported model as bytes, so that it can be shipped to workers without a shared disk."""

    digest: str
    files: dict[str, bytes]

    @classmethod
    def read(cls, model: str | Path) -> "ModelFiles":
        files = read_model_files(resolve_model(model))  # read once: the digest is of these bytes
        return cls(digest_of(files), files)

    @property
    def relations(self) -> bool:
        """Whether the model gives sentiments and pairs (`model_folder.gives_relations`)."""
        return gives_relations(json.loads(self.files["meta.json"]))


_taggers: dict[str, Tagger] = {}  # per worker process: model digest -> loaded tagger


def worker_tagger(model: ModelFiles) -> Tagger:
    """The tagger for `model` in this process, loaded the first time only."""
    if model.digest not in _taggers:
        _taggers[model.digest] = load_files(model.files, threads=1)
    return _taggers[model.digest]


def tag_partition(
    frame, text_column: str, id_column: str | None, model: ModelFiles, include_text: bool, partition_info=None
):
    """Tag one pandas partition: one output row per input row, bad rows with an `error`."""
    import pandas as pd

    source = f"partition {partition_info['number'] if partition_info else 0}"
    frame = frame.astype(object).where(frame.notna(), None)  # NaN and NA are missing text, as None
    records = [
        record_from_fields(source, row, obj, text_column, id_column)
        for row, obj in enumerate(frame.to_dict("records"), start=1)
    ]
    if id_column is None:  # the index label is the id
        records = [replace(record, id=label) for record, label in zip(records, frame.index, strict=True)]
    tagger = worker_tagger(model)
    fields = OutputFields(text=include_text, relations=tagger.relations)
    rows = chain.from_iterable(output_records(chunk, tagger, fields) for chunk in chunks(records))
    return pd.DataFrame([{"error": None, **row} for row in rows], columns=columns(fields), index=frame.index)


def tag_dataframe(
    ddf,
    text_column: str = "text",
    id_column: str | None = None,
    model: str | Path = "restaurant",
    include_text: bool = False,
):
    """Tag a Dask DataFrame of reviews; returns a lazy Dask DataFrame with one row per input row.

    Columns: `id` (the `id_column` value, else the row's index label),
    `error` (None, or what was wrong with the row), `aspects` and `opinions`
    (lists of {text, start, end, score}, an aspect with its sentiment where the model gives
    one), `pairs` where the model gives them, and `text` with `include_text`: the record of
    `coextract tag` (`writers.output_record`).
    """
    require_dask()
    import dask
    import pandas as pd

    if text_column not in ddf.columns:
        raise CoextractError(
            f"no column {text_column!r} in the DataFrame ({', '.join(map(str, ddf.columns))})"
        )
    files = ModelFiles.read(model)
    shipped = dask.delayed(files, pure=True)  # one graph key: sent once per worker
    fields = OutputFields(text=include_text, relations=files.relations)
    meta = pd.DataFrame({column: pd.Series(dtype=object) for column in columns(fields)})
    return ddf.map_partitions(
        tag_partition, text_column, id_column, shipped, include_text, meta=meta, enforce_metadata=False
    )


def connect(scheduler: str | None, workers: int | None, timeout: float = 10.0):
    """A Dask client: to `scheduler` if given (failing within `timeout` seconds), else a LocalCluster."""
    distributed = require_dask()
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, dashboard_address=None
        )
        return distributed.Client(cluster)
    try:
        return distributed.Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as err:
        raise CoextractError(
            f"cannot reach the Dask scheduler at {scheduler} within {timeout:.0f} s ({err}); "
            "check the address and that `dask scheduler` is running"
        ) from None
