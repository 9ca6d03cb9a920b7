"""Tag whole review corpora: the loop every engine runs, and the local engine.

`tag_records` is the loop: records (`readers`) are cut into chunks of `CHUNK`,
each chunk is tagged (in this process, on worker processes, or inside a Dask
task) and written to an output (`writers`) in input order, with a `Summary` of
what was done. `tag_files` is the local engine of `coextract tag`: it reads the
input files, tags chunks on `workers` processes (each with its own onnxruntime
session, at most `2 * workers` chunks in flight, so memory stays flat) and
writes one JSON line per input record, resumable after a crash.

For tests, `COEXTRACT_CRASH_AFTER_CHUNKS=N:MARKER` makes the process that writes
the output kill itself (SIGKILL) right after its N-th chunk, once: the marker
file is created first, and a run that finds it does not crash. A crash at a
known point replaces tests that raced a running process.
"""

import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from itertools import chain, islice
from pathlib import Path

from coextract.corpus.identity import run_identity
from coextract.corpus.readers import Record, read_records
from coextract.corpus.workers import ordered_map, resident_tagger
from coextract.corpus.writers import json_line, open_output, output_format_of, output_record
from coextract.errors import CoextractError
from coextract.runtime.model_folder import model_digest, resolve_model
from coextract.runtime.sizes import CHUNK, MODEL_BATCH
from coextract.runtime.tagger import Tagger

CRASH_ENV = "COEXTRACT_CRASH_AFTER_CHUNKS"

Chunk = list[Record]
Tagged = Iterator[tuple[Chunk, list[str]]]  # each chunk with its output lines


@dataclass(frozen=True)
class TagOptions:
    """Every option of `coextract tag` but its inputs and output, as both engines take them."""

    model: str = "restaurant"
    text_field: str = "text"
    id_field: str | None = None
    input_format: str | None = None
    output_format: str | None = None  # jsonl, csv or parquet; default from the output's name
    include_text: bool = False
    workers: int | None = None  # processes; default all cores
    resume: bool = False
    overwrite: bool = False
    strict: bool = False


@dataclass
class Summary:
    """What a run did; `parts` lists each Dask part's counts."""

    records: int = 0
    errors: int = 0
    seconds: float = 0.0
    parts: list[dict] = field(default_factory=list)

    def line(self) -> str:
        rate = self.records / self.seconds if self.seconds else 0.0
        return f"{self.records} records, {self.errors} errors, {self.seconds:.1f} s, {rate:,.0f} reviews/s"


def output_records(records: Sequence[Record], tagger: Tagger, include_text: bool) -> list[dict]:
    """The output objects of a chunk of records, the good ones tagged in one go."""
    good = [r.text for r in records if r.error is None]
    extractions = iter(tagger.tag_batch(good, batch_size=MODEL_BATCH))
    return [output_record(r, next(extractions) if r.error is None else None, include_text) for r in records]


def tag_chunk(records: Sequence[Record], tagger: Tagger, include_text: bool) -> list[str]:
    """JSON lines for a chunk of records."""
    return [json_line(out) for out in output_records(records, tagger, include_text)]


def chunks(records: Iterable[Record], size: int = CHUNK) -> Iterator[Chunk]:
    records = iter(records)
    while chunk := list(islice(records, size)):
        yield chunk


def in_process(tagger: Tagger, include_text: bool) -> Callable[[Iterable[Chunk]], Tagged]:
    """Tag chunks in this process, one after the other."""
    return lambda chunked: ((chunk, tag_chunk(chunk, tagger, include_text)) for chunk in chunked)


def on_workers(model: str, workers: int, include_text: bool) -> Callable[[Iterable[Chunk]], Tagged]:
    """Tag chunks on `workers` processes, each holding a tagger of `model`, in order."""
    return lambda chunked: ordered_map(partial(tag_chunk, include_text=include_text), chunked, workers, model)


def tag_records(
    records: Iterable[Record], tag: Callable[[Iterable[Chunk]], Tagged], sink, summary: Summary, progress=None
) -> Summary:
    """Tag `records` chunk by chunk with `tag` and write each chunk to `sink`, in order, counting."""
    for n, (chunk, lines) in enumerate(tag(chunks(records)), start=1):
        errors = sum(r.error is not None for r in chunk)
        sink.write(lines, len(chunk), errors)
        summary.records += len(chunk)
        summary.errors += errors
        if progress is not None:
            progress.update(len(chunk))
        crash_here_in_tests(n)
    return summary


def crash_here_in_tests(n_chunks: int) -> None:
    """The test hook of the module docstring."""
    after, _, marker = os.environ.get(CRASH_ENV, "").partition(":")
    if after and int(after) == n_chunks and not Path(marker).exists():
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)


def all_records(paths: Sequence[str], options: TagOptions) -> Iterator[Record]:
    readers = (read_records(p, options.text_field, options.id_field, options.input_format) for p in paths)
    return chain.from_iterable(readers)


def fail_on_error(record: Record) -> Record:
    if record.error is not None:
        raise CoextractError(f"{record.error} (--strict stops at the first bad record)")
    return record


def tag_files(paths: Sequence[str], output: str, options: TagOptions, progress=None) -> Summary:
    """Tag every record of `paths` into `output` (a file path, or `-`); see the module docstring."""
    workers = options.workers or os.cpu_count() or 1
    output_format = output_format_of(output, options.output_format)
    model = model_digest(resolve_model(options.model))  # an unknown model fails here; a broken one in a task
    sink = open_output(output, options.resume, options.overwrite, run_identity(paths, model, asdict(options)))
    records = islice(all_records(paths, options), sink.done, None)
    if options.strict:
        records = map(fail_on_error, records)
    summary, started = Summary(records=sink.done, errors=sink.errors), time.perf_counter()
    if progress is not None:
        progress.update(sink.done)
    try:
        if workers == 1:
            tag = in_process(resident_tagger(options.model, threads=None), options.include_text)
        else:
            tag = on_workers(options.model, workers, options.include_text)
        tag_records(records, tag, sink, summary, progress)
        sink.finish(output_format)
    finally:
        sink.close()
        summary.seconds = time.perf_counter() - started
    return summary
