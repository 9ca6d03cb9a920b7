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
import logging
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from coextract import __version__
from coextract.data import read_dataset
from coextract.errors import CoextractError
from coextract.features import SUBWORD_FEATURES
from coextract.metrics import score_predictions
from coextract.model import CMLA
from coextract.predict import predict_sentences
from coextract.runtime import FORMAT, INPUTS, OUTPUTS, Tagger, vocabulary_hash
from coextract.tagging import DECODING, TAG_NAMES
from coextract.train import load_run, torch_backend

OPSET = 17
MAX_PROB_DIFF = 1e-4
MAX_INT8_F1_LOSS = 0.005  # 0.5 F1 points
MIN_INT8_SPEEDUP = 1.1  # "faster" must clear this machine's run-to-run timing noise (about 5 %)
HALF_MIN_ELEMENTS = 1024  # smaller weights are not worth a Cast node


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


def round_to_half(model: CMLA) -> None:
    """Round every weight to the nearest float16 value, kept in float32.

    The ONNX file can then store the weights in half the bytes (`store_half`)
    without changing them again, and the verification against torch checks
    exactly the weights that ship.
    """
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(parameter.half().float())


def store_half(path: Path) -> int:
    """Store the large float32 weights that float16 holds exactly as float16, each cast back by a node.

    onnxruntime folds the casts when it loads the model, so it still computes
    in float32. Weights float16 cannot hold (those the exporter derived from
    several parameters) stay float32. Returns the number of weights stored.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    casts = []
    for weight in model.graph.initializer:
        if weight.data_type != TensorProto.FLOAT or np.prod(weight.dims) < HALF_MIN_ELEMENTS:
            continue
        values = numpy_helper.to_array(weight)
        half = values.astype(np.float16)
        if np.array_equal(half.astype(np.float32), values):
            name = weight.name
            weight.CopyFrom(numpy_helper.from_array(half, f"{name}.float16"))
            casts.append(helper.make_node("Cast", [f"{name}.float16"], [name], to=TensorProto.FLOAT))
    nodes = [*casts, *model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, str(path))
    return len(casts)


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


def write_int8(model_path: Path, int8_path: Path) -> None:
    """Quantize a model to int8 weights (onnxruntime dynamic quantization).

    The quantizer needs the weights as plain float32 initializers, so the
    float16 storage of `store_half` is undone first, in a temporary copy, and
    redone on the weights it leaves in float32 (GRUs, convolutions).
    """
    import onnx
    from onnx import TensorProto, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(model_path))
    halves = {w.name: w for w in model.graph.initializer if w.data_type == TensorProto.FLOAT16}
    for cast in [n for n in model.graph.node if n.op_type == "Cast" and n.input[0] in halves]:
        weight = halves[cast.input[0]]
        weight.CopyFrom(
            numpy_helper.from_array(numpy_helper.to_array(weight).astype(np.float32), cast.output[0])
        )
        model.graph.node.remove(cast)
    logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's advice on pre-processing
    with tempfile.TemporaryDirectory() as workdir:
        float32_path = Path(workdir) / "model.onnx"
        onnx.save(model, str(float32_path))
        quantize_dynamic(str(float32_path), str(int8_path), weight_type=QuantType.QInt8)
    store_half(int8_path)


def quantize(model_dir: Path, fp32: Tagger, fp32_scores: dict, examples, sentences) -> dict:
    """Write model.int8.onnx; keep it only if test F1 stays within 0.5 points of `fp32_scores` and it is
    clearly faster (MIN_INT8_SPEEDUP)."""
    int8_path = model_dir / "model.int8.onnx"
    write_int8(model_dir / "model.onnx", int8_path)
    int8 = Tagger(model_dir, quantized=True)
    int8_scores = score_predictions(examples, int8.predict(sentences))
    f1_loss = max(fp32_scores[s].f1 - int8_scores[s].f1 for s in ("aspect", "opinion"))
    speedup = seconds_to_tag(fp32, sentences) / seconds_to_tag(int8, sentences)
    shipped = f1_loss <= MAX_INT8_F1_LOSS and speedup >= MIN_INT8_SPEEDUP
    if not shipped:
        int8_path.unlink()
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
    """Export, verify and describe the run in `run_dir`; return the written meta."""
    run_dir, output = Path(run_dir), Path(output)
    model, featurizer, run_config = load_run(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    splits = read_dataset(data_dir, run_config["dataset"])
    dev_sentences = [e.tokens for e in splits["dev"]]
    test_sentences = [e.tokens for e in splits["test"]]

    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))  # same file system
    staging.chmod(0o755)
    try:
        round_to_half(model)
        export_onnx(model, staging / "model.onnx")
        half_weights = store_half(staging / "model.onnx")
        meta = {
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
        (staging / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        onnx_tagger = Tagger(staging)
        torch_dev = predict_sentences(torch_backend(model), featurizer, dev_sentences)
        onnx_dev = onnx_tagger.predict(dev_sentences)
        verification = compare(torch_dev, onnx_dev)
        verification["dev_sentences"] = len(dev_sentences)
        verification["float16_weights"] = half_weights
        if verification["tag_mismatches"] or verification["max_prob_diff"] > MAX_PROB_DIFF:
            raise CoextractError(
                f"export of {run_dir} failed verification on dev: {verification['tag_mismatches']} tags differ, "
                f"largest probability difference {verification['max_prob_diff']:.2e} (limit {MAX_PROB_DIFF})"
            )
        test_scores = score_predictions(splits["test"], onnx_tagger.predict(test_sentences))
        meta["verification"] = verification
        meta["onnx_scores"] = {
            split: {side: score.to_dict() for side, score in scores.items()}
            for split, scores in (("dev", score_predictions(splits["dev"], onnx_dev)), ("test", test_scores))
        }
        if quantized:
            meta["int8"] = quantize(staging, onnx_tagger, test_scores, splits["test"], test_sentences)
        meta["vocabulary"] = meta.pop("vocabulary")  # keep the long list last, for people reading the file
        (staging / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        (staging / "MODEL_CARD.md").write_text(model_card(meta, run_dir, output))
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return meta


def kept_weights(epochs: list[int]) -> str:
    if len(epochs) == 1:
        return f"the weights of epoch {epochs[0]}, the best on dev"
    listed = ", ".join(str(e) for e in epochs)
    return f"the mean weights of epochs {listed}, the {len(epochs)} best on dev (dev scored the mean higher)"


def convolutions(model: dict) -> str:
    if not model["conv_kernels"]:
        return "no n-gram convolutions"
    widths = ", ".join(str(k) for k in model["conv_kernels"])
    return f"n-gram convolutions of widths {widths} ({model['conv_dim']} filters each)"


def model_card(meta: dict, run_dir: Path, output: Path) -> str:
    dataset = meta["dataset"]
    test = meta["onnx_scores"]["test"]
    rows = "\n".join(
        f"| {side} | {100 * test[side]['precision']:.2f} | {100 * test[side]['recall']:.2f} "
        f"| {100 * test[side]['f1']:.2f} | {100 * meta['onnx_scores']['dev'][side]['f1']:.2f} |"
        for side in ("aspect", "opinion")
    )
    if "int8" not in meta:
        int8 = "No int8 model was made (export without `--quantize`)."
    elif meta["int8"]["shipped"]:
        int8 = (
            f"`model.int8.onnx` ships: at most {100 * meta['int8']['largest_f1_loss']:.2f} F1 points below fp32 "
            f"on test and {meta['int8']['speedup_vs_fp32']:.2f}x its speed (`coextract.load(..., quantized=True)`)."
        )
    else:
        loss = meta["int8"]["largest_f1_loss"]
        lost = f"lost up to {100 * loss:.2f} F1 points on test" if loss > 0 else "lost no F1 on test"
        int8 = (
            f"The int8 model does not ship: it {lost} but ran at {meta['int8']['speedup_vs_fp32']:.2f}x "
            f"fp32's speed; it must stay within {100 * MAX_INT8_F1_LOSS:.1f} points and run at least "
            f"{MIN_INT8_SPEEDUP:.1f}x as fast."
        )
    model = meta["model"]
    return f"""# coextract model: {dataset}

