"""Readers: every record comes out, good ones with text, bad ones with file, line and reason."""

import dataclasses
import gzip
import subprocess
import sys

import pytest

from coextract.corpus.readers import Record, input_format, read_records
from coextract.errors import CoextractError


def test_txt_one_review_per_line_with_bad_bytes(tmp_path):
    path = tmp_path / "r.txt"
    path.write_bytes(b"Great pizza\n\n\xff\xfe broken\nlast line without newline")
    records = list(read_records(str(path)))
    assert [r.text for r in records] == ["Great pizza", "", None, "last line without newline"]
    assert records[1].error is None  # an empty review is a record, not an error
    assert records[2].error.startswith(f"{path}:3: bytes that are not UTF-8")
    assert [r.id for r in records] == [1, 2, 3, 4]


def test_jsonl_fields_and_every_kind_of_bad_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"review_id": "a", "text": "Nice staff"}\n'
        "\n"
        "{not json}\n"
        '["a", "list"]\n'
        '{"review_id": "d"}\n'
        '{"review_id": "e", "text": 42}\n'
        '{"review_id": "f", "text": "Déjà vu 🍕"}\n'
    )
    records = list(read_records(str(path), "text", "review_id"))
    assert [(r.line, r.id, r.text) for r in records if not r.error] == [
        (1, "a", "Nice staff"),
        (7, "f", "Déjà vu 🍕"),
    ]
    errors = {r.line: r.error for r in records if r.error}
    assert set(errors) == {3, 4, 5, 6}  # the blank line 2 holds no record
    assert "invalid JSON" in errors[3] and "a JSON object is needed" in errors[4]
    assert "no field 'text'" in errors[5] and "is int, not text" in errors[6]
    assert all(e.startswith(f"{path}:") for e in errors.values())


def test_csv_quotes_newlines_and_wrong_field_counts(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        'id,body\n1,"Good, cheap food"\n2,"Two\nlines, ""quoted"""\n3,too,many\n4,ok\n', newline=""
    )
    records = list(read_records(str(path), "body", "id"))
    assert [(r.line, r.id, r.text) for r in records if not r.error] == [
        (2, "1", "Good, cheap food"),
        (3, "2", 'Two\nlines, "quoted"'),
        (6, "4", "ok"),
    ]
    (bad,) = [r for r in records if r.error]
    assert bad.line == 5 and "3 fields, but the header has 2" in bad.error


def test_csv_long_review_and_missing_column(tmp_path):
    path = tmp_path / "r.csv"
    long_review = "great " * 200_000  # 1.2 MB in one field
    path.write_text(f'text\n"{long_review}"\n')
    (record,) = read_records(str(path))
    assert record.text == long_review
    with pytest.raises(
        CoextractError, match=r"r\.csv:1: the header row has no column 'body' \(--text-field\); found: 'text'"
    ):
        list(read_records(str(path), "body"))


def test_gzip_variants(tmp_path):
    path = tmp_path / "r.jsonl.gz"
    with gzip.open(path, "wt") as out:
        out.write('{"text": "zipped"}\n')
    assert [r.text for r in read_records(str(path))] == ["zipped"]
    broken = tmp_path / "b.txt.gz"
    broken.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CoextractError, match="cannot be read to the end"):
        list(read_records(str(broken)))


def test_formats_from_names():
    assert input_format("a.jsonl.gz") == "jsonl" and input_format("-") == "txt"
    assert input_format("reviews.data", "csv") == "csv"
    with pytest.raises(CoextractError, match="--input-format"):
        input_format("reviews.data")


def test_stdin_is_read_as_text_lines():
    code = "from coextract.corpus.readers import read_records; print([r.text for r in read_records('-')])"
    result = subprocess.run([sys.executable, "-c", code], input=b"one\ntwo\n", capture_output=True)
    assert result.stdout.decode().strip() == "['one', 'two']"


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CoextractError, match="cannot be read"):
        list(read_records(str(tmp_path / "nope.txt")))


