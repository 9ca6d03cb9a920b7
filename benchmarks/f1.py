"""Train seeds 1..5 on res14, lap14 and res15, and report test F1 next to the published rows.

    python benchmarks/f1.py                       # all datasets, seeds 1-5, 2 runs at a time
    python benchmarks/f1.py --datasets res15 --seeds 1 2
    python benchmarks/f1.py --encoder             # the MiniLM tier: results/f1_minilm.json
    python benchmarks/f1.py --encoder --jobs 8 -- --device cuda   # after --: more `coextract train` flags

Each run is `coextract train` with the dataset's dev-chosen defaults, in its own
process with (cores / jobs) threads; finished runs (benchmarks/runs/DATASET-sSEED)
are reused, so an interrupted benchmark resumes. Writes benchmarks/results/f1.json,
the published rows (percent, with their citations) to benchmarks/results/published.json,
and the F1 table in benchmarks/README.md (between the f1 markers).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from report import HERE, write_section

PUBLISHED = {  # test F1 (percent) from the data README, with citations
    "CMLA (Wang et al., AAAI 2017, paper)": [85.29, 83.18, 77.80, 80.17, 70.73, 73.68],
    "CMLA re-run by Chen & Qian 2020 (5-run mean)": [81.91, 83.84, 77.49, 76.06, 67.73, 70.56],
    "IMN-D (He et al., ACL 2019)": [84.01, 85.64, 78.46, 78.14, 69.80, 72.11],
    "RACL-GloVe (Chen & Qian, ACL 2020, 5-run mean)": [85.37, 85.32, 81.99, 79.76, 72.82, 78.06],
    "RACL-BERT-large (Chen & Qian, ACL 2020)": [86.38, 87.18, 81.79, 79.72, 73.99, 76.00],
}
DATASETS = ("res14", "lap14", "res15")
COLUMNS = [f"{dataset}_{side}_f1" for dataset in DATASETS for side in ("aspect", "opinion")]


def train_one(dataset: str, seed: int, runs_dir: Path, train_args: list[str], threads: int) -> dict:
    run_dir = runs_dir / f"{dataset}-s{seed}"
    if not (run_dir / "metrics.json").is_file():
        command = [sys.executable, "-m", "coextract", "train", "--dataset", dataset, "--seed", str(seed),
                   "--output", str(run_dir), "--overwrite", *train_args]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        log = run_dir.with_suffix(".log")
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as out:
            subprocess.run(command, env=env, stderr=out, check=True)
        print(f"{dataset} seed {seed}: done ({log})", file=sys.stderr)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    return {"metrics": metrics, "config": config}


def summarize(runs: dict) -> dict:
    results = {}
    for dataset, seeds in runs.items():
        rows = {
            str(seed): {
                "aspect_f1": run["metrics"]["test"]["aspect"]["f1"],
                "opinion_f1": run["metrics"]["test"]["opinion"]["f1"],
                "dev_aspect_f1": run["metrics"]["dev"]["aspect"]["f1"],
                "dev_opinion_f1": run["metrics"]["dev"]["opinion"]["f1"],
                "best_epoch": run["metrics"]["best_epoch"],
                "kept_epochs": run["metrics"]["kept_epochs"],
                "epochs": len(run["metrics"]["history"]),
                "train_seconds": run["metrics"]["train_seconds"],
                "seconds_per_epoch": run["metrics"]["seconds_per_epoch"],
                "device": run["config"]["train"].get("device", "cpu"),
                "machine": run["metrics"].get("machine", "not recorded"),
            }
            for seed, run in seeds.items()
        }
        keys = (
            "aspect_f1",
            "opinion_f1",
            "dev_aspect_f1",
            "dev_opinion_f1",
            "train_seconds",
            "seconds_per_epoch",
        )
        values = {k: [row[k] for row in rows.values()] for k in keys}
        first = next(iter(seeds.values()))["config"]
        results[dataset] = {
            "seeds": rows,
            "mean": {k: statistics.mean(v) for k, v in values.items()},
            "std": {k: statistics.stdev(v) if len(v) > 1 else 0.0 for k, v in values.items()},
            "config": {
                "train": {k: v for k, v in first["train"].items() if k not in ("seed", "device")},
                "model": first["model"],
            },
        }
    return results


def kept(epochs: list[int]) -> str:
    return f"epoch {epochs[0]}" if len(epochs) == 1 else f"mean of {len(epochs)} best"


def table(results: dict, label: str = "coextract CMLA") -> str:
    header = "| model | res14 AE | res14 OE | lap14 AE | lap14 OE | res15 AE | res15 OE |\n|---|---|---|---|---|---|---|\n"
    rows = [
        f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + " |" for name, values in PUBLISHED.items()
    ]
    ours = []
    for dataset in DATASETS:
        for side in ("aspect_f1", "opinion_f1"):
            if dataset in results:
                r = results[dataset]
                ours.append(f"**{100 * r['mean'][side]:.2f}** ± {100 * r['std'][side]:.2f}")
            else:
                ours.append("–")
    n_seeds = max((len(r["seeds"]) for r in results.values()), default=0)
    rows.append(f"| {label} ({n_seeds}-seed mean ± std) | " + " | ".join(ours) + " |")
    per_seed = ["", "| dataset | seed | dev AE | dev OE | test AE | test OE | best epoch | kept weights | epochs | s/epoch | total s |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for dataset, r in results.items():
        for seed, row in r["seeds"].items():
            per_seed.append(
                f"| {dataset} | {seed} | {100 * row['dev_aspect_f1']:.2f} | {100 * row['dev_opinion_f1']:.2f} "
                f"| {100 * row['aspect_f1']:.2f} | {100 * row['opinion_f1']:.2f} | {row['best_epoch']} "
                f"| {kept(row['kept_epochs'])} | {row['epochs']} | {row['seconds_per_epoch']:.1f} | {row['train_seconds']:.0f} |"
            )
    return header + "\n".join(rows) + "\n" + "\n".join(per_seed) + "\n"


def run_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of a benchmark of training runs: which datasets and seeds, how many at a time."""
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time")
    return parser


