"""Reading back what `coextract tag` wrote, in every format it writes."""

import gzip
import json

import pytest

from coextract.corpus.readers import Record
from coextract.corpus.tagged import read_tagged
from coextract.corpus.writers import OutputFields, json_line, output_record, to_csv, to_parquet
from coextract.errors import CoextractError
from coextract.runtime.spans import Extraction, Pair, Span

PIZZA = Span("pizza", 4, 9, 0.97, "positive", 0.9)
GREAT = Span("great", 14, 19, 0.95)
FIELDS = OutputFields(text=True, relations=True)
RECORDS = [
    output_record(Record("in.txt", 1, 1, "The pizza was great"),
                  Extraction("The pizza was great", ("the", "pizza", "was", "great"), (PIZZA,), (GREAT,),
                             (Pair(PIZZA, GREAT, "positive", 0.88),)), FIELDS),
    output_record(Record("in.txt", 2, 2, None, error="in.txt:2: bytes that are not UTF-8"), None, FIELDS),
    output_record(Record("in.txt", 3, 3, "ok"), Extraction("ok", ("ok",), (), ()), FIELDS),
]  # fmt: skip


@pytest.fixture
def tagged(tmp_path):
    path = tmp_path / "tagged.jsonl"
    path.write_text("".join(json_line(r) for r in RECORDS))
    return path


def test_every_format_reads_back_the_records_tag_wrote(tagged, tmp_path):
    pytest.importorskip("pyarrow")
    to_csv(tagged, tmp_path / "tagged.csv")
    to_parquet(tagged, tmp_path / "tagged.parquet")
    (tmp_path / "tagged.jsonl.gz").write_bytes(gzip.compress(tagged.read_bytes()))
    parts = tmp_path / "dask-output"
    parts.mkdir()
    (parts / "part-00000.jsonl").write_text(json_line(RECORDS[0]))
    (parts / "part-00001.jsonl").write_text("".join(json_line(r) for r in RECORDS[1:]))
    (parts / "_SUCCESS").write_text("{}")
    for name in ("tagged.jsonl", "tagged.jsonl.gz", "tagged.csv", "tagged.parquet", "dask-output"):
        read = list(read_tagged([str(tmp_path / name)]))
        expected = [dict(r) for r in RECORDS]
        for r in expected if name.endswith((".csv", ".parquet")) else ():
            r["id"] = str(r["id"])  # their id column holds strings
            r["text"] = r["text"] or ("" if name.endswith(".csv") else None)  # CSV has no null
        assert [r.record for r in read] == expected, name
        lines = {
            "dask-output": [1, 1, 2],
            "tagged.csv": [2, 3, 4],
        }  # lines of each part; CSV's header is line 1
        assert [r.line for r in read] == lines.get(name, [1, 2, 3])


def test_a_line_that_is_not_a_tagged_record_is_reported_and_the_rest_read(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        json_line(RECORDS[0])
        + "{not json\n"
        + '{"id": 3, "text": "no spans"}\n'
        + "\n"
        + json_line(RECORDS[2])
    )
    read = list(read_tagged([str(path)]))
    assert [(r.line, r.error is None) for r in read] == [(1, True), (2, False), (3, False), (5, True)]
    assert (
        read[1].error
        == f"{path}:2: invalid JSON (Expecting property name enclosed in double quotes at column 2)"
    )
    assert read[2].error == f"{path}:3: not a tagged record (no aspects and opinions lists)"


def test_inputs_it_cannot_read_are_refused_before_any_is_read(tmp_path, tagged):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CoextractError, match="reviews.txt: not a file `coextract tag` writes"):
        next(read_tagged([str(tagged), str(tmp_path / "reviews.txt")]))
    with pytest.raises(CoextractError, match="a folder without part-NNNNN.jsonl or .parquet files"):
        list(read_tagged([str(tmp_path / "empty")]))
    assert json.loads(tagged.read_text().splitlines()[0])["id"] == 1
