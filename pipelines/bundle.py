"""Pick each dataset's run and export it as the bundled model.

    python pipelines/bundle.py [--runs-dir benchmarks/runs/relations] [--datasets res14 lap14 res15]
        [--also RUN ...]
    python pipelines/bundle.py --minilm [--datasets res14 lap14]

Fast tier: among the seed runs of `benchmarks/triplets.py` (with relation heads), the one with
the highest dev score training selects on (aspect F1 + opinion F1 + ABSA F1 + triplet F1;
`train.selection_score`, its kept weights scored with today's decoding) is exported (with the int8 attempt) to export/models/DATASET; test
scores play no part in the choice. `--also` adds other runs of the dataset to choose among (a
probe's, such as the second-stage runs of benchmarks/README.md), by the same rule.

MiniLM tier (`--minilm`, runs in benchmarks/runs/relations-minilm): the bundle must stand
for the 5-seed benchmark (score within 0.5 of its means), so the seed whose test
F1s are nearest the means is exported, to export/models/DATASET-minilm. Its
weights are its only graph: the int8 one where it stays within 0.3 dev F1
points of the float graph, else the float16-stored one (a folder must stay
under 50 MB; `int8.ship_int8_alone`).
"""

import argparse
import json
import os
import sys
from pathlib import Path

from coextract.evaluation.benchmark import DATASETS, default_data_dir
from coextract.evaluation.evaluate import Benchmark
from coextract.training.checkpoint import RUN_CONFIG, load_run
from coextract.training.export import export_run
from coextract.training.int8 import ship_int8_alone
from coextract.training.train import evaluate_model, selection_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the benchmarks' run summaries, also when run as pipelines/bundle.py
from benchmarks.minilm_device import finished_runs, nearest_the_means  # noqa: E402


def best_on_dev(runs_dir: Path, dataset: str, data_dir: Path, also: list[Path]) -> Path:
    runs = [p.parent for p in sorted(runs_dir.glob(f"{dataset}-s*/metrics.json"))]
    runs += [run for run in also if json.loads((run / RUN_CONFIG).read_text())["dataset"] == dataset]
    if not runs:
        raise SystemExit(f"no runs of {dataset} in {runs_dir}: run benchmarks/f1.py first")

    benchmark = Benchmark.read(data_dir, dataset)

    def dev_score(run: Path) -> float:
        """What training selects epochs on, AE + OE (+ ABSA + triplet), of the run's kept weights with
        today's decoding (`runtime.relations`), which may be newer than the run."""
        model, featurizer, _ = load_run(run)
        score = selection_score(evaluate_model(model, featurizer, benchmark, "dev"))
        print(f"{run}: dev score {100 * score:.2f}", flush=True)
        return score

    return max(runs, key=dev_score)


def nearest_the_means_run(runs_dir: Path, dataset: str) -> Path:
    seeds = finished_runs(runs_dir).get(dataset)
    if not seeds:
        raise SystemExit(f"no runs of {dataset} in {runs_dir}: run benchmarks/f1.py --encoder first")
    run = runs_dir / f"{dataset}-s{nearest_the_means(seeds)[0]}"
    if not (run / "model.pt").is_file():
        raise SystemExit(
            f"{run}: its weights are not here (runs from a GPU machine: minilm_device.py unpack)"
        )
    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs-dir",
        type=Path,
        default=Path("benchmarks/runs/relations"),
        help="relative to the repository: benchmarks/triplets.py's runs, with relation heads (the MiniLM "
        "tier's in RUNS_DIR-minilm); benchmarks/runs for f1.py's, without",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=Path("export/models"), help="relative to the repository"
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--minilm", action="store_true", help="the MiniLM tier's bundles")
    parser.add_argument(
        "--also",
        nargs="+",
        type=Path,
        default=[],
        metavar="RUN",
        help="fast tier: more run folders, relative to the repository, to choose among (each for its own dataset)",
    )
    args = parser.parse_args()
    os.chdir(ROOT)  # model cards then name repository-relative paths
    data_dir = args.data_dir or default_data_dir()
    for dataset in args.datasets:
        if args.minilm:
            run = nearest_the_means_run(args.runs_dir.with_name(f"{args.runs_dir.name}-minilm"), dataset)
            output = args.output_dir / f"{dataset}-minilm"
        else:
            run, output = best_on_dev(args.runs_dir, dataset, data_dir, args.also), args.output_dir / dataset
        meta = export_run(run, output, data_dir, quantized=not args.minilm)
        if args.minilm:
            meta = ship_int8_alone(output, run, meta, Benchmark.read(data_dir, dataset))
        test = meta["onnx_scores"]["test"]
        print(
            f"{dataset}: exported {run.name} to {output}; onnxruntime test F1 "
            f"aspect {100 * test['aspect']['f1']:.2f} opinion {100 * test['opinion']['f1']:.2f}"
        )


if __name__ == "__main__":
    main()
