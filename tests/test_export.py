"""Integration: export the tiny trained model, check torch and onnxruntime agree."""

import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from coextract.data import read_dataset  # noqa: E402
from coextract.errors import CoextractError  # noqa: E402
from coextract.export import HALF_MIN_ELEMENTS, compare, round_to_half, write_int8  # noqa: E402
from coextract.predict import predict_sentences  # noqa: E402
from coextract.runtime import OUTPUTS, load  # noqa: E402
from coextract.train import load_run, torch_backend  # noqa: E402


def test_model_folder_contents(tiny_model_dir, tiny_run):
    meta = json.loads((tiny_model_dir / "meta.json").read_text())
    assert meta["verification"]["tag_mismatches"] == 0
    assert meta["verification"]["max_prob_diff"] <= 1e-4
    assert meta["verification"]["dev_sentences"] == 608
    assert (
        meta["data_fingerprint"] == json.loads((tiny_run[0] / "config.json").read_text())["data_fingerprint"]
    )
    assert meta["labels"] == ["O", "B", "I"]
    card = (tiny_model_dir / "MODEL_CARD.md").read_text()
    assert "coextract evaluate --model" in card and "Intended use" in card
    assert "seed 3; it holds" in card and meta["kept_epochs"]
    vectors = "frozen" if meta["model"]["freeze_embeddings"] else "fine-tuned"
    assert f"{vectors} pre-trained word vectors" in " ".join(card.split())  # the card says how it was trained
    assert ("model.int8.onnx" in card) == meta["int8"]["shipped"]
    assert (tiny_model_dir / "model.int8.onnx").exists() == meta["int8"]["shipped"]


def test_graph_has_dynamic_axes_and_attention_outputs(tiny_model_dir):
    graph = onnx.load(str(tiny_model_dir / "model.onnx"))
    assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [o.name for o in graph.graph.output] == list(OUTPUTS)
    word_ids = graph.graph.input[0].type.tensor_type.shape.dim
    assert word_ids[0].dim_param and word_ids[1].dim_param  # batch and tokens are symbolic
    assert "Conv" not in {node.op_type for node in graph.graph.node}  # convolutions traced as one product


def test_weights_ship_as_float16_values(tiny_model_dir):
    graph = onnx.load(str(tiny_model_dir / "model.onnx"))
    meta = json.loads((tiny_model_dir / "meta.json").read_text())
    half = [w for w in graph.graph.initializer if w.data_type == onnx.TensorProto.FLOAT16]
    assert len(half) == meta["verification"]["float16_weights"] > 0
    largest = max(graph.graph.initializer, key=lambda w: np.prod(w.dims))
    assert largest.data_type == onnx.TensorProto.FLOAT16  # the word vectors
    casts = {n.input[0] for n in graph.graph.node if n.op_type == "Cast"}
    assert {w.name for w in half} <= casts  # each is cast back to float32 in the graph


def test_int8_model_keeps_its_unquantized_weights_as_float16(tiny_model_dir, tmp_path, data_dir):
    model_dir = shutil.copytree(tiny_model_dir, tmp_path / "model")
    write_int8(model_dir / "model.onnx", model_dir / "model.int8.onnx")
    graph = onnx.load(str(model_dir / "model.int8.onnx"))
    large = {w.data_type for w in graph.graph.initializer if np.prod(w.dims) >= HALF_MIN_ELEMENTS}
    assert onnx.TensorProto.INT8 in large  # quantized products
    assert onnx.TensorProto.FLOAT16 in large and onnx.TensorProto.FLOAT not in large  # GRUs, convolutions
    sentences = [e.tokens for e in read_dataset(data_dir, "res14")["dev"][:50]]
    fp32 = load(model_dir).predict(sentences)
    int8 = load(model_dir, quantized=True).predict(sentences)
    assert all(np.abs(a.aspect_probs - b.aspect_probs).max() < 0.1 for a, b in zip(fp32, int8, strict=True))


