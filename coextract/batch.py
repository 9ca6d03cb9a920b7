"""Tag whole review corpora: stream, use every core, keep order, survive crashes.

Output is JSON Lines, or CSV or parquet (converted from the finished JSON Lines,
so the crash-safe part of the run is the same for every format).

`tag_files` reads records (`readers`), tags them in chunks on worker processes
(each with its own onnxruntime session), and writes one JSON line per input
record, in input order. Memory stays flat: at most `2 * workers` chunks are in
flight at any time.

Crash safety: output goes to `OUT.partial`; after every chunk is written and
flushed to disk, `OUT.partial.state` records how many input records and bytes
are done (written atomically). `--resume` truncates the partial file to the last
recorded size, skips that many input records and carries on, so every record
appears exactly once, whatever killed the run (Ctrl-C, SIGTERM, kill -9). The
finished file is renamed into place at the end: `OUT` never looks complete
when it is not.
"""

import csv
import ctypes
import gc
import json
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from itertools import chain, islice
from pathlib import Path

from coextract.errors import CoextractError
from coextract.readers import Record, read_records
from coextract.runtime import Extraction, Tagger, load, read_meta, resolve_model

CHUNK = 512  # records per task sent to a worker
# Sentences per model batch. The tagger runs a batch as calls of at most 32 sentences
# (`runtime.PART_ROWS`) and caps its padded tokens (`predict.TOKENS_PER_ROW`); a batch of 64
# keeps the largest call, and so each worker's peak memory, as small as the common ones.
MODEL_BATCH = 64


@dataclass
class Summary:
    records: int = 0
    errors: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.records / self.seconds if self.seconds else 0.0
        return f"{self.records} records, {self.errors} errors, {self.seconds:.1f} s, {rate:,.0f} reviews/s"


def output_record(record: Record, extraction: Extraction | None, include_text: bool) -> dict:
    """The JSON object written for one input record."""
    out = {"id": record.id}
    if include_text:
        out["text"] = record.text
    if record.error is not None:
        out["error"] = record.error
        out["aspects"], out["opinions"] = [], []
        return out
    out["aspects"] = [span_dict(s) for s in extraction.aspects]
    out["opinions"] = [span_dict(s) for s in extraction.opinions]
    return out


def span_dict(span) -> dict:
    return {"text": span.text, "start": span.start, "end": span.end, "score": span.score}


_worker_tagger: Tagger | None = None


def _init_worker(model: str) -> None:
    global _worker_tagger
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    end_with_parent()
    hide_torch()
    _worker_tagger = resident_tagger(model, threads=1)


def resident_tagger(model: str, threads: int | None) -> Tagger:
    """A tagger with its spaCy pipeline loaded, for a process that tags until it ends.

    The model and the pipeline live as long as the process, so they are taken
    out of the garbage collector's rounds (`gc.freeze`): re-examining their
    objects each time tagging allocates cost about 7 % of the CPU time.
    """
    tagger = load(model, threads=threads)
    tagger("Warm up.")  # loads the spaCy pipeline now, so that it is frozen too
    gc.freeze()
    return tagger


def hide_torch() -> None:
    """Stop spaCy's thinc from importing torch in a process that only tags.

    Tagging never uses torch, but where the [train] extra is installed thinc
    imports it with spaCy, which costs about 180 MB per process. Only for
    processes coextract owns (the CLI, its workers): afterwards `import torch` fails.
    """
    sys.modules.setdefault("torch", None)


