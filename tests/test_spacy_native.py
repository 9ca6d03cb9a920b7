"""The component as spaCy users use it: saved pipelines that carry their model, labels, nlp.evaluate,
and an installable pipeline package."""

import json
import shutil
import subprocess
import sys
import sysconfig
from itertools import pairwise
from pathlib import Path

import pytest
import spacy
from spacy import displacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from coextract.evaluation.evaluate import evaluate_raw
from coextract.evaluation.semeval import read_semeval14
from coextract.runtime.model_names import resolve_model
from coextract.runtime.tagger import load
from tests.conftest import build_coextract_wheel

ROOT = Path(__file__).resolve().parents[1]
TEXT = "The battery life is great but the screen is dim."
REVIEW_TOKENIZER = {"nlp": {"tokenizer": {"@tokenizers": "coextract.ReviewTokenizer.v1"}}}


def terms(doc, key):
    return [(span.text, span.start_char, span.end_char, span.label_) for span in doc.spans[key]]


def test_a_saved_pipeline_carries_its_model_and_loads_anywhere(tmp_path):
    copied = shutil.copytree(resolve_model("laptop"), tmp_path / "copied")
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": str(copied)})
    before = nlp(TEXT)
    nlp.to_disk(tmp_path / "pipe")
    shutil.rmtree(copied)  # the model folder is gone, and the pipeline moves
    moved = shutil.move(tmp_path / "pipe", tmp_path / "elsewhere")
    after = spacy.load(moved)(TEXT)
    assert (
        terms(after, "aspects")
        == terms(before, "aspects")
        == [
            ("battery life", 4, 16, "ASPECT"),
            ("screen", 34, 40, "ASPECT"),
        ]
    )
    assert terms(after, "opinions") == terms(before, "opinions")
    assert after.spans["aspects"].attrs["scores"] == before.spans["aspects"].attrs["scores"]


