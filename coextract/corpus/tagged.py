"""What `coextract tag` wrote, read back a record at a time: the input of `coextract summarize`.

JSON Lines and CSV (each optionally .gz), parquet, a Dask engine's output folder
(its `part-NNNNN` files in order) or stdin (JSON Lines). Each record comes back
as the object `tag` wrote (the one schema of `writers`: CSV's span lists are
JSON strings there and are parsed back), with the file and line it came from,
so a line that is not a tagged record is reported where it is, and the rest is
still read. Ids come back as the format holds them (strings in CSV and parquet).
Files are streamed: memory does not grow with their length.
"""

import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from coextract.corpus.csv_records import csv_rows
from coextract.corpus.readers import (
    binary_lines,
    decoded,
    open_binary,
    open_parquet,
    parquet_rows,
    read_to_the_end,
)
from coextract.corpus.writers import LIST_COLUMNS
from coextract.errors import CoextractError

REQUIRED = ("aspects", "opinions")  # what every tagged record has, whatever the run's options


@dataclass(frozen=True)
class TaggedRecord:
    """One record `coextract tag` wrote, or why a line is not one."""

    source: str  # file name, or "-" for standard input
    line: int  # 1-based line (row number in parquet)
    record: dict | None
    error: str | None = None


def tagged_format(path: str) -> str:
    """jsonl, csv or parquet, from the name (`.gz` aside); a folder is a Dask output; stdin is jsonl."""
    if path == "-":
        return "jsonl"
    if Path(path).is_dir():
        return "parts"
    name = path.removesuffix(".gz")
    suffix = {".ndjson": ".jsonl", ".json": ".jsonl"}.get(
        Path(name).suffix.lower(), Path(name).suffix.lower()
    )
    if suffix not in (".jsonl", ".csv", ".parquet"):
        raise CoextractError(
            f"{path}: not a file `coextract tag` writes (.jsonl, .csv, .parquet, or a folder)"
        )
    return suffix.lstrip(".")


def checked(source: str, line: int, record) -> TaggedRecord:
    """`record` as a TaggedRecord, or the error that says why it is not one."""
    if not isinstance(record, dict) or any(not isinstance(record.get(name), list) for name in REQUIRED):
        return TaggedRecord(
            source, line, None, f"{source}:{line}: not a tagged record (no aspects and opinions lists)"
        )
    if not record.get("error"):  # CSV writes a good record's error as "", parquet as null
        record.pop("error", None)
    return TaggedRecord(source, line, record)


def read_jsonl(path: str) -> Iterator[TaggedRecord]:
    for line_no, raw in binary_lines(path):
        line, error = decoded(path, line_no, raw)
        if error or not line.strip():
            if error:
                yield TaggedRecord(path, line_no, None, error)
            continue
        try:
            yield checked(path, line_no, json.loads(line))
        except json.JSONDecodeError as err:
            yield TaggedRecord(
                path, line_no, None, f"{path}:{line_no}: invalid JSON ({err.msg} at column {err.colno})"
            )


def read_csv(path: str) -> Iterator[TaggedRecord]:
    with open_binary(path) as stream, read_to_the_end(path):
        rows = csv_rows(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""))
        header = next(rows, (0, None, None))[1]
        if header is None:
            return
        for line_no, row, problem in rows:
            if problem or len(row) != len(header):
                reason = problem or f"{len(row)} fields, but the header has {len(header)}"
                yield TaggedRecord(path, line_no, None, f"{path}:{line_no}: {reason}")
                continue
            record = dict(zip(header, row, strict=True))
            try:
                record |= {name: json.loads(record[name]) for name in LIST_COLUMNS if name in record}
            except json.JSONDecodeError:
                yield TaggedRecord(path, line_no, None, f"{path}:{line_no}: a span list that is not JSON")
                continue
            yield checked(path, line_no, record)


def read_parquet(path: str) -> Iterator[TaggedRecord]:
    for row_no, record in parquet_rows(open_parquet(path)):
        yield checked(path, row_no, record)


def read_parts(folder: str) -> Iterator[TaggedRecord]:
    """A Dask engine's output: its parts in order (a folder without any is an error, not no records)."""
    parts = sorted(p for p in Path(folder).glob("part-*") if p.suffix in (".jsonl", ".parquet"))
    if not parts:
        raise CoextractError(f"{folder}: a folder without part-NNNNN.jsonl or .parquet files (a Dask output)")
    for part in parts:
        yield from READERS[part.suffix.lstrip(".")](str(part))


READERS = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet, "parts": read_parts}


def read_tagged(paths: Sequence[str]) -> Iterator[TaggedRecord]:
    """Every record of every input, in order; each format is checked by name before any is read."""
    readers = [(READERS[tagged_format(path)], path) for path in paths]
    for reader, path in readers:
        yield from reader(path)
