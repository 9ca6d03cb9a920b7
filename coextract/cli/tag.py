"""`coextract tag`: tag review files with a bundled or exported model, locally or on Dask."""

import argparse
import glob
import sys
from pathlib import Path

from coextract.cli.common import MODEL_HELP
from coextract.errors import CoextractError


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


def tag_options(args: argparse.Namespace):
    from coextract.corpus.engine import TagOptions

    return TagOptions(
        model=args.model,
        text_field=args.text_field,
        id_field=args.id_field,
        input_format=args.input_format,
        output_format=args.format,
        include_text=args.include_text,
        workers=args.workers,
        resume=args.resume,
        overwrite=args.overwrite,
        strict=args.strict,
    )


def cmd_tag(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from coextract.corpus.engine import tag_files
    from coextract.corpus.readers import count_records
    from coextract.corpus.workers import hide_torch
    from coextract.runtime.model_names import model_label, resolve_model

    hide_torch()
    inputs = expand_inputs(args.inputs)
    quiet = args.quiet or not sys.stderr.isatty()
    total = None if quiet else count_records(inputs, args.input_format)
    if args.scheduler and args.engine != "dask":
        raise CoextractError("--scheduler needs --engine dask")
    with tqdm(total=total, unit=" reviews", file=sys.stderr, disable=quiet, smoothing=0.1) as progress:
        if args.engine == "dask":
            from coextract.corpus.dask_parts import tag_files_on_dask

            summary = tag_files_on_dask(
                inputs, args.output, tag_options(args), scheduler=args.scheduler, progress=progress
            )
        else:
            summary = tag_files(inputs, args.output, tag_options(args), progress=progress)
    print(f"coextract tag: {summary.line()}; {model_label(resolve_model(args.model))}", file=sys.stderr)


def add_parser(commands) -> None:
    """The `coextract tag` command."""
    tag = commands.add_parser(
        "tag",
        help="tag review files with a bundled or exported model",
        description="Tag every review of the input files and write one JSON line per input record, in "
        "input order: {id, aspects: [{text, start, end, score}], opinions: [...]}, offsets into the "
        "review text; a model with relation heads adds each aspect's sentiment and sentiment_score and "
        "a list of pairs: [{aspect, opinion, sentiment, score}]. A bad record becomes a line with an 'error' naming file and line; the run goes "
        "on. Output goes to OUT.partial and is renamed to OUT when complete; after a crash or Ctrl-C, "
        "run the same command with --resume.",
    )
    tag.add_argument(
        "inputs",
        nargs="+",
        help=".txt (a review per line), .jsonl, .csv, SemEval .xml (a record per sentence), each optionally "
        ".gz, .parquet, or - for stdin (as .txt unless --input-format says otherwise); quoted globs expand",
    )
    tag.add_argument(
        "--output",
        required=True,
        help="JSON Lines file to write, or - for stdout; with --engine dask, a folder for the part files",
    )
    tag.add_argument("--model", default="restaurant", help=MODEL_HELP)
    tag.add_argument(
        "--text-field", default="text", help="field or column holding the review (jsonl, csv, parquet)"
    )
    tag.add_argument(
        "--id-field", default=None, help="field or column holding the id (default: the line number)"
    )
    tag.add_argument(
        "--input-format", default=None, help="txt, jsonl, csv, parquet or xml (default: from the name)"
    )
    tag.add_argument(
        "--workers", type=int, default=None, help="worker processes, 1 or more (default: all cores)"
    )
    tag.add_argument("--include-text", action="store_true", help="copy the review text into the output")
    tag.add_argument(
        "--format", default=None, help="jsonl, csv or parquet (default: from the output's name, else jsonl)"
    )
    tag.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run of the same command; refused, saying what changed, if an input, the "
        "model or an option that changes the output is not what it was",
    )
    tag.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    tag.add_argument("--strict", action="store_true", help="stop at the first bad record")
    tag.add_argument("--quiet", action="store_true", help="no progress bar")
    add_engine_flags(tag)
    tag.set_defaults(func=cmd_tag)


def add_engine_flags(tag) -> None:
    """--engine and --scheduler: where the tagging runs."""
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
