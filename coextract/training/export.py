"""Export a trained run to ONNX, verify it against torch, and describe it.

`export_run` writes a model folder that the torch-free runtime can load:

- `model.onnx`: inputs word_ids (B, T), subword_ids (B, T, S), mask (B, T) for
  the fast tier; piece_ids (B, P), piece_mask (B, P), word_starts (B, T), mask
  (B, T) for the MiniLM tier (the encoder inside; and word_ids (B, T) where it
  reads the dataset's word vectors too); outputs aspect_probs and
  opinion_probs (B, T, 3) and the attention weights of every layer,
  aspect_attention and opinion_attention (B, L, T).
- `meta.json`: labels, hyper-parameters, data fingerprint, scores, the
  verification figures, and what the graph reads: the vocabulary and its sha256
  and the sub-word hashing (fast tier), or the tier and the tokenizer's sha256
  (and the vocabulary, where a MiniLM-tier model reads word vectors).
- `tokenizer.json` and `LICENSE` (MiniLM tier): the encoder's word pieces and licence.
- `MODEL_CARD.md`: the same for people.
- `model.int8.onnx` with `--quantize`, kept only if it pays on dev (see `int8`).

Verification is part of export: torch and onnxruntime run the whole dev set and
the export fails if any tag differs or a probability differs by more than 1e-4.
"""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from coextract.errors import CoextractError
from coextract.evaluation.evaluate import Benchmark, benchmark_scores
from coextract.runtime.decoding import DECODING, TAG_NAMES
from coextract.runtime.features import SUBWORD_FEATURES
from coextract.runtime.model_folder import FORMAT, LICENSE, TOKENIZER, file_sha256, tier, vocabulary_hash
from coextract.runtime.predict import predict_sentences
from coextract.runtime.tagger import Tagger
from coextract.training.checkpoint import load_run, read_metrics, torch_backend
from coextract.training.graph import OPSET, export_onnx, seal
from coextract.training.int8 import quantize
from coextract.training.model import CMLA
from coextract.training.model_card import model_card
from coextract.training.weights import round_to_half, store_half
from coextract.version import __version__

MAX_PROB_DIFF = 1e-4


def compare(torch_predictions, onnx_predictions) -> dict:
    """Largest probability difference (tags, attention, and the sentiments and pair grid where the
    model has them) and number of differing tags, over all sentences."""
    max_diff, tag_mismatches = 0.0, 0
    for t, o in zip(torch_predictions, onnx_predictions, strict=True):
        for name in ("aspect_probs", "opinion_probs", "attentions", "sentiment_probs", "pair_probs"):
            t_probs, o_probs = getattr(t, name), getattr(o, name)
            if (t_probs is None) != (o_probs is None):
                raise CoextractError(f"the exported graph {'lacks' if o_probs is None else 'adds'} {name}")
            if t_probs is not None:
                max_diff = max(max_diff, float(np.abs(t_probs - o_probs).max()))
        for side in ("aspect_probs", "opinion_probs"):  # a tag: the most probable of O, B, I
            tag_mismatches += int((getattr(t, side).argmax(-1) != getattr(o, side).argmax(-1)).sum())
    return {"max_prob_diff": max_diff, "tag_mismatches": tag_mismatches}


def export_run(
    run_dir: Path | str, output: Path | str, data_dir: Path | str, quantized: bool = False
) -> dict:
    """Export, verify and describe the run in `run_dir`; return the written meta.

    The folder is built in a staging folder beside `output` and renamed into
    place only when complete and verified.
    """
    run_dir, output = Path(run_dir), Path(output)
    model, featurizer, run_config = load_run(run_dir)
    benchmark = Benchmark.read(data_dir, run_config["dataset"])
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))  # same file system
    staging.chmod(0o755)
    try:
        round_to_half(model)
        export_onnx(model, staging / "model.onnx")
        half_weights = store_half(staging / "model.onnx")
        meta = describe(run_config, read_metrics(run_dir), featurizer)
        if tier(run_config) == "minilm":
            shutil.copyfile(run_dir / TOKENIZER, staging / TOKENIZER)
            meta["files_sha256"][TOKENIZER] = file_sha256(staging / TOKENIZER)
            meta["encoder_license"] = None  # the card then says that no licence came with the encoder
            if (run_dir / LICENSE).is_file():
                shutil.copyfile(run_dir / LICENSE, staging / LICENSE)
                meta["files_sha256"][LICENSE] = file_sha256(staging / LICENSE)
                meta["encoder_license"] = license_name((staging / LICENSE).read_text(errors="replace"))
        seal(staging / "model.onnx", meta)
        onnx_tagger = Tagger(staging)
        dev = benchmark.examples["dev"]
        meta["verification"] = verify(model, featurizer, onnx_tagger, dev, run_dir, half_weights)
        meta["onnx_scores"] = benchmark_scores(
            onnx_tagger.backend, featurizer, benchmark, onnx_tagger.relations
        )
        if quantized:
            meta["int8"] = quantize(staging, meta, onnx_tagger, benchmark)
        if "vocabulary" in meta:
            meta["vocabulary"] = meta.pop("vocabulary")  # keep the long list last, for people reading it
        (staging / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        (staging / "MODEL_CARD.md").write_text(model_card(meta, run_dir, output))
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return meta


def license_name(text: str) -> str:
    """The licence an encoder's LICENSE file grants, as its SPDX name where it is one we recognise."""
    if "Apache License" in text and "Version 2.0" in text:
        return "Apache-2.0"
    if "MIT License" in text or "Permission is hereby granted, free of charge" in text:
        return "MIT"
    return "the terms in `LICENSE`"


def describe(run_config: dict, metrics: dict, featurizer) -> dict:
    """The meta.json of an exported run, before verification adds its figures."""
    train = dict(run_config["train"])
    if tier(run_config) == "minilm":
        encoder = Path(run_config["encoder"]).name  # by name: the path is the training machine's
        reads = {"tier": "minilm", "encoder": encoder, "files_sha256": {}}
        if "vocabulary" in run_config:  # it reads the dataset's word vectors beside the encoder
            reads["vocabulary_sha256"] = vocabulary_hash(run_config["vocabulary"])
        train["encoder"] = encoder
    else:
        reads = {
            "vocabulary_sha256": vocabulary_hash(run_config["vocabulary"]),
            "n_buckets": featurizer.n_buckets,
            "subword_features": list(SUBWORD_FEATURES) if featurizer.n_buckets else [],
        }
    return {
        "format": FORMAT,
        "coextract_version": __version__,
        "dataset": run_config["dataset"],
        "data_fingerprint": run_config["data_fingerprint"],
        "labels": list(TAG_NAMES),
        "decoding": DECODING,
        **reads,
        "model": run_config["model"],
        "train": train,
        "opset": OPSET,
        "weights": "float16 values (rounded at export), computed in float32",
        "kept_epochs": metrics.get("kept_epochs", [metrics["best_epoch"]]),  # older runs: best only
        "torch_scores": {"dev": metrics["dev"], "test": metrics["test"]},
        **({"vocabulary": run_config["vocabulary"]} if "vocabulary" in run_config else {}),
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
