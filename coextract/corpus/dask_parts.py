"""`coextract tag --engine dask`: one Dask task per input file, each writing one part, resumable.

Each task writes `part-NNNNN.jsonl` (or `.parquet`) atomically, then records the
part's identity (its input's fingerprint, the model, the output options; see
`identity`) and counts in `_parts/`; `_SUCCESS` comes last, with every part's
counts. The parts, read in order, hold exactly what `coextract tag` writes for
the same files (given as absolute paths), because the worker reads the file with
the same readers. Every path a task gets is absolute: workers run in folders of
their own. With `--resume`, a part already complete and recorded with this run's
identity is kept, and only the rest is tagged; a part recorded by another run
is refused, as the local engine refuses.
"""

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from coextract.corpus.dask_engine import ModelFiles, connect, require_dask, worker_tagger
from coextract.corpus.engine import (
    CRASH_PARTS_ENV,
    Summary,
    TagOptions,
    crash_here_in_tests,
    in_process,
    tag_records,
)
from coextract.corpus.identity import changes, run_identity
from coextract.corpus.readers import read_records
from coextract.corpus.sinks import ResumableOutput, write_atomically
from coextract.corpus.writers import OutputFields
from coextract.errors import CoextractError

PART_FORMATS = ("jsonl", "parquet")
SUCCESS = "_SUCCESS"
PARTS_STATE = "_parts"  # beside the parts: each complete part's identity and counts


@dataclass(frozen=True)
class PartSpec:
    """One task: tag an input file into one part file."""

    input: str  # absolute, as every path a task gets: workers run in folders of their own
    output: str
    options: TagOptions
    fields: OutputFields


def tag_part(spec: PartSpec, model: ModelFiles) -> dict:
    """Tag one input file into its part (written atomically) unless resuming finds it done; return its counts."""
    options = spec.options
    identity = run_identity([spec.input], model.digest, asdict(options))
    part, record = (
        Path(spec.output),
        Path(spec.output).parent / PARTS_STATE / f"{Path(spec.output).name}.json",
    )
    if options.resume and part.exists() and record.exists():
        return recorded_counts(record, identity)
    sink = ResumableOutput(part, resume=False, overwrite=True, identity=identity)
    records = read_records(spec.input, options.text_field, options.id_field, options.input_format)
    try:
        summary = tag_records(records, in_process(worker_tagger(model), spec.fields), sink, Summary())
        sink.finish(options.output_format)
    finally:
        sink.close()
    counts = {"input": spec.input, "part": part.name, "records": summary.records, "errors": summary.errors}
    write_atomically(record, json.dumps({"identity": identity, "counts": counts}))
    return counts


def recorded_counts(record: Path, identity: dict) -> dict:
    """The counts of a part an earlier run completed, if that run was this one."""
    recorded = json.loads(record.read_text())
    if found := changes(recorded["identity"], identity):
        raise CoextractError(
            f"--resume refused: {record.name.removesuffix('.json')} was made by another run ({'; '.join(found)}); "
            "rerun it exactly as it was, or start again with --overwrite"
        )
    return recorded["counts"]


def prepare_output_dir(output_dir: Path, overwrite: bool, resume: bool) -> None:
    """An output folder to write parts into: new, emptied (--overwrite), or kept (--resume)."""
    if resume and (output_dir / SUCCESS).exists():
        raise CoextractError(f"{output_dir} is already complete ({SUCCESS} is there); nothing to resume")
    if output_dir.exists() and any(output_dir.iterdir()) and not resume:
        if not overwrite:
            raise CoextractError(
                f"{output_dir} is not empty; pass --resume to finish an interrupted run or --overwrite to replace it"
            )
        for old in output_dir.iterdir():
            if old.name == SUCCESS or old.name.startswith("part-"):
                old.unlink()
        for old in (output_dir / PARTS_STATE).glob("*"):
            old.unlink()
    (output_dir / PARTS_STATE).mkdir(parents=True, exist_ok=True)


def part_specs(
    paths: Sequence[str], output_dir: Path, options: TagOptions, relations: bool
) -> list[PartSpec]:
    """One task per input file, with its options checked for the Dask engine; `relations`: whether the
    model gives sentiments and pairs (`writers.OutputFields`)."""
    if options.output_format not in PART_FORMATS:
        raise CoextractError(
            f"the Dask engine writes {' or '.join(PART_FORMATS)} parts, not {options.output_format!r}"
        )
    if options.strict:
        raise CoextractError("--strict is for the local engine")
    if "-" in paths:
        raise CoextractError("the Dask engine reads files, not standard input")
    fields = OutputFields(text=options.include_text, file=len(paths) > 1, relations=relations)
    output_dir = output_dir.absolute()
    return [
        PartSpec(
            os.path.abspath(path), str(output_dir / f"part-{n:05d}.{options.output_format}"), options, fields
        )
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
    options = replace(options, output_format=options.output_format or "jsonl")
    shipped = ModelFiles.read(options.model)  # a wrong model fails here, before any worker starts
    specs = part_specs(paths, output_dir, options, shipped.relations)
    missing = [p for p in paths if not Path(p).is_file()]
    if missing and scheduler is None:  # on a real cluster only the workers need to see them
        raise CoextractError(f"{missing[0]}: no such file")
    prepare_output_dir(output_dir, options.overwrite, options.resume)
    distributed = require_dask()
    with connect(scheduler, options.workers, timeout) as client:
        model_future = client.scatter(shipped, broadcast=True, hash=False)
        futures = [client.submit(tag_part, spec, model_future, pure=False) for spec in specs]
        for n, future in enumerate(distributed.as_completed(futures), start=1):
            counts = future.result()  # a CoextractError from a worker (e.g. unreadable file) ends the run
            if progress is not None:
                progress.update(counts["records"])
            crash_here_in_tests(n, CRASH_PARTS_ENV)
        parts = [future.result() for future in futures]
    summary = Summary(sum(p["records"] for p in parts), sum(p["errors"] for p in parts), parts=parts)
    counts = {"records": summary.records, "errors": summary.errors, "parts": parts}
    (output_dir / SUCCESS).write_text(json.dumps(counts, indent=1) + "\n")
    summary.seconds = time.perf_counter() - started
    return summary
