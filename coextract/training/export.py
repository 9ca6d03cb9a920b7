"""Export a trained run to ONNX, verify it against torch, and describe it.

`export_run` writes a model folder that the torch-free runtime can load:

- `model.onnx`: inputs word_ids (B, T), subword_ids (B, T, S), mask (B, T);
  outputs aspect_probs and opinion_probs (B, T, 3) and the attention weights
  of every layer, aspect_attention and opinion_attention (B, L, T).
- `meta.json`: vocabulary and its sha256, sub-word hashing, labels, hyper-parameters,
  data fingerprint, scores, and the verification figures.
- `MODEL_CARD.md`: the same for people.
- `model.int8.onnx` with `--quantize`, kept only if it pays (see `quantize`).

Verification is part of export: torch and onnxruntime run the whole dev set and
the export fails if any tag differs or a probability differs by more than 1e-4.
"""

import json
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from coextract.errors import CoextractError
from coextract.evaluation.benchmark import read_dataset
from coextract.evaluation.metrics import score_predictions
from coextract.runtime.decoding import DECODING, TAG_NAMES
from coextract.runtime.features import SUBWORD_FEATURES
from coextract.runtime.model_folder import FORMAT, INPUTS, OUTPUTS, file_sha256, graph_facts, vocabulary_hash
from coextract.runtime.predict import predict_sentences
from coextract.runtime.tagger import Tagger
from coextract.training.checkpoint import load_run, read_metrics, torch_backend
from coextract.training.model import CMLA
from coextract.training.model_card import MAX_INT8_F1_LOSS, MIN_INT8_SPEEDUP, model_card
from coextract.training.weights import round_to_half, store_half, write_int8
from coextract.version import __version__

OPSET = 17
MAX_PROB_DIFF = 1e-4


class Deployed(nn.Module):
    """CMLA with probabilities instead of logits and one output per attention side."""

    def __init__(self, model: CMLA) -> None:
        super().__init__()
        self.model = model

    def forward(self, word_ids, subword_ids, mask):
        aspect_logits, opinion_logits, attentions = self.model(word_ids, subword_ids, mask)
        return aspect_logits.softmax(-1), opinion_logits.softmax(-1), attentions[:, 0], attentions[:, 1]


