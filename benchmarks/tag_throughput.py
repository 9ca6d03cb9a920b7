"""End-to-end `coextract tag` throughput and memory on a corpus built from real reviews.

    python benchmarks/tag_throughput.py [--reviews 100000] [--repeats 3]

Builds a JSONL corpus from the raw SemEval sentences (fixed seed, 1 to 8 real
sentences per review), then times `coextract tag` from process start to output
closed with 1 and 2 workers (median of --repeats runs) and samples the summed
resident memory of the process and its workers (peak RSS). Memory is also
measured on 10,000 and 200,000 reviews (median of --repeats runs each) to show
it does not grow with the corpus.
Finally one process times each stage on 20,000 reviews (reading, spaCy
preprocessing, the model, writing) to show where the time goes. Writes
benchmarks/results/tag_throughput.json and a table in benchmarks/README.md.
"""

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from report import HERE, machine, write_section

from coextract.corpus.readers import read_records
from coextract.evaluation.benchmark import default_data_dir
from coextract.runtime.documents import windows
from coextract.runtime.preprocess import documents
from coextract.runtime.tagger import load


def raw_sentences(raw_dir: Path) -> list[str]:
    sentences = []
    for xml in sorted((raw_dir / "semeval14").glob("*.xml")):
        sentences += [s.findtext("text") or "" for s in ET.parse(xml).getroot().iter("sentence")]
    for path in sorted((raw_dir / "semeval15-cmla").glob("sentence_*.txt")):
        sentences += [line.partition("##")[0] for line in path.read_text(encoding="utf-8").splitlines()]
    return [s.strip() for s in sentences if s.strip()]


def build_corpus(path: Path, sentences: list[str], n_reviews: int, seed: int = 13) -> int:
    """Write n_reviews JSONL reviews of 1-8 real sentences; return the number of sentences used."""
    rng = random.Random(seed)
    used = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(n_reviews):
            k = rng.randint(1, 8)
            used += k
            out.write(
                json.dumps({"id": i, "text": " ".join(rng.choices(sentences, k=k))}, ensure_ascii=False)
                + "\n"
            )
    return used


