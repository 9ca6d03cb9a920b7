"""Heads -> who thinks what: each aspect's sentiment and the opinions linked to it, in numpy.

A model with relation heads (`training.model.RelationHeads`) gives, per sentence
of T words, sentiment probabilities (T, 3) over SENTIMENTS and a pair grid
(T, T, 4) over none + SENTIMENTS for every (aspect word i, opinion word j). Over
the spans the tags decoded:

- an aspect's sentiment is the most probable one of the mean of its words'
  probabilities, with that mean probability;
- an (aspect, opinion) pair is linked where the mean over the block of grid
  cells between the two spans gives "none" less than half the probability; its
  score is 1 - P(none), its sentiment the most probable of the other three.

Everything is rounded to 4 decimals, as span scores are (`spans`).
"""

from collections.abc import Sequence

import numpy as np

SENTIMENTS = ("positive", "negative", "neutral")
TokenSpan = tuple[int, int]  # [start, end) in words


def span_sentiments(sentiment_probs: np.ndarray, spans: Sequence[TokenSpan]) -> list[tuple[str, float]]:
    """Each span's (sentiment, probability) from the words' probabilities (T, 3)."""
    labelled = []
    for start, end in spans:
        mean = sentiment_probs[start:end].mean(axis=0)  # (3,)
        best = int(mean.argmax())
        labelled.append((SENTIMENTS[best], round(float(mean[best]), 4)))
    return labelled


def linked_pairs(
    pair_probs: np.ndarray, aspects: Sequence[TokenSpan], opinions: Sequence[TokenSpan]
) -> list[tuple[int, int, str, float]]:
    """(aspect index, opinion index, sentiment, score) of every linked pair, aspects in order, then
    opinions; `pair_probs` (T, T, 4) is the sentence's grid."""
    pairs = []
    for a, (a_start, a_end) in enumerate(aspects):
        for o, (o_start, o_end) in enumerate(opinions):
            mean = pair_probs[a_start:a_end, o_start:o_end].mean(axis=(0, 1))  # (4,): none + SENTIMENTS
            if mean[0] < 0.5:
                pairs.append((a, o, SENTIMENTS[int(mean[1:].argmax())], round(1.0 - float(mean[0]), 4)))
    return pairs
