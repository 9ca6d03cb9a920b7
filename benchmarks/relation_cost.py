"""What the sentiment and pair heads cost: one run folder's graph with and without them, side by side.

    python benchmarks/relation_cost.py RUN_DIR [RUN_DIR ...] [--repeats 5]

For each run folder (trained with relation heads) two model folders are exported from the same
weights: the whole model, and the model with its relation heads taken out (the tagger alone, as a
model without them is exported). Both are timed in one run, taking turns: the onnxruntime calls of
`Tagger.backend` on the res14, lap14 and res15 test sentences in length-sorted batches of 32 with 2
threads (model only: featurization outside the clock), and the whole `Tagger.tag_batch` from tokens
to `Extraction`s (which adds the numpy decoding of sentiments and pairs). Each figure is the median
of --repeats rounds after a warm-up round. Writes benchmarks/results/relation_cost.json and a table
in benchmarks/README.md.
"""

import argparse
import tempfile
from pathlib import Path

from bundles import BATCH_SIZE, THREADS, timing_facts
from report import markdown_table, publish, timed

from coextract.evaluation.benchmark import DATASETS, default_data_dir, read_dataset
from coextract.runtime.predict import length_sorted_batches
from coextract.runtime.tagger import load
from coextract.training.checkpoint import without_relations
from coextract.training.export import export_run

MAX_COST = 0.15  # the heads may cost at most this share of model-only throughput


def measure(run_dir: Path, sentences: list, repeats: int, data_dir: Path) -> dict:
    order = list(length_sorted_batches([len(s) for s in sentences], BATCH_SIZE))
    with tempfile.TemporaryDirectory() as scratch:
        folders = {"with heads": Path(scratch) / "with", "tagger alone": Path(scratch) / "alone"}
        export_run(run_dir, folders["with heads"], data_dir)
        export_run(without_relations(run_dir, Path(scratch) / "run"), folders["tagger alone"], data_dir)
        taggers = {name: load(folder, threads=THREADS) for name, folder in folders.items()}
        jobs = {}
        for name, tagger in taggers.items():
            batches = [tagger.featurizer.batch([sentences[i] for i in b]) for b in order]
            jobs[f"model only, {name}"] = lambda t=tagger, bs=batches: [t.backend(b) for b in bs]
            jobs[f"tokens to Extractions, {name}"] = lambda t=tagger: t.tag_batch(sentences, BATCH_SIZE)
        seconds = timed(repeats, jobs)
    speed = {name: len(sentences) / s for name, s in seconds.items()}
    cost = {
        kind: 1 - speed[f"{kind}, with heads"] / speed[f"{kind}, tagger alone"]
        for kind in ("model only", "tokens to Extractions")
    }
    return {"sentences_per_s": speed, "cost": cost, "within_limit": cost["model only"] <= MAX_COST}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dirs", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data_dir = default_data_dir()
    sentences = [list(e.tokens) for d in DATASETS for e in read_dataset(data_dir, d)["test"]]
    results = {
        **timing_facts(len(sentences), args.repeats),
        "runs": {str(run): measure(run, sentences, args.repeats, data_dir) for run in args.run_dirs},
    }
    publish("relation_cost", results, report(results))


def report(results: dict) -> str:
    lines = [
        f"Measured on {results['machine']}: {results['sentences']:,} test sentences, batches of "
        f"{results['batch_size']}, {results['threads']} threads, median of {results['repeats']} rounds, "
        f"taking turns. Reproduce: `python benchmarks/relation_cost.py {' '.join(results['runs'])}`.",
        "",
    ]
    rows = []
    for run, r in results["runs"].items():
        s = r["sentences_per_s"]
        for kind in ("model only", "tokens to Extractions"):
            rows.append([f"`{run}`", kind, f"{s[f'{kind}, tagger alone']:,.0f}", f"{s[f'{kind}, with heads']:,.0f}",
                         f"{100 * r['cost'][kind]:.1f} %"])  # fmt: skip
    lines += markdown_table(
        ["run", "what is timed", "tagger alone (sent/s)", "with relation heads (sent/s)", "cost"], rows
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
