"""`coextract tag` on real files: order, errors, workers, and resume after kill -9."""

import json
import os
import subprocess
import sys

import pytest

from coextract.corpus.engine import CRASH_ENV
from tests.conftest import coextract

N_REVIEWS = 2500  # five chunks of 512 records


@pytest.fixture(scope="module")
def reviews(tmp_path_factory, data_dir):
    """2,500 JSONL reviews built from real test sentences, with two bad lines in the middle."""
    sentences = (data_dir / "res14" / "test" / "sentence.txt").read_text().splitlines()
    path = tmp_path_factory.mktemp("corpus") / "reviews.jsonl"
    with path.open("w") as out:
        for i in range(N_REVIEWS):
            if i in (1000, 2000):
                out.write("{not json\n" if i == 1000 else json.dumps({"rid": i, "body": 7}) + "\n")
            else:
                out.write(json.dumps({"rid": i, "body": sentences[i % len(sentences)]}) + "\n")
    return path


def tag(reviews, out, model, *extra, env=None):
    return coextract("tag", str(reviews), "--text-field", "body", "--id-field", "rid", "--model", str(model),
                     "--output", str(out), "--quiet", *extra, env=env)  # fmt: skip


@pytest.mark.slow
def test_every_record_once_in_order_with_errors(reviews, bundled_model_dir, tmp_path):
    out = tmp_path / "tagged.jsonl"
    result = tag(reviews, out, bundled_model_dir, "--workers", "2", "--include-text")
    assert result.returncode == 0, result.stderr
    assert "2500 records, 2 errors" in result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == N_REVIEWS
    assert records[1000]["error"].endswith(
        "invalid JSON (Expecting property name enclosed in double quotes at column 2)"
    )
    assert "reviews.jsonl:1001:" in records[1000]["error"]
    assert "is int, not text" in records[2000]["error"] and records[2000]["id"] == 2000
    good = [r for r in records if "error" not in r]
    assert [r["id"] for r in good] == [i for i in range(N_REVIEWS) if i not in (1000, 2000)]
    assert sum(len(r["aspects"]) for r in good) > len(good) // 2  # the model finds terms in real reviews
    for record in good:
        for span in record["aspects"] + record["opinions"]:
            assert record["text"][span["start"] : span["end"]] == span["text"]
    assert not (tmp_path / "tagged.jsonl.partial").exists()
    one_worker = tmp_path / "one.jsonl"
    tag(reviews, one_worker, bundled_model_dir, "--workers", "1", "--include-text")
    assert one_worker.read_text() == out.read_text()


@pytest.mark.slow  # runs the real command or many inputs: seconds, kept out of the quick loop
def test_refuses_to_overwrite_and_strict_stops(reviews, bundled_model_dir, tmp_path):
    out = tmp_path / "exists.jsonl"
    out.write_text("precious\n")
    result = tag(reviews, out, bundled_model_dir)
    assert result.returncode == 2 and "--overwrite" in result.stderr and out.read_text() == "precious\n"
    strict = tag(reviews, tmp_path / "strict.jsonl", bundled_model_dir, "--strict", "--workers", "1")
    assert (
        strict.returncode == 2 and "reviews.jsonl:1001" in strict.stderr and "Traceback" not in strict.stderr
    )
    assert not (tmp_path / "strict.jsonl").exists()


