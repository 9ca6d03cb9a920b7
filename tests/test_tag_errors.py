"""`coextract tag` on hostile input and set-up mistakes: one clear line, exit 2, nothing left behind.

Each case runs the real command in a pipe and in a pseudo-terminal (where the
progress bar is on and counts the inputs first).
"""

import gzip

import pytest

from tests.conftest import coextract, coextract_in_terminal

REVIEWS = "".join(f'{{"rid": {i}, "body": "The pizza was great {i}"}}\n' for i in range(300))


def half_gzip(text: str) -> bytes:
    data = gzip.compress(text.encode())
    return data[: len(data) // 2]


def corrupt_gzip(text: str) -> bytes:
    data = gzip.compress(text.encode())
    return data[:20] + bytes(b ^ 0x5A for b in data[20:])


FILES = {
    "in.jsonl": REVIEWS.encode(),
    "in.txt": b"The pizza was great\nslow service\n",
    "bad.jsonl.gz": corrupt_gzip(REVIEWS),
    "cut.csv.gz": half_gzip("id,body\n" + "".join(f"{i},review {i}\n" for i in range(50))),
    "cut.xml.gz": half_gzip(
        "<s>" + "".join(f"<sentence><text>r {i}</text></sentence>" for i in range(50)) + "</s>"
    ),
    "header.csv": b"id,review\n1,good\n",
    "reviews.dat": b"good\n",
    "fake.parquet": b"not a parquet file",
    "first_bad.jsonl": b'{"rid": 1, "body": 7}\n' + REVIEWS.encode(),
}

CASES = {
    "corrupt .jsonl.gz": (
        ["bad.jsonl.gz", "--text-field", "body"],
        "bad.jsonl.gz: cannot be read to the end",
    ),
    "truncated .csv.gz": (["cut.csv.gz", "--text-field", "body"], "cut.csv.gz: cannot be read to the end"),
    "truncated .xml.gz": (["cut.xml.gz"], "cut.xml.gz: cannot be read to the end"),
    "missing output folder": (
        ["in.txt", "--output", "nodir/sub/out.jsonl"],
        "folder nodir/sub does not exist",
    ),
    "output is a folder": (["in.txt", "--output", "."], ". is a folder"),
    "output is a folder, --overwrite": (["in.txt", "--output", ".", "--overwrite"], ". is a folder"),
    "missing input": (["missing.txt"], "missing.txt: cannot be read (No such file or directory)"),
    "input is a folder": (["sub"], "sub: is a folder"),
    "--workers -1": (["in.txt", "--workers", "-1"], "--workers -1: give a number of processes of 1 or more"),
    "--workers 0": (["in.txt", "--workers", "0"], "--workers 0: give a number of processes of 1 or more"),
    "stdin twice": (["-", "-"], "standard input ('-') is named more than once"),
    "output is an input": (["in.txt", "--output", "in.txt", "--overwrite"], "in.txt is also an input"),
    "CSV header without the field": (["header.csv"], "header.csv:1: the header row has no column 'text'"),
    "unknown extension": (["reviews.dat"], "reviews.dat: cannot tell the format from the name"),
    "--input-format tsv": (["in.txt", "--input-format", "tsv"], "unknown input format 'tsv'"),
    "fake parquet": (["fake.parquet"], "fake.parquet: not a readable parquet file"),
    "--strict, first record bad": (
        ["first_bad.jsonl", "--text-field", "body", "--strict"],
        "is int, not text",
    ),
    "--text-field typo": (
        ["in.jsonl", "--text-field", "bdy"],
        "none of the first 100 records has a field 'bdy'",
    ),
    "--id-field typo": (
        ["in.jsonl", "--text-field", "body", "--id-field", "ridd"],
        "a field 'ridd' (--id-field)",
    ),
}


@pytest.fixture
def folder(tmp_path):
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "sub").mkdir()
    return tmp_path


@pytest.mark.slow  # 36 runs of the real command
@pytest.mark.parametrize("terminal", [False, True], ids=["pipe", "terminal"])
@pytest.mark.parametrize("case", CASES)
def test_one_clear_line_and_nothing_left_behind(folder, case, terminal):
    args, message = CASES[case]
    command = ["tag", *args] if "--output" in args else ["tag", *args, "--output", "out.jsonl"]
    if terminal:
        status, shown = coextract_in_terminal(*command, cwd=folder)
    else:
        result = coextract(*command, cwd=folder, input="")
        status, shown = result.returncode, result.stderr
    assert status == 2, shown
    assert "Traceback" not in shown and "coextract: error: " in shown and message in shown, shown
    errors = [line for line in shown.splitlines() if "error" in line]
    assert len(errors) == 1, shown
    left = sorted(p.name for p in folder.iterdir() if p.name not in FILES and p.name != "sub")
    assert left == [], f"left behind: {left}"
    assert all((folder / name).read_bytes() == data for name, data in FILES.items())  # inputs untouched


@pytest.mark.slow  # runs the real command or many inputs: seconds, kept out of the quick loop
def test_a_file_truncated_after_some_records_leaves_nothing_a_resume_could_not_finish(tmp_path):
    # It tagged something, but a resume would stop at the same place: no partial output stays behind.
    reviews = tmp_path / "in.txt.gz"
    reviews.write_bytes(half_gzip("".join(f"The pizza was great {i}\n" for i in range(5000))))
    result = coextract("tag", str(reviews), "--output", str(tmp_path / "out.jsonl"), "--workers", "1")
    assert result.returncode == 2 and "in.txt.gz: cannot be read to the end" in result.stderr
    assert "the partial output was removed" in result.stderr and len(result.stderr.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt.gz"]
