"""The bundled MiniLM-tier models, through every entry point, with no torch (their own F1 is in benchmarks)."""

import json
import subprocess
import sys

import pytest
import spacy

import coextract
from coextract.runtime.model_names import resolve_model
from tests.conftest import coextract as run_coextract

TEXT = "The pizza was great but the waiter was painfully slow."
BUNDLES = {"restaurant-minilm": "res14", "laptop-minilm": "lap14"}


@pytest.mark.parametrize("name", BUNDLES)
def test_each_bundle_is_a_whole_folder_under_50_mb(name):
    folder = resolve_model(name)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["tier"] == "minilm" and meta["dataset"] == BUNDLES[name]
    assert {p.name for p in folder.iterdir()} >= {
        "model.onnx",
        "meta.json",
        "tokenizer.json",
        "LICENSE",
        "MODEL_CARD.md",
    }
    assert sum(p.stat().st_size for p in folder.iterdir()) <= 50e6
    assert "Apache License" in (folder / "LICENSE").read_text()


def test_load_finds_the_terms_and_who_thinks_what():
    result = coextract.load("restaurant-minilm")(TEXT)
    assert [(s.text, s.start, s.end) for s in result.aspects] == [("pizza", 4, 9), ("waiter", 28, 34)]
    assert [(s.text, s.start, s.end) for s in result.opinions] == [
        ("great", 14, 19),
        ("painfully slow", 39, 53),
    ]
    assert [(p.aspect.text, p.opinion.text, p.sentiment) for p in result.pairs] == [
        ("pizza", "great", "positive"),
        ("waiter", "painfully slow", "negative"),
    ]


@pytest.mark.slow  # a subprocess, or a MiniLM model loaded twice
def test_it_loads_and_tags_with_torch_and_transformers_hidden():
    code = (
        "import sys\n"
        "class Hidden:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'transformers'): raise ImportError('hidden')\n"
        "sys.meta_path.insert(0, Hidden())\n"
        "import coextract\n"
        f"print([s.text for s in coextract.load('restaurant-minilm')({TEXT!r}).aspects])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['pizza', 'waiter']"


@pytest.mark.slow  # a subprocess, or a MiniLM model loaded twice
def test_the_spacy_component_takes_it_and_saves_it(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": "laptop-minilm"})
    doc = nlp("The battery life is excellent but the keyboard feels cheap.")
    assert [s.text for s in doc.spans["aspects"]] == ["battery life", "keyboard"]
    nlp.to_disk(tmp_path / "pipe")
    again = spacy.load(tmp_path / "pipe")("The battery life is excellent but the keyboard feels cheap.")
    assert [s.text for s in again.spans["opinions"]] == [s.text for s in doc.spans["opinions"]]


@pytest.mark.slow  # a subprocess, or a MiniLM model loaded twice
def test_coextract_tag_takes_it_in_a_pipe():
    result = run_coextract(
        "tag",
        "-",
        "--output",
        "-",
        "--model",
        "restaurant-minilm",
        input="The sushi was fresh.\nRude staff.\n",
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["aspects"][0]["text"] for r in records] == ["sushi", "staff"]