def export_onnx(model: CMLA, path: Path) -> None:
    example = (
        torch.ones(2, 5, dtype=torch.long),
        torch.ones(2, 5, model.config.n_subword_features if model.config.n_buckets else 0, dtype=torch.long),
        torch.ones(2, 5, dtype=torch.bool),
    )
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    axes.update({name: {0: "batch", 1: "tokens"} for name in OUTPUTS[:2]})
    axes.update({name: {0: "batch", 2: "tokens"} for name in OUTPUTS[2:]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(
            Deployed(model.eval()),
            example,
            str(path),
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def compare(torch_predictions, onnx_predictions) -> dict:
    """Largest probability difference and number of differing tags, over all sentences."""
    max_diff, tag_mismatches = 0.0, 0
    for t, o in zip(torch_predictions, onnx_predictions, strict=True):
        for side in ("aspect", "opinion"):
            t_probs, o_probs = getattr(t, f"{side}_probs"), getattr(o, f"{side}_probs")
            max_diff = max(max_diff, float(np.abs(t_probs - o_probs).max()))
            tag_mismatches += int((t_probs.argmax(-1) != o_probs.argmax(-1)).sum())
        max_diff = max(max_diff, float(np.abs(t.attentions - o.attentions).max()))
    return {"max_prob_diff": max_diff, "tag_mismatches": tag_mismatches}


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


def quantize(model_dir: Path, meta: dict, fp32: Tagger, fp32_scores: dict, examples, sentences) -> dict:
    """Write model.int8.onnx; keep it only if test F1 stays within 0.5 points of `fp32_scores` and it is
    clearly faster (MIN_INT8_SPEEDUP)."""
    int8_path = add_int8(model_dir, meta)
    int8 = Tagger(model_dir, quantized=True)
    int8_scores = score_predictions(examples, int8.predict(sentences))
    f1_loss = max(fp32_scores[s].f1 - int8_scores[s].f1 for s in ("aspect", "opinion"))
    speedup = seconds_to_tag(fp32, sentences) / seconds_to_tag(int8, sentences)
    shipped = int8_pays(f1_loss, speedup)
    if not shipped:
        int8_path.unlink()
        del meta["files_sha256"][int8_path.name]
    return {
        "shipped": shipped,
        "test": {side: score.to_dict() for side, score in int8_scores.items()},
        "largest_f1_loss": f1_loss,
        "speedup_vs_fp32": speedup,
        "size_bytes": int8_path.stat().st_size if shipped else None,
    }


def export_run(
    run_dir: Path | str, output: Path | str, data_dir: Path | str, quantized: bool = False
) -> dict:
    """Export, verify and describe the run in `run_dir`; return the written meta.

    The folder is built in a staging folder beside `output` and renamed into
    place only when complete and verified.
    """
    run_dir, output = Path(run_dir), Path(output)
    model, featurizer, run_config = load_run(run_dir)
    if run_config.get("tier") == "minilm":
        raise CoextractError(f"{run_dir} is a MiniLM-tier run: its ONNX export is not built yet (issue 17)")
    splits = read_dataset(data_dir, run_config["dataset"])
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))  # same file system
    staging.chmod(0o755)
    try:
        round_to_half(model)
        export_onnx(model, staging / "model.onnx")
        half_weights = store_half(staging / "model.onnx")
        meta = describe(run_config, read_metrics(run_dir), featurizer)
        seal(staging / "model.onnx", meta)
        onnx_tagger = Tagger(staging)
        meta["verification"] = verify(model, featurizer, onnx_tagger, splits["dev"], run_dir, half_weights)
        test_scores = score_onnx(onnx_tagger, splits, meta)
        if quantized:
            test_sentences = [e.tokens for e in splits["test"]]
            meta["int8"] = quantize(staging, meta, onnx_tagger, test_scores, splits["test"], test_sentences)
        meta["vocabulary"] = meta.pop("vocabulary")  # keep the long list last, for people reading the file
        (staging / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        (staging / "MODEL_CARD.md").write_text(model_card(meta, run_dir, output))
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return meta


def add_int8(model_dir: Path, meta: dict) -> Path:
    """Quantize the folder's model.onnx into model.int8.onnx and seal it to `meta`; return its path."""
    int8_path = model_dir / "model.int8.onnx"
    write_int8(model_dir / "model.onnx", int8_path)
    seal(int8_path, meta)
    return int8_path


def seal(path: Path, meta: dict) -> None:
    """Bind an ONNX file and the meta.json beside it: the graph carries the facts of the inputs it was
    built for (`model_folder.graph_facts`), and meta.json the file's sha256 (written now)."""
    import onnx

    graph = onnx.load(str(path))
    onnx.helper.set_model_props(graph, graph_facts(meta))
    onnx.save(graph, str(path))
    meta.setdefault("files_sha256", {})[path.name] = file_sha256(path)
    (path.parent / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


def describe(run_config: dict, metrics: dict, featurizer) -> dict:
    """The meta.json of an exported run, before verification adds its figures."""
    return {
        "format": FORMAT,
        "coextract_version": __version__,
        "dataset": run_config["dataset"],
        "data_fingerprint": run_config["data_fingerprint"],
        "labels": list(TAG_NAMES),
        "decoding": DECODING,
        "vocabulary_sha256": vocabulary_hash(run_config["vocabulary"]),
        "n_buckets": featurizer.n_buckets,
        "subword_features": list(SUBWORD_FEATURES) if featurizer.n_buckets else [],
        "model": run_config["model"],
        "train": run_config["train"],
        "opset": OPSET,
        "weights": "float16 values (rounded at export), computed in float32",
        "kept_epochs": metrics.get("kept_epochs", [metrics["best_epoch"]]),  # older runs: best only
        "torch_scores": {"dev": metrics["dev"], "test": metrics["test"]},
        "vocabulary": run_config["vocabulary"],
    }


def verify(model: CMLA, featurizer, onnx_tagger: Tagger, dev: list, run_dir: Path, half_weights: int) -> dict:
    """Run torch and onnxruntime on all of dev and fail on any differing tag or probability."""
    dev_sentences = [e.tokens for e in dev]
    torch_dev = predict_sentences(torch_backend(model), featurizer, dev_sentences)
    verification = compare(torch_dev, onnx_tagger.predict(dev_sentences))
    verification["dev_sentences"] = len(dev_sentences)
    verification["float16_weights"] = half_weights
    if verification["tag_mismatches"] or verification["max_prob_diff"] > MAX_PROB_DIFF:
        raise CoextractError(
            f"export of {run_dir} failed verification on dev: {verification['tag_mismatches']} tags differ, "
            f"largest probability difference {verification['max_prob_diff']:.2e} (limit {MAX_PROB_DIFF})"
        )
    return verification


def score_onnx(onnx_tagger: Tagger, splits: dict, meta: dict) -> dict:
    """Score dev and test through onnxruntime into `meta["onnx_scores"]`; return the test scores."""
    scores = {
        split: score_predictions(splits[split], onnx_tagger.predict([e.tokens for e in splits[split]]))
        for split in ("dev", "test")
    }
    meta["onnx_scores"] = {
        split: {side: score.to_dict() for side, score in split_scores.items()}
        for split, split_scores in scores.items()
    }
    return scores["test"]
