"""Commands a user runs on real files: the demo tagger and the spaCy project."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_tags_real_semeval_reviews(tiny_model_dir, data_dir):
    xml = data_dir.parent / "semeval-raw" / "semeval14" / "Laptops_Test_Gold.xml"
    result = subprocess.run(
        [sys.executable, "-m", "coextract.demo", str(xml), "--model", str(tiny_model_dir), "--limit", "5"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 5
    for record in records:
        for span in record["aspects"] + record["opinions"]:
            assert record["text"][span["start"] : span["end"]] == span["text"]


def test_demo_reports_a_missing_file_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "coextract.demo", str(tmp_path / "nope.txt")], capture_output=True, text=True
    )
    assert result.returncode == 2 and "nope.txt" in result.stderr and "Traceback" not in result.stderr


def test_spacy_project_workflow_is_valid():
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "project", "run", "all", ".", "--dry"],
        cwd=ROOT / "pipelines",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for step in ("f1.py", "bundle.py", "--semeval-xml", "--cmla-sentences"):
        assert step in result.stdout
