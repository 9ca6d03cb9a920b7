"""The `coextract` command line: train, evaluate.

Every user-fixable problem surfaces as a `CoextractError` and is printed as one
line, `coextract: error: ...`, with exit code 2 -- never a traceback.
"""

import argparse
import json
import sys
from pathlib import Path

from coextract.data import DATA_ENV, DATASETS, SPLITS, default_data_dir, read_dataset
from coextract.errors import CoextractError

DATASET_HELP = f"a sub-folder of --data-dir: {', '.join(DATASETS)}"


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"benchmark folder holding res14/, lap14/, res15/ (default: ${DATA_ENV}, "
        "else ../shared/data/absa beside the repository)",
    )


def cmd_train(args: argparse.Namespace) -> None:
    from coextract.train import TrainConfig, train  # torch only when training

    output = Path(args.output)
    if (output / "model.pt").exists() and not args.overwrite:
        raise CoextractError(f"{output} already holds a trained model; pass --overwrite to replace it")
    model = {
        "n_buckets": 0 if args.no_subwords else args.buckets,
        "hidden_dim": args.hidden_dim,
        "bidirectional": not args.unidirectional,
        "freeze_embeddings": not args.finetune_embeddings,
        "dropout": args.dropout,
        "n_slices": args.slices,
        "n_layers": args.layers,
    }
    config = TrainConfig(
        dataset=args.dataset,
        seed=args.seed,
        embeddings=tuple(args.embeddings.split(",")),
        batch_size=args.batch_size,
        learning_rate=args.lr,
        max_epochs=args.epochs,
        patience=args.patience,
        max_train_sentences=args.max_train_sentences,
        model=model,
    )
    metrics = train(config, args.data_dir or default_data_dir(), output)
    print(
        f"best epoch {metrics['best_epoch']}: test F1 aspect {100 * metrics['test']['aspect']['f1']:.2f}"
        f"  opinion {100 * metrics['test']['opinion']['f1']:.2f}  ({metrics['train_seconds']:.0f}s)"
        f"; saved to {output}",
        file=sys.stderr,
    )


def load_model(name_or_path: str):
    """(backend, featurizer) for an exported model (name or folder) or a training run folder."""
    if not (Path(name_or_path) / "config.json").is_file():
        from coextract.runtime import load

        tagger = load(name_or_path)
        return tagger.backend, tagger.featurizer
    from coextract.train import load_run, torch_backend

    model, featurizer, _ = load_run(name_or_path)
    return torch_backend(model), featurizer


def cmd_export(args: argparse.Namespace) -> None:
    from coextract.export import export_run

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


def format_scores(report: dict) -> str:
    lines = [
        f"{report['dataset']} {report['split']}: {report['n_sentences']} sentences",
        f"{'':8} {'precision':>9} {'recall':>7} {'F1':>7} {'gold':>6} {'pred':>6} {'correct':>7}",
    ]
    for side in ("aspect", "opinion"):
        s = report[side]
        lines.append(
            f"{side:8} {100 * s['precision']:9.2f} {100 * s['recall']:7.2f} {100 * s['f1']:7.2f}"
            f" {s['n_gold']:6d} {s['n_pred']:6d} {s['n_correct']:7d}"
        )
    return "\n".join(lines)


def cmd_evaluate(args: argparse.Namespace) -> None:
    from coextract.metrics import score_predictions
    from coextract.predict import predict_sentences

    examples = read_dataset(args.data_dir or default_data_dir(), args.dataset)[args.split]
    backend, featurizer = load_model(args.model)
    predictions = predict_sentences(backend, featurizer, [e.tokens for e in examples], args.batch_size)
    scores = score_predictions(examples, predictions)
    report = {
        "dataset": args.dataset,
        "split": args.split,
        "n_sentences": len(examples),
        **{side: score.to_dict() for side, score in scores.items()},
    }
    print(json.dumps(report) if args.json else format_scores(report))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coextract",
        description="Joint aspect and opinion term extraction (CMLA) for customer reviews.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train CMLA on a benchmark dataset",
        description="Train CMLA on one benchmark dataset. The epoch with the best dev "
        "aspect F1 + opinion F1 is kept (early stopping on dev); test is scored once "
        "with it. Writes model.pt, config.json and metrics.json into --output.",
    )
    train.add_argument("--dataset", required=True, help=DATASET_HELP)
    train.add_argument("--seed", type=int, default=1)
    train.add_argument("--output", required=True, help="run folder to write")
    train.add_argument("--overwrite", action="store_true", help="replace a model in --output")
    add_data_dir(train)
    hyper = train.add_argument_group("hyper-parameters (defaults chosen on dev)")
    hyper.add_argument("--embeddings", default="domain", help="comma-separated: domain, glove (res15 only)")
    hyper.add_argument("--epochs", type=int, default=40, help="maximum epochs")
    hyper.add_argument("--patience", type=int, default=8, help="epochs without dev gain before stopping")
    hyper.add_argument("--batch-size", type=int, default=16)
    hyper.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    hyper.add_argument("--dropout", type=float, default=0.5)
    hyper.add_argument("--hidden-dim", type=int, default=50, help="GRU size per direction")
    hyper.add_argument("--slices", type=int, default=20, help="K, slices per attention tensor")
    hyper.add_argument("--layers", type=int, default=2, help="L, attention layers")
    hyper.add_argument("--buckets", type=int, default=1 << 15, help="sub-word hash table size")
    hyper.add_argument("--no-subwords", action="store_true", help="word vectors only")
    hyper.add_argument("--unidirectional", action="store_true", help="forward GRUs only, as in the paper")
    hyper.add_argument("--finetune-embeddings", action="store_true", help="train the word vectors too")
    hyper.add_argument(
        "--max-train-sentences", type=int, default=None, help="use only the first N (for quick checks)"
    )
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser(
        "evaluate",
        help="score a model on a benchmark split",
        description="Exact-match span precision, recall and F1, micro over the split, "
        "for aspects and opinions separately.",
    )
    evaluate.add_argument(
        "--model",
        required=True,
        help="an exported model (bundled name such as 'restaurant', or a folder from 'coextract export') "
        "or a run folder from 'coextract train' (evaluated with torch)",
    )
    evaluate.add_argument("--dataset", required=True, help=DATASET_HELP)
    evaluate.add_argument("--split", default="test", choices=SPLITS)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--batch-size", type=int, default=256)
    add_data_dir(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)

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
        help="also write an int8 model; kept only if test F1 stays within 0.5 points and it is faster",
    )
    add_data_dir(export)
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except CoextractError as err:
        print(f"coextract: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("coextract: interrupted", file=sys.stderr)
        return 130
    return 0