def end_with_parent() -> None:
    """Ask Linux to end this worker when its parent dies (even by kill -9); elsewhere a no-op."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def output_records(records: Sequence[Record], include_text: bool, tagger: Tagger | None = None) -> list[dict]:
    """The output objects for a chunk of records (run in a worker, or in-process with `tagger`)."""
    tagger = tagger or _worker_tagger
    good = [r for r in records if r.error is None]
    extractions = iter(tagger.pipe([r.text for r in good], batch_size=MODEL_BATCH))
    return [output_record(r, next(extractions) if r.error is None else None, include_text) for r in records]


def tag_chunk(records: Sequence[Record], include_text: bool, tagger: Tagger | None = None) -> list[str]:
    """JSON lines for a chunk of records."""
    return [
        json.dumps(out, ensure_ascii=False) + "\n" for out in output_records(records, include_text, tagger)
    ]


def chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    records = iter(records)
    while chunk := list(islice(records, size)):
        yield chunk


def ordered_map(function, items: Iterable, workers: int, model: str) -> Iterator[tuple]:
    """(item, function(item)) on worker processes, in input order, at most 2 * workers items in flight."""
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(model,)) as pool:
        pending: deque[tuple] = deque()
        for item in items:
            pending.append((item, pool.submit(function, item)))
            if len(pending) >= 2 * workers:
                item, future = pending.popleft()
                yield item, future.result()
        while pending:
            item, future = pending.popleft()
            yield item, future.result()


class ResumableOutput:
    """Appends chunks to OUT.partial, records progress after each, renames to OUT when done."""

    def __init__(self, path: Path, resume: bool, overwrite: bool, inputs: Sequence[str]) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.state_path = path.with_name(path.name + ".partial.state")
        self.inputs = list(inputs)
        if path.exists() and not (overwrite or resume):
            raise CoextractError(
                f"{path} exists; pass --overwrite to replace it or --resume to continue a run"
            )
        self.done, self.errors, size = 0, 0, 0
        if resume and self.state_path.exists():
            state = json.loads(self.state_path.read_text())
            if state["inputs"] != self.inputs:
                raise CoextractError(
                    f"{self.state_path}: was made for inputs {state['inputs']}, not {self.inputs}"
                )
            self.done, self.errors, size = state["records"], state["errors"], state["bytes"]
        elif resume and path.exists():
            raise CoextractError(f"{path} is already complete; nothing to resume")
        self.file = open(self.partial, "r+b" if size else "wb")  # noqa: SIM115 (closed in finish/close)
        self.file.truncate(size)
        self.file.seek(size)

    def write(self, lines: Sequence[str], n_records: int, n_errors: int) -> None:
        self.file.write("".join(lines).encode("utf-8"))
        self.file.flush()
        os.fsync(self.file.fileno())
        self.done += n_records
        self.errors += n_errors
        state = {
            "inputs": self.inputs,
            "records": self.done,
            "errors": self.errors,
            "bytes": self.file.tell(),
        }
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        temporary.write_text(json.dumps(state))
        os.replace(temporary, self.state_path)

    def finish(self, output_format: str = "jsonl") -> None:
        """Move the complete output into place, converted from JSON Lines if asked."""
        self.file.close()
        if output_format == "jsonl":
            os.replace(self.partial, self.path)
        else:
            converted = self.path.with_name(self.path.name + ".converting")
            CONVERTERS[output_format](self.partial, converted)
            os.replace(converted, self.path)
            self.partial.unlink()
        self.state_path.unlink(missing_ok=True)

    def close(self) -> None:
        self.file.close()


class StdoutOutput:
    """Output to standard output: streamed, not resumable."""

    done = errors = 0

    def write(self, lines: Sequence[str], n_records: int, n_errors: int) -> None:
        sys.stdout.write("".join(lines))
        sys.stdout.flush()

    def finish(self, output_format: str = "jsonl") -> None:
        pass

    def close(self) -> None:
        pass


def json_lines(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def to_csv(source: Path, target: Path) -> None:
    """id, text (if present), error, and the span lists as JSON strings, one row per record."""
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = None
        for record in json_lines(source):
            if writer is None:
                columns = ["id", *(["text"] if "text" in record else []), "error", "aspects", "opinions"]
                writer = csv.DictWriter(out, columns)
                writer.writeheader()
            row = {
                **record,
                "aspects": json.dumps(record["aspects"]),
                "opinions": json.dumps(record["opinions"]),
            }
            writer.writerow({column: row.get(column, "") for column in writer.fieldnames})


def to_parquet(source: Path, target: Path, rows_per_group: int = 10_000) -> None:
    """The same records as a parquet table; spans as lists of structs. Needs pyarrow."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise CoextractError("--format parquet needs pyarrow: pip install 'coextract[parquet]'") from None
    span = pa.list_(
        pa.struct(
            [("text", pa.string()), ("start", pa.int64()), ("end", pa.int64()), ("score", pa.float64())]
        )
    )
    records = json_lines(source)
    writer = None
    while batch := list(islice(records, rows_per_group)):
        if writer is None:
            fields = [("id", pa.string()), *([("text", pa.string())] if "text" in batch[0] else []),
                      ("error", pa.string()), ("aspects", span), ("opinions", span)]  # fmt: skip
            writer = pq.ParquetWriter(target, pa.schema(fields))
        for record in batch:
            record["id"] = None if record["id"] is None else str(record["id"])
            record.setdefault("error", None)
        writer.write_table(pa.Table.from_pylist(batch, schema=writer.schema))
    if writer is None:
        pq.write_table(pa.table({"id": pa.array([], pa.string())}), target)
    else:
        writer.close()


