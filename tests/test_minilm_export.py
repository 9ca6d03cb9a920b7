"""The MiniLM tier exported: torch and onnxruntime agree, the folder is checked, every entry point takes it.

On a tiny random encoder trained for two epochs (no weights, no GPU): the
numbers are meaningless, the agreement and the plumbing are not.
"""

import json
import shutil
import subprocess
import sys

import onnx
import pytest

from coextract.errors import CoextractError
from coextract.runtime.model_files import read_model_files, write_model_files
from coextract.runtime.model_folder import (
    INPUTS,
    OUTPUTS,
    RELATION_OUTPUTS,
    file_sha256,
)
from coextract.runtime.tagger import load
from tests.conftest import coextract

pytestmark = pytest.mark.slow  # trains and exports


def test_the_folder_holds_a_verified_graph_and_its_tokenizer(tiny_minilm_model_dir):
    meta = json.loads((tiny_minilm_model_dir / "meta.json").read_text())
    assert meta["tier"] == "minilm" and meta["model"]["word_pooling"] == "mean"
    assert meta["verification"]["tag_mismatches"] == 0 and meta["verification"]["max_prob_diff"] <= 1e-4
    assert meta["verification"]["dev_sentences"] == 608
    assert meta["files_sha256"] == {
        "model.onnx": file_sha256(tiny_minilm_model_dir / "model.onnx"),
        "tokenizer.json": file_sha256(tiny_minilm_model_dir / "tokenizer.json"),
    }
    graph = onnx.load(str(tiny_minilm_model_dir / "model.onnx"))
    assert [i.name for i in graph.graph.input] == list(INPUTS["minilm"])
    assert [o.name for o in graph.graph.output] == [*OUTPUTS, *RELATION_OUTPUTS]
    assert all(d.dim_param for i in graph.graph.input for d in i.type.tensor_type.shape.dim)  # all dynamic
    card = (tiny_minilm_model_dir / "MODEL_CARD.md").read_text()
    assert "mean of its word pieces" in card and "coextract evaluate --model" in card


def test_it_tags_raw_text_and_windows_long_sentences(tiny_minilm_model_dir):
    tagger = load(tiny_minilm_model_dir)
    text = "The battery life is great but the screen is dim."
    result = tagger(text)
    assert result.tokens == ("the", "battery", "life", "is", "great", "but", "the", "screen", "is", "dim")
    assert all(text[s.start : s.end] == s.text for s in (*result.aspects, *result.opinions))
    long = " ".join(["unbelievably"] * 260)  # three windows of words, 780 word pieces in all
    assert len(tagger(long).tokens) == 260 and len(tagger(long.split()).tokens) == 260


def test_evaluate_and_tag_take_the_folder(tiny_minilm_model_dir, data_dir, tmp_path):
    meta = json.loads((tiny_minilm_model_dir / "meta.json").read_text())
    result = coextract("evaluate", "--model", str(tiny_minilm_model_dir), "--dataset", "res14", "--json",
                       "--data-dir", str(data_dir))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["aspect"] == meta["onnx_scores"]["test"]["aspect"]
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("The pizza was great.\nService was slow.\n")
    tagged = coextract(
        "tag", str(reviews), "--model", str(tiny_minilm_model_dir), "--output", str(tmp_path / "o.jsonl")
    )
    assert tagged.returncode == 0, tagged.stderr
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 2


def test_it_loads_with_torch_hidden(tiny_minilm_model_dir):
    code = (
        "import sys\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'transformers'): raise ImportError('hidden')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "import coextract\n"
        f"tagger = coextract.load({str(tiny_minilm_model_dir)!r})\n"
        "print(tagger('The pizza was great.').tokens, 'torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('the', 'pizza', 'was', 'great') False"


def test_the_tokenizer_travels_with_the_model_files(tiny_minilm_model_dir, tmp_path):
    files = read_model_files(tiny_minilm_model_dir)
    assert {"tokenizer.json", "model.onnx", "meta.json"} <= set(files)
    copy = write_model_files(tmp_path / "copy", files)
    text = "Service was slow but the pasta was lovely."
    assert load(copy)(text).to_dict() == load(tiny_minilm_model_dir)(text).to_dict()


@pytest.mark.parametrize("damage", ["other tokenizer", "no tokenizer", "fast meta"])
def test_a_folder_that_mixes_files_is_refused(damage, tiny_minilm_model_dir, bundled_model_dir, tmp_path):
    folder = shutil.copytree(tiny_minilm_model_dir, tmp_path / "model")
    if damage == "other tokenizer":
        (folder / "tokenizer.json").write_text(
            (folder / "tokenizer.json").read_text().replace("[UNK]", "[UNK2]")
        )
        message = "tokenizer.json does not belong with"
    elif damage == "no tokenizer":
        (folder / "tokenizer.json").unlink()
        message = "tokenizer.json: missing"
    else:
        shutil.copy(bundled_model_dir / "meta.json", folder / "meta.json")
        message = "does not belong with"
    with pytest.raises(CoextractError, match=message):
        load(folder)


@pytest.mark.parametrize("float_dev_f1, ships", [(None, True), (1.0, False)])
def test_a_bundle_ships_its_int8_graph_alone_only_within_0_3_dev_points(
    tiny_minilm_model_dir, tmp_path, data_dir, float_dev_f1, ships
):
    from coextract.evaluation.evaluate import Benchmark
    from coextract.runtime.model_folder import read_meta
    from coextract.training.int8 import ship_int8_alone

    folder = shutil.copytree(tiny_minilm_model_dir, tmp_path / "model")
    meta = read_meta(folder)
    if float_dev_f1 is not None:  # as if the float graph had scored far above what int8 can
        meta["onnx_scores"]["dev"]["aspect"]["f1"] = float_dev_f1
    scores = meta["onnx_scores"]
    meta = ship_int8_alone(folder, tmp_path / "run", meta, Benchmark.read(data_dir, "res14"))
    assert not (folder / "model.int8.onnx").exists() and set(meta["files_sha256"]) == {
        "model.onnx",
        "tokenizer.json",
    }
    assert meta["int8"]["shipped"] is ships and meta["int8"]["scheme"].startswith("7-bit weights")
    assert json.loads((folder / "meta.json").read_text()) == meta
    graph = onnx.load(str(folder / "model.onnx"))
    assert any(n.op_type == "MatMulInteger" for n in graph.graph.node) is ships
    if ships:
        assert meta["float_onnx_scores"] == scores and meta["int8"]["shipped_as"] == "model.onnx"
        assert "Weights: int8" in (folder / "MODEL_CARD.md").read_text()
    assert load(folder)("The pizza was great.").tokens == ("the", "pizza", "was", "great")
