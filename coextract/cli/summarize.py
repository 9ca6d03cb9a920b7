"""`coextract summarize`: what `coextract tag` wrote, on one page (HTML, JSON, CSV, or a text table)."""

import argparse
import sys
from pathlib import Path

from coextract.cli.tag import expand_inputs
from coextract.errors import CoextractError

FORMATS = {".html": "html", ".htm": "html", ".json": "json", ".csv": "csv"}
DEFAULT_TOP = {"html": 30, "text": 20}  # groups shown when --top is not given (JSON and CSV: all)
SHOWN_PROBLEMS = 20  # unreadable records printed one by one; the rest are counted


def output_format(output: str) -> str:
    if output == "-":
        return "text"
    suffix = Path(output).suffix.lower()
    if suffix not in FORMATS:
        raise CoextractError(f"--output {output}: name it .html, .json or .csv, or - for a table on stdout")
    return FORMATS[suffix]


def read_summary(args: argparse.Namespace, names, progress):
    """The Summary of every input, and how many records could not be counted (each said on stderr)."""
    from coextract.summary import Summary
    from coextract.summary.inputs import tagged_records

    summary, problems = Summary(), 0
    inputs, sources = expand_inputs(args.inputs), expand_inputs(args.source or [])
    for item in tagged_records(inputs, sources, args.text_field, args.id_field, args.input_format):
        error = item.error
        if item.record is not None:
            try:
                summary.add(item.record, names)
            except ValueError as err:
                error = f"{item.source}:{item.line}: {err}"
        if error:
            problems += 1
            if problems <= SHOWN_PROBLEMS:
                progress.write(f"coextract summarize: skipped {error}", file=sys.stderr)
        progress.update()
    return summary, problems


def cmd_summarize(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from coextract.corpus.sinks import write_atomically
    from coextract.summary.aspect_names import AspectNames, read_aspect_map

    kind = output_format(args.output)
    names = AspectNames(read_aspect_map(args.aspect_map) if args.aspect_map else None)
    quiet = args.quiet or not sys.stderr.isatty()
    with tqdm(unit=" records", file=sys.stderr, disable=quiet, smoothing=0.1) as progress:
        summary, problems = read_summary(args, names, progress)
    render = {
        "html": summary.to_html,
        "json": summary.to_json,
        "csv": summary.to_csv,
        "text": summary.to_text,
    }
    content = render[kind](args.top or DEFAULT_TOP.get(kind), args.min_mentions)
    if kind == "text":
        sys.stdout.write(content)
    else:
        write_atomically(Path(args.output), content)
    texts = "" if summary.records_with_text or kind != "html" else "; no review text, so no examples"
    print(
        f"coextract summarize: {summary.records} records ({summary.errors} with errors), "
        f"{len(summary.groups)} aspect groups; {problems} lines skipped{texts}"
        + ("" if kind == "text" else f"; wrote {args.output}"),
        file=sys.stderr,
    )


def add_parser(commands) -> None:
    """The `coextract summarize` command."""
    summarize = commands.add_parser(
        "summarize",
        help="summarize tagged reviews by aspect: mentions, sentiment, opinions, examples",
        description="Read what `coextract tag` wrote and summarize it by aspect: mentions of one aspect are "
        "grouped under one name (case, plurals and inflections folded by spaCy's lemmatizer, determiners and "
        "possessives dropped), each group with its mentions, reviews, sentiment counts and shares, a net "
        "score with its 95 % Wilson interval, the opinion terms paired with it and example sentences. "
        "Streams: memory grows with the number of distinct aspect groups, not with the number of records.",
    )
    summarize.add_argument("inputs", nargs="+",
                           help="tag's output: .jsonl, .csv (each optionally .gz), .parquet, a Dask output "
                           "folder, or - for JSON Lines on stdin; several add up; quoted globs expand")  # fmt: skip
    summarize.add_argument("--output", required=True,
                           help="report.html (one self-contained page), .json, .csv, or - for a table on stdout")  # fmt: skip
    summarize.add_argument("--top", type=int, default=None,
                           help="keep the N most mentioned groups (default: all; 30 in HTML, 20 on stdout)")  # fmt: skip
    summarize.add_argument(
        "--min-mentions", type=int, default=1, help="leave out groups mentioned fewer times"
    )
    summarize.add_argument(
        "--aspect-map", help="a file of your synonyms, a group per line: staff = waiter = waitress"
    )
    source = summarize.add_argument_group("examples need the review text: tag --include-text, or")
    source.add_argument("--source", nargs="+", help="the files that were tagged, in the same order")
    source.add_argument("--text-field", default="text", help="as given to tag")
    source.add_argument("--id-field", default=None, help="as given to tag")
    source.add_argument("--input-format", default=None, help="as given to tag")
    summarize.add_argument("--quiet", action="store_true", help="no progress bar")
    summarize.set_defaults(func=cmd_summarize)