CONVERTERS = {"csv": to_csv, "parquet": to_parquet}
OUTPUT_FORMATS = ("jsonl", *CONVERTERS)


def output_format_of(output: str, given: str | None) -> str:
    """The output format: `given`, else from the output's name (.csv, .parquet), else jsonl."""
    if given:
        if given not in OUTPUT_FORMATS:
            raise CoextractError(f"unknown output format {given!r} (one of {', '.join(OUTPUT_FORMATS)})")
        chosen = given
    else:
        chosen = {".csv": "csv", ".parquet": "parquet"}.get(Path(output).suffix.lower(), "jsonl")
    if output == "-" and chosen != "jsonl":
        raise CoextractError("standard output takes JSON Lines only; name an output file for csv or parquet")
    return chosen


def all_records(paths: Sequence[str], text_field: str, id_field: str | None, input_format: str | None):
    return chain.from_iterable(read_records(p, text_field, id_field, input_format) for p in paths)


def tag_files(
    paths: Sequence[str],
    output: str,
    model: str = "restaurant",
    text_field: str = "text",
    id_field: str | None = None,
    input_format: str | None = None,
    workers: int | None = None,
    include_text: bool = False,
    output_format: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    strict: bool = False,
    progress=None,
) -> Summary:
    """Tag every record of `paths` into `output` (a JSONL path, or `-`); see the module docstring."""
    workers = workers or os.cpu_count() or 1
    output_format = output_format_of(output, output_format)
    read_meta(resolve_model(model))  # a wrong model fails here, clearly, not inside a worker
    sink = StdoutOutput() if output == "-" else ResumableOutput(Path(output), resume, overwrite, paths)
    records = islice(all_records(paths, text_field, id_field, input_format), sink.done, None)
    if strict:
        records = map(fail_on_error, records)
    summary, started = Summary(records=sink.done, errors=sink.errors), time.perf_counter()
    if progress is not None:
        progress.update(sink.done)
    try:
        if workers == 1:
            tagger = resident_tagger(model, threads=None)
            batches = ((chunk, tag_chunk(chunk, include_text, tagger)) for chunk in chunks(records, CHUNK))
        else:
            job = partial(tag_chunk, include_text=include_text)
            batches = ordered_map(job, chunks(records, CHUNK), workers, model)
        write_batches(sink, batches, summary, progress)
        sink.finish(output_format)
    finally:
        sink.close()
        summary.seconds = time.perf_counter() - started
    return summary


def write_batches(
    sink, batches: Iterable[tuple[list[Record], list[str]]], summary: Summary, progress=None
) -> None:
    """Write each tagged chunk (records, their JSON lines) to `sink`, counting records and errors."""
    for chunk, lines in batches:
        errors = sum(r.error is not None for r in chunk)
        sink.write(lines, len(chunk), errors)
        summary.records += len(chunk)
        summary.errors += errors
        if progress is not None:
            progress.update(len(chunk))


def fail_on_error(record: Record) -> Record:
    if record.error is not None:
        raise CoextractError(f"{record.error} (--strict stops at the first bad record)")
    return record
