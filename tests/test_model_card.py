"""Model cards: filled from the meta that ships beside them, true for every kind of run."""

import copy
import json
import re
from pathlib import Path

import pytest

from coextract.runtime.model_names import bundled_models
from coextract.training.model_card import model_card


def bundled_meta(name: str = "res14") -> dict:
    return json.loads((bundled_models()[name] / "meta.json").read_text())


def card(meta: dict) -> str:
    return " ".join(model_card(meta, Path("runs/x"), Path("models/x")).split())  # one line: wrapping aside


@pytest.mark.parametrize("name", ["res14", "lap14", "res15", "res14-minilm", "lap14-minilm"])
def test_the_template_gives_the_shipped_cards(name):
    meta, shipped = bundled_meta(name), (bundled_models()[name] / "MODEL_CARD.md").read_text()
    run_dir = re.search(r"Exported with `coextract export (\S+) --output", shipped).group(1)  # not in meta
    assert meta["train"]["seed"] == int(run_dir.rsplit("-s", 1)[1])
    assert model_card(meta, Path(run_dir), Path(f"export/models/{name}")) == shipped


def test_an_int8_card_says_how_its_graph_scales_activations_and_who_made_it():
    meta = bundled_meta("res14-minilm")
    text = card(meta)
    assert "one scale per token" in text and "same answer in any batch" in text
    assert "Made by" not in text  # quantized where it was exported (`pipelines/bundle.py`)
    meta["int8"]["made_by"] = (
        "python pipelines/migrate_bundles.py"  # re-quantized from the folder's own graph
    )
    assert "Made by `python pipelines/migrate_bundles.py`" in card(meta)
    del meta["int8"]["made_by"], meta["int8"]["scheme"]  # an int8 graph of onnxruntime's dynamic quantization
    text = card(meta)
    assert "Made by" not in text and "can depend on the batch it is tagged in: export it again" in text


def test_a_forward_only_run_is_not_called_bidirectional():
    meta = bundled_meta()
    meta["model"]["bidirectional"] = False
    text = card(meta)
    assert "Bidirectional" not in text and "per direction" not in text
    assert "Forward GRU encoder (50 units; all GRUs forward only, as in the paper)" in text
    assert "Bidirectional GRU encoder (50 per direction)" in card(bundled_meta())


def test_a_run_trained_on_raw_files_says_so():
    meta = bundled_meta()
    meta["train"]["raw_files"] = ["/data/semeval14/Restaurants_Train.xml", "/data/train_restaurant.txt"]
    text = card(meta)
    assert "tokenized ABSA benchmark" not in text and "training and dev files" not in text
    assert "80 % of the raw SemEval reviews of `Restaurants_Train.xml` with `train_restaurant.txt`" in text
    assert "with the `res14` vocabulary and word vectors), selected on the other 20 %" in text
    assert "sha256 of the raw files and the vocabulary" in text


def test_the_int8_verdict_follows_the_meta():
    meta = bundled_meta()
    assert "The int8 model does not ship" in card(meta)
    shipped = copy.deepcopy(meta)
    shipped["int8"].update(shipped=True, measured_on="test", largest_f1_loss=0.001, speedup_vs_fp32=1.4)
    assert "`model.int8.onnx` ships: at most 0.10 F1 points below fp32 on test and 1.40x its speed" in card(
        shipped
    )
    shipped["int8"].update(shipped=False, measured_on="dev", largest_f1_loss=0.004)
    assert "lost up to 0.40 F1 points on dev" in card(shipped) and "within 0.3 points" in card(shipped)
    del meta["int8"]
    assert "No int8 model was made" in card(meta)


def test_a_second_stage_card_names_the_run_it_started_from():
    meta = bundled_meta("lap14")  # the heads trained onto a tagger trained alone (`--init-from`)
    assert "seed 2, starting from the weights of the run `benchmarks/runs/probes/lap14-norel-s2`" in card(
        meta
    )
    meta["train"]["init_from"] = ""
    assert "starting from" not in card(meta) and "seed 2; it holds" in card(meta)