CMLA (coupled multi-layer attention, Wang et al. AAAI 2017) for joint aspect and
opinion term extraction, trained by coextract {meta["coextract_version"]}, exported to
ONNX (opset {meta["opset"]}).

## Data

Trained on the `{dataset}` training split of the tokenized ABSA benchmark (SemEval
reviews, lower-cased; opinion terms by Wang et al.), selected on its dev split
(best dev aspect F1 + opinion F1, early stopping), seed {meta["train"]["seed"]}; it holds
{kept_weights(meta["kept_epochs"])}.
Data fingerprint (sha256 of the training and dev files and the vocabulary):
`{meta["data_fingerprint"]}`.

## Scores

Exact-match span F1, micro over the split, through onnxruntime:

| terms | test precision | test recall | test F1 | dev F1 |
|---|---|---|---|---|
{rows}

Reproduce: `coextract evaluate --model {output.as_posix()} --dataset {dataset} --split test --json`.
Exported with `coextract export {run_dir.as_posix()} --output {output.as_posix()}`.
Weights: rounded to float16 values at export and stored as such, which halves the file;
onnxruntime computes in float32. The scores above are of these weights; the training run's
own, in full precision, were test aspect F1 {100 * meta["torch_scores"]["test"]["aspect"]["f1"]:.2f} and opinion F1 {100 * meta["torch_scores"]["test"]["opinion"]["f1"]:.2f}. Torch and
onnxruntime, both with the rounded weights, agreed on all {meta["verification"]["dev_sentences"]} dev sentences (largest
probability difference {meta["verification"]["max_prob_diff"]:.1e}, no tag differs).

{int8}

## Model

Bidirectional GRU encoder ({model["hidden_dim"]} per direction) over {model["word_dim"]}-d
{"frozen" if model["freeze_embeddings"] else "fine-tuned"} pre-trained word vectors
({", ".join(meta["train"]["embeddings"])}) and {len(meta["subword_features"])} hashed sub-word features
({meta["n_buckets"]} buckets), {convolutions(model)}, K = {model["n_slices"]} tensor slices,
L = {model["n_layers"]} attention layers. Vocabulary: {len(meta["vocabulary"])} words.

## Intended use and limits

Tagging aspect and opinion terms in English customer reviews of the domain it was
trained on (restaurants or laptops). It reads lower-cased tokens split like the
benchmark ("ca n't", "it 's"); words outside its vocabulary are seen only through
their prefixes, suffixes and shape, so accuracy drops on other domains, other
languages, and text far from review style. It finds term spans only, not their
polarity. Scores are on the benchmark's test split; expect lower on raw text.
"""
