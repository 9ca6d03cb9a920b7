"""Tag corpora larger than one machine on Dask (`pip install 'coextract[dask]'`).

Two ways in, one tagging code path (`batch.tag_chunk`, as `coextract tag` uses):

- `tag_dataframe(ddf, text_column=...)`: a Dask DataFrame in, a Dask DataFrame
  out, one output row per input row (`id`, `error`, `aspects`, `opinions`).
- `tag_files_on_dask(paths, output_dir, ...)` (`coextract tag --engine dask`):
  one task per input file, each writing `part-NNNNN.jsonl` (or `.parquet`)
  atomically, then a `_SUCCESS` marker with the record and error counts. The
  parts, read in order, hold exactly what `coextract tag` writes for the same
  files, because the worker reads the file with the same readers.

The model travels with the tasks as bytes (`ModelFiles`), sent to each worker
once; a worker process loads it into onnxruntime once and keeps it (`_taggers`),
so workers need the model on no shared file system. Input files must be
readable by the workers at the same path. A worker that dies mid-task is
replaced by Dask and its tasks run again; a part appears only when complete, so
every record is written exactly once.
"""

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from hashlib import sha256
from itertools import chain
from pathlib import Path

from coextract.batch import CHUNK, ResumableOutput, Summary, chunks, output_records, tag_chunk, write_batches
from coextract.errors import CoextractError
from coextract.readers import read_records, record_from_fields
from coextract.runtime import Tagger, load, resolve_model

MODEL_FILES = ("model.onnx", "meta.json")
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
        folder = resolve_model(model)
        files = {name: (folder / name).read_bytes() for name in MODEL_FILES}
        digest = sha256(b"".join(files[name] for name in MODEL_FILES)).hexdigest()
        return cls(digest, files)


_taggers: dict[str, Tagger] = {}  # per worker process: model digest -> loaded tagger


def worker_tagger(model: ModelFiles) -> Tagger:
    """The tagger for `model` in this process, loaded the first time only."""
    if model.digest not in _taggers:
        folder = Path(tempfile.mkdtemp(prefix=f"coextract-{model.digest[:12]}-"))
        for name, data in model.files.items():
            (folder / name).write_bytes(data)
        _taggers[model.digest] = load(folder, threads=1)
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
    rows = chain.from_iterable(
        output_records(chunk, include_text, tagger) for chunk in chunks(records, CHUNK)
    )
    return pd.DataFrame(
        [{"error": None, **row} for row in rows], columns=output_columns(include_text), index=frame.index
    )


def output_columns(include_text: bool) -> list[str]:
    return ["id", *(["text"] if include_text else []), "error", "aspects", "opinions"]


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
    (lists of {text, start, end, score}), and `text` with `include_text`.
    """
    require_dask()
    import dask
    import pandas as pd

    if text_column not in ddf.columns:
        raise CoextractError(
            f"no column {text_column!r} in the DataFrame ({', '.join(map(str, ddf.columns))})"
        )
    shipped = dask.delayed(ModelFiles.read(model), pure=True)  # one graph key: sent once per worker
    meta = pd.DataFrame({column: pd.Series(dtype=object) for column in output_columns(include_text)})
    return ddf.map_partitions(
        tag_partition, text_column, id_column, shipped, include_text, meta=meta, enforce_metadata=False
    )


@dataclass(frozen=True)
class PartSpec:
    """One task: tag an input file into one part file."""

    input: str
    output: str
    text_field: str
    id_field: str | None
    input_format: str | None
    include_text: bool
    output_format: str


def tag_part(spec: PartSpec, model: ModelFiles) -> dict:
    """Tag one input file into its part (written atomically); return its counts."""
    tagger = worker_tagger(model)
    sink = ResumableOutput(Path(spec.output), resume=False, overwrite=True, inputs=[spec.input])
    records = read_records(spec.input, spec.text_field, spec.id_field, spec.input_format)
    summary = Summary()
    try:
        batches = ((chunk, tag_chunk(chunk, spec.include_text, tagger)) for chunk in chunks(records, CHUNK))
        write_batches(sink, batches, summary)
        sink.finish(spec.output_format)
    finally:
        sink.close()
    return {
        "input": spec.input,
        "part": Path(spec.output).name,
        "records": summary.records,
        "errors": summary.errors,
    }


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


def prepare_output_dir(output_dir: Path, overwrite: bool) -> None:
    if output_dir.exists() and any(output_dir.iterdir()):
        if not overwrite:
            raise CoextractError(f"{output_dir} is not empty; pass --overwrite to replace its parts")
        for old in output_dir.iterdir():
            if old.name == SUCCESS or old.name.startswith("part-"):
                old.unlink()
    output_dir.mkdir(parents=True, exist_ok=True)


def tag_files_on_dask(
    paths: Sequence[str],
    output_dir: str | Path,
    model: str = "restaurant",
    text_field: str = "text",
    id_field: str | None = None,
    input_format: str | None = None,
    include_text: bool = False,
    output_format: str | None = None,
    overwrite: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    timeout: float = 10.0,
    progress=None,
) -> dict:
    """Tag each input file into `output_dir/part-NNNNN.<format>` on Dask; return the `_SUCCESS` counts."""
    output_format = output_format or "jsonl"
    if output_format not in PART_FORMATS:
        raise CoextractError(
            f"the Dask engine writes {' or '.join(PART_FORMATS)} parts, not {output_format!r}"
        )
    if "-" in paths:
        raise CoextractError("the Dask engine reads files, not standard input")
    missing = [p for p in paths if not Path(p).is_file()]
    if missing and scheduler is None:  # on a real cluster only the workers need to see them
        raise CoextractError(f"{missing[0]}: no such file")
    output_dir = Path(output_dir)
    shipped = ModelFiles.read(model)  # a wrong model fails here, before any worker starts
    prepare_output_dir(output_dir, overwrite)
    specs = [
        PartSpec(
            path,
            str(output_dir / f"part-{n:05d}.{output_format}"),
            text_field,
            id_field,
            input_format,
            include_text,
            output_format,
        )  # fmt: skip
        for n, path in enumerate(paths)
    ]
    distributed = require_dask()
    with connect(scheduler, workers, timeout) as client:
        model_future = client.scatter(shipped, broadcast=True, hash=False)
        futures = [client.submit(tag_part, spec, model_future, pure=False) for spec in specs]
        for future in distributed.as_completed(futures):
            counts = future.result()  # a CoextractError from a worker (e.g. unreadable file) ends the run
            if progress is not None:
                progress.update(counts["records"])
        parts = [future.result() for future in futures]
    summary = {
        "records": sum(p["records"] for p in parts),
        "errors": sum(p["errors"] for p in parts),
        "parts": parts,
    }
    (output_dir / SUCCESS).write_text(json.dumps(summary, indent=1) + "\n")
    return summary
