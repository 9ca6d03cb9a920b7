"""Train CMLA on one benchmark dataset, select on dev, and save a run folder.

Model selection uses dev only: the epoch with the best dev aspect F1 + opinion
F1 (+ ABSA F1 + triplet F1, for a model that learns relations: `selection_score`)
is kept, and training stops after `patience` epochs without improvement.
Then the weights of the `average_top` best epochs are averaged; the average
replaces the best epoch only if its dev score is higher (on lap14 it often is:
an average of nearby good solutions generalises better than any one of them).
Test is scored once, with the selected weights. The run folder is described in
`checkpoint`.
"""

import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from coextract.errors import CoextractError
from coextract.evaluation.benchmark import Example, fingerprint
from coextract.evaluation.evaluate import Benchmark, benchmark_scores, score_examples
from coextract.evaluation.triplets import relation_files
from coextract.runtime.features import Featurizer
from coextract.training.checkpoint import machine, save_run, start_from, torch_backend
from coextract.training.config import TrainConfig
from coextract.training.distill import teacher_targets
from coextract.training.epochs import TrainingSet, moving_average, train_epoch
from coextract.training.model import CMLA
from coextract.training.targets import relations_left_out
from coextract.training.tiers import fast_tier, minilm_tier, optimizer_and_schedule


def model_relations(model: CMLA, benchmark: Benchmark) -> dict | None:
    """The benchmark's `Relations` where the model has relation heads to learn and score them."""
    return benchmark.relations if hasattr(model, "relations") else None


def evaluate_model(model: CMLA, featurizer: Featurizer, benchmark: Benchmark, split: str) -> dict:
    relations = model_relations(model, benchmark)
    examples = benchmark.examples[split]
    return score_examples(
        torch_backend(model), featurizer, examples, relations=relations and relations[split]
    )


def selection_score(scores: dict) -> float:
    """What dev selects on: aspect F1 + opinion F1, and ABSA F1 + triplet F1 where the model has them."""
    return sum(scores[name]["f1"] for name in ("aspect", "opinion", "absa", "triplet") if name in scores)


