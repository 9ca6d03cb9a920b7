"""Gold -> targets: a batch's tags, aspect sentiments and pair grid as padded tensors for the loss.

Where a target is unknown it is -100, which the loss skips (`model.labelled_cross_entropy`):
padding, words outside every aspect (no sentiment), conflict aspects (no single
sentiment), grid cells outside the gold aspect x opinion blocks (the runtime only asks
about blocks of the terms it found), and every cell of a sentence aste-v2 does not
annotate (its pairs are unknown, not absent).
"""

from collections.abc import Sequence

import torch

from coextract.evaluation.evaluate import Benchmark
from coextract.evaluation.triplets import Relations
from coextract.runtime.relations import SENTIMENTS

UNKNOWN = -100


def pad_tags(tag_lists: Sequence[Sequence[int]], n_tokens: int) -> torch.Tensor:
    tags = torch.zeros(len(tag_lists), n_tokens, dtype=torch.long)
    for b, seq in enumerate(tag_lists):
        tags[b, : len(seq)] = torch.tensor(seq)
    return tags


def sentiment_targets(relations: Sequence[Relations], n_tokens: int) -> torch.Tensor:
    """(B, T): each gold aspect word's sentiment as an index of SENTIMENTS."""
    targets = torch.full((len(relations), n_tokens), UNKNOWN, dtype=torch.long)
    for b, sentence in enumerate(relations):
        for start, end, sentiment in sentence.aspect_sentiments:
            if sentiment in SENTIMENTS:
                targets[b, start:end] = SENTIMENTS.index(sentiment)
    return targets


def pair_targets(relations: Sequence[Relations], n_tokens: int) -> torch.Tensor:
    """(B, T, T): the cells of the decision the runtime makes, which aspect goes with which opinion.
    Between every gold aspect's words (aste-v2's and absa/'s) and every aste-v2 opinion's words, a
    cell is 1 + the sentiment's index where the two are a triplet, else 0 (none); every other cell
    is unknown, as is every cell of a sentence aste-v2 lacks."""
    targets = torch.full((len(relations), n_tokens, n_tokens), UNKNOWN, dtype=torch.long)
    for b, sentence in enumerate(relations):
        if sentence.triplets is None:
            continue
        aspects = {t.aspect for t in sentence.triplets} | {(s, e) for s, e, _ in sentence.aspect_sentiments}
        for a_start, a_end in aspects:
            for o_start, o_end in {t.opinion for t in sentence.triplets}:
                targets[b, a_start:a_end, o_start:o_end] = 0
        for triplet in sentence.triplets:
            (a_start, a_end), (o_start, o_end) = triplet.aspect, triplet.opinion
            targets[b, a_start:a_end, o_start:o_end] = 1 + SENTIMENTS.index(triplet.sentiment)
    return targets


def relations_left_out(config, benchmark: Benchmark) -> str | None:
    """Why the model learns no aspect sentiments and pairs (`config.relations` off, raw files, a
    dataset aste-v2 does not hold), or None where it learns them."""
    if not config.relations:
        return "--no-relations"
    if config.raw_files:
        return "raw SemEval files hold no aste-v2 pairs"
    return "aste-v2 does not hold the dataset" if benchmark.relations is None else None
