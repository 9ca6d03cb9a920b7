"""Overhead of the Dask engine against single-machine `coextract tag`, on the same corpus.

    python benchmarks/dask_throughput.py [--reviews 100000] [--files 8] [--repeats 3]

Builds the batch-tagging benchmark's corpus (same sentences, seed and sizes; see
tag_throughput.py), split into --files JSONL files, then times from process start
to exit: `coextract tag FILES --workers 2` (local engine) and `coextract tag FILES
--engine dask --workers N` for N = 1, 2 (a LocalCluster started by the command,
so its start-up is counted). Median of --repeats runs. Writes
benchmarks/results/dask_throughput.json and a table in benchmarks/README.md.
"""

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from report import HERE, machine, write_section
from tag_throughput import build_corpus, raw_sentences, run_tag

from coextract.evaluation.benchmark import default_data_dir


def split_corpus(corpus: Path, n_files: int) -> list[Path]:
    lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    size = -(-len(lines) // n_files)
    shards = []
    for n in range(n_files):
        shard = corpus.with_name(f"reviews-{n:03d}.jsonl")
        shard.write_text("".join(lines[n * size : (n + 1) * size]), encoding="utf-8")
        shards.append(shard)
    return shards


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reviews", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coextract-dask-bench-"))
    build_corpus(work / "all.jsonl", raw_sentences(default_data_dir().parent / "semeval-raw"), args.reviews)
    shards = split_corpus(work / "all.jsonl", args.files)
    setups = {
        "local, 2 workers": (2, ()),
        "dask, 1 worker": (1, ("--engine", "dask")),
        "dask, 2 workers": (2, ("--engine", "dask")),
    }
    runs = {}
    for name, (workers, extra) in setups.items():
        output = work / ("out" if extra else "out.jsonl")
        timings = [run_tag(shards, output, workers, *extra) for _ in range(args.repeats)]
        seconds = statistics.median(t for t, _ in timings)
        runs[name] = {"seconds": seconds, "reviews_per_s": args.reviews / seconds,
                      "peak_rss_mb": max(m for _, m in timings)}  # fmt: skip
        print(name, runs[name])
    ratio = runs["local, 2 workers"]["seconds"] / runs["dask, 2 workers"]["seconds"]
    results = {"machine": machine(), "reviews": args.reviews, "files": args.files, "runs": runs,
               "dask2_over_local2": ratio}  # fmt: skip
    (HERE / "results" / "dask_throughput.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = [
        f"Measured on {results['machine']}: {args.reviews:,} reviews in {args.files} JSONL files, from process "
        f"start to exit (cluster start-up included), median of {args.repeats}. Reproduce: "
        f"`python benchmarks/dask_throughput.py --reviews {args.reviews} --files {args.files} "
        f"--repeats {args.repeats}`.",
        "",
        "| engine | seconds | reviews/s | peak RSS (MB, all processes) |",
        "|---|---|---|---|",
        *(
            f"| {name} | {r['seconds']:.1f} | {r['reviews_per_s']:,.0f} | {r['peak_rss_mb']} |"
            for name, r in runs.items()
        ),
        "",
        f"Dask with 2 workers runs at {100 * ratio:.0f} % of the local engine's throughput with 2 workers "
        "(target: at least 80 %).",
    ]
    write_section("dask_throughput", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
