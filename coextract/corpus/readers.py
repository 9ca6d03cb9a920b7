"""Review records from .txt, .jsonl, .csv (each optionally .gz), .parquet or stdin.

Every input record becomes a `Record`: with its text, or with an `error` that
says what was wrong, in which file and on which line. Nothing is skipped, so a
malformed line in a million-line file is reported and the rest still gets
tagged. Files are read as a stream, a record at a time.

- `.txt`: one review per line; the id is the line number.
- `.jsonl`: one JSON object per line; the text and (optional) id fields are
  named; blank lines hold no record and are passed over.
- `.csv`: real CSV (quoted fields with commas and newlines); a header row names
  the fields; the line is where the record starts.
- `.parquet`: needs pyarrow (`pip install 'coextract[parquet]'`); the line is the row number.
- `.xml`: SemEval review files, a record per `<sentence>` (its `id` attribute is the id).

Over 250 lines because every input format is read here, side by side, so that
their rules for lines, ids and errors can be compared and kept alike.
"""

import codecs
import csv
import gzip
import io
import json
import re
import sys
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from coextract.corpus.csv_records import csv_rows
from coextract.corpus.field_check import FieldCheck, check_names
from coextract.errors import CoextractError
from coextract.runtime.sizes import PARQUET_READ_ROWS

FORMATS = ("txt", "jsonl", "csv", "parquet", "xml")
LONE_CR = re.compile(rb"(?<=\r)(?!\n)")  # the place after a CR that no LF follows
BOM = "\ufeff".encode()  # a UTF-8 byte-order mark: part of the file, not of its first review
csv.field_size_limit(1 << 30)  # the default 128 KB would turn a long review into an error


@dataclass(frozen=True)
class Record:
    """One input review, or what was wrong with it."""

    source: str  # file name, or "-" for standard input
    line: int  # 1-based line where the record starts (row number for parquet)
    id: Any
    text: str | None
    error: str | None = None


def input_format(path: str, given: str | None = None) -> str:
    """The format of `path` from its name (`.gz` aside), unless `given`; stdin defaults to txt."""
    if given:
        if given not in FORMATS:
            raise CoextractError(f"unknown input format {given!r} (one of {', '.join(FORMATS)})")
        return given
    if path == "-":
        return "txt"
    name = path[: -len(".gz")] if path.endswith(".gz") else path
    suffix = Path(name).suffix.lstrip(".").lower()
    aliases = {"ndjson": "jsonl", "text": "txt"}
    found = aliases.get(suffix, suffix)
    if found not in FORMATS:
        raise CoextractError(f"{path}: cannot tell the format from the name; name it with --input-format")
    return found


