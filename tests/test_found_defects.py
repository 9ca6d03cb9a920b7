"""Regression tests for defects found by trying coextract as a new user would (each failed before its fix)."""

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import onnx
import pytest
import spacy

from coextract.corpus.engine import Summary
from coextract.corpus.readers import read_records
from coextract.errors import CoextractError
from coextract.runtime.model_folder import file_sha256, graph_facts, read_meta, vocabulary_hash
from coextract.runtime.model_names import resolve_model
from coextract.runtime.sizes import PIECE_CELLS
from coextract.runtime.tagger import load
from tests.conftest import coextract


def reseal(folder: Path, meta: dict) -> None:
    """Write meta.json and make its file digests fit again: what a careless hand edit would do."""
    meta["files_sha256"]["model.onnx"] = file_sha256(folder / "model.onnx")
    (folder / "meta.json").write_text(json.dumps(meta))


# 3. A review's "[PAD]" or "[SEP]" is text, never a control piece.


def test_a_literal_pad_or_sep_in_a_review_is_read_as_text():
    tagger = load("restaurant-minilm")
    for control in ("[PAD]", "[SEP]", "[CLS]"):
        tokens = ["the", control, "pizza", "was", "great"]
        batch = tagger.featurizer.batch([tokens])
        assert batch.piece_mask.all() and not {0, 101, 102} & set(batch.piece_ids[0, 1:-1].tolist())
        assert [s.text for s in tagger(tokens).opinions] == ["great"]


# 4. A bundled name and a local folder of that name: refused, never silently the bundle.


@pytest.mark.slow  # three subprocesses
def test_a_name_that_is_both_a_bundle_and_a_folder_is_refused(tmp_path):
    shutil.copytree(resolve_model("laptop"), tmp_path / "res14")
    result = coextract("tag", "-", "--output", "-", "--model", "res14", input="Great pizza.\n", cwd=tmp_path)
    assert result.returncode == 2 and "names both the bundled model res14 and the folder" in result.stderr
    assert result.stderr.count("\n") == 1 and "write ./res14 for the folder" in result.stderr
    local = coextract("tag", "-", "--output", "-", "--model", "./res14", input="Great pizza.\n", cwd=tmp_path)
    assert local.returncode == 0 and f"model folder {tmp_path / 'res14'}" in local.stderr
    bundled = coextract("tag", "-", "--output", "-", "--model", "res14", input="Great pizza.\n")
    assert bundled.returncode == 0 and "bundled model res14" in bundled.stderr


# 5. `coextract train` refuses what it cannot do in one line, before it writes anything.


@pytest.mark.slow  # starts torch in a subprocess per case
@pytest.mark.parametrize(
    "options, message",
    [
        (["--encoder", "ENCODER", "--word-pooling", "avg"], "--word-pooling is first or mean, not 'avg'"),
        (["--word-pooling", "mean"], "--word-pooling: a MiniLM-tier option; add --encoder"),
        (["--encoder", "ENCODER", "--n-buckets", "7"], "--n-buckets: fast-tier options"),
        (["--encoder", "ENCODER", "--conv-kernels", "3"], "--conv-kernels: fast-tier options"),
        (["--encoder", "ENCODER", "--freeze-embeddings"], "--freeze-embeddings: fast-tier options"),
        (
            ["--encoder", "ENCODER", "--embeddings", "glove", "--no-word-vectors"],
            "--embeddings with --no-word-vectors",
        ),
        (["--recurrent"], "--recurrent: a MiniLM-tier option; add --encoder"),
        (["--encoder", "TRUNCATED"], "model.safetensors: truncated"),
    ],
)
def test_train_refuses_options_of_the_other_tier_and_broken_encoders(
    options, message, tiny_encoder_dir, tmp_path, data_dir
):
    truncated = shutil.copytree(tiny_encoder_dir, tmp_path / "truncated")
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    paths = {"ENCODER": str(tiny_encoder_dir), "TRUNCATED": str(truncated)}
    output = tmp_path / "run"
    args = ["train", "--dataset", "res14", "--output", str(output), "--data-dir", str(data_dir)]
    result = coextract(*args, *(paths.get(o, o) for o in options))
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and not output.exists()


# 6. Everything that changes a prediction is sealed; the card states the encoder actually used.


def swap_two_words(meta: dict) -> None:
    words = meta["vocabulary"]
    words[5], words[6] = words[6], words[5]
    meta["vocabulary_sha256"] = vocabulary_hash(words)


