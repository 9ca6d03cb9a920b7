"""Who thinks what of which aspect: 5 seeds per tier on res14 / lap14 / res15, with relation heads.

    python benchmarks/triplets.py                    # the fast tier: runs/relations/, 2 runs at a time
    python benchmarks/triplets.py --encoder          # the MiniLM tier: runs/relations-minilm/
    python benchmarks/triplets.py --finished         # only summarize the runs already finished
    python benchmarks/triplets.py --encoder --jobs 8 -- --device cuda   # after --: more `coextract train` flags

Each run is `coextract train` with the dataset's dev-chosen defaults (relations on), through
f1.py's resumable runner (a finished run folder is kept, so a stopped benchmark continues; each
run's config and metrics are committed, its weights are not, and a run whose weights stayed on an
earlier session's machine keeps the row the results file holds for it). From
the same runs' kept weights, scored with today's decoding (`evaluate.benchmark_scores`): AE / OE /
ABSA F1 on absa/ test, pair and triplet F1 on aste-v2's own test file, and the nearest-aspect rule
over each run's own spans (`pairs_baseline.nearest_pairs`), the floor the pair head must beat. Writes
benchmarks/results/triplets.json (or triplets_minilm.json) and a table in benchmarks/README.md beside
the published rows. Test scores are read once per run, after dev chose its epoch.
"""

import argparse
import json
import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from f1 import DATASETS, run_options, train_one
from pairs_baseline import nearest_pairs
from report import HERE, machine, markdown_table, publish

from coextract.evaluation.benchmark import default_data_dir
from coextract.evaluation.evaluate import Benchmark, benchmark_scores
from coextract.evaluation.metrics import span_scores
from coextract.runtime.decoding import tags_to_spans
from coextract.runtime.predict import predict_sentences
from coextract.training.checkpoint import WEIGHTS, load_run, torch_backend

PUBLISHED = {  # percent: triplet F1 on aste-v2 test (14res, 14lap, 15res), ABSA F1 on absa/ test
    "IMN-D (He et al., ACL 2019)": {"absa": [68.32, 57.66, 57.91]},
    "RACL-GloVe (Chen & Qian, ACL 2020)": {"absa": [70.67, 60.63, 60.31]},
    "RACL-BERT-large (Chen & Qian, ACL 2020)": {"absa": [75.42, 63.40, 66.05]},
    "GTS-BERT (Wu et al., Findings of EMNLP 2020)": {"triplet": [68.17, 54.30, 60.61]},
    "Span-ASTE (Xu et al., ACL 2021)": {"triplet": [71.85, 59.38, 63.27]},
}
COLUMNS = {  # name in the results: (where in the scores, its key)
    "aspect_f1": ("test", "aspect"),
    "opinion_f1": ("test", "opinion"),
    "absa_f1": ("test", "absa"),
    "pair_f1": ("aste_test", "pair"),
    "triplet_f1": ("aste_test", "triplet"),
    "dev_triplet_f1": ("dev", "triplet"),
}


def nearest_rule_pair_f1(backend, featurizer, aste_test: list) -> float:
    """Pair F1 on aste-v2 test of each opinion the run finds paired with its nearest found aspect."""
    tokens = [[token.lower() for token in e.tokens] for e in aste_test]
    predictions = predict_sentences(backend, featurizer, tokens)
    pred = [nearest_pairs(tags_to_spans(p.aspect_tags), tags_to_spans(p.opinion_tags)) for p in predictions]
    return span_scores([[(t.aspect, t.opinion) for t in e.triplets] for e in aste_test], pred).f1


def row(run_dir: Path, run: dict, data_dir: Path, earlier: dict) -> dict:
    """One run's figures: its kept weights scored again with today's decoding (`runtime.relations`),
    which may be newer than the run (its epoch was chosen with the decoding of its day). A run whose
    weights stayed on the machine of an earlier session (its config and metrics are committed, its
    weights are not) keeps the row the results file holds for it."""
    metrics = run["metrics"]
    if not (run_dir / WEIGHTS).is_file():
        return earlier_row(run_dir, metrics, earlier)
    model, featurizer, config = load_run(run_dir)
    benchmark = Benchmark.read(data_dir, config["dataset"])
    backend = torch_backend(model)
    scores = benchmark_scores(backend, featurizer, benchmark, relations=True)
    return {
        **{name: scores[where][key]["f1"] for name, (where, key) in COLUMNS.items()},
        "nearest_rule_pair_f1": nearest_rule_pair_f1(backend, featurizer, benchmark.aste_test),
        "best_epoch": metrics["best_epoch"],
        "epochs": len(metrics["history"]),
        "seconds_per_epoch": metrics["seconds_per_epoch"],
        "device": run["config"]["train"].get("device", "cpu"),
        "machine": metrics.get("machine", "not recorded"),
    }


def recorded_row(earlier: dict, dataset: str, seed: int) -> dict | None:
    """The row of a run in `earlier` (the results file as last written), or None."""
    return earlier.get("datasets", {}).get(dataset, {}).get("seeds", {}).get(str(seed))


