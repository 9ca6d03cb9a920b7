"""Heads -> who thinks what: each aspect's sentiment and the opinions linked to it, in numpy.

A model with relation heads (`training.model.RelationHeads`) gives, per sentence
of T words, sentiment probabilities (T, 3) over SENTIMENTS and a pair grid
(T, T, 4) over none + SENTIMENTS for every (aspect word i, opinion word j). Over
the spans the tags decoded:

- an aspect's own sentiment is the most probable one of the mean of its words'
  probabilities, with that mean probability;
- a pair's score is 1 - P(none) of the mean over the block of grid cells
  between its two spans, its sentiment the most probable of the other three;
- each opinion is linked to the aspect of its highest score where that score is
  above FIRST_LINK, and to another aspect only where its score is above
  SECOND_LINK ("the food and the service were great"). Each cell is scored on
  its own, so the grid cannot see that another aspect is nearer; making every
  opinion pick one aspect first does (dev triplet F1 against every pair whose
  score is above 0.5: +1.1 on res14, +1.1 on lap14, +3.4 on res15 in the fast
  tier, +2.1 on res14 in the MiniLM tier; benchmarks/README.md, decoding);
- an aspect linked to an opinion says what its most probable pair says of it
  (`decode_relations`); the others keep their own sentiment (dev ABSA F1, fast
  tier: +0.4 on res14, +0.1 on lap14, +0.4 on res15).

Everything is rounded to 4 decimals, as span scores are (`spans`).
"""

from collections.abc import Sequence

import numpy as np

SENTIMENTS = ("positive", "negative", "neutral")
TokenSpan = tuple[int, int]  # [start, end) in words
FIRST_LINK = 0.5  # an opinion is linked to its best aspect where that pair is more likely linked than not
SECOND_LINK = 0.9  # and to another aspect only above this (dev chose both: benchmarks/README.md)


def span_sentiments(sentiment_probs: np.ndarray, spans: Sequence[TokenSpan]) -> list[tuple[str, float]]:
    """Each span's (sentiment, probability) from the words' probabilities (T, 3)."""
    labelled = []
    for start, end in spans:
        mean = sentiment_probs[start:end].mean(axis=0)  # (3,)
        best = int(mean.argmax())
        labelled.append((SENTIMENTS[best], round(float(mean[best]), 4)))
    return labelled


def pair_blocks(
    pair_probs: np.ndarray, aspects: Sequence[TokenSpan], opinions: Sequence[TokenSpan]
) -> np.ndarray:
    """(A, O, 4): the mean over each (aspect, opinion) pair's block of grid cells (T, T, 4)."""
    return np.array(
        [[pair_probs[a0:a1, o0:o1].mean(axis=(0, 1)) for o0, o1 in opinions] for a0, a1 in aspects]
    )


def linked_pairs(
    pair_probs: np.ndarray,
    aspects: Sequence[TokenSpan],
    opinions: Sequence[TokenSpan],
    best_floor: float = FIRST_LINK,
    second: float = SECOND_LINK,
) -> list[tuple[int, int, str, float]]:
    """(aspect index, opinion index, sentiment, score) of every linked pair, aspects in order, then
    opinions; `pair_probs` (T, T, 4) is the sentence's grid. Each opinion is linked to its best
    aspect where that one's score is above `best_floor`, and to any other whose score is above
    `second` (`best_floor=second=0.5`: every pair more likely linked than not, the first rule)."""
    if not aspects or not opinions:
        return []
    blocks = pair_blocks(pair_probs, aspects, opinions)
    scores = 1.0 - blocks[..., 0].astype(np.float64)  # (A, O): P(linked) of each pair
    best = scores.argmax(axis=0)  # (O,): each opinion's most probable aspect
    pairs = []
    for a, o in np.ndindex(scores.shape):
        if scores[a, o] > (best_floor if a == best[o] else second):
            pairs.append((a, o, SENTIMENTS[int(blocks[a, o, 1:].argmax())], round(float(scores[a, o]), 4)))
    return pairs


def decode_relations(
    sentiment_probs: np.ndarray,
    pair_probs: np.ndarray,
    aspects: Sequence[TokenSpan],
    opinions: Sequence[TokenSpan],
) -> tuple[list[tuple[str, float]], list[tuple[int, int, str, float]]]:
    """Each aspect's (sentiment, probability) and the linked pairs (`linked_pairs`) of one sentence.

    An aspect linked to an opinion takes the sentiment its most probable pair gives it (with that
    sentiment's probability among the three, given the link), so an aspect never says other than
    its strongest pair; an aspect with no opinion linked takes its own words' (`span_sentiments`)."""
    sentiments, pairs = span_sentiments(sentiment_probs, aspects), linked_pairs(pair_probs, aspects, opinions)
    strongest: dict[int, tuple[int, float]] = {}
    for a, o, _, score in pairs:
        if a not in strongest or score > strongest[a][1]:
            strongest[a] = (o, score)
    for a, (o, _) in strongest.items():
        (a_start, a_end), (o_start, o_end) = aspects[a], opinions[o]
        given_link = pair_probs[a_start:a_end, o_start:o_end].mean(axis=(0, 1))[1:]  # (3,): SENTIMENTS
        best = int(given_link.argmax())
        sentiments[a] = (SENTIMENTS[best], round(float(given_link[best] / given_link.sum()), 4))
    return sentiments, pairs
