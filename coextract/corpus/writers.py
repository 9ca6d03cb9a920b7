"""What `coextract tag` writes: the output schema, and files that are never half-written.

The schema is defined once here: `output_record` is the JSON object of one input
record, `columns` its fields in order, and CSV and parquet outputs (and the Dask
engine's DataFrames) take their columns from it. CSV and parquet are converted
from the finished JSON Lines, so the crash-safe part of a run is the same for
every format.

Crash safety (`ResumableOutput`): output goes to `OUT.partial`; after every chunk
is written and flushed to disk, `OUT.partial.state` records how many input
records and bytes are done (written atomically). On resume the partial file is
truncated to the last recorded size and that many input records are skipped,
so every record appears exactly once, whatever killed the run (Ctrl-C, SIGTERM,
kill -9). The finished file is renamed into place at the end: `OUT` never looks
complete when it is not.
"""

import csv
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from itertools import islice
from pathlib import Path

from coextract.corpus.identity import changes
from coextract.corpus.readers import Record
from coextract.errors import CoextractError
from coextract.runtime.sizes import PARQUET_WRITE_ROWS
from coextract.runtime.tagger import Extraction

SPAN_FIELDS = (("text", "string"), ("start", "int64"), ("end", "int64"), ("score", "float64"))


def columns(include_text: bool) -> list[str]:
    """The fields of an output record, in order (a record of a good input has no `error`)."""
    return ["id", *(["text"] if include_text else []), "error", "aspects", "opinions"]


def output_record(record: Record, extraction: Extraction | None, include_text: bool) -> dict:
    """The JSON object written for one input record."""
    out = {"id": record.id}
    if include_text:
        out["text"] = record.text
    if record.error is not None:
        out["error"] = record.error
        out["aspects"], out["opinions"] = [], []
        return out
    out["aspects"] = [asdict(span) for span in extraction.aspects]
    out["opinions"] = [asdict(span) for span in extraction.opinions]
    return out


def json_line(out: dict) -> str:
    return json.dumps(out, ensure_ascii=False) + "\n"


class ResumableOutput:
    """Appends chunks to OUT.partial, records progress after each, renames to OUT when done.

    `identity` (`identity.run_identity`) is recorded in the state file; resuming
    a run whose identity differs is refused, naming what changed.
    """

    def __init__(self, path: Path, resume: bool, overwrite: bool, identity: dict) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.state_path = path.with_name(path.name + ".partial.state")
        self.identity = identity
        if path.exists() and not (overwrite or resume):
            raise CoextractError(
                f"{path} exists; pass --overwrite to replace it or --resume to continue a run"
            )
        self.done, self.errors, size = 0, 0, 0
        if resume and self.state_path.exists():
            self.done, self.errors, size = self.resumed_state()
        elif resume and path.exists():
            raise CoextractError(f"{path} is already complete; nothing to resume")
        self.file = open(self.partial, "r+b" if size else "wb")  # noqa: SIM115 (closed in finish/close)
        self.file.truncate(size)
        self.file.seek(size)

    def resumed_state(self) -> tuple[int, int, int]:
        """Records, errors and bytes done by the interrupted run, if it is this run."""
        try:
            state = json.loads(self.state_path.read_text())
            before = state["identity"]
        except (OSError, ValueError, KeyError):
            raise CoextractError(
                f"{self.state_path}: not a state file this version can check; start again with --overwrite"
            ) from None
        if found := changes(before, self.identity):
            raise CoextractError(
                f"--resume refused: this is not the run that was interrupted ({'; '.join(found)}); "
                "rerun it exactly as it was, or start again with --overwrite"
            )
        return state["records"], state["errors"], state["bytes"]

    def write(self, lines: Sequence[str], n_records: int, n_errors: int) -> None:
        self.file.write("".join(lines).encode("utf-8"))
        self.file.flush()
        os.fsync(self.file.fileno())
        self.done += n_records
        self.errors += n_errors
        state = {
            "identity": self.identity,
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


def open_output(output: str, resume: bool, overwrite: bool, identity: dict):
    """Standard output for `-`, else a resumable output file."""
    return StdoutOutput() if output == "-" else ResumableOutput(Path(output), resume, overwrite, identity)


def json_lines(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def to_csv(source: Path, target: Path) -> None:
    """The output `columns`, span lists as JSON strings, one row per record."""
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = None
        for record in json_lines(source):
            if writer is None:
                writer = csv.DictWriter(out, columns("text" in record))
                writer.writeheader()
            row = {
                **record,
                "aspects": json.dumps(record["aspects"]),
                "opinions": json.dumps(record["opinions"]),
            }
            writer.writerow({column: row.get(column, "") for column in writer.fieldnames})


def parquet_schema(include_text: bool):
    """The output `columns` as a parquet schema: ids and texts as strings, spans as lists of structs."""
    import pyarrow as pa

    span = pa.list_(pa.struct([(name, pa.type_for_alias(kind)) for name, kind in SPAN_FIELDS]))
    types = {"id": pa.string(), "text": pa.string(), "error": pa.string(), "aspects": span, "opinions": span}
    return pa.schema([(name, types[name]) for name in columns(include_text)])


def to_parquet(source: Path, target: Path) -> None:
    """The same records as a parquet table (`parquet_schema`). Needs pyarrow."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise CoextractError("--format parquet needs pyarrow: pip install 'coextract[parquet]'") from None
    records = json_lines(source)
    writer = None
    while batch := list(islice(records, PARQUET_WRITE_ROWS)):
        if writer is None:
            writer = pq.ParquetWriter(target, parquet_schema("text" in batch[0]))
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
