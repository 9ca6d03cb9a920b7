"""Commands a user runs on real files: tagging SemEval XML, and the spaCy project."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.slow  # subprocesses that import torch or run spaCy's project tooling
def test_spacy_project_workflow_is_valid():
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "project", "run", "all", ".", "--dry"],
        cwd=ROOT / "pipelines",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    steps = [line for line in result.stdout.splitlines() if line.startswith("Running command:")]
    commands = [[Path(words[2]).name, words[3]] for words in map(str.split, steps[:3])]
    assert commands == [
        ["python", "../benchmarks/triplets.py"],
        ["python", "bundle.py"],
        ["coextract", "evaluate"],
    ]
    assert len(steps) == 2 + 6  # train, bundle, and a tokenized and a raw evaluation per dataset
    for step in steps:  # every file a step names exists (scripts, bundled models, raw test files)
        for word in step.split()[2:]:
            if "/" in word or word.endswith(".py"):
                assert (ROOT / "pipelines" / word).exists(), f"{word} (in: {step})"


@pytest.mark.slow  # subprocesses that import torch or run spaCy's project tooling
def test_benchmark_scripts_import_as_a_package_too():
    # `python -m benchmarks.NAME` from the repository root, beside `python benchmarks/NAME.py`.
    names = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.stem != "__init__")
    assert {"f1", "report", "inference", "tag_throughput"} <= set(names)
    code = "; ".join(f"import benchmarks.{name}" for name in names)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_help_names_every_input_format_and_bundled_model_and_version_is_printed():
    from coextract.corpus.readers import FORMATS
    from coextract.runtime.model_names import bundled_models
    from coextract.version import __version__
    from tests.conftest import coextract

    help_text = " ".join(coextract("tag", "--help").stdout.split())
    assert all(f".{name}" in help_text or name in help_text for name in FORMATS)
    assert "txt, jsonl, csv, parquet or xml" in help_text
    assert all(name in help_text for name in bundled_models())
    assert coextract("--version").stdout.strip() == f"coextract {__version__}"
