"""The model card of an exported model: `MODEL_CARD.template.md` filled from its meta.json.

Every figure on the card comes from the meta that ships beside it, so the card
cannot say what the model folder does not hold. Imports no torch.
"""

from importlib import resources
from pathlib import Path

from coextract.evaluation.triplets import ASTE_NAMES
from coextract.runtime.model_folder import gives_relations, tier

MAX_INT8_F1_LOSS = 0.003  # 0.3 dev F1 points
EARLIER_INT8_F1_LOSS = 0.005  # the rule of exports before the MiniLM tier: 0.5 points on test
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


PRETRAINED = {  # what a card says of an encoder it knows by name
    "all-MiniLM-L6-v2": "MiniLM, Wang et al. 2020, fine-tuned for sentence embeddings by the\nsentence-transformers project",
}


def encoder_licence(meta: dict) -> str:
    """The encoder's licence as the model folder carries it, or a warning where none came with it."""
    licence = meta.get("encoder_license", "Apache-2.0")  # folders before this key: all-MiniLM-L6-v2's
    if licence is None:
        return "no licence file came with the encoder: check its terms before sharing this model"
    return f"{licence}, `LICENSE` beside"


def model_section(meta: dict) -> str:
    """The network, in a paragraph: the fast tier's word vectors, or the MiniLM tier's encoder."""
    model = meta["model"]
    if tier(meta) == "minilm":
        words = (
            "the mean of its word pieces' states"
            if model["word_pooling"] == "mean"
            else "its first word piece's state"
        )
        if model.get("word_dim"):
            words += (f" beside its fine-tuned {model['word_dim']}-d word vector\n"
                      f"({', '.join(meta['train']['embeddings'])}; vocabulary: {len(meta['vocabulary'])} words)")  # fmt: skip
        d = model["hidden_dim"]
        into = f"read by a BiGRU into {d}-d states" if model.get("recurrent") else f"projected to {d}-d"
        encoder_config = model["encoder"]
        known = PRETRAINED.get(meta["encoder"], "a BERT encoder read from a local folder of that name")
        return (
            f"CMLA's coupled attention over the fine-tuned `{meta['encoder']}` encoder ({encoder_config['num_hidden_layers']} layers,\n"
            f"{encoder_config['hidden_size']}-d, {encoder_config['vocab_size']} word pieces: {known};\n"
            f"{encoder_licence(meta)}): each word is {words},\n"
            f"{into}, then K = {model['n_slices']} tensor slices, L = {model['n_layers']} attention layers."
        )  # fmt: skip
    return (
        f"{encoder(model)} over {model['word_dim']}-d\n"
        f"{'frozen' if model['freeze_embeddings'] else 'fine-tuned'} pre-trained word vectors\n"
        f"({', '.join(meta['train']['embeddings'])}) and {len(meta['subword_features'])} hashed sub-word features\n"
        f"({meta['n_buckets']} buckets), {convolutions(model)}, K = {model['n_slices']} tensor slices,\n"
        f"L = {model['n_layers']} attention layers. Vocabulary: {len(meta['vocabulary'])} words."
    )


def unseen_words(meta: dict) -> str:
    if tier(meta) == "minilm":
        return "a word it never saw in training is still read through its word\npieces and the encoder's pre-training"
    return "words outside its vocabulary are seen only through\ntheir prefixes, suffixes and shape"


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
    if gives_relations(meta):
        data = (
            f"Trained on the `{meta['dataset']}` training split of the tokenized ABSA benchmark (SemEval\n"
            "reviews, lower-cased; opinion terms by Wang et al.; aspect sentiments of SemEval), with\n"
            "the aspect-opinion pairs of its ASTE-Data-V2 training sentences, selected on its dev split\n"
            "(best dev aspect F1 + opinion F1 + ABSA F1 + triplet F1, early stopping)"
        )
        return data, "sha256 of the training and dev files, their sentiments and pairs, and the vocabulary"
    data = (
        f"Trained on the `{meta['dataset']}` training split of the tokenized ABSA benchmark (SemEval\n"
        "reviews, lower-cased; opinion terms by Wang et al.), selected on its dev split\n"
        "(best dev aspect F1 + opinion F1, early stopping)"
    )
    return data, "sha256 of the training and dev files and the vocabulary"


def origin(meta: dict) -> str:
    """The seed, and the run training started from where it was a second stage (`--init-from`)."""
    seed, init_from = meta["train"]["seed"], meta["train"].get("init_from")
    if not init_from:
        return f"seed {seed}"
    return f"seed {seed},\nstarting from the weights of the run `{init_from}` (a second stage)"


