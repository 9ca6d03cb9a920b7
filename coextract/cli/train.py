"""`coextract train` and `coextract export`: the commands that need torch (the [train] extra)."""

import argparse
import sys
from pathlib import Path

from coextract.cli.common import DATASET_HELP, add_data_dir, add_raw_files, raw_files
from coextract.errors import CoextractError
from coextract.evaluation.benchmark import ENCODER_ENV, default_data_dir, default_encoder_dir


def int_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(k) for k in text.split(",") if k)


def str_tuple(text: str) -> tuple[str, ...]:
    return tuple(k for k in text.split(",") if k)


# Hyper-parameter flags: (field, type, help). Each flag is named after its
# TrainConfig or CMLAConfig field; one left out keeps the dataset's dev-chosen value.
TRAIN_FLAGS = [
    ("embeddings", str_tuple, "comma-separated pre-trained vectors: domain, glove (res15 has glove)"),
    ("max_epochs", int, "maximum epochs"),
    ("patience", int, "epochs without dev gain before stopping"),
    ("batch_size", int, "sentences per batch"),
    ("learning_rate", float, "Adam learning rate"),
    ("ema_decay", float, "decay of a moving average of the weights that is evaluated and kept (0 = off)"),
    ("average_top", int, "also try the mean weights of the N best epochs, kept if dev prefers it (0 = off)"),
    ("max_train_sentences", int, "use only the first N training sentences (for quick checks)"),
    ("device", str, "where to train: cpu (default), or cuda for a GPU"),
    (
        "soft_targets",
        str,
        "distil: also learn a teacher model's probabilities (a model folder or bundled name)",
    ),
    ("distill_weight", float, "with --soft-targets: the teacher's share of the loss (default 0.5)"),
    (
        "relations",
        argparse.BooleanOptionalAction,
        "also learn each aspect's sentiment and which opinion goes with which aspect (default: on where "
        "aste-v2 holds the dataset; --no-relations: terms only)",
    ),
    ("relation_weight", float, "weight of the sentiment and pair losses beside the tag losses (default 0.3)"),
    (
        "init_from",
        str,
        "start from a run folder's weights, e.g. one trained with --no-relations: what it lacks (the "
        "relation heads) starts fresh; the same tier, dataset and model settings",
    ),
]
MODEL_FLAGS = [
    ("hidden_dim", int, "encoder GRU size per direction"),
    ("inner_dim", int, "size per direction of the GRU over attention compositions"),
    ("n_slices", int, "K, slices per attention tensor"),
    ("n_layers", int, "L, attention layers"),
    ("dropout", float, "dropout rate"),
    ("n_buckets", int, "sub-word hash table size (0 = word vectors only)"),
    ("conv_kernels", int_tuple, "comma-separated widths of convolutions before the encoder ('' = none)"),
    ("conv_dim", int, "filters per convolution width"),
    (
        "bidirectional",
        argparse.BooleanOptionalAction,
        "bidirectional GRUs (--no-bidirectional: forward only, as in the paper)",
    ),
    ("freeze_embeddings", argparse.BooleanOptionalAction, "keep the pre-trained word vectors fixed"),
    ("word_pooling", str, "MiniLM tier: a word's state is its 'first' piece's or the 'mean' of its pieces'"),
    (
        "word_vectors",
        argparse.BooleanOptionalAction,
        "MiniLM tier: also read the dataset's word vectors (--embeddings, default domain) beside the encoder's",
    ),
    (
        "recurrent",
        argparse.BooleanOptionalAction,
        "MiniLM tier: a BiGRU makes the word states, not one layer",
    ),
    (
        "relation_states",
        str,
        "what the sentiment and pair heads read: 'coupled' [h; r^a; r^p] or 'encoder' h",
    ),
    ("pair_dim", int, "width of the pair grid's aspect and opinion projections"),
    (
        "relation_gradients",
        argparse.BooleanOptionalAction,
        "the sentiment and pair losses also train the states the heads read (--no-relation-gradients: "
        "the heads learn on top, the tagger learns as without them)",
    ),
]


# Options of one tier only: given to the other, they would be ignored or crash mid-way.
FAST_ONLY = ("n_buckets", "conv_kernels", "conv_dim", "freeze_embeddings")
MINILM_ONLY = ("word_pooling", "word_vectors", "recurrent")
WORD_POOLINGS = ("first", "mean")


def check_tier_options(args: argparse.Namespace) -> None:
    """Refuse, before anything is read or written, an option the chosen tier does not have."""

    def given(names: tuple[str, ...]) -> list[str]:
        return [f"--{name.replace('_', '-')}" for name in names if hasattr(args, name)]

    if args.encoder and (wrong := given(FAST_ONLY)):
        raise CoextractError(
            f"{', '.join(wrong)}: fast-tier options; the MiniLM tier (--encoder) has no word vectors"
        )
    if args.encoder and hasattr(args, "embeddings") and not getattr(args, "word_vectors", True):
        raise CoextractError(
            "--embeddings with --no-word-vectors: the MiniLM tier reads the vectors only beside the encoder"
        )
    if not args.encoder and (wrong := given(MINILM_ONLY)):
        raise CoextractError(f"{', '.join(wrong)}: a MiniLM-tier option; add --encoder to train that tier")
    if getattr(args, "word_pooling", "first") not in WORD_POOLINGS:
        raise CoextractError(f"--word-pooling is {' or '.join(WORD_POOLINGS)}, not {args.word_pooling!r}")