def unseal_graph(folder: Path) -> None:
    """The graph without its seal, as an export from before the seal would be."""
    graph = onnx.load(str(folder / "model.onnx"))
    kept = [p for p in graph.metadata_props if p.key != "coextract.meta_sha256"]
    del graph.metadata_props[:]
    graph.metadata_props.extend(kept)
    onnx.save(graph, str(folder / "model.onnx"))


@pytest.mark.parametrize(
    "model, damage, message",
    [
        ("restaurant", lambda d, m: unseal_graph(d), "meta_sha256 None in the graph"),
        ("restaurant-minilm", lambda d, m: (d / "LICENSE").unlink(), "LICENSE: missing"),
        ("restaurant-minilm", lambda d, m: m.update(labels=["O", "I", "B"]), "meta_sha256"),
        ("restaurant-minilm", lambda d, m: m["model"].update(word_pooling="first"), "meta_sha256"),
        (
            "restaurant-minilm",
            lambda d, m: shutil.copy(resolve_model("laptop-minilm") / "model.onnx", d),
            "the graph of another model",
        ),
        ("restaurant", lambda d, m: swap_two_words(m), "meta_sha256"),
    ],
)
def test_a_hand_edited_folder_is_refused_even_with_its_digests_redone(model, damage, message, tmp_path):
    folder = shutil.copytree(resolve_model(model), tmp_path / "edited")
    meta = read_meta(folder)
    damage(folder, meta)
    reseal(folder, meta)
    with pytest.raises(CoextractError, match=message):
        load(folder)


def test_bundles_name_their_encoder_and_licence_not_a_machine_path():
    for name in ("restaurant-minilm", "laptop-minilm"):
        folder = resolve_model(name)
        meta = read_meta(folder)
        assert meta["train"]["encoder"] == meta["encoder"] == "all-MiniLM-L6-v2"
        assert meta["encoder_license"] == "Apache-2.0" and "LICENSE" in meta["files_sha256"]
        sealed = {p.key: p.value for p in onnx.load(str(folder / "model.onnx")).metadata_props}
        assert sealed["coextract.meta_sha256"] == graph_facts(meta)["coextract.meta_sha256"]


@pytest.mark.slow  # trains a tiny MiniLM-tier model
def test_an_encoder_without_a_licence_is_said_so_on_the_card(tiny_minilm_model_dir, tiny_encoder_dir):
    # The tiny test encoder's folder holds no LICENSE: the card must not claim MiniLM's Apache-2.0.
    card = (tiny_minilm_model_dir / "MODEL_CARD.md").read_text()
    assert "no licence file came with the encoder" in card and "Apache-2.0" not in card
    assert f"`{tiny_encoder_dir.name}`" in card and "sentence-transformers" not in card
    assert read_meta(tiny_minilm_model_dir)["encoder_license"] is None


# 7. Gold terms that cannot be aligned: refused, not scored as if they were the gold.


def test_evaluate_refuses_an_opinion_file_of_other_reviews(data_dir):
    raw = data_dir.parent / "semeval-raw"
    xml, wrong = raw / "semeval14" / "Restaurants_Test_Gold.xml", raw / "wang-opinions" / "test_laptop.txt"
    result = coextract(
        "evaluate", "--model", "restaurant", "--semeval-xml", str(xml), "--opinions", str(wrong)
    )
    assert result.returncode == 2 and "are not in the reviews of Restaurants_Test_Gold.xml" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.slow  # starts torch in a subprocess
def test_train_refuses_an_opinion_file_of_other_reviews(data_dir, tmp_path):
    raw = data_dir.parent / "semeval-raw"
    xml, wrong = raw / "semeval14" / "Restaurants_Test_Gold.xml", raw / "wang-opinions" / "test_laptop.txt"
    args = ["train", "--dataset", "res14", "--output", str(tmp_path / "run"), "--data-dir", str(data_dir)]
    result = coextract(*args, "--semeval-xml", str(xml), "--opinions", str(wrong))
    assert result.returncode == 2 and "are not in the reviews of Restaurants_Test_Gold.xml" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "run").exists()


# 8, 9. spaCy serialization: nothing left in the temporary folder; a bundle by its path travels whole.


