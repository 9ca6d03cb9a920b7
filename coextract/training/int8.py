"""The int8 attempt at export: quantize, measure on dev, keep it only if it pays.

Dynamic int8 quantization (`weights.write_int8`) makes the matrix products
cheaper and the file smaller, at some cost in F1. The quantized model ships only
if its dev F1 stays within MAX_INT8_F1_LOSS of the float model's and it runs at
least MIN_INT8_SPEEDUP times as fast; dev decides, as for every other choice.
Test is scored too, for the record.
"""

import json
import time
from pathlib import Path

import numpy as np

from coextract.evaluation.metrics import score_predictions
from coextract.runtime.tagger import Tagger
from coextract.training.graph import seal
from coextract.training.model_card import MAX_INT8_F1_LOSS, MIN_INT8_SPEEDUP, model_card
from coextract.training.weights import write_int8

INT8 = "model.int8.onnx"


def seconds_to_tag(tagger: Tagger, sentences, repeats: int = 5) -> float:
    """Median wall time for the tagger to predict `sentences`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        tagger.predict(sentences)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def int8_pays(f1_loss: float, speedup: float) -> bool:
    """Ship int8 only within MAX_INT8_F1_LOSS of fp32's F1 and at least MIN_INT8_SPEEDUP times as fast."""
    return f1_loss <= MAX_INT8_F1_LOSS and speedup >= MIN_INT8_SPEEDUP


def quantize(model_dir: Path, meta: dict, fp32: Tagger, splits: dict) -> dict:
    """Write model.int8.onnx and measure it against `fp32` (whose scores are in meta["onnx_scores"]);
    delete it again unless it pays on dev (`int8_pays`). Returns the figures for meta["int8"]."""
    int8_path = add_int8(model_dir, meta)
    int8 = Tagger(model_dir, quantized=True)
    scores = {
        split: score_predictions(splits[split], int8.predict([e.tokens for e in splits[split]]))
        for split in ("dev", "test")
    }
    fp32_dev = meta["onnx_scores"]["dev"]
    f1_loss = max(fp32_dev[side]["f1"] - scores["dev"][side].f1 for side in ("aspect", "opinion"))
    dev_sentences = [e.tokens for e in splits["dev"]]
    speedup = seconds_to_tag(fp32, dev_sentences) / seconds_to_tag(int8, dev_sentences)
    shipped = int8_pays(f1_loss, speedup)
    size = int8_path.stat().st_size
    if not shipped:
        int8_path.unlink()
        del meta["files_sha256"][int8_path.name]
    return {
        "shipped": shipped,
        "measured_on": "dev",
        **{
            split: {side: s.to_dict() for side, s in split_scores.items()}
            for split, split_scores in scores.items()
        },
        "largest_f1_loss": f1_loss,
        "speedup_vs_fp32": speedup,
        "size_bytes": size,
    }


def add_int8(model_dir: Path, meta: dict) -> Path:
    """Quantize the folder's model.onnx into model.int8.onnx and seal it to `meta`; return its path."""
    int8_path = model_dir / INT8
    write_int8(model_dir / "model.onnx", int8_path)
    seal(int8_path, meta)
    return int8_path


def ship_int8_alone(model_dir: Path, run_dir: Path, meta: dict) -> dict:
    """Where int8 paid, make it the folder's one graph (model.onnx), and meta.json and the card say so.

    For bundles, which must stay small: the float16-stored graph goes, and the
    scores in meta.json become the int8 graph's (the float graph's stay beside,
    with the verification that compared it with torch). Where int8 did not pay,
    the folder stays as exported. `meta`: what `export_run` wrote and returned; returns it, changed.
    """
    if not meta.get("int8", {}).get("shipped"):
        return meta
    (model_dir / INT8).replace(model_dir / "model.onnx")
    meta["float_onnx_scores"] = meta["onnx_scores"]
    meta["onnx_scores"] = {split: meta["int8"][split] for split in ("dev", "test")}
    meta["int8"]["shipped_as"] = "model.onnx"
    meta["weights"] = "int8 matrix products (one scale per output channel), the rest float16 values"
    meta["files_sha256"]["model.onnx"] = meta["files_sha256"].pop(INT8)
    (model_dir / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    (model_dir / "MODEL_CARD.md").write_text(model_card(meta, run_dir, model_dir))
    return meta
