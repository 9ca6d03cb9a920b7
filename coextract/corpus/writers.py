"""What `coextract tag` writes: the output schema, and its JSON Lines, CSV and parquet forms.

The schema is defined once here: `output_record` is the JSON object of one input
record, `columns` its fields in order, and CSV and parquet outputs (and the Dask
engine's DataFrames) take their columns from it. CSV and parquet are converted
from the finished JSON Lines (`sinks`), so the crash-safe part of a run is the
same for every format.
"""

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from coextract.corpus.readers import Record
from coextract.errors import CoextractError
from coextract.runtime.sizes import PARQUET_WRITE_ROWS
from coextract.runtime.spans import Extraction, Pair, Span

SPAN_FIELDS = (("text", "string"), ("start", "int64"), ("end", "int64"), ("score", "float64"))
SENTIMENT_FIELDS = (("sentiment", "string"), ("sentiment_score", "float64"))  # an aspect's, with relations
PAIR_FIELDS = (("sentiment", "string"), ("score", "float64"))  # a pair's, after its aspect and opinion


@dataclass(frozen=True)
class OutputFields:
    """The optional fields of every output record of a run."""

    text: bool = False  # the review text (--include-text)
    file: bool = False  # the input file the record came from (when a run reads several)
    relations: bool = False  # aspects' sentiments and a `pairs` list (a model with relation heads)

    @classmethod
    def of(cls, record: dict) -> "OutputFields":
        """The fields of a run, read off one of its output records."""
        return cls(text="text" in record, file="file" in record, relations="pairs" in record)


def columns(fields: OutputFields) -> list[str]:
    """The fields of an output record, in order (a record of a good input has no `error`)."""
    return [
        "id",
        *(["file"] if fields.file else []),
        *(["text"] if fields.text else []),
        "error",
        "aspects",
        "opinions",
        *(["pairs"] if fields.relations else []),
    ]


def span_fields(span: Span) -> dict:
    """A span's SPAN_FIELDS: text, start, end, score."""
    return {name: getattr(span, name) for name, _ in SPAN_FIELDS}


def span_record(span: Span) -> dict:
    """A span's JSON object: its SPAN_FIELDS, and an aspect's sentiment where it has one."""
    out = span_fields(span)
    if span.sentiment is not None:
        out["sentiment"], out["sentiment_score"] = span.sentiment, span.sentiment_score
    return out


def pair_record(pair: Pair) -> dict:
    """A pair's JSON object: the two spans it links (their SPAN_FIELDS), its sentiment and score."""
    return {
        "aspect": span_fields(pair.aspect),
        "opinion": span_fields(pair.opinion),
        "sentiment": pair.sentiment,
        "score": pair.score,
    }


def output_record(record: Record, extraction: Extraction | None, fields: OutputFields) -> dict:
    """The JSON object written for one input record."""
    out = {"id": record.id}
    if fields.file:
        out["file"] = record.source
    if fields.text:
        out["text"] = record.text
    if record.error is not None:
        out["error"] = record.error
        out["aspects"], out["opinions"] = [], []
        if fields.relations:
            out["pairs"] = []
        return out
    out["aspects"] = [span_record(span) for span in extraction.aspects]
    out["opinions"] = [span_record(span) for span in extraction.opinions]
    if fields.relations:
        out["pairs"] = [pair_record(pair) for pair in extraction.pairs]
    return out


def json_line(out: dict) -> str:
    return json.dumps(out, ensure_ascii=False) + "\n"


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
                writer = csv.DictWriter(out, columns(OutputFields.of(record)))
                writer.writeheader()
            row = {**record, **{name: json.dumps(record[name]) for name in LIST_COLUMNS if name in record}}
            writer.writerow({column: row.get(column, "") for column in writer.fieldnames})


def parquet_schema(fields: OutputFields):
    """The output `columns` as a parquet schema: ids and texts as strings, spans and pairs as lists of
    structs."""
    import pyarrow as pa

    def struct(named) -> pa.StructType:
        return pa.struct(
            [
                (name, kind if isinstance(kind, pa.DataType) else pa.type_for_alias(kind))
                for name, kind in named
            ]
        )

    span = struct(SPAN_FIELDS)
    types = {name: pa.string() for name in ("id", "file", "text", "error")}
    types["aspects"] = pa.list_(struct(SPAN_FIELDS + SENTIMENT_FIELDS) if fields.relations else span)
    types["opinions"] = pa.list_(span)
    types["pairs"] = pa.list_(struct((("aspect", span), ("opinion", span), *PAIR_FIELDS)))
    return pa.schema([(name, types[name]) for name in columns(fields)])


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
            writer = pq.ParquetWriter(target, parquet_schema(OutputFields.of(batch[0])))
        for record in batch:
            record["id"] = None if record["id"] is None else str(record["id"])
            record.setdefault("error", None)
        writer.write_table(pa.Table.from_pylist(batch, schema=writer.schema))
    if writer is None:
        pq.write_table(pa.table({"id": pa.array([], pa.string())}), target)
    else:
        writer.close()


LIST_COLUMNS = ("aspects", "opinions", "pairs")  # JSON strings in CSV
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
