"""One epoch of training: batches of similar length in a seeded random order, the multi-task loss,
an optimizer step per batch. `train` calls it once per epoch and selects on dev.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from coextract.evaluation.benchmark import Example
from coextract.training.checkpoint import to_tensors
from coextract.training.config import TrainConfig
from coextract.training.distill import batch_targets, soft_loss
from coextract.training.targets import pad_tags, pair_targets, sentiment_targets

SIDES = ("aspect", "opinion")


def shuffled_batches(sizes: Sequence[int], batch_size: int, rng) -> list[list[int]]:
    """Random batches of similar-size sentences: less padding, same randomness.

    Sentences are shuffled, sorted by size within pools of 50 batches, cut into
    batches, and the batches shuffled again.
    """
    order = rng.permutation(len(sizes))
    pool = 50 * batch_size
    batches = []
    for start in range(0, len(order), pool):
        by_length = sorted(order[start : start + pool], key=lambda i: sizes[i])
        batches += [by_length[i : i + batch_size] for i in range(0, len(by_length), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def batch_loss(
    model, featurizer, chunk: list[Example], relations, config: TrainConfig
) -> tuple[torch.Tensor, object, object]:
    """The model's loss on a batch of examples (with their `Relations`, where it learns them), its
    outputs and the batch's mask."""
    batch = featurizer.batch([e.tokens for e in chunk])
    n_tokens = batch.mask.shape[1]
    device = config.device
    tags = [pad_tags([getattr(e, f"{side}_tags") for e in chunk], n_tokens).to(device) for side in SIDES]
    inputs = to_tensors(batch, device)
    outputs = model(**inputs)
    if relations is None:
        return model.loss(outputs, *tags, inputs["mask"]), outputs, inputs["mask"]
    sentiments = sentiment_targets(relations, n_tokens).to(device)
    pairs = pair_targets(relations, n_tokens).to(device)
    loss = model.loss(outputs, *tags, inputs["mask"], sentiments, pairs, config.relation_weight)
    return loss, outputs, inputs["mask"]


@dataclass(frozen=True)
class TrainingSet:
    """What an epoch reads, worked out once per run: the examples, each one's size in the model's
    positions (words, or word pieces in the MiniLM tier: batches are made of similar sizes, so
    little of the encoder's work is padding), and where learned, their `Relations` and a teacher's
    probabilities (`distill`)."""

    examples: list[Example]
    sizes: list[int]
    relations: list | None = None
    soft: list | None = None


def train_epoch(model, optimizer, featurizer, data: TrainingSet, config: TrainConfig, rng, average=None,
                schedule=None) -> float:  # fmt: skip
    """One pass over `data` in a seeded random order; returns the mean loss. A teacher's
    probabilities are learned from with weight `config.distill_weight`."""
    model.train()
    total, n_batches = 0.0, 0
    for indices in shuffled_batches(data.sizes, config.batch_size, rng):
        chunk_relations = None if data.relations is None else [data.relations[i] for i in indices]
        chunk = [data.examples[i] for i in indices]
        loss, outputs, mask = batch_loss(model, featurizer, chunk, chunk_relations, config)
        if data.soft is not None:
            targets = batch_targets([data.soft[i] for i in indices], mask.shape[1], config.device)
            distilled = soft_loss(outputs.aspect_logits, outputs.opinion_logits, targets, mask)
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


def moving_average(model: torch.nn.Module, decay: float):
    """An exponential moving average of the weights (torch's AveragedModel), or None for decay 0."""
    if not decay:
        return None
    return torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay)
    )
