"""How long a training epoch takes on a CPU, before and after issue 24's speed-ups, in one run.

    python benchmarks/training_speed.py [--sentences 320] [--repeats 3] [--threads 2]

Both tiers on res14 with their dev-chosen settings and relation heads (seed 1): the first
--sentences training sentences, one pass of `train_epoch` each, "before" (Adam's loop over the
tensors; batches of similar word counts) and "after" (fused Adam; batches of similar sizes in what
the model reads: word pieces in the MiniLM tier), taking turns, the median of --repeats rounds
after a warm-up round. The figures are scaled to one whole res14 epoch (training only, without the
dev scoring). Writes benchmarks/results/training_speed.json and a table in benchmarks/README.md.
"""

import argparse
import dataclasses

import numpy as np
import torch
from report import machine, markdown_table, publish, timed

from coextract.evaluation.benchmark import default_data_dir, default_encoder_dir
from coextract.evaluation.evaluate import Benchmark
from coextract.training.config import recommended_config
from coextract.training.epochs import train_epoch
from coextract.training.tiers import fast_tier, minilm_tier, optimizer_and_schedule
from coextract.training.train import training_set

DATASET = "res14"


def epoch_jobs(tier: str, sentences: int, data_dir) -> tuple[dict, int]:
    """The before and after passes over `sentences` sentences of one tier, and the train split's size."""
    config = recommended_config(DATASET, encoder=str(default_encoder_dir()) if tier == "MiniLM" else "")
    config.max_train_sentences = sentences
    model, featurizer, _ = minilm_tier(config, data_dir) if config.encoder else fast_tier(config, data_dir)
    benchmark = Benchmark.read(data_dir, DATASET)
    after = training_set(model, featurizer, benchmark, config)
    before = dataclasses.replace(after, sizes=[len(e.tokens) for e in after.examples])
    steps = 1000 * sentences  # a schedule that stays in its warm-up: the learning rate does not matter here
    variants = {"before": (before, False), "after": (after, True)}
    jobs = {}
    for name, (data, fused) in variants.items():
        optimizer, schedule = optimizer_and_schedule(model, config, steps, fused=fused)
        rng = np.random.default_rng(config.seed)
        jobs[name] = lambda d=data, o=optimizer, s=schedule, r=rng: train_epoch(
            model, o, featurizer, d, config, r, schedule=s
        )
    return jobs, len(benchmark.examples["train"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentences", type=int, default=320)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 beside other work)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {"machine": machine(), "threads": args.threads, "sentences": args.sentences, "tiers": {}}
    for tier in ("fast", "MiniLM"):
        jobs, n_train = epoch_jobs(tier, args.sentences, default_data_dir())
        seconds = timed(args.repeats, jobs)
        epoch = {name: s * n_train / args.sentences for name, s in seconds.items()}
        results["tiers"][tier] = {"seconds_per_epoch": epoch, "ratio": epoch["after"] / epoch["before"]}
    rows = [
        [tier, f"{r['seconds_per_epoch']['before']:.1f}", f"{r['seconds_per_epoch']['after']:.1f}",
         f"{r['ratio']:.2f}"]
        for tier, r in results["tiers"].items()
    ]  # fmt: skip
    text = "\n".join(
        [
            f"Measured on {results['machine']}, {args.sentences} res14 training sentences per pass, "
            f"{args.threads} torch thread(s), "
            f"median of {args.repeats} rounds, before and after taking turns. Reproduce: "
            f"`python benchmarks/training_speed.py --threads {args.threads}`.",
            "",
            *markdown_table(["tier", "s/epoch before", "s/epoch after", "after / before"], rows),
        ]
    )
    publish("training_speed", results, text + "\n")


if __name__ == "__main__":
    main()