def tree_rss_kb(pid: int) -> int:
    """Summed resident memory of a process and its descendants, from /proc."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
        todo += children.get(current, [])
    return total


def run_tag(inputs: Path | list[Path], output: Path, workers: int, *extra: str) -> tuple[float, int]:
    """Seconds from process start to exit, and peak summed RSS in MB, of one `coextract tag`."""
    inputs = inputs if isinstance(inputs, list) else [inputs]
    command = [sys.executable, "-m", "coextract", "tag", *map(str, inputs), "--output", str(output),
               "--workers", str(workers), "--quiet", "--overwrite", *extra]  # fmt: skip
    start = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss_kb(process.pid))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(process.stderr.read().decode())
    return seconds, peak // 1024


def stage_times(corpus: Path, n_reviews: int) -> dict:
    """Seconds per stage for the first n_reviews, in one process with 1 thread."""
    tagger = load("restaurant", threads=1)
    start = time.perf_counter()
    records = [r for _, r in zip(range(n_reviews), read_records(str(corpus), "text", "id"), strict=False)]
    read = time.perf_counter()
    docs = list(documents([r.text for r in records]))
    preprocessed = time.perf_counter()
    pieces = [[t.text for t in w] for d in docs for s in d.sentences for w in windows(s)]
    tagger.predict(pieces)
    modelled = time.perf_counter()
    extractions = list(tagger.extract(docs))  # runs the model again, then maps spans to characters
    extracted = time.perf_counter()
    lines = [json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in extractions]
    written = time.perf_counter()
    model = modelled - preprocessed
    return {
        "reviews": len(records),
        "sentences": len(pieces),
        "tokens": sum(len(p) for p in pieces),
        "output_bytes": sum(len(line) for line in lines),
        "reading": read - start,
        "spacy": preprocessed - read,
        "model": model,
        "spans": (extracted - modelled) - model,
        "json": written - extracted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reviews", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--memory-sizes", default="10000,200000", help="corpus sizes for the peak-RSS comparison"
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.memory_sizes.split(",")]
    sentences = raw_sentences(default_data_dir().parent / "semeval-raw")
    work = Path(tempfile.mkdtemp(prefix="coextract-bench-"))
    corpus = work / "reviews.jsonl"
    n_sentences = build_corpus(corpus, sentences, args.reviews)
    stages = stage_times(corpus, 20_000)
    tokens_per_sentence = stages["tokens"] / stages["sentences"]
    results = {"machine": machine(), "reviews": args.reviews, "joined_sentences": n_sentences, "runs": {}}
    for workers in (1, 2):
        timings = [run_tag(corpus, work / "out.jsonl", workers) for _ in range(args.repeats)]
        seconds = statistics.median(t for t, _ in timings)
        results["runs"][workers] = {
            "seconds": seconds,
            "reviews_per_s": args.reviews / seconds,
            "sentences_per_s": stages["sentences"] / stages["reviews"] * args.reviews / seconds,
            "tokens_per_s": tokens_per_sentence
            * stages["sentences"]
            / stages["reviews"]
            * args.reviews
            / seconds,
            "peak_rss_mb": max(m for _, m in timings),
        }
        print(workers, results["runs"][workers], file=sys.stderr)
    memory = {}
    for size in sizes:
        small = work / f"reviews-{size}.jsonl"
        build_corpus(small, sentences, size)
        memory[size] = statistics.median(
            run_tag(small, work / "out.jsonl", 2)[1] for _ in range(args.repeats)
        )
    results["peak_rss_mb_by_size"] = memory
    results["stages"] = stages
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "tag_throughput.json").write_text(json.dumps(results, indent=1) + "\n")
    write_section("tag_throughput", report(results, args))


def report(results: dict, args) -> str:
    stages = results["stages"]
    total = sum(stages[k] for k in ("reading", "spacy", "model", "spans", "json"))
    lines = [
        f"Measured on {results['machine']}: {results['reviews']:,} JSONL reviews of 1-8 real SemEval sentences "
        f"(seed 13), `coextract tag` from process start to exit, median of {args.repeats}. Reproduce: "
        f"`python benchmarks/tag_throughput.py --reviews {results['reviews']} --repeats {args.repeats} "
        f"--memory-sizes {args.memory_sizes}`.",
        "",
        "| workers | seconds | reviews/s | sentences/s | tokens/s | peak RSS (MB, all processes) |",
        "|---|---|---|---|---|---|",
    ]
    for workers, r in results["runs"].items():
        lines.append(
            f"| {workers} | {r['seconds']:.1f} | {r['reviews_per_s']:,.0f} | {r['sentences_per_s']:,.0f} "
            f"| {r['tokens_per_s']:,.0f} | {r['peak_rss_mb']} |"
        )
    memory = results["peak_rss_mb_by_size"]
    lines += [
        "",
        f"Peak RSS with 2 workers (median of {args.repeats} runs each): "
        + ", ".join(f"{mb:.0f} MB on {size:,} reviews" for size, mb in memory.items())
        + f"; the largest is {100 * (max(memory.values()) / min(memory.values()) - 1):.1f} % above the smallest.",
        "",
        f"Where the time goes (one process, one thread, first {stages['reviews']:,} reviews, "
        f"{stages['sentences']:,} sentences): "
        + ", ".join(
            f"{name} {100 * stages[key] / total:.0f} %"
            for name, key in (
                ("reading", "reading"),
                ("spaCy preprocessing", "spacy"),
                ("model", "model"),
                ("character spans", "spans"),
                ("JSON", "json"),
            )  # fmt: skip
        )
        + f" of {total:.1f} s.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
