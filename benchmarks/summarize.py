"""`coextract summarize` over a million tagged records: speed and memory, at 100k and at 1M.

    python benchmarks/summarize.py                  # 100,000 and 1,000,000 records
    python benchmarks/summarize.py --records 20000  # a quick look

The README's reviews (SemEval-2014 restaurant test, 800 sentences) are tagged once with
`--include-text` by --model, and their records repeated, with new ids, into one JSON Lines file of
the largest size; `coextract summarize` then reads its first N lines (`head -n N |`, stdin) once per
size, in its own process, writing JSON. Reported per size: records/s (wall clock, spaCy's start-up
included) and the process's peak resident memory (`wait4`). Flat memory means the 1M peak is the
100k peak: the summary keeps counts per aspect group, and repeating records adds records, not groups.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import HERE, machine, markdown_table, publish

REVIEWS = HERE.parent.parent / "shared/data/semeval-raw/semeval14/Restaurants_Test_Gold.xml"


def coextract(*args: str) -> list[str]:
    return [sys.executable, "-m", "coextract", *args]


def corpus(folder: Path, model: str, size: int) -> Path:
    """`size` tagged records: the README's reviews tagged once, repeated with fresh ids."""
    tagged, big = folder / "tagged.jsonl", folder / "big.jsonl"
    subprocess.run(coextract("tag", str(REVIEWS), "--model", model, "--include-text", "--output", str(tagged)), check=True)  # fmt: skip
    lines = tagged.read_text(encoding="utf-8").splitlines()
    bodies = [line.split(",", 1)[1] for line in lines]  # each line starts {"id": N, ...
    with big.open("w", encoding="utf-8") as out:
        for i in range(size):
            out.write(f'{{"id": {i + 1},{bodies[i % len(bodies)]}\n')
    return big


def measure(big: Path, records: int, folder: Path) -> dict:
    """One `summarize` of the first `records` lines, on stdin: seconds and peak RSS."""
    head = subprocess.Popen(["head", "-n", str(records), str(big)], stdout=subprocess.PIPE)
    start = time.perf_counter()
    command = coextract("summarize", "-", "--output", str(folder / f"summary-{records}.json"), "--quiet")
    process = subprocess.Popen(command, stdin=head.stdout)
    head.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    head.wait()
    if status:
        raise SystemExit(f"summarize of {records} records failed ({status})")
    return {
        "records": records,
        "seconds": seconds,
        "records_per_s": records / seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--model", default="restaurant")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        big = corpus(folder, args.model, max(args.records))
        rows = [measure(big, n, folder) for n in sorted(args.records)]
    results = {"machine": machine(), "model": args.model, "runs": rows}
    table = markdown_table(
        ["tagged records", "seconds", "records/s", "peak RSS (MB)"],
        [[f"{r['records']:,}", f"{r['seconds']:.1f}", f"{r['records_per_s']:,.0f}", f"{r['peak_rss_mb']:.0f}"] for r in rows],
    )  # fmt: skip
    text = (
        f"`python benchmarks/summarize.py` ({machine()}; model {args.model}; the README's 800 reviews "
        "tagged with --include-text, repeated; one `coextract summarize - --output summary.json` per row):\n\n"
        + "\n".join(table)
        + "\n\nMemory is bounded by the distinct aspect groups (470 here), not the records: per group its counts, "
        "written forms, paired opinions and at most 12 examples of at most 400 characters. The peak is "
        "spaCy and the runtime loaded; records/s includes their start-up.\n"
    )
    publish("summarize", results, text)


if __name__ == "__main__":
    main()