def test_from_bytes_leaves_no_folder_behind():
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": str(resolve_model("res15"))})
    data = nlp.to_bytes()
    before = set(Path(tempfile.gettempdir()).glob("coextract-model-*"))
    again = spacy.blank("en")
    again.add_pipe("coextract", config={"model": "restaurant"})
    again.from_bytes(data)
    assert set(Path(tempfile.gettempdir()).glob("coextract-model-*")) == before
    doc = again("The pizza was great.")
    assert [s.text for s in doc.spans["aspects"]] == ["pizza"]
    assert again.get_pipe("coextract").to_bytes() == nlp.get_pipe("coextract").to_bytes()  # still carried


def test_a_bundled_model_named_by_its_path_is_saved_with_the_pipeline(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": str(resolve_model("laptop"))})
    nlp.to_disk(tmp_path / "pipe")
    saved = tmp_path / "pipe" / "coextract" / "model"
    assert (saved / "model.onnx").read_bytes() == (resolve_model("laptop") / "model.onnx").read_bytes()


# 10. Memory: a MiniLM call holds at most PIECE_CELLS cells of the encoder's attention.


@pytest.mark.slow  # seconds: kept out of the quick loop
def test_long_reviews_in_many_pieces_run_in_small_calls():
    tagger = load("restaurant-minilm", threads=1)
    shapes = []
    run = tagger.run
    tagger.run = lambda feeds: shapes.append(feeds["piece_ids"].shape) or run(feeds)
    words = [hashlib.sha256(str(i).encode()).hexdigest()[:12] for i in range(100)]  # 4-5 pieces each
    tagger.tag_batch([words] * 3, batch_size=256)
    assert (
        sum(rows for rows, _ in shapes) == 3
        and len(shapes) > 1
        and all(rows * pieces**2 <= PIECE_CELLS for rows, pieces in shapes)
    )
    assert max(pieces for _, pieces in shapes) > 400  # the reviews really were long in pieces


# 11. Small ones.


def test_export_help_states_the_rule_in_force():
    result = coextract("export", "--help")
    assert "within 0.3 points" in result.stdout and "dev F1" in result.stdout and "0.5" not in result.stdout


def test_quantized_true_on_a_bundle_whose_one_graph_is_int8_says_so():
    with pytest.raises(CoextractError, match="model.onnx, is the int8 one already"):
        load("restaurant-minilm", quantized=True)


def test_evaluate_batch_size_0_is_refused(data_dir):
    result = coextract("evaluate", "--model", "restaurant", "--dataset", "res14", "--batch-size", "0")
    assert result.returncode == 2 and "--batch-size must be 1 or more, got 0" in result.stderr


def test_a_resumed_runs_rate_counts_only_what_it_tagged():
    line = Summary(records=1000, errors=0, seconds=10.0, resumed=900).line()
    assert line == "1000 records (900 from the interrupted run), 0 errors, 10.0 s, 10 reviews/s"
    assert Summary(records=1, seconds=4.8).line().endswith(", 4.8 s, 0.21 reviews/s")  # not "0 reviews/s"


def test_an_xml_sentence_without_text_is_an_error_record(tmp_path):
    xml = tmp_path / "r.xml"
    xml.write_text('<sentences><sentence id="a"><text>Good.</text></sentence><sentence id="b"/></sentences>')
    records = list(read_records(str(xml)))
    assert [(r.id, r.text, r.error) for r in records] == [
        ("a", "Good.", None),
        ("b", None, f"{xml}: sentence 2 (id b) has no <text>"),
    ]


EMOJI = "\U0001f469\u200d\U0001f373"  # woman cook: three code points, one character on screen


@pytest.mark.parametrize(
    "text", [f"great{EMOJI} pizza", f"The {EMOJI}pizza was great", "The pizza was great"]
)
def test_a_span_never_ends_or_starts_inside_an_emoji_sequence(text):
    start = text.find(EMOJI)
    inside = set(range(start + 1, start + len(EMOJI))) if start >= 0 else set()
    aspects = load("restaurant")(text).aspects
    assert any(s.text.endswith("pizza") for s in aspects)  # the emoji itself may be tagged: whole, if so
    assert all(text[s.start : s.end] == s.text for s in aspects)
    assert not {b for s in aspects for b in (s.start, s.end)} & inside


@pytest.mark.slow  # trains and exports a tiny model
def test_export_prints_no_shape_inference_notes(tiny_run, tmp_path, data_dir):
    result = coextract(
        "export", str(tiny_run[0]), "--output", str(tmp_path / "m"), "--data-dir", str(data_dir)
    )
    assert result.returncode == 0 and "PackPadded" not in result.stderr and result.stderr.count("\n") == 1
