"""Tag corpora larger than one machine on Dask (`pip install 'coextract[dask]'`).

Two ways in, one tagging code path (`engine.tag_records` and
`engine.output_records`, as `coextract tag` uses):

- `tag_dataframe(ddf, text_column=...)`: a Dask DataFrame in, a Dask DataFrame
  out, one output row per input row (`id`, `error`, `aspects`, `opinions`).
- `tag_files_on_dask(paths, output_dir, options)` (`coextract tag --engine dask`):
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
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from itertools import chain
from pathlib import Path

from coextract.corpus.engine import Summary, TagOptions, chunks, in_process, output_records, tag_records
from coextract.corpus.identity import run_identity
from coextract.corpus.readers import read_records, record_from_fields
from coextract.corpus.writers import ResumableOutput, columns
from coextract.errors import CoextractError
from coextract.runtime.model_folder import MODEL_FILES, model_digest, resolve_model
from coextract.runtime.tagger import Tagger, load

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
        digest = model_digest(folder)
        return cls(digest, {name: (folder / name).read_bytes() for name in MODEL_FILES})


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
    rows = chain.from_iterable(output_records(chunk, tagger, include_text) for chunk in chunks(records))
    return pd.DataFrame(
        [{"error": None, **row} for row in rows], columns=columns(include_text), index=frame.index
    )


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
    meta = pd.DataFrame({column: pd.Series(dtype=object) for column in columns(include_text)})
    return ddf.map_partitions(
        tag_partition, text_column, id_column, shipped, include_text, meta=meta, enforce_metadata=False
    )


@dataclass(frozen=True)
class PartSpec:
    """One task: tag an input file into one part file."""

    input: str
    output: str
    options: TagOptions


def tag_part(spec: PartSpec, model: ModelFiles) -> dict:
    """Tag one input file into its part (written atomically); return its counts."""
    options = spec.options
    identity = run_identity([spec.input], model.digest, asdict(options))
    sink = ResumableOutput(Path(spec.output), resume=False, overwrite=True, identity=identity)
    records = read_records(spec.input, options.text_field, options.id_field, options.input_format)
    try:
        summary = tag_records(
            records, in_process(worker_tagger(model), options.include_text), sink, Summary()
        )
        sink.finish(options.output_format)
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


def part_specs(paths: Sequence[str], output_dir: Path, options: TagOptions) -> list[PartSpec]:
    """One task per input file, with its options checked for the Dask engine."""
    if options.output_format not in PART_FORMATS:
        raise CoextractError(
            f"the Dask engine writes {' or '.join(PART_FORMATS)} parts, not {options.output_format!r}"
        )
    if options.resume or options.strict:
        raise CoextractError("--resume and --strict are for the local engine")
    if "-" in paths:
        raise CoextractError("the Dask engine reads files, not standard input")
    return [
        PartSpec(path, str(output_dir / f"part-{n:05d}.{options.output_format}"), options)
        for n, path in enumerate(paths)
    ]


def tag_files_on_dask(
    paths: Sequence[str],
    output_dir: str | Path,
    options: TagOptions,
    scheduler: str | None = None,
    timeout: float = 10.0,
    progress=None,
) -> Summary:
    """Tag each input file into `output_dir/part-NNNNN.<format>` on Dask; `_SUCCESS` holds the counts."""
    started, output_dir = time.perf_counter(), Path(output_dir)
    specs = part_specs(paths, output_dir, replace(options, output_format=options.output_format or "jsonl"))
    missing = [p for p in paths if not Path(p).is_file()]
    if missing and scheduler is None:  # on a real cluster only the workers need to see them
        raise CoextractError(f"{missing[0]}: no such file")
    shipped = ModelFiles.read(options.model)  # a wrong model fails here, before any worker starts
    prepare_output_dir(output_dir, options.overwrite)
    distributed = require_dask()
    with connect(scheduler, options.workers, timeout) as client:
        model_future = client.scatter(shipped, broadcast=True, hash=False)
        futures = [client.submit(tag_part, spec, model_future, pure=False) for spec in specs]
        for future in distributed.as_completed(futures):
            counts = future.result()  # a CoextractError from a worker (e.g. unreadable file) ends the run
            if progress is not None:
                progress.update(counts["records"])
        parts = [future.result() for future in futures]
    summary = Summary(sum(p["records"] for p in parts), sum(p["errors"] for p in parts), parts=parts)
    counts = {"records": summary.records, "errors": summary.errors, "parts": parts}
    (output_dir / SUCCESS).write_text(json.dumps(counts, indent=1) + "\n")
    summary.seconds = time.perf_counter() - started
    return summary
