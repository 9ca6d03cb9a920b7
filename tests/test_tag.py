"""`coextract tag` on real files: order, errors, workers, and resume after kill -9."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest


def coextract(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "coextract", *args], capture_output=True, text=True, **kwargs
    )


@pytest.fixture(scope="module")
def reviews(tmp_path_factory, data_dir):
    """6,000 JSONL reviews built from real test sentences, with two bad lines in the middle."""
    sentences = (data_dir / "res14" / "test" / "sentence.txt").read_text().splitlines()
    path = tmp_path_factory.mktemp("corpus") / "reviews.jsonl"
    with path.open("w") as out:
        for i in range(6000):
            if i in (1000, 4000):
                out.write("{not json\n" if i == 1000 else json.dumps({"rid": i, "body": 7}) + "\n")
            else:
                out.write(json.dumps({"rid": i, "body": sentences[i % len(sentences)]}) + "\n")
    return path


def tag(reviews, out, model, *extra):
    return coextract("tag", str(reviews), "--text-field", "body", "--id-field", "rid", "--model", str(model),
                     "--output", str(out), "--quiet", *extra)  # fmt: skip


def test_every_record_once_in_order_with_errors(reviews, tiny_model_dir, tmp_path):
    out = tmp_path / "tagged.jsonl"
    result = tag(reviews, out, tiny_model_dir, "--workers", "2", "--include-text")
    assert result.returncode == 0, result.stderr
    assert "6000 records, 2 errors" in result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 6000
    assert records[1000]["error"].endswith(
        "invalid JSON (Expecting property name enclosed in double quotes at column 2)"
    )
    assert "reviews.jsonl:1001:" in records[1000]["error"]
    assert "is int, not text" in records[4000]["error"] and records[4000]["id"] == 4000
    good = [r for r in records if "error" not in r]
    assert [r["id"] for r in good] == [i for i in range(6000) if i not in (1000, 4000)]
    for record in good:
        for span in record["aspects"] + record["opinions"]:
            assert record["text"][span["start"] : span["end"]] == span["text"]
    assert not (tmp_path / "tagged.jsonl.partial").exists()
    one_worker = tmp_path / "one.jsonl"
    tag(reviews, one_worker, tiny_model_dir, "--workers", "1", "--include-text")
    assert one_worker.read_text() == out.read_text()


def test_refuses_to_overwrite_and_strict_stops(reviews, tiny_model_dir, tmp_path):
    out = tmp_path / "exists.jsonl"
    out.write_text("precious\n")
    result = tag(reviews, out, tiny_model_dir)
    assert result.returncode == 2 and "--overwrite" in result.stderr and out.read_text() == "precious\n"
    strict = tag(reviews, tmp_path / "strict.jsonl", tiny_model_dir, "--strict", "--workers", "1")
    assert (
        strict.returncode == 2 and "reviews.jsonl:1001" in strict.stderr and "Traceback" not in strict.stderr
    )
    assert not (tmp_path / "strict.jsonl").exists()


def test_stdin_to_stdout(tiny_model_dir):
    result = coextract("tag", "-", "--output", "-", "--model", str(tiny_model_dir), "--quiet", "--workers", "1",
                       input="The pizza was great\n\nslow service\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == [1, 2, 3] and records[1]["aspects"] == []


def test_resume_after_kill_gives_the_uninterrupted_output(reviews, tiny_model_dir, tmp_path):
    complete = tmp_path / "complete.jsonl"
    assert tag(reviews, complete, tiny_model_dir, "--workers", "1").returncode == 0

    out = tmp_path / "killed.jsonl"
    state = tmp_path / "killed.jsonl.partial.state"
    command = [sys.executable, "-m", "coextract", "tag", str(reviews), "--text-field", "body", "--id-field", "rid",
               "--model", str(tiny_model_dir), "--output", str(out), "--quiet", "--workers", "2"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        state.exists() and json.loads(state.read_text())["records"] >= 1024
    ):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done = json.loads(state.read_text())["records"]
    assert 0 < done < 6000 and not out.exists()

    resumed = tag(reviews, out, tiny_model_dir, "--resume", "--workers", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "6000 records, 2 errors" in resumed.stderr  # counts include the part done before the kill
    assert out.read_text() == complete.read_text()
    assert not state.exists()


def test_csv_and_parquet_outputs_hold_the_same_records(reviews, tiny_model_dir, tmp_path):
    import csv

    jsonl = tmp_path / "t.jsonl"
    assert tag(reviews, jsonl, tiny_model_dir, "--workers", "1").returncode == 0
    expected = [json.loads(line) for line in jsonl.read_text().splitlines()]

    as_csv = tmp_path / "t.csv"
    assert tag(reviews, as_csv, tiny_model_dir, "--workers", "1").returncode == 0  # format from the name
    with as_csv.open(newline="") as rows:
        rows = list(csv.DictReader(rows))
    assert [r["id"] for r in rows] == [str(e["id"]) if e["id"] is not None else "" for e in expected]
    assert [json.loads(r["aspects"]) for r in rows] == [e["aspects"] for e in expected]
    assert rows[1000]["error"] == expected[1000]["error"]

    pq = pytest.importorskip("pyarrow.parquet")
    as_parquet = tmp_path / "t.out"
    assert tag(reviews, as_parquet, tiny_model_dir, "--workers", "1", "--format", "parquet").returncode == 0
    table = pq.read_table(as_parquet).to_pylist()
    assert len(table) == 6000 and table[1000]["error"] == expected[1000]["error"]
    assert [r["opinions"] for r in table] == [e["opinions"] for e in expected]
    assert not list(tmp_path.glob("*.partial*")) and not list(tmp_path.glob("*.converting"))


def test_a_wrong_model_is_one_clear_line(reviews, tmp_path):
    result = tag(reviews, tmp_path / "o.jsonl", tmp_path / "no-model", "--workers", "2")
    assert result.returncode == 2 and "no model" in result.stderr and "Traceback" not in result.stderr


def test_stdout_takes_json_lines_only(tiny_model_dir):
    result = coextract(
        "tag", "-", "--output", "-", "--format", "csv", "--model", str(tiny_model_dir), input="x\n"
    )
    assert result.returncode == 2 and "JSON Lines only" in result.stderr


def test_tagging_processes_do_not_load_torch(tiny_model_dir):
    # Where [train] is installed, spaCy's thinc would import torch (~180 MB) into every worker.
    script = (
        "import sys\n"
        "from coextract.batch import _init_worker, output_records\n"
        "from coextract.readers import Record\n"
        f"_init_worker({str(tiny_model_dir)!r})\n"
        "output_records([Record('-', 1, 1, 'The pizza was great.')], include_text=False)\n"
        "assert 'spacy' in sys.modules and sys.modules.get('torch') is None, sys.modules.get('torch')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