def main() -> None:
    parser = run_options(
        argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    )
    parser.add_argument(
        "--runs-dir", type=Path, default=None, help="default: runs/ (runs/minilm/ with --encoder)"
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--encoder", nargs="?", const="default", default=None,
                        help="the MiniLM tier over this encoder folder (alone: coextract train's default)")  # fmt: skip
    parser.add_argument("--name", default=None, help="results/NAME.json and README section (f1, f1_minilm)")
    parser.add_argument("train_args", nargs="*", help="after --: more `coextract train` flags, for every run")
    args = parser.parse_args()
    train_args = [*(["--data-dir", args.data_dir] if args.data_dir else []), *args.train_args]
    if args.encoder:
        train_args += ["--encoder"] + ([] if args.encoder == "default" else [args.encoder])
    name = args.name or ("f1_minilm" if args.encoder else "f1")
    runs_dir = args.runs_dir or HERE / "runs" / ("minilm" if args.encoder else "")
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    jobs = [(d, s) for d in args.datasets for s in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        done = list(pool.map(lambda job: train_one(*job, runs_dir, train_args, threads), jobs))
    runs: dict = {}
    for (dataset, seed), run in zip(jobs, done, strict=True):
        runs.setdefault(dataset, {})[seed] = run
    results = summarize(runs)
    out = HERE / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    published = {row: dict(zip(COLUMNS, values, strict=True)) for row, values in PUBLISHED.items()}
    (out.parent / "published.json").write_text(json.dumps(published, indent=1) + "\n")
    label = "coextract CMLA over MiniLM" if args.encoder else "coextract CMLA"
    write_section(name, table(results, label))
    print(table(results, label))


if __name__ == "__main__":
    main()
