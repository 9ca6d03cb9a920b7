"""Run any backend over many sentences and turn its probabilities into tags.

A backend is a function from a `Batch` to per-token probabilities (aspect and
opinion, (B, T, 3) each) and attention weights ((B, 2, L, T)), and, from a model
with relation heads, sentiment probabilities (B, T, 3) and the pair grid
(B, T, T, 4) (`relations`). Torch during
training and onnxruntime when deployed are both used through this module, so
batching, un-padding and BIO decoding are written once. Imports no torch.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from coextract.runtime.decoding import best_tags_batch
from coextract.runtime.features import Batch, Featurizer
from coextract.runtime.sizes import PAD_RATIO, PAD_SLACK, PIPE_BATCH, TOKENS_PER_ROW

Backend = Callable[[Batch], tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class SentencePrediction:
    """What the model says about one sentence of T tokens."""

    aspect_probs: np.ndarray  # (T, 3) over O, B, I
    opinion_probs: np.ndarray  # (T, 3)
    attentions: np.ndarray  # (2, L, T): aspect side, opinion side
    aspect_tags: list[int]  # decoded with `tagging.best_tags`
    opinion_tags: list[int]
    sentiment_probs: np.ndarray | None = None  # (T, 3) over relations.SENTIMENTS; None: no relation heads
    pair_probs: np.ndarray | None = None  # (T, T, 4): aspect word, opinion word; none + SENTIMENTS


def length_sorted_batches(
    lengths: Sequence[int], batch_size: int, pad_ratio: float = PAD_RATIO
) -> Iterator[list[int]]:
    """Indices of sentences grouped by similar length, to keep padding low: at most `batch_size`
    sentences and `TOKENS_PER_ROW` padded tokens per row, the longest at most `pad_ratio` times
    the shortest plus `PAD_SLACK` words."""
    max_tokens = batch_size * TOKENS_PER_ROW
    batch: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        full = len(batch) == batch_size or (len(batch) + 1) * lengths[i] > max_tokens
        if batch and (full or lengths[i] > pad_ratio * lengths[batch[0]] + PAD_SLACK):
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def predict_sentences(
    backend: Backend,
    featurizer: Featurizer,
    sentences: Sequence[Sequence[str]],
    batch_size: int = PIPE_BATCH,
) -> list[SentencePrediction]:
    """Predictions for tokenized `sentences` (none empty), in their input order."""
    results: list[SentencePrediction | None] = [None] * len(sentences)
    for indices in length_sorted_batches([len(s) for s in sentences], batch_size):
        batch = featurizer.batch([sentences[i] for i in indices])
        aspect_probs, opinion_probs, attentions, *relations = backend(batch)
        lengths = [len(sentences[i]) for i in indices]
        aspect_tags = best_tags_batch(aspect_probs, lengths)
        opinion_tags = best_tags_batch(opinion_probs, lengths)
        for row, (i, n) in enumerate(zip(indices, lengths, strict=True)):
            results[i] = SentencePrediction(
                aspect_probs[row, :n],
                opinion_probs[row, :n],
                attentions[row, :, :, :n],
                aspect_tags[row],
                opinion_tags[row],
                *((relations[0][row, :n], relations[1][row, :n, :n]) if relations else ()),
            )
    return results
