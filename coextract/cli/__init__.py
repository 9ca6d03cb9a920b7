"""The `coextract` command line: train, evaluate, export, tag, summarize, serve; one module per command.

Every user-fixable problem surfaces as a `CoextractError` and is printed as one
line, `coextract: error: ...`, with exit code 2 -- never a traceback.
"""

import argparse
import sys

from coextract.cli import evaluate, serve, summarize, tag, train
from coextract.errors import CoextractError
from coextract.version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coextract",
        description="Joint aspect and opinion term extraction (CMLA) for customer reviews.",
    )
    parser.add_argument("--version", action="version", version=f"coextract {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train.add_train_parser(commands)
    evaluate.add_parser(commands)
    train.add_export_parser(commands)
    tag.add_parser(commands)
    summarize.add_parser(commands)
    serve.add_parser(commands)
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
