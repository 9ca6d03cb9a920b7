"""`coextract evaluate`: a model's span scores on a benchmark split or on raw SemEval files."""

import argparse
import json
from pathlib import Path

from coextract.cli.common import BUNDLED_HELP, DATASET_HELP, add_data_dir, add_raw_files, raw_files
from coextract.errors import CoextractError
from coextract.evaluation.benchmark import SPLITS, dataset_dir, default_data_dir
from coextract.runtime.sizes import PIPE_BATCH

SCORED = ("aspect", "opinion", "absa", "pair", "triplet")  # rows of the table, where the report has them


def format_scores(report: dict) -> str:
    lines = [
        f"{report['dataset']} {report['split']}: {report['n_sentences']} sentences",
        f"{'':8} {'precision':>9} {'recall':>7} {'F1':>7} {'gold':>6} {'pred':>6} {'correct':>7}",
    ]
    for name in (name for name in SCORED if name in report):
        s = report[name]
        lines.append(
            f"{name:8} {100 * s['precision']:9.2f} {100 * s['recall']:7.2f} {100 * s['f1']:7.2f}"
            f" {s['n_gold']:6d} {s['n_pred']:6d} {s['n_correct']:7d}"
        )
    return "\n".join(lines)


def is_run_folder(model: str) -> bool:
    """A folder written by `coextract train` (evaluated with torch), not an exported model."""
    return (Path(model) / "config.json").is_file()


def model_backend(model: str):
    """(backend, featurizer, whether it has relation heads) of an exported model (onnxruntime) or a
    training run folder (torch)."""
    if not is_run_folder(model):
        from coextract.runtime.tagger import load

        tagger = load(model)
        return tagger.backend, tagger.featurizer, tagger.relations
    from coextract.training.checkpoint import load_run, torch_backend  # torch only for run folders

    network, featurizer, _ = load_run(model)
    return torch_backend(network), featurizer, hasattr(network, "relations")


def evaluate_triplet_file(args: argparse.Namespace) -> dict:
    """Pair and triplet scores on an aste-v2 split, end to end (`evaluate.score_triplets`)."""
    from coextract.evaluation.evaluate import score_triplets
    from coextract.evaluation.triplets import ASTE_NAMES, aste_dir, read_triplets

    name = ASTE_NAMES.get(args.triplets, args.triplets)
    path = aste_dir(args.data_dir or default_data_dir(), name) / f"{args.split}_triplets.txt"
    if not path.is_file():
        raise CoextractError(
            f"{path}: not found; --triplets takes {', '.join(ASTE_NAMES.values())} (or "
            f"{', '.join(ASTE_NAMES)}), read from aste-v2/ beside the --data-dir folder"
        )
    examples = read_triplets(path)
    backend, featurizer, relations = model_backend(args.model)
    if not relations:
        raise CoextractError(
            f"{args.model} has no pair head (exported before there was one, or trained with --no-relations): "
            "it links no opinion to an aspect"
        )
    return {
        "dataset": f"aste-v2 {name}",
        "split": args.split,
        **score_triplets(backend, featurizer, examples, args.batch_size),
    }


def cmd_evaluate(args: argparse.Namespace) -> None:
    from coextract.evaluation.evaluate import evaluate_raw, evaluate_tokenized
    from coextract.runtime.tagger import load

    if args.batch_size < 1:
        raise CoextractError(f"--batch-size must be 1 or more, got {args.batch_size}")
    files = raw_files(args)
    if args.triplets:
        report = evaluate_triplet_file(args)
    elif files:
        if is_run_folder(args.model):
            raise CoextractError(
                f"{args.model} is a training run; raw-text evaluation needs an exported model"
            )
        report = evaluate_raw(load(args.model), files, args.batch_size)
    elif args.dataset:
        data_dir = args.data_dir or default_data_dir()
        dataset_dir(data_dir, args.dataset)  # a wrong data folder or dataset fails before a model loads
        backend, featurizer, _ = model_backend(args.model)
        report = evaluate_tokenized(backend, featurizer, data_dir, args.dataset, args.split, args.batch_size)
    else:
        raise CoextractError("evaluate needs --dataset (or --semeval-xml/--cmla-sentences for raw text)")
    print(json.dumps(report) if args.json else format_scores(report))


def add_parser(commands) -> None:
    """The `coextract evaluate` command."""
    evaluate = commands.add_parser(
        "evaluate",
        help="score a model on a benchmark split",
        description="Exact-match span precision, recall and F1, micro over the split, "
        "for aspects and opinions separately; for a model with relation heads also ABSA F1 "
        "(an aspect with its sentiment: RACL's and IMN's score) and, on the sentences aste-v2 "
        "annotates, pair and triplet scores. --triplets scores aste-v2's own files.",
    )
    evaluate.add_argument(
        "--model",
        required=True,
        help=f"an exported model (a bundled one: {BUNDLED_HELP}; or a folder from "
        "'coextract export') or a run folder from 'coextract train' (evaluated with torch)",
    )
    evaluate.add_argument("--dataset", help=DATASET_HELP)
    evaluate.add_argument(
        "--triplets",
        metavar="DATASET",
        help="instead: pair and triplet scores on aste-v2's DATASET (14res, 14lap, 15res; or res14, lap14, "
        "res15) --split, the model tagging its sentences end to end (a model with a pair head)",
    )
    evaluate.add_argument("--split", default="test", choices=SPLITS)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--batch-size", type=int, default=PIPE_BATCH)
    add_raw_files(
        evaluate,
        "raw text (instead of --dataset): the full path from raw reviews to character spans, "
        "scored by exact character offsets; an exported model is needed",
    )
    add_data_dir(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)