def test_record_is_immutable():
    record = Record("f", 1, 1, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.text = "y"  # type: ignore[misc]
    assert record.text == "x" and record.error is None
    assert record == Record("f", 1, 1, "x") and hash(record) == hash(Record("f", 1, 1, "x"))


def test_semeval_xml_reviews(data_dir):
    xml = data_dir.parent / "semeval-raw" / "semeval14" / "Restaurants_Test_Gold.xml"
    records = list(read_records(str(xml)))
    assert len(records) == 800 and records[0].text == "The bread is top notch as well."
    assert records[0].id == "32897564#894393#2" and [r.line for r in records[:3]] == [1, 2, 3]


def test_parquet_rows(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "r.parquet"
    pq.write_table(pa.table({"id": [7, 8, 9], "text": ["Great food", None, "Slow service"]}), path)
    records = list(read_records(str(path), "text", "id"))
    assert [(r.line, r.id, r.text) for r in records] == [
        (1, 7, "Great food"),
        (2, 8, None),
        (3, 9, "Slow service"),
    ]
    assert records[1].error == f"{path}:2: field 'text' is null"


def test_count_records_for_the_progress_eta(tmp_path):
    from coextract.corpus.readers import count_records

    txt, jsonl = tmp_path / "a.txt", tmp_path / "b.jsonl"
    txt.write_text("one\ntwo\nthree")  # no final newline
    jsonl.write_text('{"text": "x"}\n{"text": "y"}\n')
    assert count_records([str(txt), str(jsonl)]) == 5
    gz = tmp_path / "c.txt.gz"
    gz.write_bytes(gzip.compress(b"x\n"))
    assert count_records([str(txt), str(gz)]) is None and count_records(["-"]) is None


@pytest.mark.parametrize(
    "rows_after", [998, 2500]
)  # the file ends inside the quote / the record runs too long
def test_a_stray_quote_is_one_error_and_reading_goes_on(tmp_path, rows_after):
    path = tmp_path / "stray.csv"
    lines = [
        "id,text",
        '1,"Stray quote starts here',
        *(f'{i},"review {i}, with a comma"' for i in range(2, 2 + rows_after)),
    ]
    path.write_text("\n".join(lines) + "\n")
    records = list(read_records(str(path), id_field="id"))
    assert len(records) == 1 + rows_after  # one record per row: the broken one and every row after it
    assert records[0].line == 2 and records[0].error.startswith(f"{path}:2: ")
    assert records[0].error.endswith("skipped, reading goes on from the next line")
    assert [r.error for r in records[1:]] == [None] * rows_after
    assert (
        records[-1].id == str(1 + rows_after) and records[-1].text == f"review {1 + rows_after}, with a comma"
    )


def test_quotes_inside_fields_and_multi_line_fields_stay_valid(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text('id,text\n1,"a review\nover two lines"\n2,a 15" screen\n3,"she said ""wow"""\n')
    records = list(read_records(str(path), id_field="id"))
    assert [(r.line, r.id, r.text, r.error) for r in records] == [
        (2, "1", "a review\nover two lines", None),
        (4, "2", 'a 15" screen', None),
        (5, "3", 'she said "wow"', None),
    ]


@pytest.mark.parametrize(
    "name, content",
    [
        ("r.txt", "Great food\nslow service\n"),
        ("r.jsonl", '{"text": "Great food"}\n{"text": "slow service"}\n'),
        ("r.csv", 'text,id\nGreat food,1\n"slow service",2\n'),  # as Excel saves "CSV UTF-8"
        ("r.txt.gz", "Great food\nslow service\n"),
    ],
)
def test_a_byte_order_mark_is_not_part_of_the_first_review(tmp_path, name, content):
    path = tmp_path / name
    data = "\ufeff".encode() + content.encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    records = list(read_records(str(path)))
    assert [(r.text, r.error) for r in records] == [("Great food", None), ("slow service", None)]


@pytest.mark.parametrize("name", ["r.txt.gz", "r.jsonl.gz", "r.csv.gz", "r.xml.gz"])
@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_broken_gzip_is_one_clear_error_in_every_format(tmp_path, name, damage):
    lines = "text\n" + "".join(f"review {i}\n" for i in range(5000))
    if name.startswith("r.xml"):
        lines = (
            "<sentences>"
            + "".join(f"<sentence><text>r {i}</text></sentence>" for i in range(5000))
            + "</sentences>"
        )
    if name.startswith("r.jsonl"):
        lines = "".join(f'{{"text": "review {i}"}}\n' for i in range(5000))
    data = gzip.compress(lines.encode())
    middle = len(data) // 2
    data = data[:middle] if damage == "truncated" else data[:middle] + bytes(b ^ 0x5A for b in data[middle:])
    path = tmp_path / name
    path.write_bytes(data)
    # (a corrupt .xml.gz may first decompress into text the XML parser rejects: also one clear line)
    with pytest.raises(
        CoextractError, match=rf"{name}: (cannot be read to the end .*truncated or corrupt|not valid XML)"
    ):
        list(read_records(str(path)))


def test_every_record_good_or_bad_carries_its_id(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"rid": "a", "text": "good"}\n{not json\n{"rid": "c", "text": 7}\n{"text": "no id"}\n[1]\n'
    )
    records = list(read_records(str(path), id_field="rid"))
    assert [r.id for r in records] == ["a", None, "c", None, None]  # the id field, else null: never a line
    assert [r.id for r in read_records(str(path))] == [1, 2, 3, 4, 5]  # no id field: the line numbers
    assert [r.error is None for r in records] == [True, False, False, True, False]
    csv_path = tmp_path / "r.csv"
    csv_path.write_bytes(b"rid,text\nx,good\ny,too,many\nz,\xff\xfe\n")
    assert [(r.id, r.error is None) for r in read_records(str(csv_path), id_field="rid")] == [
        ("x", True),
        (None, False),  # a line number here could be another row's real id
        (None, False),
    ]


@pytest.mark.parametrize("field", ["text_field", "id_field"])
def test_a_field_no_record_has_is_an_error_up_front(tmp_path, field):
    path = tmp_path / "r.jsonl"
    path.write_text("".join(f'{{"rid": {i}, "text": "review {i}"}}\n' for i in range(500)))
    with pytest.raises(CoextractError, match=r"r\.jsonl: none of the first 100 records has a field 'typo'"):
        list(read_records(str(path), **{"text_field": "text", field: "typo"}))
    short = tmp_path / "short.jsonl"
    short.write_text('{"rid": 1, "text": "one review"}\n')
    with pytest.raises(CoextractError, match="none of the first 1 records has a field 'typo'"):
        list(read_records(str(short), **{"text_field": "text", field: "typo"}))


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_txt_lines_end_at_lf_crlf_or_a_lone_cr(tmp_path, end):
    path = tmp_path / "r.txt"
    path.write_bytes(end.join([b"Great food", b"", b"slow service"]) + end)
    records = list(read_records(str(path)))
    assert [(r.line, r.text) for r in records] == [(1, "Great food"), (2, ""), (3, "slow service")]
