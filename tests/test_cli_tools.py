"""Commands a user runs on real files: tagging SemEval XML, and the spaCy project."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_tag_real_semeval_reviews_from_xml(tiny_model_dir, data_dir, tmp_path):
    xml = data_dir.parent / "semeval-raw" / "semeval14" / "Laptops_Test_Gold.xml"
    out = tmp_path / "tagged.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "coextract", "tag", str(xml), "--model", str(tiny_model_dir), "--output", str(out),
         "--include-text", "--workers", "1"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 800 and records[0]["id"] and "800 records, 0 errors" in result.stderr
    for record in records:
        for span in record["aspects"] + record["opinions"]:
            assert record["text"][span["start"] : span["end"]] == span["text"]


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
