"""Pick each dataset's best run on dev and export it as the bundled model.

    python pipelines/bundle.py [--runs-dir benchmarks/runs] [--datasets res14 lap14 res15]

Among the seed runs of `benchmarks/f1.py`, the one with the highest dev aspect
F1 + opinion F1 is exported (with the int8 attempt) to export/models/DATASET.
Test scores play no part in the choice.
"""

import argparse
import json
import os
from pathlib import Path

from coextract.evaluation.benchmark import DATASETS, default_data_dir
from coextract.training.export import export_run

ROOT = Path(__file__).resolve().parents[1]


def best_on_dev(runs_dir: Path, dataset: str) -> Path:
    runs = [p.parent for p in sorted(runs_dir.glob(f"{dataset}-s*/metrics.json"))]
    if not runs:
        raise SystemExit(f"no runs of {dataset} in {runs_dir}: run benchmarks/f1.py first")

    def dev_score(run: Path) -> float:
        dev = json.loads((run / "metrics.json").read_text())["dev"]
        return dev["aspect"]["f1"] + dev["opinion"]["f1"]

    return max(runs, key=dev_score)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs-dir", type=Path, default=Path("benchmarks/runs"), help="relative to the repository"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=Path("export/models"), help="relative to the repository"
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    os.chdir(ROOT)  # model cards then name repository-relative paths
    for dataset in args.datasets:
        run = best_on_dev(args.runs_dir, dataset)
        output = args.output_dir / dataset
        meta = export_run(run, output, args.data_dir or default_data_dir(), quantized=True)
        test = meta["onnx_scores"]["test"]
        print(
            f"{dataset}: exported {run.name} (best on dev) to {output}; onnxruntime test F1 "
            f"aspect {100 * test['aspect']['f1']:.2f} opinion {100 * test['opinion']['f1']:.2f}"
        )


if __name__ == "__main__":
    main()
