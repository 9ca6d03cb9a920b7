"""Train CMLA on one benchmark dataset, select on dev, and save a run folder.

Model selection uses dev only: the epoch with the best dev aspect F1 + opinion
F1 is kept, and training stops after `patience` epochs without improvement.
Then the weights of the `average_top` best epochs are averaged; the average
replaces the best epoch only if its dev score is higher (on lap14 it often is:
an average of nearby good solutions generalises better than any one of them).
Test is scored once, with the selected weights. The run folder is described in
`checkpoint`.
"""

import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from coextract.errors import CoextractError
from coextract.evaluation.benchmark import Example, fingerprint, read_dataset
from coextract.evaluation.evaluate import score_examples
from coextract.runtime.features import Featurizer
from coextract.training.checkpoint import save_run, to_tensors, torch_backend
from coextract.training.config import TrainConfig
from coextract.training.distill import batch_targets, soft_loss, teacher_targets
from coextract.training.model import CMLA
from coextract.training.tiers import fast_tier, minilm_tier, optimizer_and_schedule


def evaluate_model(model: CMLA, featurizer: Featurizer, examples: Sequence[Example]) -> dict:
    return score_examples(torch_backend(model), featurizer, examples)


def average_weights(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {name: torch.stack([state[name] for state in states]).mean(dim=0) for name in states[0]}


def pad_tags(tag_lists: Sequence[Sequence[int]], n_tokens: int) -> torch.Tensor:
    tags = torch.zeros(len(tag_lists), n_tokens, dtype=torch.long)
    for b, seq in enumerate(tag_lists):
        tags[b, : len(seq)] = torch.tensor(seq)
    return tags


def shuffled_batches(lengths: Sequence[int], batch_size: int, rng) -> list[list[int]]:
    """Random batches of similar-length sentences: less padding, same randomness.

    Sentences are shuffled, sorted by length within pools of 50 batches, cut into
    batches, and the batches shuffled again.
    """
    order = rng.permutation(len(lengths))
    pool = 50 * batch_size
    batches = []
    for start in range(0, len(order), pool):
        by_length = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [by_length[i : i + batch_size] for i in range(0, len(by_length), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def train_epoch(
    model, optimizer, featurizer, examples, config: TrainConfig, rng, average=None, schedule=None, soft=None
) -> float:
    """One pass over `examples` in a seeded random order; returns the mean loss. `soft`: a teacher's
    probabilities per example (`distill`), learned from with weight `config.distill_weight`."""
    model.train()
    total, n_batches = 0.0, 0
    for indices in shuffled_batches([len(e.tokens) for e in examples], config.batch_size, rng):
        chunk = [examples[i] for i in indices]
        batch = featurizer.batch([e.tokens for e in chunk])
        n_tokens = batch.mask.shape[1]
        aspect_tags = pad_tags([e.aspect_tags for e in chunk], n_tokens).to(config.device)
        opinion_tags = pad_tags([e.opinion_tags for e in chunk], n_tokens).to(config.device)
        inputs = to_tensors(batch, config.device)
        aspect_logits, opinion_logits, _ = model(**inputs)
        loss = model.loss(aspect_logits, opinion_logits, aspect_tags, opinion_tags, inputs["mask"])
        if soft is not None:
            targets = batch_targets([soft[i] for i in indices], n_tokens, config.device)
            distilled = soft_loss(aspect_logits, opinion_logits, targets, inputs["mask"])
            loss = (1 - config.distill_weight) * loss + config.distill_weight * distilled
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        if schedule is not None:
            schedule.step()
        if average is not None:
            average.update_parameters(model)
        total += loss.item()
        n_batches += 1
    return total / max(n_batches, 1)


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
    splits = read_dataset(data_dir, config.dataset)
    model, featurizer, described = minilm_tier(config) if config.encoder else fast_tier(config, data_dir)
    if config.raw_files:  # after the model is built: a broken encoder folder leaves nothing written
        splits.update(raw_splits(config, output, log))
    model.to(config.device)
    fitted = fit(model, featurizer, splits, config, log)
    kept_epochs = keep_best_or_average(model, fitted.top, featurizer, splits["dev"], log)
    metrics = {
        "dataset": config.dataset,
        "seed": config.seed,
        "best_epoch": fitted.best_epoch,
        "kept_epochs": kept_epochs,
        "train_seconds": fitted.seconds,
        "seconds_per_epoch": fitted.seconds / len(fitted.history),
        "dev": evaluate_model(model, featurizer, splits["dev"]),
        "test": evaluate_model(model, featurizer, splits["test"]),
        "history": fitted.history,
    }
    run_config = {
        "dataset": config.dataset,
        "data_fingerprint": fingerprint(data_dir, config.dataset, config.raw_files),
        "train": asdict(config),
        **described,
    }
    save_run(output, model, run_config, metrics)
    return metrics


@dataclass
class Fitted:
    """What the training loop leaves: the best epoch, the top epochs' weights, the history."""

    best_epoch: int
    top: list[tuple[float, int, dict]]  # (dev score, epoch, weights), best first
    history: list[dict]
    seconds: float


def fit(model: CMLA, featurizer: Featurizer, splits: dict, config: TrainConfig, log) -> Fitted:
    """Train epoch by epoch, score dev after each, stop after `patience` epochs without gain."""
    train_examples = splits["train"][: config.max_train_sentences]
    rng = np.random.default_rng(config.seed)
    steps = config.max_epochs * -(-len(train_examples) // config.batch_size)
    optimizer, schedule = optimizer_and_schedule(model, config, steps)
    soft = teacher_targets(config.soft_targets, train_examples) if config.soft_targets else None
    print(
        f"training {type(model).__name__} on {config.dataset} ({len(train_examples)} sentences, "
        f"{model.num_parameters(trainable_only=True):,} trainable parameters), seed {config.seed}",
        file=log,
    )
    average = moving_average(model, config.ema_decay)
    scored = average.module if average is not None else model  # the weights that are evaluated and kept
    fitted, best_score, started = Fitted(0, [], [], 0.0), -1.0, time.perf_counter()
    for epoch in range(1, config.max_epochs + 1):
        epoch_start = time.perf_counter()
        loss = train_epoch(model, optimizer, featurizer, train_examples, config, rng, average, schedule, soft)
        dev = evaluate_model(scored, featurizer, splits["dev"])
        seconds = time.perf_counter() - epoch_start
        score = dev["aspect"]["f1"] + dev["opinion"]["f1"]
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
                "dev_aspect_f1": dev["aspect"]["f1"],
                "dev_opinion_f1": dev["opinion"]["f1"],
                "seconds": seconds,
            }
        )
        print(
            f"epoch {epoch:3d}  loss {loss:.4f}  dev F1 aspect {100 * dev['aspect']['f1']:.2f}"
            f"  opinion {100 * dev['opinion']['f1']:.2f}  {seconds:.1f}s" + ("  *" if improved else ""),
            file=log,
            flush=True,
        )
        if epoch - fitted.best_epoch >= config.patience:
            break
    fitted.seconds = time.perf_counter() - started
    return fitted


def moving_average(model: CMLA, decay: float):
    """An exponential moving average of the weights (torch's AveragedModel), or None for decay 0."""
    if not decay:
        return None
    return torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay)
    )


def keep_best_or_average(model: CMLA, top, featurizer: Featurizer, dev: Sequence[Example], log) -> list[int]:
    """Load the best epoch's weights, or the mean of the `top` epochs' if dev scores it higher.

    Returns the epochs whose weights the model now holds.
    """
    best_score, best_epoch, best_state = top[0]
    if len(top) > 1:
        model.load_state_dict(average_weights([state for _, _, state in top]))
        scores = evaluate_model(model, featurizer, dev)
        score = scores["aspect"]["f1"] + scores["opinion"]["f1"]
        epochs = sorted(epoch for _, epoch, _ in top)
        print(
            f"mean of epochs {epochs}: dev F1 aspect {100 * scores['aspect']['f1']:.2f}"
            f"  opinion {100 * scores['opinion']['f1']:.2f}"
            + ("  kept" if score > best_score else f"; keeping epoch {best_epoch}"),
            file=log,
        )
        if score > best_score:
            return epochs
    model.load_state_dict(best_state)
    return [best_epoch]