def test_stdin_to_stdout(bundled_model_dir):
    result = coextract("tag", "-", "--output", "-", "--model", str(bundled_model_dir), "--quiet", "--workers", "1",
                       input="The pizza was great\n\nslow service\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == [1, 2, 3] and records[1]["aspects"] == []


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_resume_after_kill_gives_the_uninterrupted_output(reviews, bundled_model_dir, tmp_path, workers):
    complete = tmp_path / "complete.jsonl"
    assert tag(reviews, complete, bundled_model_dir, "--workers", "1").returncode == 0

    out, state = tmp_path / "killed.jsonl", tmp_path / "killed.jsonl.partial.state"
    crash = {**os.environ, CRASH_ENV: f"2:{tmp_path / 'crashed'}"}  # SIGKILL right after the 2nd chunk, once
    killed = tag(reviews, out, bundled_model_dir, "--workers", workers, env=crash)
    assert killed.returncode == -9, killed.stderr
    assert json.loads(state.read_text())["records"] == 1024 and not out.exists()

    resumed = tag(reviews, out, bundled_model_dir, "--resume", "--workers", workers, env=crash)
    assert resumed.returncode == 0, resumed.stderr
    assert "2500 records (1024 from the interrupted run), 2 errors" in resumed.stderr  # counts include them
    assert out.read_text() == complete.read_text()
    assert not state.exists()


@pytest.mark.slow
def test_csv_and_parquet_outputs_hold_the_same_records(reviews, bundled_model_dir, tmp_path):
    import csv

    jsonl = tmp_path / "t.jsonl"
    assert tag(reviews, jsonl, bundled_model_dir, "--workers", "1").returncode == 0
    expected = [json.loads(line) for line in jsonl.read_text().splitlines()]

    as_csv = tmp_path / "t.csv"
    assert tag(reviews, as_csv, bundled_model_dir, "--workers", "1").returncode == 0  # format from the name
    with as_csv.open(newline="") as rows:
        rows = list(csv.DictReader(rows))
    assert [r["id"] for r in rows] == [str(e["id"]) if e["id"] is not None else "" for e in expected]
    assert [json.loads(r["aspects"]) for r in rows] == [e["aspects"] for e in expected]
    assert rows[1000]["error"] == expected[1000]["error"]

    pq = pytest.importorskip("pyarrow.parquet")
    as_parquet = tmp_path / "t.out"
    assert (
        tag(reviews, as_parquet, bundled_model_dir, "--workers", "1", "--format", "parquet").returncode == 0
    )
    table = pq.read_table(as_parquet).to_pylist()
    assert len(table) == N_REVIEWS and table[1000]["error"] == expected[1000]["error"]
    assert [r["opinions"] for r in table] == [e["opinions"] for e in expected]
    assert not list(tmp_path.glob("*.partial*")) and not list(tmp_path.glob("*.converting"))


def test_a_wrong_model_is_one_clear_line(reviews, tmp_path):
    result = tag(reviews, tmp_path / "o.jsonl", tmp_path / "no-model", "--workers", "2")
    assert result.returncode == 2 and "no model" in result.stderr and "Traceback" not in result.stderr


def test_stdout_takes_json_lines_only(bundled_model_dir):
    result = coextract(
        "tag", "-", "--output", "-", "--format", "csv", "--model", str(bundled_model_dir), input="x\n"
    )
    assert result.returncode == 2 and "JSON Lines only" in result.stderr


def test_tagging_processes_do_not_load_torch(bundled_model_dir):
    # Where [train] is installed, spaCy's thinc would import torch (~180 MB) into every worker.
    script = (
        "import sys\n"
        "from coextract.corpus import workers\n"
        "from coextract.corpus.engine import output_records\n"
        "from coextract.corpus.writers import OutputFields\n"
        "from coextract.corpus.readers import Record\n"
        f"workers.start_worker({str(bundled_model_dir)!r})\n"
        "out = output_records([Record('-', 1, 1, 'The pizza was great.')], workers._tagger, OutputFields())\n"
        "assert out[0]['aspects'][0]['text'] == 'pizza', out\n"
        "assert 'spacy' in sys.modules and sys.modules.get('torch') is None, sys.modules.get('torch')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow  # runs the real command or many inputs: seconds, kept out of the quick loop
def test_with_several_inputs_each_record_names_its_file(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.jsonl"
    first.write_text("The pizza was great\nslow service\n")
    second.write_text('{"text": "Rude waiter"}\n{not json\n')
    out = tmp_path / "out.jsonl"
    result = coextract("tag", str(first), str(second), "--output", str(out), "--workers", "1", "--quiet")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["file"], r["id"]) for r in records] == [
        (str(first), 1),
        (str(first), 2),
        (str(second), 1),
        (str(second), 2),
    ]
    assert list(records[0]) == ["id", "file", "aspects", "opinions", "pairs"]  # the bundle links them
    assert records[3]["error"].startswith(f"{second}:2: invalid JSON")
    single = coextract("tag", str(first), "--output", "-", "--workers", "1", "--quiet")
    assert all(
        "file" not in json.loads(line) for line in single.stdout.splitlines()
    )  # one input: ids suffice
