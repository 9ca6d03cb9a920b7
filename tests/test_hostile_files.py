"""Generated hostile files through the real `coextract tag`: every record once, or a clean failure.

Files mix byte-order marks, stray CSV quotes, bytes that are not UTF-8, LF, CRLF
and CR line ends, long emoji runs and truncated gzip.
"""

import gzip
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import coextract

pytestmark = pytest.mark.slow  # each example runs the command

WORDS = st.sampled_from(
    ["great", "pizza", "rude", "waiter", "😀" * 300, ":)" * 80, "!!!", "naïve", '15"', "a,b"]
)
TEXTS = st.lists(st.lists(WORDS, min_size=1, max_size=6).map(" ".join), min_size=1, max_size=12)


@st.composite
def hostile_files(draw):
    """(file name, bytes, records expected, whether the file is complete)."""
    kind = draw(st.sampled_from(["txt", "jsonl", "csv"]))
    texts = draw(TEXTS)
    broken = draw(st.sets(st.integers(0, len(texts) - 1), max_size=3))  # records made bad
    lines = []
    for i, text in enumerate(texts):
        if kind == "txt":
            line = text.encode() + (b" \xff\xfe" if i in broken else b"")
        elif kind == "jsonl":
            line = b'{"text": oops' if i in broken else json.dumps({"text": text}).encode()
        else:
            quoted = '"' + text.replace('"', '""') + ("" if i in broken else '"')  # broken: a stray quote
            line = f"{i},{quoted}".encode()
        lines.append(line)
    if kind == "csv":
        lines.insert(0, b"id,text")
    end = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    data = draw(st.sampled_from([b"", "\ufeff".encode()])) + end.join(lines) + end
    complete = True
    if draw(st.booleans()):
        data = gzip.compress(data)
        if draw(st.booleans()):
            data, complete = data[: len(data) // 2], False
        return f"reviews.{kind}.gz", data, len(texts), complete
    return f"reviews.{kind}", data, len(texts), complete


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(hostile_files())
def test_a_hostile_file_gives_every_record_once_or_fails_cleanly(tmp_path_factory, case):
    name, data, expected, complete = case
    folder = tmp_path_factory.mktemp("hostile")
    (folder / name).write_bytes(data)
    result = coextract(
        "tag", name, "--output", "out.jsonl", "--include-text", "--workers", "1", "--quiet", cwd=folder
    )
    if not complete:
        assert result.returncode == 2 and "cannot be read to the end" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and not (folder / "out.jsonl").exists()
        partial = folder / "out.jsonl.partial"
        if partial.exists():  # it tagged something: the state says exactly how much, for --resume
            state = json.loads((folder / "out.jsonl.partial.state").read_text())
            assert state["records"] == len(partial.read_text().splitlines()) > 0
        return
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (folder / "out.jsonl").read_text().splitlines()]
    assert len(records) == expected
    assert sorted(p.name for p in folder.iterdir()) == sorted([name, "out.jsonl"])
    for record in records:
        if "error" in record:
            assert re.match(
                rf"{re.escape(name)}:{record['id']}: ", record["error"]
            )  # names file and line (= id)
            continue
        assert not record["text"].startswith("\ufeff")
        for span in record["aspects"] + record["opinions"]:
            assert record["text"][span["start"] : span["end"]] == span["text"]
