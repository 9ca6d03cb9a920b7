"""Every bundled model's model-only speed, in one run, as a ratio to the fast tier's `restaurant`.

    python benchmarks/bundles.py [--repeats 5] [--also MODEL_FOLDER ...]

Timing differs up to 4x between the machines here, so the README states the
tiers' speeds as ratios measured side by side: the res14, lap14 and res15 test
sentences, length-sorted batches of 32, 2 threads, onnxruntime only (the graph
calls of `Tagger.backend`, featurization outside the clock), the models taking
turns so that load on the machine falls on all of them alike; each figure is
the median of --repeats runs. `--also` times other model folders in the same run
(an earlier graph, say). Writes benchmarks/results/bundles.json and a table in
benchmarks/README.md.
"""

import argparse
import statistics
import time

from report import machine, markdown_table, publish

from coextract.evaluation.benchmark import DATASETS, default_data_dir, read_dataset
from coextract.runtime.predict import length_sorted_batches
from coextract.runtime.tagger import load

MODELS = ("restaurant", "laptop", "res15", "restaurant-minilm", "laptop-minilm")
BATCH_SIZE, THREADS = 32, 2


def timing_facts(n_sentences: int, repeats: int) -> dict:
    """What a speed table was measured on and how: the first keys of its results."""
    return {"machine": machine(), "sentences": n_sentences, "batch_size": BATCH_SIZE, "threads": THREADS,
            "repeats": repeats}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--also", nargs="*", default=[], help="other model folders to time beside the bundles"
    )
    args = parser.parse_args()
    data_dir = default_data_dir()
    sentences = [e.tokens for d in DATASETS for e in read_dataset(data_dir, d)["test"]]
    order = list(length_sorted_batches([len(s) for s in sentences], BATCH_SIZE))
    taggers = {name: load(name, threads=THREADS) for name in [*MODELS, *args.also]}
    batches = {
        name: [t.featurizer.batch([sentences[i] for i in b]) for b in order] for name, t in taggers.items()
    }
    seconds: dict[str, list[float]] = {name: [] for name in taggers}
    for _ in range(args.repeats + 1):  # the first round warms up thread pools and arenas
        for name, tagger in taggers.items():
            start = time.perf_counter()
            for batch in batches[name]:
                tagger.backend(batch)
            seconds[name].append(time.perf_counter() - start)
    speed = {name: len(sentences) / statistics.median(runs[1:]) for name, runs in seconds.items()}
    results = {
        **timing_facts(len(sentences), args.repeats),
        "also": args.also,
        "sentences_per_s": speed,
        "ratio_to_restaurant": {name: speed[name] / speed["restaurant"] for name in taggers},
        "weights": {name: taggers[name].meta.get("weights", "") for name in taggers},
    }
    publish("bundles", results, report(results))


def report(results: dict) -> str:
    lines = [
        f"Measured on {results['machine']}: {results['sentences']:,} test sentences of res14, lap14 and res15, "
        f"batches of {results['batch_size']}, {results['threads']} threads, onnxruntime only, median of "
        f"{results['repeats']} runs, the models taking turns. Reproduce: `python benchmarks/bundles.py"
        + (f" --also {' '.join(results['also'])}" if results["also"] else "")
        + "`.",
        "",
    ]
    rows = [
        [f"`{name}`", results["weights"][name].split(",")[0].split(" (")[0], f"{speed:,.0f}",
         f"{results['ratio_to_restaurant'][name]:.3f}"]
        for name, speed in results["sentences_per_s"].items()
    ]  # fmt: skip
    lines += markdown_table(["bundled model", "weights", "sentences/s", "speed / `restaurant`"], rows)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
