"""The `coextract` command line: train, evaluate, export, tag.

Every user-fixable problem surfaces as a `CoextractError` and is printed as one
line, `coextract: error: ...`, with exit code 2 -- never a traceback.
"""

import argparse
import glob
import json
import sys
import time
from pathlib import Path

from coextract.data import DATA_ENV, DATASETS, SPLITS, default_data_dir
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
]


def cmd_train(args: argparse.Namespace) -> None:
    from coextract.train import recommended_config, train  # torch only when training

    output = Path(args.output)
    if (output / "model.pt").exists() and not args.overwrite:
        raise CoextractError(f"{output} already holds a trained model; pass --overwrite to replace it")
    config = recommended_config(args.dataset)
    config.seed = args.seed
    config.raw_files = raw_files(args)
    for field, _, _ in TRAIN_FLAGS:
        if hasattr(args, field):
            setattr(config, field, getattr(args, field))
    config.model.update({field: getattr(args, field) for field, _, _ in MODEL_FLAGS if hasattr(args, field)})
    metrics = train(config, args.data_dir or default_data_dir(), output)
    print(
        f"best epoch {metrics['best_epoch']}: test F1 aspect {100 * metrics['test']['aspect']['f1']:.2f}"
        f"  opinion {100 * metrics['test']['opinion']['f1']:.2f}  ({metrics['train_seconds']:.0f}s)"
        f"; saved to {output}",
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


def raw_files(args: argparse.Namespace) -> tuple[str, ...]:
    """The raw SemEval files named on the command line (checked to come in pairs), or ()."""
    if args.semeval_xml:
        if not args.opinions:
            raise CoextractError("--semeval-xml needs --opinions (Wang et al.'s opinion file for it)")
        return (str(args.semeval_xml), str(args.opinions))
    if args.cmla_sentences:
        if not args.cmla_aspects:
            raise CoextractError("--cmla-sentences needs --cmla-aspects (the line-aligned aspect file)")
        return (str(args.cmla_sentences), str(args.cmla_aspects))
    return ()


def add_raw_files(parser: argparse.ArgumentParser, purpose: str) -> None:
    raw = parser.add_argument_group(purpose)
    raw.add_argument("--semeval-xml", type=Path, help="a SemEval-2014 Task 4 XML file")
    raw.add_argument("--opinions", type=Path, help="Wang et al.'s opinion file for --semeval-xml")
    raw.add_argument(
        "--cmla-sentences", type=Path, help="SemEval-2015 'sentence##opinions' file released with CMLA"
    )
    raw.add_argument("--cmla-aspects", type=Path, help="its line-aligned aspect file")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from coextract.evaluation import evaluate_raw, evaluate_tokenized

    files = raw_files(args)
    if files:
        report = evaluate_raw(args.model, files, args.batch_size)
    elif args.dataset:
        data_dir = args.data_dir or default_data_dir()
        report = evaluate_tokenized(args.model, data_dir, args.dataset, args.split, args.batch_size)
    else:
        raise CoextractError("evaluate needs --dataset (or --semeval-xml/--cmla-sentences for raw text)")
    print(json.dumps(report) if args.json else format_scores(report))


def expand_inputs(patterns: list[str]) -> list[str]:
    """Input paths, with quoted glob patterns ('corpus/reviews-*.parquet') expanded in sorted order."""
    paths = []
    for pattern in patterns:
        if pattern != "-" and glob.has_magic(pattern) and not Path(pattern).exists():
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise CoextractError(f"{pattern}: no file matches")
            paths += matches
        else:
            paths.append(pattern)
    return paths


def cmd_tag(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from coextract.batch import Summary, hide_torch, tag_files
    from coextract.readers import count_records

    hide_torch()
    inputs = expand_inputs(args.inputs)
    quiet = args.quiet or not sys.stderr.isatty()
    total = None if quiet else count_records(inputs, args.input_format)
    common = dict(
        model=args.model,
        text_field=args.text_field,
        id_field=args.id_field,
        input_format=args.input_format,
        workers=args.workers,
        include_text=args.include_text,
        output_format=args.format,
        overwrite=args.overwrite,
    )
    with tqdm(total=total, unit=" reviews", file=sys.stderr, disable=quiet, smoothing=0.1) as progress:
        if args.engine == "dask":
            from coextract.distributed import tag_files_on_dask

            if args.resume or args.strict:
                raise CoextractError("--resume and --strict are for the local engine")
            started = time.perf_counter()
            counts = tag_files_on_dask(
                inputs, args.output, scheduler=args.scheduler, progress=progress, **common
            )
            summary = Summary(counts["records"], counts["errors"], time.perf_counter() - started)
        else:
            if args.scheduler:
                raise CoextractError("--scheduler needs --engine dask")
            summary = tag_files(
                inputs, args.output, resume=args.resume, strict=args.strict, progress=progress, **common
            )
    print(f"coextract tag: {summary.line()}", file=sys.stderr)


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
    evaluate.add_argument("--dataset", help=DATASET_HELP)
    evaluate.add_argument("--split", default="test", choices=SPLITS)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--batch-size", type=int, default=256)
    add_raw_files(
        evaluate,
        "raw text (instead of --dataset): the full path from raw reviews to character spans, "
        "scored by exact character offsets; an exported model is needed",
    )
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

    tag = commands.add_parser(
        "tag",
        help="tag review files with a bundled or exported model",
        description="Tag every review of the input files and write one JSON line per input record, in "
        "input order: {id, aspects: [{text, start, end, score}], opinions: [...]}, offsets into the "
        "review text. A bad record becomes a line with an 'error' naming file and line; the run goes "
        "on. Output goes to OUT.partial and is renamed to OUT when complete; after a crash or Ctrl-C, "
        "run the same command with --resume.",
    )
    tag.add_argument(
        "inputs", nargs="+", help=".txt, .jsonl, .csv (each optionally .gz), .parquet, or - for stdin"
    )
    tag.add_argument(
        "--output",
        required=True,
        help="JSON Lines file to write, or - for stdout; with --engine dask, a folder for the part files",
    )
    tag.add_argument("--model", default="restaurant", help="bundled model name or alias, or a model folder")
    tag.add_argument(
        "--text-field", default="text", help="field or column holding the review (jsonl, csv, parquet)"
    )
    tag.add_argument(
        "--id-field", default=None, help="field or column holding the id (default: the line number)"
    )
    tag.add_argument(
        "--input-format", default=None, help="txt, jsonl, csv or parquet (default: from the name)"
    )
    tag.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    tag.add_argument("--include-text", action="store_true", help="copy the review text into the output")
    tag.add_argument(
        "--format", default=None, help="jsonl, csv or parquet (default: from the output's name, else jsonl)"
    )
    tag.add_argument("--resume", action="store_true", help="continue an interrupted run of the same command")
    tag.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    tag.add_argument("--strict", action="store_true", help="stop at the first bad record")
    tag.add_argument("--quiet", action="store_true", help="no progress bar")
    tag.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local: worker processes on this machine; dask: one task per input file on a Dask cluster "
        "(pip install 'coextract[dask]'), writing OUTPUT/part-NNNNN.jsonl|parquet and OUTPUT/_SUCCESS",
    )
    tag.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address (tcp://host:8786); default: a LocalCluster of --workers processes",
    )
    tag.set_defaults(func=cmd_tag)
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
    except BrokenPipeError:  # the reader of stdout went away (e.g. `| head`): not an error of ours
        sys.stderr.close()
        return 0
    return 0
