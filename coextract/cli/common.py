"""What several commands share: the data folder and the raw SemEval file flags."""

import argparse
from pathlib import Path

from coextract.errors import CoextractError
from coextract.evaluation.benchmark import DATA_ENV, DATASETS

DATASET_HELP = f"a sub-folder of --data-dir: {', '.join(DATASETS)}"
BUNDLED_HELP = (
    "fast tier: restaurant = res14, laptop = lap14, res15; MiniLM tier (more accurate, slower): "
    "restaurant-minilm = res14-minilm, laptop-minilm = lap14-minilm"
)
MODEL_HELP = (
    f"a bundled model ({BUNDLED_HELP}) or a model folder written by 'coextract export' (default: restaurant)"
)


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"benchmark folder holding res14/, lap14/, res15/ (default: ${DATA_ENV}, "
        "else ../shared/data/absa beside the repository)",
    )


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
