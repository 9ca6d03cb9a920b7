"""Tag the reviews of a SemEval XML file (or a text file, one review per line) and print JSON lines.

    python -m coextract.demo REVIEWS [--model restaurant] [--limit 20]

A small look at the bundled models on real reviews until `coextract tag` arrives.
"""

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from coextract.errors import CoextractError
from coextract.runtime import load


def review_texts(path: Path) -> list[str]:
    if path.suffix == ".xml":
        return [s.findtext("text") or "" for s in ET.parse(path).getroot().iter("sentence")]
    return path.read_text(encoding="utf-8").splitlines()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "reviews", type=Path, help="a SemEval XML file, or a text file with one review per line"
    )
    parser.add_argument(
        "--model", default="restaurant", help="bundled model name or alias, or a model folder"
    )
    parser.add_argument("--limit", type=int, default=20, help="how many reviews to tag")
    args = parser.parse_args()
    try:
        texts = review_texts(args.reviews)[: args.limit]
        for result in load(args.model).pipe(texts):
            print(json.dumps(result.to_dict(), ensure_ascii=False))
    except (CoextractError, OSError, ET.ParseError) as err:
        print(f"coextract.demo: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