def weights(meta: dict) -> str:
    """How the weights are stored, what verified them, and the int8 verdict."""
    torch_test, verification = meta["torch_scores"]["test"], meta["verification"]
    rounded = (
        "Weights: rounded to float16 values at export and stored as such, which halves the file;\n"
        "onnxruntime computes in float32. The scores above are of these weights; the training run's\n"
        f"own, in full precision, were test aspect F1 {100 * torch_test['aspect']['f1']:.2f} and opinion F1 "
        f"{100 * torch_test['opinion']['f1']:.2f}. Torch and\n"
        f"onnxruntime, both with the rounded weights, agreed on all {verification['dev_sentences']} dev sentences (largest\n"
        f"probability difference {verification['max_prob_diff']:.1e}, no tag differs)."
    )  # fmt: skip
    if meta.get("int8", {}).get("shipped_as") != "model.onnx":
        return f"{rounded}\n\n{int8_verdict(meta)}"
    float_test, int8 = meta["float_onnx_scores"]["test"], meta["int8"]
    scheme = int8.get(
        "scheme", "onnxruntime dynamic quantization, one scale per output channel of each matrix\nproduct"
    )
    return (
        f"Weights: int8 ({scheme};\nthe rest float16 values), the only graph here, to keep the folder small.{requantized(int8)}\n"
        f"The scores above are of these weights. The float16-stored graph it was quantized from scored\n"
        f"test aspect F1 {100 * float_test['aspect']['f1']:.2f} and opinion F1 {100 * float_test['opinion']['f1']:.2f}, and agreed with torch on all "
        f"{verification['dev_sentences']} dev sentences\n(largest probability difference {verification['max_prob_diff']:.1e}, "
        f"no tag differs). int8 lost at most {100 * int8['largest_f1_loss']:.2f} dev F1\npoints (it ships within "
        f"{100 * MAX_INT8_F1_LOSS:.1f}) and ran {int8['speedup_vs_fp32']:.2f}x as fast as the float graph where it was made.{same_answers(int8)}"
    )  # fmt: skip


def requantized(int8: dict) -> str:
    """Where the int8 graph was made again from an earlier int8 graph's weights, the card says how."""
    if "made_by" not in int8:
        return ""
    return f"\nMade by `{int8['made_by']}` from the weights of an earlier int8 graph (one activation scale per call)."


def same_answers(int8: dict) -> str:
    """What the card says of batch and CPU independence, for the int8 scheme the graph uses."""
    if "scheme" not in int8:
        return (
            "\nIts activations are quantized with one scale per call, so a review's answer can depend on\n"
            "the batch it is tagged in: export it again."
        )
    return (
        "\nEach token's activations are scaled by their own values, never by the batch's, and the integer\n"
        "products are exact on every x86 CPU, so a review gets the same answer in any batch."
    )


def int8_verdict(meta: dict) -> str:
    if "int8" not in meta:
        return "No int8 model was made (export without `--quantize`)."
    int8 = meta["int8"]
    split = int8.get("measured_on", "test")  # exports before the MiniLM tier measured on test
    limit = MAX_INT8_F1_LOSS if split == "dev" else EARLIER_INT8_F1_LOSS
    if int8["shipped"]:
        return (
            f"`model.int8.onnx` ships: at most {100 * int8['largest_f1_loss']:.2f} F1 points below fp32 "
            f"on {split} and {int8['speedup_vs_fp32']:.2f}x its speed (`coextract.load(..., quantized=True)`)."
        )
    loss = int8["largest_f1_loss"]
    lost = f"lost up to {100 * loss:.2f} F1 points on {split}" if loss > 0 else f"lost no F1 on {split}"
    return (
        f"The int8 model does not ship: it {lost} but ran at {int8['speedup_vs_fp32']:.2f}x "
        f"fp32's speed; it must stay within {100 * limit:.1f} points and run at least "
        f"{MIN_INT8_SPEEDUP:.1f}x as fast."
    )


RELATION_ROWS = {  # row name: (where its test scores are, their key); dev's are under the key in dev
    "aspect + sentiment (ABSA F1)": ("test", "absa"),
    "pair (aste-v2 test file)": ("aste_test", "pair"),
    "triplet (aste-v2 test file)": ("aste_test", "triplet"),
}


def score_rows(meta: dict) -> str:
    """Test precision, recall, F1 and dev F1 of the terms, and of the relations where the model gives them
    (pairs and triplets on aste-v2's own test file; their dev F1 on the absa/ dev sentences aste-v2
    annotates)."""
    scores = meta["onnx_scores"]
    rows = [(side, scores["test"][side], scores["dev"][side]) for side in ("aspect", "opinion")]
    rows += [(name, scores[test][key], scores["dev"][key]) for name, (test, key) in RELATION_ROWS.items()
             if key in scores.get(test, {})]  # fmt: skip
    return "\n".join(
        f"| {name} | {100 * test['precision']:.2f} | {100 * test['recall']:.2f} "
        f"| {100 * test['f1']:.2f} | {100 * dev['f1']:.2f} |"
        for name, test, dev in rows
    )


def relation_texts(meta: dict, output: Path) -> dict[str, str]:
    """What the card says of sentiments and pairs: how to reproduce their scores, and what the model finds."""
    if not gives_relations(meta):
        return {"reproduce_pairs": "", "finds": "It finds term spans only, not their\npolarity."}
    aste = ASTE_NAMES.get(meta["dataset"], meta["dataset"])
    return {
        "reproduce_pairs": f"; pairs and triplets: `coextract evaluate --model {output.as_posix()} --triplets {aste} --json`",
        "finds": "It gives each aspect a sentiment\n(positive, negative or neutral) and links opinions to the aspects they are about.",
    }


def model_card(meta: dict, run_dir: Path, output: Path) -> str:
    """The card of the model that `meta` describes, exported from `run_dir` to `output`."""
    data = training_data(meta)
    template = resources.files("coextract.training").joinpath("MODEL_CARD.template.md").read_text("utf-8")
    return template.format(
        **{key: meta[key] for key in ("dataset", "coextract_version", "opset", "data_fingerprint")},
        data=data[0],
        fingerprinted=data[1],
        origin=origin(meta),
        kept_weights=kept_weights(meta["kept_epochs"]),
        score_rows=score_rows(meta),
        output=output.as_posix(),
        run_dir=run_dir.as_posix(),
        weights=weights(meta),
        model_section=model_section(meta),
        unseen_words=unseen_words(meta),
        **relation_texts(meta, output),
    )