def open_binary(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed by the caller's generator)
    except OSError as err:
        raise CoextractError(f"{path}: cannot be read ({err.strerror})") from None
    return gzip.GzipFile(fileobj=stream) if path.endswith(".gz") else stream


@contextmanager
def read_to_the_end(path: str) -> Iterator[None]:
    """Turn the errors of a truncated or corrupt file (a .gz cut short, bad deflate data) into one line."""
    try:
        yield
    except (OSError, EOFError, zlib.error) as err:
        reason = f"{type(err).__name__}: {err}" if isinstance(err, zlib.error) else str(err)
        raise CoextractError(
            f"{path}: cannot be read to the end ({reason}); is it truncated or corrupt?"
        ) from None


def binary_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """The lines of a file, numbered from 1; a UTF-8 byte-order mark opening the file is not part of line 1.

    Lines end at LF, CRLF or a lone CR (files saved on old Macs), as in Python's universal newlines.
    """
    with open_binary(path) as stream, read_to_the_end(path):
        pieces = (piece for line in stream for piece in split_at_lone_cr(line))
        for line_no, line in enumerate(pieces, start=1):
            yield line_no, line.removeprefix(BOM) if line_no == 1 else line


def split_at_lone_cr(line: bytes) -> list[bytes]:
    """`line` cut after each carriage return that ends a line on its own (each piece keeps its CR)."""
    if b"\r" not in line[:-2]:  # the common case: no CR, or only the one of a CRLF ending
        return [line]
    return [piece for piece in LONE_CR.split(line) if piece]


def decoded(path: str, line_no: int, raw: bytes) -> tuple[str | None, str | None]:
    """(text, None), or (None, error) when the line is not UTF-8."""
    try:
        return raw.decode("utf-8").removesuffix("\n").removesuffix("\r"), None
    except UnicodeDecodeError as err:
        return None, f"{path}:{line_no}: bytes that are not UTF-8 ({err.reason} at byte {err.start})"


def read_txt(path: str) -> Iterator[Record]:
    for line_no, raw in binary_lines(path):
        text, error = decoded(path, line_no, raw)
        yield Record(path, line_no, line_no, text, error)


def read_jsonl(path: str, text_field: str, id_field: str | None) -> Iterator[Record]:
    fields = FieldCheck(path, text_field, id_field)
    for line_no, raw in binary_lines(path):
        line, error = decoded(path, line_no, raw)
        if error:
            yield Record(path, line_no, line_id(line_no, id_field), None, error)
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            error = f"{path}:{line_no}: invalid JSON ({err.msg} at column {err.colno})"
            yield Record(path, line_no, line_id(line_no, id_field), None, error)
            continue
        fields.add(obj)
        yield record_from_fields(path, line_no, obj, text_field, id_field)
    fields.finish()


def line_id(line_no: int, id_field: str | None) -> int | None:
    """The id of a record whose id field cannot be read (or that has none): its line number where ids
    are line numbers (no --id-field), else null, so that it can never equal a real id."""
    return None if id_field else line_no


def record_from_fields(path: str, line_no: int, obj: Any, text_field: str, id_field: str | None) -> Record:
    """A Record from a JSON object or CSV row, with an error if the text field is missing or not text.

    Its id is the id field's value (null where this object has none), or the line number where no id
    field is named (`line_id`).
    """
    if not isinstance(obj, dict):
        return Record(
            path,
            line_no,
            line_id(line_no, id_field),
            None,
            f"{path}:{line_no}: a JSON object is needed, got {type(obj).__name__}",
        )
    record_id = obj.get(id_field) if id_field else line_no
    if text_field not in obj:
        return Record(path, line_no, record_id, None, f"{path}:{line_no}: no field {text_field!r}")
    text = obj[text_field]
    if text is None:
        return Record(path, line_no, record_id, None, f"{path}:{line_no}: field {text_field!r} is null")
    if not isinstance(text, str):
        return Record(
            path,
            line_no,
            record_id,
            None,
            f"{path}:{line_no}: field {text_field!r} is {type(text).__name__}, not text",
        )
    return Record(path, line_no, record_id, text)


def read_csv(path: str, text_field: str, id_field: str | None) -> Iterator[Record]:
    with open_binary(path) as stream, read_to_the_end(path):
        # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the header
        text_stream = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
        rows = csv_rows(text_stream)
        try:
            _, header, problem = next(rows)
        except StopIteration:
            return
        if problem:
            raise CoextractError(f"{path}:1: the header row is not valid CSV: {problem.partition(';')[0]}")
        check_names(f"{path}:1", {"--text-field": text_field, "--id-field": id_field or text_field}, header,
                    "the header row has no column")  # fmt: skip
        for line_no, row, problem in rows:
            if problem:
                yield Record(path, line_no, line_id(line_no, id_field), None, f"{path}:{line_no}: {problem}")
            else:
                yield csv_record(path, line_no, header, row, text_field, id_field)


def csv_record(
    path: str, line_no: int, header: list[str], row: list[str], text_field: str, id_field: str | None
):
    if len(row) != len(header):
        error = f"{path}:{line_no}: {len(row)} fields, but the header has {len(header)}"
        return Record(path, line_no, line_id(line_no, id_field), None, error)
    if any(has_surrogates(field) for field in row):
        return Record(
            path, line_no, line_id(line_no, id_field), None, f"{path}:{line_no}: bytes that are not UTF-8"
        )
    return record_from_fields(path, line_no, dict(zip(header, row, strict=True)), text_field, id_field)


def has_surrogates(text: str) -> bool:
    try:
        codecs.encode(text, "utf-8")
    except UnicodeEncodeError:
        return True
    return False


def open_parquet(path: str):
    """A parquet file to stream, or a one-line error (no pyarrow, a missing or foreign file)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CoextractError(
            f"{path}: reading parquet needs pyarrow: pip install 'coextract[parquet]'"
        ) from None
    try:
        return pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises its own types for missing or foreign files
        raise CoextractError(f"{path}: not a readable parquet file ({err})") from None


def parquet_rows(table) -> Iterator[tuple[int, dict]]:
    """Each row of an open parquet file as a dict, numbered from 1, a batch at a time."""
    row_no = 0
    for batch in table.iter_batches(batch_size=PARQUET_READ_ROWS):
        for obj in batch.to_pylist():
            row_no += 1
            yield row_no, obj


def read_parquet(path: str, text_field: str, id_field: str | None) -> Iterator[Record]:
    table = open_parquet(path)
    check_names(path, {"--text-field": text_field, "--id-field": id_field or text_field}, table.schema_arrow.names,
                "the table has no column")  # fmt: skip
    for row_no, obj in parquet_rows(table):
        yield record_from_fields(path, row_no, obj, text_field, id_field)


def xml_sentences(path: str) -> Iterator[ET.Element]:
    """The `<sentence>` elements of a SemEval XML file (optionally .gz), streamed.

    Each element is complete when yielded and cleared when the next one is read,
    so memory stays flat on any file size. The one SemEval XML parser: corpus
    tagging reads the texts, evaluation also reads the gold terms.
    """
    try:
        with open_binary(path) as stream, read_to_the_end(path):
            for _, element in ET.iterparse(stream):
                if element.tag == "sentence":
                    yield element
                    element.clear()
    except ET.ParseError as err:
        raise CoextractError(f"{path}: not valid XML ({err})") from None


def read_semeval_xml(path: str) -> Iterator[Record]:
    """A record per `<sentence>`; its "line" is its sentence number. A sentence without a `<text>`
    is an error record, not an empty review."""
    for number, element in enumerate(xml_sentences(path), start=1):
        record_id, text = element.get("id", number), element.findtext("text")
        error = None if text is not None else f"{path}: sentence {number} (id {record_id}) has no <text>"
        yield Record(path, number, record_id, text, error)


def count_records(paths: list[str], given_format: str | None = None) -> int | None:
    """How many records plain .txt/.jsonl inputs hold (their lines), for a progress ETA; None if unknown.

    Compressed, CSV, XML, parquet and stdin inputs are not counted ahead (that
    would mean reading them twice); nor are JSONL inputs, whose blank lines hold
    no record, exactly: the count is then an upper bound. An input that cannot be
    counted (missing, a folder, an unknown format) gives None: the run reports it.
    """
    try:
        counts = [count_lines(path, given_format) for path in paths]
    except (OSError, CoextractError):
        return None
    return None if None in counts else sum(counts)


def count_lines(path: str, given_format: str | None) -> int | None:
    """The lines of a plain .txt or .jsonl file; None for any other input."""
    if path == "-" or path.endswith(".gz") or input_format(path, given_format) not in ("txt", "jsonl"):
        return None
    with open(path, "rb") as stream:
        size, last = 0, b"\n"
        while block := stream.read(1 << 20):
            size += block.count(b"\n")
            last = block[-1:]
    return size + (last != b"\n")


def read_records(
    path: str, text_field: str = "text", id_field: str | None = None, given_format: str | None = None
) -> Iterator[Record]:
    """The records of one input file (or `-` for stdin), in order."""
    kind = input_format(path, given_format)
    if kind == "txt":
        return read_txt(path)
    if kind == "jsonl":
        return read_jsonl(path, text_field, id_field)
    if kind == "csv":
        return read_csv(path, text_field, id_field)
    if kind == "xml":
        return read_semeval_xml(path)
    return read_parquet(path, text_field, id_field)
