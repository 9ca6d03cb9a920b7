"""The README's picture of a `coextract summarize` report: docs/summary-report.png.

    python benchmarks/summary_screenshot.py [--model restaurant]

Tags the README's reviews (SemEval-2014 restaurant test XML) with --include-text,
summarizes the 15 most mentioned aspect groups to HTML, and has headless Chromium
(Debian's `chromium`) photograph the top of the page; the PNG is stored with a
64-colour palette to keep the repository small.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image
from report import HERE

REVIEWS = HERE.parent.parent / "shared/data/semeval-raw/semeval14/Restaurants_Test_Gold.xml"
PICTURE = HERE.parent / "docs" / "summary-report.png"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="restaurant")
    args = parser.parse_args()
    browser = shutil.which("chromium") or sys.exit("needs Debian's chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as scratch:
        tagged, page, shot = (Path(scratch) / name for name in ("tagged.jsonl", "report.html", "shot.png"))
        coextract = [sys.executable, "-m", "coextract"]
        subprocess.run([*coextract, "tag", str(REVIEWS), "--model", args.model, "--include-text", "--output", str(tagged)], check=True)  # fmt: skip
        subprocess.run(
            [*coextract, "summarize", str(tagged), "--top", "15", "--output", str(page)], check=True
        )
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=1000,760", f"--screenshot={shot}", page.as_uri()], check=True, capture_output=True)  # fmt: skip
        PICTURE.parent.mkdir(exist_ok=True)
        Image.open(shot).convert("RGB").quantize(colors=64).save(PICTURE, optimize=True)
    print(f"{PICTURE} ({PICTURE.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