def earlier_row(run_dir: Path, metrics: dict, earlier: dict) -> dict:
    """The row `earlier` (the results file as last written) holds for this run; the same run when its
    epoch count and seconds per epoch match, which no rerun repeats to the microsecond."""
    kept = recorded_row(earlier, metrics["dataset"], metrics["seed"])
    if kept is None or kept["seconds_per_epoch"] != metrics["seconds_per_epoch"]:
        raise SystemExit(
            f"{run_dir}: its weights are not here and the results file holds no row of this run; "
            "delete the folder to train it again"
        )
    return kept


def summarize(rows: dict) -> dict:
    results = {"machine": machine(), "published": PUBLISHED, "datasets": {}}
    for dataset, seeds in rows.items():
        names = [*COLUMNS, "nearest_rule_pair_f1"]
        values = {name: [r[name] for r in seeds.values()] for name in names}
        results["datasets"][dataset] = {
            "seeds": seeds,
            "mean": {name: statistics.mean(v) for name, v in values.items()},
            "std": {name: statistics.stdev(v) if len(v) > 1 else 0.0 for name, v in values.items()},
        }
    return results


def table(results: dict, label: str) -> str:
    datasets = results["datasets"]
    lines = [
        f"{label}; 5-seed means ± std where 5 seeds have finished (the machine of each run in the per-seed "
        "table).",
        "",
    ]
    head = ["model", *(f"{d} {m}" for m in ("ABSA", "pair", "triplet") for d in DATASETS)]
    rows = []
    for name, scores in PUBLISHED.items():
        cells = [f"{v:.2f}" for v in scores["absa"]] if "absa" in scores else ["–"] * 3
        cells += ["–"] * 3
        cells += [f"{v:.2f}" for v in scores["triplet"]] if "triplet" in scores else ["–"] * 3
        rows.append([name, *cells])
    ours = []
    for column in ("absa_f1", "pair_f1", "triplet_f1"):
        for dataset in DATASETS:
            r = datasets.get(dataset)
            n = len(r["seeds"]) if r else 0
            cell = f"**{100 * r['mean'][column]:.2f}** ± {100 * r['std'][column]:.2f} ({n})" if r else "–"
            ours.append(cell)
    rows.append([f"{label} (seeds)", *ours])
    nearest = [
        f"{100 * datasets[d]['mean']['nearest_rule_pair_f1']:.2f}" if d in datasets else "–" for d in DATASETS
    ]
    rows.append(["nearest-aspect rule over the same runs' spans", "–", "–", "–", *nearest, "–", "–", "–"])
    lines += markdown_table(head, rows)
    lines += [
        "",
        "Per seed (test AE / OE / ABSA on absa/; pair / triplet on aste-v2 test; dev triplet on absa/ dev):",
        "",
    ]
    per_seed = [
        [
            dataset,
            seed,
            *(f"{100 * r[c]:.2f}" for c in (*COLUMNS, "nearest_rule_pair_f1")),
            str(r["best_epoch"]),
            r["machine"],
        ]
        for dataset, d in datasets.items()
        for seed, r in d["seeds"].items()
    ]
    lines += markdown_table(
        [
            "dataset",
            "seed",
            "AE",
            "OE",
            "ABSA",
            "pair",
            "triplet",
            "dev triplet",
            "nearest rule pair",
            "best epoch",
            "machine",
        ],
        per_seed,
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = run_options(
        argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    )
    parser.add_argument("--encoder", nargs="?", const="default", default=None, help="the MiniLM tier")
    parser.add_argument("--finished", action="store_true", help="summarize finished runs only; train none")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("train_args", nargs="*", help="after --: more `coextract train` flags, for every run")
    args = parser.parse_args()
    data_dir = args.data_dir or default_data_dir()
    name = "triplets_minilm" if args.encoder else "triplets"
    runs_dir = HERE / "runs" / ("relations-minilm" if args.encoder else "relations")
    train_args = ["--data-dir", str(data_dir), "--relations", *args.train_args]
    if args.encoder:
        train_args += ["--encoder"] + ([] if args.encoder == "default" else [args.encoder])
    results_file = HERE / "results" / f"{name}.json"
    earlier = json.loads(results_file.read_text()) if results_file.is_file() else {}
    jobs = [(d, s) for d in args.datasets for s in args.seeds]
    runnable = [  # a run folder here is scored; a run only the results file remembers is kept as it is
        (d, s)
        for d, s in jobs
        if (runs_dir / f"{d}-s{s}" / "metrics.json").is_file()
        or not (args.finished or recorded_row(earlier, d, s))
    ]
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    with ThreadPoolExecutor(args.jobs) as pool:
        finished = pool.map(lambda job: train_one(*job, runs_dir, train_args, threads), runnable)
        done = dict(zip(runnable, finished, strict=True))
    rows: dict = {}
    for dataset, seed in jobs:
        run_dir = runs_dir / f"{dataset}-s{seed}"
        if (dataset, seed) in done:
            rows.setdefault(dataset, {})[str(seed)] = row(run_dir, done[dataset, seed], data_dir, earlier)
        elif kept := recorded_row(earlier, dataset, seed):
            rows.setdefault(dataset, {})[str(seed)] = kept
    results = summarize(rows)
    label = "coextract CMLA over MiniLM" if args.encoder else "coextract CMLA (fast tier)"
    publish(name, results, table(results, label))


if __name__ == "__main__":
    main()
