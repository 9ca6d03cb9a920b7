"""Integration: export the tiny trained model, check torch and onnxruntime agree."""

import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from coextract.evaluation.benchmark import read_dataset  # noqa: E402
from coextract.runtime.model_folder import OUTPUTS, RELATION_OUTPUTS, gives_relations, read_meta  # noqa: E402
from coextract.runtime.predict import predict_sentences  # noqa: E402
from coextract.runtime.tagger import load  # noqa: E402
from coextract.training.checkpoint import load_run, torch_backend  # noqa: E402
from coextract.training.export import compare  # noqa: E402
from coextract.training.int8 import add_int8, int8_pays  # noqa: E402
from coextract.training.weights import HALF_MIN_ELEMENTS, round_to_half  # noqa: E402


def test_model_folder_contents(tiny_model_dir, tiny_run):
    meta = json.loads((tiny_model_dir / "meta.json").read_text())
    assert meta["verification"]["tag_mismatches"] == 0
    assert meta["verification"]["max_prob_diff"] <= 1e-4
    assert meta["verification"]["dev_sentences"] == 608
    assert (
        meta["data_fingerprint"] == json.loads((tiny_run[0] / "config.json").read_text())["data_fingerprint"]
    )
    assert meta["labels"] == ["O", "B", "I"]
    digest = hashlib.sha256((tiny_model_dir / "model.onnx").read_bytes()).hexdigest()
    assert meta["files_sha256"] == {"model.onnx": digest}  # what load checks the folder against
    card = (tiny_model_dir / "MODEL_CARD.md").read_text()
    assert "coextract evaluate --model" in card and "Intended use" in card
    assert "seed 3; it holds" in card and meta["kept_epochs"]
    vectors = "frozen" if meta["model"]["freeze_embeddings"] else "fine-tuned"
    assert f"{vectors} pre-trained word vectors" in " ".join(card.split())  # the card says how it was trained
    assert "No int8 model was made" in card and not (tiny_model_dir / "model.int8.onnx").exists()


def test_graph_has_dynamic_axes_and_attention_outputs(tiny_model_dir):
    graph = onnx.load(str(tiny_model_dir / "model.onnx"))
    assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [o.name for o in graph.graph.output] == [*OUTPUTS, *RELATION_OUTPUTS]  # trained with relations
    pair_probs = graph.graph.output[-1].type.tensor_type.shape.dim
    assert [d.dim_param for d in pair_probs[:3]] == ["batch", "tokens", "tokens"] and pair_probs[
        3
    ].dim_value == 4
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


def test_int8_model_keeps_its_unquantized_weights_as_float16(bundled_model_dir, tmp_path, data_dir):
    # On the shipped res14 weights: the tiny test model is too small for int8 to track it closely.
    model_dir = shutil.copytree(bundled_model_dir, tmp_path / "model")
    add_int8(model_dir, read_meta(model_dir))
    graph = onnx.load(str(model_dir / "model.int8.onnx"))
    large = {w.data_type for w in graph.graph.initializer if np.prod(w.dims) >= HALF_MIN_ELEMENTS}
    assert onnx.TensorProto.FLOAT16 in large and onnx.TensorProto.FLOAT not in large  # GRUs, convolutions
    products = [n.output[0] for n in graph.graph.node if n.op_type == "MatMulInteger"]
    relations = [name for name in products if name.startswith("/model/relations/")]
    assert (
        len(products) - len(relations) == 4
    )  # the fast tier's products by a 2-D weight: attention, tag heads
    # The relation heads' (where the bundle has them): two projections, the biaffine grid, the sentiment head.
    assert len(relations) == (4 if gives_relations(read_meta(model_dir)) else 0)
    assert not [n for n in graph.graph.node if n.op_type == "DynamicQuantizeLinear"]  # no per-call scales
    sentences = [e.tokens for e in read_dataset(data_dir, "res14")["dev"][:50]]
    fp32 = load(model_dir).predict(sentences)
    int8 = load(model_dir, quantized=True).predict(sentences)
    differences = [np.abs(a.aspect_probs - b.aspect_probs).max() for a, b in zip(fp32, int8, strict=True)]
    assert np.median(differences) < 0.01 and max(differences) < 0.2
    assert sum(a.aspect_tags != b.aspect_tags for a, b in zip(fp32, int8, strict=True)) <= 2


@pytest.mark.parametrize(
    "f1_loss, speedup, ships",
    [(0.003, 1.2, True), (0.0031, 1.2, False), (0.0, 1.09, False), (-0.01, 1.1, True)],
)
def test_int8_ships_only_within_0_3_dev_points_and_at_least_1_1x_as_fast(f1_loss, speedup, ships):
    assert int8_pays(f1_loss, speedup) == ships


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
        return tagger.run(batch.feeds())

    together = run(sentences)  # (B, T, 3) twice, (B, 2, L, T), (B, T, 3), (B, T, T, 4)
    for row, tokens in enumerate(sentences):
        n = len(tokens)
        aspects, opinions, attentions, sentiments, pairs = run([tokens])
        assert np.allclose(together[0][row, :n], aspects[0], atol=1e-5)
        assert np.allclose(together[1][row, :n], opinions[0], atol=1e-5)
        assert np.allclose(together[2][row, ..., :n], attentions[0], atol=1e-5)
        assert np.allclose(together[3][row, :n], sentiments[0], atol=1e-5)
        assert np.allclose(together[4][row, :n, :n], pairs[0], atol=1e-5)
