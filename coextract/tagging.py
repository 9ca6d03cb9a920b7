"""BIO tags <-> term spans, with one decoding rule for every backend.

Tags are integers: 0 = O (outside), 1 = B (begins a term), 2 = I (inside).

Decoding rule: an I that follows an O (or starts the sentence) is promoted to a
B, i.e. it begins a new term. This is the rule of the CoNLL `conlleval` script;
it keeps a term whose first token the model under-scored instead of dropping it.
Torch evaluation, the ONNX runtime and the metrics all call `tags_to_spans`, so
they cannot disagree.
"""

from collections.abc import Sequence

O, B, I = 0, 1, 2
TAG_NAMES = ("O", "B", "I")


def tags_to_spans(tags: Sequence[int]) -> list[tuple[int, int]]:
    """Return the terms in `tags` as (start, end) token spans, end exclusive."""
    spans: list[tuple[int, int]] = []
    start = None
    for i, tag in enumerate(tags):
        if tag == B or (tag == I and start is None):
            if start is not None:
                spans.append((start, i))
            start = i
        elif tag == O and start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(tags)))
    return spans


def spans_to_tags(spans: Sequence[tuple[int, int]], length: int) -> list[int]:
    """Return the BIO tags of `length` tokens that mark `spans` (end exclusive)."""
    tags = [O] * length
    for start, end in spans:
        tags[start] = B
        for i in range(start + 1, end):
            tags[i] = I
    return tags