def test_torch_and_onnxruntime_agree_on_test(tiny_model_dir, tiny_run, data_dir):
    model, featurizer, _ = load_run(tiny_run[0])
    round_to_half(model)  # the weights as shipped
    sentences = [e.tokens for e in read_dataset(data_dir, "lap14")["test"]]  # another domain: many <unk>
    torch_predictions = predict_sentences(torch_backend(model), featurizer, sentences, batch_size=64)
    onnx_predictions = load(tiny_model_dir).predict(sentences, batch_size=64)
    agreement = compare(torch_predictions, onnx_predictions)
    assert agreement["tag_mismatches"] == 0 and agreement["max_prob_diff"] < 1e-4


def test_onnx_evaluation_matches_the_card(tiny_model_dir, data_dir):
    result = subprocess.run(
        [sys.executable, "-m", "coextract", "evaluate", "--model", str(tiny_model_dir), "--dataset", "res14",
         "--json", "--data-dir", str(data_dir)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    meta = json.loads((tiny_model_dir / "meta.json").read_text())
    assert json.loads(result.stdout)["aspect"] == meta["onnx_scores"]["test"]["aspect"]


@pytest.mark.parametrize("threads", [1, 3])  # 3: a batch's rows run as three parts at once
def test_results_do_not_depend_on_batching(tiny_model_dir, data_dir, threads):
    tagger = load(tiny_model_dir, threads=threads)
    sentences = [e.tokens for e in read_dataset(data_dir, "res14")["dev"][:60]]
    batched = list(tagger.pipe(sentences, batch_size=32))
    one_by_one = [tagger(s) for s in sentences]
    spans = [[(s.text, s.start, s.end) for s in (*r.aspects, *r.opinions)] for r in batched]
    assert spans == [[(s.text, s.start, s.end) for s in (*r.aspects, *r.opinions)] for r in one_by_one]
    scores = [s.score for r in batched for s in (*r.aspects, *r.opinions)]
    assert scores == pytest.approx([s.score for r in one_by_one for s in (*r.aspects, *r.opinions)], abs=1e-4)
    probs_batched = tagger.predict(sentences, batch_size=60)
    probs_single = [tagger.predict([s])[0] for s in sentences]
    for a, b in zip(probs_batched, probs_single, strict=True):
        assert np.allclose(a.aspect_probs, b.aspect_probs, atol=1e-5)


def test_the_graph_takes_rows_in_any_length_order(tiny_model_dir, data_dir):
    # The GRUs export without torch's sort by length: onnxruntime's GRU must read
    # each row's own length whatever the order of the rows.
    graph = onnx.load(str(tiny_model_dir / "model.onnx")).graph
    assert not {"TopK", "ScatterElements"} & {node.op_type for node in graph.node}  # no sort, no unsort
    tagger = load(tiny_model_dir, threads=1)
    sentences = [e.tokens for e in read_dataset(data_dir, "res14")["dev"][:40]]
    lengths = [len(tokens) for tokens in sentences]
    assert lengths != sorted(lengths) and lengths != sorted(lengths, reverse=True)

    def run(batch_sentences):
        batch = tagger.featurizer.batch(batch_sentences)
        return tagger.run(batch.word_ids, batch.subword_ids, batch.mask)

    aspects, opinions, attentions = run(sentences)  # (B, T, 3), (B, T, 3), (B, 2, L, T)
    for row, tokens in enumerate(sentences):
        n = len(tokens)
        aspect_alone, opinion_alone, attention_alone = run([tokens])
        assert np.allclose(aspects[row, :n], aspect_alone[0], atol=1e-5)
        assert np.allclose(opinions[row, :n], opinion_alone[0], atol=1e-5)
        assert np.allclose(attentions[row, ..., :n], attention_alone[0], atol=1e-5)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "meta.json").unlink(), "meta.json: missing"),
        (lambda d: (d / "meta.json").write_text("{"), "not valid JSON"),
        (
            lambda d: (d / "model.onnx").write_bytes((d / "model.onnx").read_bytes()[:5000]),
            "cannot be loaded",
        ),
        (lambda d: (d / "model.onnx").write_text("hello"), "cannot be loaded"),
        (
            lambda d: (d / "meta.json").write_text(
                (d / "meta.json").read_text().replace('"<unk>"', '"<UNK>"')
            ),
            "vocabulary does not match its sha256",
        ),
    ],
)
def test_damaged_model_folders_give_clear_errors(tiny_model_dir, tmp_path, damage, message):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    damage(broken)
    with pytest.raises(CoextractError, match=message) as info:
        load(broken)
    assert str(broken) in str(info.value)