def test_the_saved_model_is_checked_like_any_model_folder(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": str(shutil.copytree(resolve_model("laptop"), tmp_path / "m"))})
    nlp.to_disk(tmp_path / "pipe")
    shutil.copy(resolve_model("restaurant") / "model.onnx", tmp_path / "pipe" / "coextract" / "model")
    with pytest.raises(Exception, match="does not belong with"):
        spacy.load(tmp_path / "pipe")


def test_to_bytes_carries_the_model_and_a_bundled_model_is_stored_by_name(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": str(shutil.copytree(resolve_model("laptop"), tmp_path / "m"))})
    data = nlp.to_bytes()
    shutil.rmtree(tmp_path / "m")
    again = spacy.blank("en")
    again.add_pipe("coextract", config={"model": str(tmp_path / "m")})
    assert terms(again.from_bytes(data)(TEXT), "aspects")[0][0] == "battery life"
    bundled = spacy.blank("en")
    bundled.add_pipe("coextract", config={"model": "laptop"})
    bundled.to_disk(tmp_path / "bundled")
    assert not (tmp_path / "bundled" / "coextract" / "model").exists()  # the name is enough: it ships
    assert terms(spacy.load(tmp_path / "bundled")(TEXT), "aspects") == terms(again(TEXT), "aspects")


def test_spans_are_labelled_and_displacy_shows_the_labels():
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": "laptop", "opinions_label": "OPINION_TERM"})
    doc = nlp(TEXT)
    assert doc.spans["aspects"][0].label_ == "ASPECT" and doc.spans["opinions"][0].label_ == "OPINION_TERM"
    html = displacy.render(doc, style="span", options={"spans_key": "aspects"})
    assert "ASPECT" in html and "battery" in html


def reference_doc(nlp, predicted, gold: dict[str, list[tuple[int, int]]]) -> Doc:
    """A gold doc of `predicted`'s text, cut at every predicted token and gold term boundary, so
    that both sides' spans are exact token spans of it and matching them is matching offsets."""
    text = predicted.text
    cuts = sorted({0, len(text)} | {c for t in predicted for c in (t.idx, t.idx + len(t))}
                  | {c for spans in gold.values() for span in spans for c in span})  # fmt: skip
    words, spaces = [], []
    for start, end in pairwise(cuts):
        piece = text[start:end]
        if piece == " " and words and not spaces[-1]:
            spaces[-1] = True
        else:
            words.append(piece)
            spaces.append(False)
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    assert doc.text == text
    for key, spans in gold.items():
        doc.spans[key] = [doc.char_span(start, end) for start, end in spans]
    return doc


@pytest.mark.slow  # runs the real command or many inputs: seconds, kept out of the quick loop
def test_nlp_evaluate_equals_coextract_evaluate_on_the_restaurant_test_xml(data_dir):
    raw = data_dir.parent / "semeval-raw"
    files = (raw / "semeval14" / "Restaurants_Test_Gold.xml", raw / "wang-opinions" / "test_restaurant.txt")
    nlp = spacy.blank("en", config=REVIEW_TOKENIZER)  # doc tokens = coextract's: every term is whole tokens
    nlp.add_pipe("coextract", config={"model": "restaurant"})
    examples = []
    for review in read_semeval14(*files):
        predicted = nlp.make_doc(review.text)
        gold = {"aspects": list(review.aspects), "opinions": list(review.opinions)}
        examples.append(Example(predicted, reference_doc(nlp, predicted, gold)))
    scores = nlp.evaluate(examples)
    report = evaluate_raw(load("restaurant"), files)
    for key, side in (("aspects", "aspect"), ("opinions", "opinion")):
        for short, name in (("p", "precision"), ("r", "recall"), ("f", "f1")):
            assert scores[f"spans_{key}_{short}"] == pytest.approx(
                report[side][name], abs=1e-12
            )  # float order only
    published = json.loads((ROOT / "benchmarks" / "results" / "raw_text.json").read_text())["res14"]["raw"]
    assert scores["spans_aspects_f"] == pytest.approx(
        published["aspect"]["f1"], abs=1e-12
    )  # the README's figure


@pytest.mark.slow
def test_spacy_evaluate_writes_the_span_scores(tmp_path):
    nlp = spacy.blank("en", config=REVIEW_TOKENIZER)
    nlp.add_pipe("coextract", config={"model": "restaurant"})
    nlp.to_disk(tmp_path / "pipe")
    gold = nlp.make_doc("The pizza was great but the waiter was painfully slow.")
    gold.spans["aspects"] = [gold.char_span(4, 9), gold.char_span(28, 34)]
    gold.spans["opinions"] = [
        gold.char_span(14, 19),
        gold.char_span(39, 53),
    ]  # "painfully slow": found "slow"
    DocBin(docs=[gold]).to_disk(tmp_path / "gold.spacy")
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "evaluate", str(tmp_path / "pipe"), str(tmp_path / "gold.spacy"),
         "--output", str(tmp_path / "scores.json")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert (scores["spans_aspects_f"], scores["spans_opinions_p"], scores["spans_opinions_r"]) == (
        1.0,
        0.5,
        0.5,
    )


@pytest.mark.slow
def test_a_packaged_pipeline_installs_and_tags_in_a_fresh_venv_without_torch(tmp_path):
    # `spacy package` of a saved pipeline, and coextract's own wheel, installed from these local files
    # only into a new virtualenv; its other dependencies (spaCy, onnxruntime, numpy) come from this
    # environment through a path file, and torch is hidden.
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "coextract", config={"model": str(shutil.copytree(resolve_model("restaurant"), tmp_path / "m"))}
    )
    nlp.meta.update(name="coextract_restaurant", version="0.1.0", requirements=["coextract>=0.1.0"])
    nlp.to_disk(tmp_path / "pipe")
    (tmp_path / "dist").mkdir()

    def run(*command, **kwargs):
        result = subprocess.run(command, capture_output=True, text=True, **kwargs)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    run(
        sys.executable,
        "-m",
        "spacy",
        "package",
        str(tmp_path / "pipe"),
        str(tmp_path / "dist"),
        "--build",
        "wheel",
    )
    built = build_coextract_wheel(tmp_path / "dist")
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = sorted(str(p) for p in (tmp_path / "dist").rglob("*.whl"))
    assert [Path(w).name.split("-")[0] for w in wheels] == ["coextract", "en_coextract_restaurant"]
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    python = venv / "bin" / "python"
    site = run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", *wheels)
    check = (
        "import sys\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'): raise ImportError('no torch here')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "import coextract, spacy\n"
        f"assert coextract.__file__.startswith({site!r}), coextract.__file__\n"
        "doc = spacy.load('en_coextract_restaurant')('The pizza was great but the waiter was painfully slow.')\n"
        "print([(s.text, s.label_) for s in doc.spans['aspects']])\n"
    )
    shown = run(str(python), "-c", check, cwd=tmp_path).stdout.strip()
    assert shown == "[('pizza', 'ASPECT'), ('waiter', 'ASPECT')]"
