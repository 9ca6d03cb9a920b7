"""Model-only inference speed: torch eager vs onnxruntime fp32 vs onnxruntime int8.

    python benchmarks/inference.py --run benchmarks/runs/res14-s1 --model export/models/res14
    python benchmarks/inference.py ... --footprint      # also measure install sizes (needs PyPI)

All backends run in one process on the same sentences: the res14, lap14 and res15
test sets, repeated to at least 20,000 sentences (batch size 1 uses the first
2,000 of them, or torch alone would take minutes per repetition). Sentences are
featurized and grouped by length once, up front; only the backend calls are
timed. Each cell is the median of --repeats runs. Writes
benchmarks/results/inference.json and a table in benchmarks/README.md.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from report import HERE, machine, write_section

from coextract.evaluation.benchmark import DATASETS, default_data_dir, read_dataset
from coextract.runtime.model_folder import read_meta
from coextract.runtime.predict import length_sorted_batches
from coextract.runtime.tagger import Tagger, load
from coextract.training.checkpoint import load_run, torch_backend
from coextract.training.int8 import add_int8

BATCH_SIZES = (1, 32, 256)
THREADS = (1, 2)
MIN_SENTENCES = 20_000
BATCH1_SENTENCES = 2_000


def benchmark_sentences(data_dir) -> list[tuple[str, ...]]:
    mix = [e.tokens for d in DATASETS for e in read_dataset(data_dir, d)["test"]]
    return mix * -(-MIN_SENTENCES // len(mix))


def flops_per_token(model: dict, mean_tokens: float) -> float:
    """Multiply-adds x 2 of one forward pass, per token (per-sentence work spread over its tokens)."""
    directions = 2 if model["bidirectional"] else 1
    h, hi, k, layers = model["hidden_dim"], model["inner_dim"], model["n_slices"], model["n_layers"]
    d, dr = directions * h, directions * hi
    inputs = model["word_dim"] + (
        model["n_subword_features"] * model["subword_dim"] if model["n_buckets"] else 0
    )
    conv = sum(width * inputs * model["conv_dim"] for width in model["conv_kernels"])
    inputs += len(model["conv_kernels"]) * model["conv_dim"]
    encoder = directions * 3 * h * (inputs + h)
    per_layer_token = 4 * k * d + 2 * directions * 3 * hi * (2 * k + hi) + 2 * (dr + d)
    per_layer_sentence = 4 * k * d * d + 2 * d * d
    heads = 2 * dr * 3
    macs = conv + encoder + layers * (per_layer_token + per_layer_sentence / mean_tokens) + heads
    return 2.0 * macs


def sgemm_peak(threads: int) -> float:
    """GFLOP/s of a large float32 matrix product: the best this machine does in practice."""
    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    times = []
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * 2048**3 / min(times) / 1e9


def time_backend(backend, batches, repeats: int) -> float:
    """Median seconds to run `backend` over all `batches`."""
    backend(batches[0])  # warm-up: thread pools, allocations
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            backend(batch)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def int8_tagger(model_dir: Path, threads: int, workdir: Path) -> Tagger:
    """The shipped int8 model, or one quantized here if the folder does not ship it."""
    if (model_dir / "model.int8.onnx").exists():
        return load(model_dir, threads=threads, quantized=True)
    copy = workdir / "int8"
    if not copy.exists():
        shutil.copytree(model_dir, copy)
        add_int8(copy, read_meta(copy))
    return load(copy, threads=threads, quantized=True)


def footprint() -> dict:
    """Size in MB of fresh venvs with the inference install and with the training extra."""
    sizes = {}
    for name, spec in (("inference", str(HERE.parent)), ("train", f"{HERE.parent}[train]")):
        with tempfile.TemporaryDirectory() as venv:
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
            subprocess.run([f"{venv}/bin/pip", "install", "--quiet", spec], check=True)
            du = subprocess.run(["du", "-sm", venv], capture_output=True, text=True, check=True)
            sizes[name] = int(du.stdout.split()[0])
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, required=True, help="training run folder (for torch eager)")
    parser.add_argument("--model", type=Path, required=True, help="exported model folder of the same run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--footprint", action="store_true", help="also measure install sizes")
    args = parser.parse_args()

    sentences = benchmark_sentences(args.data_dir or default_data_dir())
    model, featurizer, run_config = load_run(args.run)
    mean_tokens = float(np.mean([len(s) for s in sentences]))
    workdir = Path(tempfile.mkdtemp())
    results = {"machine": machine(), "sentences": len(sentences), "mean_tokens": mean_tokens, "cells": []}
    for threads in THREADS:
        torch.set_num_threads(threads)
        backends = {
            "torch eager": torch_backend(model),
            "onnxruntime fp32": load(args.model, threads=threads).backend,
            "onnxruntime int8": int8_tagger(args.model, threads, workdir).backend,
        }
        for batch_size in BATCH_SIZES:
            subset = sentences[:BATCH1_SENTENCES] if batch_size == 1 else sentences
            batches = [
                featurizer.batch([subset[i] for i in indices])
                for indices in length_sorted_batches([len(s) for s in subset], batch_size)
            ]
            n_tokens = sum(len(s) for s in subset)
            row = {}
            for name, backend in backends.items():
                seconds = time_backend(backend, batches, args.repeats)
                row[name] = {"sentences_per_s": len(subset) / seconds, "tokens_per_s": n_tokens / seconds}
            for name in row:
                row[name]["vs_torch"] = row[name]["sentences_per_s"] / row["torch eager"]["sentences_per_s"]
            results["cells"].append(
                {"threads": threads, "batch_size": batch_size, "n_sentences": len(subset), **row}
            )
            print(
                threads, batch_size, {k: round(v["sentences_per_s"]) for k, v in row.items()}, file=sys.stderr
            )
    shutil.rmtree(workdir)

    flops = flops_per_token(run_config["model"], mean_tokens)
    peak = {threads: sgemm_peak(threads) for threads in THREADS}
    best = max(
        (c for c in results["cells"] if c["threads"] == 2),
        key=lambda c: c["onnxruntime fp32"]["tokens_per_s"],
    )
    achieved = best["onnxruntime fp32"]["tokens_per_s"] * flops / 1e9
    results["flops_per_token"] = flops
    results["sgemm_peak_gflops"] = peak
    results["best_fp32_gflops"] = achieved
    if args.footprint:
        results["install_mb"] = footprint()
    out = HERE / "results" / "inference.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    write_section("inference", report(results, args))


def report(results: dict, args) -> str:
    lines = [
        f"Measured on {results['machine']}, {results['sentences']:,} sentences "
        f"({results['mean_tokens']:.1f} tokens on average; batch size 1: the first {BATCH1_SENTENCES:,}), "
        f"median of {args.repeats} runs. Reproduce: `python benchmarks/inference.py --run {args.run} "
        f"--model {args.model}`.",
        "",
        "| threads | batch | torch eager sent/s | ORT fp32 sent/s | ORT int8 sent/s | fp32 / torch | int8 / torch "
        "| ORT fp32 tokens/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in results["cells"]:
        t, f, q = c["torch eager"], c["onnxruntime fp32"], c["onnxruntime int8"]
        lines.append(
            f"| {c['threads']} | {c['batch_size']} | {t['sentences_per_s']:,.0f} | {f['sentences_per_s']:,.0f} "
            f"| {q['sentences_per_s']:,.0f} | {f['vs_torch']:.2f}x | {q['vs_torch']:.2f}x | {f['tokens_per_s']:,.0f} |"
        )
    peak = results["sgemm_peak_gflops"]
    lines += [
        "",
        f"Work: about {results['flops_per_token'] / 1e6:.2f} MFLOP per token (multiply-adds x 2, from the model's "
        f"shapes). The best fp32 cell with 2 threads reaches {results['best_fp32_gflops']:.1f} GFLOP/s, "
        f"{100 * results['best_fp32_gflops'] / peak[2]:.0f} % of this machine's large-sgemm rate "
        f"({peak[2]:.0f} GFLOP/s with 2 threads, {peak[1]:.0f} with 1): the recurrent steps are small, "
        "latency-bound matrix products.",
    ]
    if "install_mb" in results:
        sizes = results["install_mb"]
        lines.append(
            f"\nInstall footprint (fresh venv): `pip install coextract` {sizes['inference']:,} MB; "
            f"with `[train]` {sizes['train']:,} MB."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
