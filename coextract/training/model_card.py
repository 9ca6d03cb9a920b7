"""The model card of an exported model: `MODEL_CARD.template.md` filled from its meta.json.

Every figure on the card comes from the meta that ships beside it, so the card
cannot say what the model folder does not hold. Imports no torch.
"""

from importlib import resources
from pathlib import Path

MAX_INT8_F1_LOSS = 0.005  # 0.5 F1 points
MIN_INT8_SPEEDUP = 1.1  # "faster" must clear this machine's run-to-run timing noise (about 5 %)


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


def encoder(model: dict) -> str:
    if model["bidirectional"]:
        return f"Bidirectional GRU encoder ({model['hidden_dim']} per direction)"
    return f"Forward GRU encoder ({model['hidden_dim']} units; all GRUs forward only, as in the paper)"


def training_data(meta: dict) -> tuple[str, str]:
    """What the model was trained and selected on, and what its data fingerprint covers."""
    raw_files = meta["train"].get("raw_files") or []
    if raw_files:
        files = " with ".join(f"`{Path(f).name}`" for f in raw_files)
        data = (
            f"Trained on 80 % of the raw SemEval reviews of {files} (through the spaCy\n"
            f"preprocessing, with the `{meta['dataset']}` vocabulary and word vectors), selected on the\n"
            "other 20 % (best dev aspect F1 + opinion F1, early stopping)"
        )
        return data, "sha256 of the raw files and the vocabulary"
    data = (
        f"Trained on the `{meta['dataset']}` training split of the tokenized ABSA benchmark (SemEval\n"
        "reviews, lower-cased; opinion terms by Wang et al.), selected on its dev split\n"
        "(best dev aspect F1 + opinion F1, early stopping)"
    )
    return data, "sha256 of the training and dev files and the vocabulary"


def int8_verdict(meta: dict) -> str:
    if "int8" not in meta:
        return "No int8 model was made (export without `--quantize`)."
    int8 = meta["int8"]
    if int8["shipped"]:
        return (
            f"`model.int8.onnx` ships: at most {100 * int8['largest_f1_loss']:.2f} F1 points below fp32 "
            f"on test and {int8['speedup_vs_fp32']:.2f}x its speed (`coextract.load(..., quantized=True)`)."
        )
    loss = int8["largest_f1_loss"]
    lost = f"lost up to {100 * loss:.2f} F1 points on test" if loss > 0 else "lost no F1 on test"
    return (
        f"The int8 model does not ship: it {lost} but ran at {int8['speedup_vs_fp32']:.2f}x "
        f"fp32's speed; it must stay within {100 * MAX_INT8_F1_LOSS:.1f} points and run at least "
        f"{MIN_INT8_SPEEDUP:.1f}x as fast."
    )


def score_rows(meta: dict) -> str:
    test, dev = meta["onnx_scores"]["test"], meta["onnx_scores"]["dev"]
    return "\n".join(
        f"| {side} | {100 * test[side]['precision']:.2f} | {100 * test[side]['recall']:.2f} "
        f"| {100 * test[side]['f1']:.2f} | {100 * dev[side]['f1']:.2f} |"
        for side in ("aspect", "opinion")
    )


def model_card(meta: dict, run_dir: Path, output: Path) -> str:
    """The card of the model that `meta` describes, exported from `run_dir` to `output`."""
    model, data = meta["model"], training_data(meta)
    template = resources.files("coextract.training").joinpath("MODEL_CARD.template.md").read_text("utf-8")
    return template.format(
        **{
            key: meta[key]
            for key in ("dataset", "coextract_version", "opset", "data_fingerprint", "n_buckets")
        },
        **{key: model[key] for key in ("word_dim", "n_slices", "n_layers")},
        data=data[0],
        fingerprinted=data[1],
        seed=meta["train"]["seed"],
        kept_weights=kept_weights(meta["kept_epochs"]),
        score_rows=score_rows(meta),
        output=output.as_posix(),
        run_dir=run_dir.as_posix(),
        torch_aspect_f1=100 * meta["torch_scores"]["test"]["aspect"]["f1"],
        torch_opinion_f1=100 * meta["torch_scores"]["test"]["opinion"]["f1"],
        dev_sentences=meta["verification"]["dev_sentences"],
        max_prob_diff=meta["verification"]["max_prob_diff"],
        int8=int8_verdict(meta),
        encoder=encoder(model),
        vectors="frozen" if model["freeze_embeddings"] else "fine-tuned",
        embeddings=", ".join(meta["train"]["embeddings"]),
        n_subword_features=len(meta["subword_features"]),
        convolutions=convolutions(model),
        vocabulary_size=len(meta["vocabulary"]),
    )
