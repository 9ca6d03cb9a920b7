"""The two tiers side by side, in one run: model-only speed per backend, and end to end.

    python benchmarks/tiers.py --fast-run benchmarks/runs/res14-s1 --minilm-run benchmarks/runs/minilm/res14-s1

For each tier: torch eager (the training run), onnxruntime fp32 (the run exported
here, float16-stored weights computed in float32) and onnxruntime int8 (that
export quantized as `coextract export --quantize` does), on the res14, lap14 and
res15 test sentences (batch size 1: the first BATCH1_SENTENCES), in
length-sorted batches of 1, 32 and 256, with 1 and 2 threads; only the backend
calls are timed, each cell the median of --repeats runs. Then `coextract tag`
end to end (process start to output closed, 2 workers) on the raw SemEval-2014
restaurant test reviews with each tier's bundled model. Writes
benchmarks/results/tiers.json and a table in benchmarks/README.md.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from inference import BATCH_SIZES, THREADS, int8_tagger, time_backend
from report import HERE, machine, write_section

from coextract.evaluation.benchmark import DATASETS, default_data_dir, read_dataset
from coextract.runtime.predict import length_sorted_batches
from coextract.runtime.tagger import load
from coextract.training.checkpoint import load_run, torch_backend
from coextract.training.export import export_run

BATCH1_SENTENCES = 300
BUNDLED = {"fast": "restaurant", "minilm": "restaurant-minilm"}
RAW_REVIEWS = "semeval-raw/semeval14/Restaurants_Test_Gold.xml"


def tier_cells(run: Path, model_dir: Path, sentences, repeats: int, workdir: Path) -> list[dict]:
    """Sentences per second of torch eager, onnxruntime fp32 and int8 for one tier, every cell."""
    model, featurizer, _ = load_run(run)
    cells = []
    for threads in THREADS:
        torch.set_num_threads(threads)
        backends = {
            "torch eager": torch_backend(model),
            "onnxruntime fp32": load(model_dir, threads=threads).backend,
            "onnxruntime int8": int8_tagger(model_dir, threads, workdir).backend,
        }
        for batch_size in BATCH_SIZES:
            subset = sentences[:BATCH1_SENTENCES] if batch_size == 1 else sentences
            lengths = [len(s) for s in subset]
            batches = [
                featurizer.batch([subset[i] for i in b]) for b in length_sorted_batches(lengths, batch_size)
            ]
            row = {
                name: len(subset) / time_backend(backend, batches, repeats)
                for name, backend in backends.items()
            }
            cells.append({"threads": threads, "batch_size": batch_size, "n_sentences": len(subset), **row})
            print(run.name, threads, batch_size, {k: round(v) for k, v in row.items()}, file=sys.stderr)
    return cells


def end_to_end(model: str, reviews: Path, repeats: int, workdir: Path) -> dict:
    """`coextract tag` on `reviews` with 2 workers: median wall seconds and sentences per second."""
    seconds, output = [], workdir / f"{model}.jsonl"
    for _ in range(repeats):
        start = time.perf_counter()
        command = [sys.executable, "-m", "coextract", "tag", str(reviews), "--model", model, "--output", str(output), "--workers", "2",
                   "--overwrite"]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        seconds.append(time.perf_counter() - start)
    n = len(output.read_text().splitlines())
    return {
        "sentences": n,
        "seconds": statistics.median(seconds),
        "sentences_per_s": n / statistics.median(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fast-run", type=Path, required=True)
    parser.add_argument("--minilm-run", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or default_data_dir()
    sentences = [e.tokens for d in DATASETS for e in read_dataset(data_dir, d)["test"]]
    workdir = Path(tempfile.mkdtemp())
    results = {"machine": machine(), "sentences": len(sentences), "tiers": {}}
    for tier, run in (("fast", args.fast_run), ("minilm", args.minilm_run)):
        export_run(run, workdir / tier, data_dir)  # fp32, verified against torch as `coextract export` does
        results["tiers"][tier] = {
            "run": run.as_posix(),
            "cells": tier_cells(run, workdir / tier, sentences, args.repeats, workdir / f"{tier}-int8"),
            "coextract_tag": end_to_end(BUNDLED[tier], data_dir.parent / RAW_REVIEWS, args.repeats, workdir),
        }
    out = HERE / "results" / "tiers.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    write_section("tiers", report(results, args))
    print(report(results, args))


def report(results: dict, args) -> str:
    lines = [
        f"Measured on {results['machine']}: {results['sentences']:,} test sentences of res14, lap14 and res15 "
        f"(batch size 1: the first {BATCH1_SENTENCES}), median of {args.repeats} runs. Reproduce: "
        f"`python benchmarks/tiers.py --fast-run {args.fast_run} --minilm-run {args.minilm_run}`.",
        "",
        "| tier | threads | batch | torch eager sent/s | ORT fp32 sent/s | ORT int8 sent/s | fp32 / torch | int8 / torch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tier, measured in results["tiers"].items():
        for c in measured["cells"]:
            t, f, q = c["torch eager"], c["onnxruntime fp32"], c["onnxruntime int8"]
            lines.append(
                f"| {tier} | {c['threads']} | {c['batch_size']} | {t:,.0f} | {f:,.0f} | {q:,.0f} | {f / t:.2f}x | {q / t:.2f}x |"
            )
    lines += [
        "",
        "End to end, `coextract tag` with 2 workers on the raw SemEval-2014 restaurant test reviews:",
        "",
    ]
    for tier, measured in results["tiers"].items():
        e2e = measured["coextract_tag"]
        lines.append(
            f"- {tier} tier (`--model {BUNDLED[tier]}`): {e2e['sentences']} sentences in {e2e['seconds']:.1f} s, "
            f"{e2e['sentences_per_s']:,.0f} sentences/s (process start included)"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