def cmd_train(args: argparse.Namespace) -> None:
    from coextract.training.config import recommended_config
    from coextract.training.train import train  # torch only when training

    check_tier_options(args)
    output = Path(args.output)
    if (output / "model.pt").exists() and not args.overwrite:
        raise CoextractError(f"{output} already holds a trained model; pass --overwrite to replace it")
    config = recommended_config(args.dataset, encoder=str(args.encoder or ""))
    config.seed = args.seed
    config.raw_files = raw_files(args)
    for field, _, _ in TRAIN_FLAGS:
        if hasattr(args, field):
            setattr(config, field, getattr(args, field))
    config.model.update({field: getattr(args, field) for field, _, _ in MODEL_FLAGS if hasattr(args, field)})
    metrics = train(config, args.data_dir or default_data_dir(), output)
    test = "  ".join(f"{name} {100 * score['f1']:.2f}" for name, score in metrics["test"].items())
    triplets = metrics.get("aste_test")
    on_aste = f"; aste-v2 test triplet F1 {100 * triplets['triplet']['f1']:.2f}" if triplets else ""
    print(
        f"best epoch {metrics['best_epoch']}: test F1 {test}{on_aste}  ({metrics['train_seconds']:.0f}s); "
        f"saved to {output}",
        file=sys.stderr,
    )


def add_flags(group, flags) -> None:
    for field, kind, text in flags:
        flag = "--" + field.replace("_", "-")
        if kind is argparse.BooleanOptionalAction:
            group.add_argument(flag, dest=field, action=kind, default=argparse.SUPPRESS, help=text)
        else:
            group.add_argument(flag, dest=field, type=kind, default=argparse.SUPPRESS, help=text)


def cmd_export(args: argparse.Namespace) -> None:
    from coextract.training.export import export_run

    meta = export_run(args.run_dir, args.output, args.data_dir or default_data_dir(), args.quantize)
    test = meta["onnx_scores"]["test"]
    print(
        f"exported to {args.output}: dev verified ({meta['verification']['tag_mismatches']} tags differ, "
        f"largest probability difference {meta['verification']['max_prob_diff']:.1e}); onnxruntime test F1 "
        f"aspect {100 * test['aspect']['f1']:.2f} opinion {100 * test['opinion']['f1']:.2f}",
        file=sys.stderr,
    )
    if "int8" in meta:
        int8 = meta["int8"]
        verdict = "kept" if int8["shipped"] else "not kept"
        print(
            f"int8 model {verdict}: largest F1 loss {100 * int8['largest_f1_loss']:.2f} points, "
            f"{int8['speedup_vs_fp32']:.2f}x fp32 speed",
            file=sys.stderr,
        )


def add_train_parser(commands) -> None:
    """The `coextract train` command."""
    train = commands.add_parser(
        "train",
        help="train CMLA on a benchmark dataset",
        description="Train CMLA on one benchmark dataset. The epoch with the best dev "
        "aspect F1 + opinion F1 is kept (early stopping on dev); test is scored once "
        "with it. Writes model.pt, config.json and metrics.json into --output.",
    )
    train.add_argument("--dataset", required=True, help=DATASET_HELP)
    train.add_argument("--seed", type=int, default=1)
    train.add_argument(
        "--encoder",
        nargs="?",
        const=default_encoder_dir(),
        default=None,
        type=Path,
        help="train the MiniLM tier: CMLA over this local Hugging Face BERT folder (default, with the flag "
        f"alone: ${ENCODER_ENV}, else ../shared/models/all-MiniLM-L6-v2 beside the repository)",
    )
    train.add_argument("--output", required=True, help="run folder to write")
    train.add_argument("--overwrite", action="store_true", help="replace a model in --output")
    add_data_dir(train)
    add_raw_files(
        train,
        "raw text: train (80 %) and select (20 %) on raw SemEval files through the spaCy preprocessing, "
        "with --dataset's vocabulary and vectors; test stays the benchmark's",
    )
    add_flags(
        train.add_argument_group("training (defaults: chosen on dev per dataset, see benchmarks/README.md)"),
        TRAIN_FLAGS,
    )
    add_flags(train.add_argument_group("model (defaults: chosen on dev per dataset)"), MODEL_FLAGS)
    train.set_defaults(func=cmd_train)


def add_export_parser(commands) -> None:
    """The `coextract export` command."""
    export = commands.add_parser(
        "export",
        help="export a trained run to ONNX",
        description="Export a run folder to ONNX (model.onnx, meta.json, MODEL_CARD.md). "
        "Torch and onnxruntime are run on the whole dev set; the export fails if any tag "
        "differs or a probability differs by more than 1e-4.",
    )
    export.add_argument("run_dir", type=Path, help="run folder from 'coextract train'")
    export.add_argument("--output", type=Path, required=True, help="model folder to write (replaced)")
    export.add_argument(
        "--quantize",
        action="store_true",
        help="also write an int8 model (model.int8.onnx); kept only if its dev F1 stays within 0.3 points "
        "of the float graph's and it runs at least 1.1x as fast here",
    )
    add_data_dir(export)
    export.set_defaults(func=cmd_export)
