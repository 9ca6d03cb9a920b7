"""The int8 attempt at export: quantize, measure on dev, keep it only if it pays.

int8 matrix products (`weights.write_int8`, `quantize_graph`) make the file
smaller and, on CPUs with fast integer kernels, the model faster, at some cost
in F1. Beside the float graph (`coextract export --quantize`) the int8 graph
ships only if its dev F1 stays within MAX_INT8_F1_LOSS of the float graph's and
it runs at least MIN_INT8_SPEEDUP times as fast on the exporting machine; in a
bundle, where it replaces the float graph to keep the wheel small, the F1 rule
alone decides (`ship_int8_alone`). Dev decides, as for every other choice; test
is scored too, for the record.
"""

import json
import time
from pathlib import Path

import numpy as np

from coextract.evaluation.evaluate import SCORED_SPLITS, Benchmark, benchmark_scores
from coextract.runtime.tagger import Tagger
from coextract.training.graph import seal
from coextract.training.model_card import MAX_INT8_F1_LOSS, MIN_INT8_SPEEDUP, model_card
from coextract.training.weights import write_int8

INT8 = "model.int8.onnx"
SCHEME = "7-bit weights, one scale per output channel; 8-bit activations, one scale per token"


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


def measure_int8(model_dir: Path, meta: dict, fp32: Tagger, benchmark: Benchmark) -> dict:
    """Write model.int8.onnx beside `fp32`'s graph (whose dev scores are meta["onnx_scores"]["dev"]) and
    measure it: its scores (`benchmark_scores`), its largest dev F1 loss (over every score: terms, and
    ABSA, pairs and triplets where the model gives them), its speed against fp32 on dev, its size."""
    int8_path = add_int8(model_dir, meta)
    int8 = Tagger(model_dir, quantized=True)
    scores = benchmark_scores(int8.backend, int8.featurizer, benchmark, int8.relations)
    fp32_dev = meta["onnx_scores"]["dev"]
    dev_sentences = [e.tokens for e in benchmark.examples["dev"]]
    return {
        "measured_on": "dev",
        "scheme": SCHEME,
        **scores,
        "largest_f1_loss": max(fp32_dev[name]["f1"] - scores["dev"][name]["f1"] for name in fp32_dev),
        "speedup_vs_fp32": seconds_to_tag(fp32, dev_sentences) / seconds_to_tag(int8, dev_sentences),
        "size_bytes": int8_path.stat().st_size,
    }


def quantize(model_dir: Path, meta: dict, fp32: Tagger, benchmark: Benchmark) -> dict:
    """`measure_int8`, then delete model.int8.onnx again unless it pays on dev (`int8_pays`): beside the
    float graph it is worth its bytes only where it is faster. Returns the figures for meta["int8"]."""
    figures = measure_int8(model_dir, meta, fp32, benchmark)
    figures["shipped"] = int8_pays(figures["largest_f1_loss"], figures["speedup_vs_fp32"])
    if not figures["shipped"]:
        drop_int8(model_dir, meta)
    return figures


def drop_int8(model_dir: Path, meta: dict) -> None:
    (model_dir / INT8).unlink()
    del meta["files_sha256"][INT8]


def add_int8(model_dir: Path, meta: dict) -> Path:
    """Quantize the folder's model.onnx into model.int8.onnx and seal it to `meta`; return its path."""
    int8_path = model_dir / INT8
    write_int8(model_dir / "model.onnx", int8_path)
    seal(int8_path, meta)
    return int8_path


def ship_int8_alone(model_dir: Path, run_dir: Path, meta: dict, benchmark: Benchmark) -> dict:
    """For a bundle, which must stay small: make the int8 graph the folder's one graph (model.onnx)
    where it stays within MAX_INT8_F1_LOSS of the float graph's dev F1, whatever its speed (it halves
    the folder; its speed is measured and stated). Elsewhere the float16-stored graph stays alone.

    `meta`: what `export_run` wrote (without --quantize) and returned. The scores in meta.json become
    the int8 graph's; the float graph's stay beside, with the verification that compared it with
    torch. Writes meta.json and the card; returns the meta, changed.
    """
    figures = measure_int8(model_dir, meta, Tagger(model_dir), benchmark)
    figures["shipped"] = figures["largest_f1_loss"] <= MAX_INT8_F1_LOSS
    meta["int8"] = figures
    if figures["shipped"]:
        (model_dir / INT8).replace(model_dir / "model.onnx")
        meta["float_onnx_scores"] = meta["onnx_scores"]
        meta["onnx_scores"] = {split: figures[split] for split in SCORED_SPLITS if split in figures}
        figures["shipped_as"] = "model.onnx"
        meta["weights"] = f"int8 matrix products ({SCHEME}), the rest float16 values"
        meta["files_sha256"]["model.onnx"] = meta["files_sha256"].pop(INT8)
    else:
        drop_int8(model_dir, meta)
    (model_dir / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    (model_dir / "MODEL_CARD.md").write_text(model_card(meta, run_dir, model_dir))
    return meta