def average_weights(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {name: torch.stack([state[name] for state in states]).mean(dim=0) for name in states[0]}


def raw_splits(config: TrainConfig, output: Path, log) -> dict[str, list[Example]]:
    """Train and dev splits (80/20, seeded) from raw SemEval files, through the raw-text pipeline.

    Gold terms that do not fall on token boundaries are written to
    `alignment_problems.txt` in the run folder and counted on the log.
    """
    from coextract.evaluation.semeval import align, check_alignment, read_raw

    raw = read_raw(*config.raw_files)
    check_alignment(raw, config.raw_files)
    examples, problems = align(raw)
    output.mkdir(parents=True, exist_ok=True)
    (output / "alignment_problems.txt").write_text("".join(f"{p}\n" for p in problems))
    print(
        f"{config.raw_files[0]}: {len(examples)} reviews; {len(problems)} annotations could not be used "
        f"(listed in {output / 'alignment_problems.txt'})",
        file=log,
    )
    order = np.random.default_rng(config.seed).permutation(len(examples))
    n_dev = len(examples) // 5
    return {"train": [examples[i] for i in order[n_dev:]], "dev": [examples[i] for i in order[:n_dev]]}


def check_device(device: str) -> None:
    """Refuse a device torch cannot train on here, before any data is read."""
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise CoextractError(f"--device {device}: not a torch device; use cpu, or cuda for a GPU") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise CoextractError(
            f"--device {device}: torch {torch.__version__} sees no GPU here; use --device cpu"
        )


def train(config: TrainConfig, data_dir: Path | str, output: Path | str, log=sys.stderr) -> dict:
    """Train, select on dev, score test, write the run folder (`checkpoint.save_run`); return metrics."""
    check_device(config.device)
    output = Path(output)
    benchmark = Benchmark.read(data_dir, config.dataset)
    left_out = relations_left_out(config, benchmark)
    relations = left_out is None
    if relations:
        config.model = {**config.model, "relations": True}
    model, featurizer, described = (
        minilm_tier(config, data_dir) if config.encoder else fast_tier(config, data_dir)
    )
    if config.raw_files:  # after the model is built: a broken encoder folder leaves nothing written
        benchmark = replace(benchmark, examples={**benchmark.examples, **raw_splits(config, output, log)})
    if left_out is not None and config.relations:
        print(f"learning terms only, no sentiment or pairs: {left_out}", file=log)
    if config.init_from:
        fresh = start_from(model, described, config.init_from)
        print(f"starting from {config.init_from}'s weights; {len(fresh)} tensors start fresh", file=log)
    model.to(config.device)
    fitted = fit(model, featurizer, benchmark, config, log)
    kept_epochs = keep_best_or_average(model, fitted.top, featurizer, benchmark, log)
    metrics = {
        "dataset": config.dataset,
        "seed": config.seed,
        "best_epoch": fitted.best_epoch,
        "kept_epochs": kept_epochs,
        "train_seconds": fitted.seconds,
        "seconds_per_epoch": fitted.seconds / len(fitted.history),
        "machine": machine()
        if config.device == "cpu"
        else f"{config.device}: {torch.cuda.get_device_name()}",
        **benchmark_scores(torch_backend(model), featurizer, benchmark, relations),
        "history": fitted.history,
    }
    run_config = {
        "dataset": config.dataset,
        "data_fingerprint": fingerprint(
            data_dir,
            config.dataset,
            config.raw_files,
            relation_files(data_dir, config.dataset) if relations else (),
        ),
        "train": asdict(config),
        **described,
    }
    save_run(output, model, run_config, metrics)
    return metrics


def training_set(
    model: CMLA, featurizer: Featurizer, benchmark: Benchmark, config: TrainConfig
) -> TrainingSet:
    """The train split (its first `max_train_sentences`) with what every epoch reads of it."""
    examples = benchmark.examples["train"][: config.max_train_sentences]
    relations = model_relations(model, benchmark)
    return TrainingSet(
        examples,
        sizes=[featurizer.size(e.tokens) for e in examples],
        relations=None if relations is None else relations["train"][: config.max_train_sentences],
        soft=teacher_targets(config.soft_targets, examples) if config.soft_targets else None,
    )


@dataclass
class Fitted:
    """What the training loop leaves: the best epoch, the top epochs' weights, the history."""

    best_epoch: int
    top: list[tuple[float, int, dict]]  # (dev score, epoch, weights), best first
    history: list[dict]
    seconds: float


def fit(model: CMLA, featurizer: Featurizer, benchmark: Benchmark, config: TrainConfig, log) -> Fitted:
    """Train epoch by epoch, score dev after each, stop after `patience` epochs without gain."""
    data = training_set(model, featurizer, benchmark, config)
    rng = np.random.default_rng(config.seed)
    steps = config.max_epochs * -(-len(data.examples) // config.batch_size)
    optimizer, schedule = optimizer_and_schedule(model, config, steps)
    print(
        f"training {type(model).__name__} on {config.dataset} ({len(data.examples)} sentences, "
        f"{model.num_parameters(trainable_only=True):,} trainable parameters), seed {config.seed}",
        file=log,
    )
    average = moving_average(model, config.ema_decay)
    scored = average.module if average is not None else model  # the weights that are evaluated and kept
    fitted, best_score, started = Fitted(0, [], [], 0.0), -1.0, time.perf_counter()
    for epoch in range(1, config.max_epochs + 1):
        epoch_start = time.perf_counter()
        loss = train_epoch(model, optimizer, featurizer, data, config, rng, average, schedule)
        dev = evaluate_model(scored, featurizer, benchmark, "dev")
        seconds = time.perf_counter() - epoch_start
        score = selection_score(dev)
        improved = score > best_score
        if improved:
            best_score, fitted.best_epoch = score, epoch
        state = {k: v.detach().clone() for k, v in scored.state_dict().items()}
        fitted.top = sorted([*fitted.top, (score, epoch, state)], key=lambda entry: entry[0], reverse=True)
        fitted.top = fitted.top[: max(config.average_top, 1)]
        fitted.history.append(
            {
                "epoch": epoch,
                "loss": loss,
                **{f"dev_{name}_f1": dev[name]["f1"] for name in dev},
                "seconds": seconds,
            }
        )
        print(
            f"epoch {epoch:3d}  loss {loss:.4f}  dev F1 {f1_line(dev)}  {seconds:.1f}s"
            + ("  *" if improved else ""),
            file=log,
            flush=True,
        )
        if epoch - fitted.best_epoch >= config.patience:
            break
    fitted.seconds = time.perf_counter() - started
    return fitted


def f1_line(scores: dict) -> str:
    """'aspect 84.12  opinion 86.30' (and absa, pair, triplet where scored), for the training log."""
    return "  ".join(f"{name} {100 * score['f1']:.2f}" for name, score in scores.items())


def keep_best_or_average(model: CMLA, top, featurizer: Featurizer, benchmark: Benchmark, log) -> list[int]:
    """Load the best epoch's weights, or the mean of the `top` epochs' if dev scores it higher.

    Returns the epochs whose weights the model now holds.
    """
    best_score, best_epoch, best_state = top[0]
    if len(top) > 1:
        model.load_state_dict(average_weights([state for _, _, state in top]))
        scores = evaluate_model(model, featurizer, benchmark, "dev")
        score = selection_score(scores)
        epochs = sorted(epoch for _, epoch, _ in top)
        print(
            f"mean of epochs {epochs}: dev F1 {f1_line(scores)}"
            + ("  kept" if score > best_score else f"; keeping epoch {best_epoch}"),
            file=log,
        )
        if score > best_score:
            return epochs
    model.load_state_dict(best_state)
    return [best_epoch]
