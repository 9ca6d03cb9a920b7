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
file is created first, and a run that finds it does not crash; likewise
`COEXTRACT_CRASH_AFTER_PARTS=N:MARKER` for the Dask client after N parts. A crash
at a known point replaces tests that raced a running process.
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
from coextract.corpus.preflight import check_inputs, check_output_file, check_workers
from coextract.corpus.readers import Record, read_records
from coextract.corpus.sinks import open_output
from coextract.corpus.workers import ordered_map, resident_tagger
from coextract.corpus.writers import OutputFields, json_line, output_format_of, output_record
from coextract.errors import CoextractError
from coextract.runtime.model_files import model_digest
from coextract.runtime.model_folder import gives_relations, read_meta
from coextract.runtime.model_names import resolve_model
from coextract.runtime.sizes import CHUNK, MODEL_BATCH
from coextract.runtime.tagger import Tagger

CRASH_ENV = "COEXTRACT_CRASH_AFTER_CHUNKS"
CRASH_PARTS_ENV = "COEXTRACT_CRASH_AFTER_PARTS"

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
    resumed: int = 0  # of `records`, those an interrupted run had written (not tagged in `seconds`)

    def line(self) -> str:
        tagged = self.records - self.resumed
        rate = tagged / self.seconds if self.seconds else 0.0
        earlier = f" ({self.resumed} from the interrupted run)" if self.resumed else ""
        shown = f"{rate:,.0f}" if rate >= 10 else f"{rate:.2g}"  # a short run's 0.2/s is not "0/s"
        return (
            f"{self.records} records{earlier}, {self.errors} errors, {self.seconds:.1f} s, {shown} reviews/s"
        )


def output_records(records: Sequence[Record], tagger: Tagger, fields: OutputFields) -> list[dict]:
    """The output objects of a chunk of records, the good ones tagged in one go."""
    good = [r.text for r in records if r.error is None]
    extractions = iter(tagger.tag_batch(good, batch_size=MODEL_BATCH))
    return [output_record(r, next(extractions) if r.error is None else None, fields) for r in records]


def tag_chunk(records: Sequence[Record], tagger: Tagger, fields: OutputFields) -> list[str]:
    """JSON lines for a chunk of records."""
    return [json_line(out) for out in output_records(records, tagger, fields)]


def chunks(records: Iterable[Record], size: int = CHUNK) -> Iterator[Chunk]:
    records = iter(records)
    while chunk := list(islice(records, size)):
        yield chunk


def in_process(tagger: Tagger, fields: OutputFields) -> Callable[[Iterable[Chunk]], Tagged]:
    """Tag chunks in this process, one after the other."""
    return lambda chunked: ((chunk, tag_chunk(chunk, tagger, fields)) for chunk in chunked)


def on_workers(model: str, workers: int, fields: OutputFields) -> Callable[[Iterable[Chunk]], Tagged]:
    """Tag chunks on `workers` processes, each holding a tagger of `model`, in order."""
    return lambda chunked: ordered_map(partial(tag_chunk, fields=fields), chunked, workers, model)


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


def crash_here_in_tests(n_done: int, variable: str = CRASH_ENV) -> None:
    """The test hook of the module docstring (`CRASH_PARTS_ENV`: the Dask client, after N parts)."""
    after, _, marker = os.environ.get(variable, "").partition(":")
    if after and int(after) == n_done and not Path(marker).exists():
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)


def all_records(paths: Sequence[str], options: TagOptions) -> Iterator[Record]:
    readers = (read_records(p, options.text_field, options.id_field, options.input_format) for p in paths)
    return chain.from_iterable(readers)


class UnfinishableRun(CoextractError):
    """An input that cannot be read past a point (a .gz cut short, broken XML, --strict's bad record)."""


def unfinishable_on_error(records: Iterable[Record]) -> Iterator[Record]:
    """`records`, with an input's error mid-run raised as `UnfinishableRun`: the same run, resumed,
    would stop at the same place, so its partial output is of no use (`tag_files` removes it)."""
    try:
        yield from records
    except CoextractError as err:
        raise UnfinishableRun(str(err)) from None


def fail_on_error(record: Record) -> Record:
    if record.error is not None:
        raise CoextractError(f"{record.error} (--strict stops at the first bad record)")
    return record


def tag_files(paths: Sequence[str], output: str, options: TagOptions, progress=None) -> Summary:
    """Tag every record of `paths` into `output` (a file path, or `-`); see the module docstring.

    Everything that can be checked before tagging is (`preflight`), so a run that
    fails to start leaves no output behind; a run that stops before it tagged a
    record removes its partial output too.
    """
    workers = check_workers(options.workers)
    output_format = output_format_of(output, options.output_format)
    check_output_file(output, paths)
    check_inputs(paths, options.text_field, options.id_field, options.input_format)
    folder = resolve_model(options.model)  # an unknown model fails here; a broken one in a task
    model, relations = model_digest(folder), gives_relations(read_meta(folder))
    sink = open_output(output, options.resume, options.overwrite, run_identity(paths, model, asdict(options)))
    records = islice(all_records(paths, options), sink.done, None)
    if options.strict:
        records = map(fail_on_error, records)
    records = unfinishable_on_error(records)
    summary, started = Summary(records=sink.done, errors=sink.errors, resumed=sink.done), time.perf_counter()
    if progress is not None:
        progress.update(sink.done)
    fields = OutputFields(text=options.include_text, file=len(paths) > 1, relations=relations)
    try:
        if workers == 1:
            tag = in_process(resident_tagger(options.model, threads=None), fields)
        else:
            tag = on_workers(options.model, workers, fields)
        tag_records(records, tag, sink, summary, progress)
        sink.finish(output_format)
    except UnfinishableRun as err:
        sink.discard()
        raise CoextractError(
            f"{err}; the partial output was removed: --resume would stop here again"
        ) from None
    except BaseException:
        sink.discard_if_empty()
        raise
    finally:
        sink.close()
        summary.seconds = time.perf_counter() - started
    return summary
