"""Helpers shared by the benchmark scripts: machine facts and README sections."""

import json
import statistics
import time
from pathlib import Path

from coextract.training.checkpoint import machine  # noqa: F401 (the benchmarks import it from here)

HERE = Path(__file__).resolve().parent


def write_section(name: str, text: str, readme: Path = HERE / "README.md") -> None:
    """Replace the text between `<!-- name:start -->` and `<!-- name:end -->` in the README."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    content = readme.read_text() if readme.exists() else "# Benchmarks\n"
    if start not in content:
        content += f"\n{start}\n{end}\n"
    before, rest = content.split(start)
    _, after = rest.split(end)
    readme.write_text(f"{before}{start}\n{text}{end}{after}")


def publish(name: str, results: dict, text: str) -> None:
    """A benchmark's results: results/NAME.json, the NAME section of benchmarks/README.md, and stdout."""
    (HERE / "results" / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    write_section(name, text)
    print(text)


def markdown_table(columns: list[str], rows: list[list[str]]) -> list[str]:
    """The lines of a Markdown table: a header, its rule, a line per row of already formatted cells."""
    return [
        f"| {' | '.join(columns)} |",
        f"|{'---|' * len(columns)}",
        *(f"| {' | '.join(r)} |" for r in rows),
    ]


def run_predictions(splits: tuple[str, ...] = ("dev", "test")):
    """For every run f1.py trained: its name, dataset and, per split, (examples, torch predictions).

    Lets the analysis scripts look at the same predictions `coextract evaluate` scores.
    Imports torch only when called.
    """
    from coextract.evaluation.benchmark import default_data_dir, read_dataset
    from coextract.runtime.predict import predict_sentences
    from coextract.training.checkpoint import load_run, torch_backend

    data_dir = default_data_dir()
    for run_dir in sorted((HERE / "runs").glob("*-s[0-9]*/")):
        dataset = run_dir.name.split("-")[0]
        model, featurizer, _ = load_run(run_dir)
        examples = read_dataset(data_dir, dataset)
        yield (
            run_dir.name,
            dataset,
            {
                split: (
                    examples[split],
                    predict_sentences(torch_backend(model), featurizer, [e.tokens for e in examples[split]]),
                )
                for split in splits
            },
        )


def timed(rounds: int, jobs: dict) -> dict[str, float]:
    """Median seconds of each job over `rounds` rounds (after one warm-up round), the jobs taking turns."""
    seconds: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(rounds + 1):
        for name, job in jobs.items():
            start = time.perf_counter()
            job()
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(runs[1:]) for name, runs in seconds.items()}
