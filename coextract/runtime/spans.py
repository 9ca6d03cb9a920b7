"""Tags -> spans: a sentence's decoded BIO tags become character `Span`s over the original text.

Span scores: a term's score is the mean, over its tokens, of the probability the
model gave the tag the term was decoded from (B on its first token, I on the
others), rounded to 4 decimals. It is in [0, 1] and can be used to trade
precision for recall.
"""

import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from coextract.runtime.decoding import B, I, tags_to_spans
from coextract.runtime.documents import ModelToken


@dataclass(frozen=True)
class Span:
    """A term: `text == source[start:end]`, with a confidence score in [0, 1]."""

    text: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Extraction:
    """The aspect and opinion terms of one input, with the tokens the model read."""

    text: str
    tokens: tuple[str, ...]
    aspects: tuple[Span, ...]
    opinions: tuple[Span, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def term_spans(probs: np.ndarray, tags: Sequence[int]) -> list[tuple[int, int, float]]:
    """(start, end, score) token spans of the terms in `tags`; scoring as the module says."""
    spans = []
    for start, end in tags_to_spans(tags):
        total = probs[start, B] + probs[start + 1 : end, I].sum()
        spans.append((start, end, round(float(total) / (end - start), 4)))
    return spans


ZWJ = "\u200d"
CLUSTER_MARKS = {
    "\ufe0e",
    "\ufe0f",
    "\u20e3",
    *map(chr, range(0x1F3FB, 0x1F400)),
    *map(chr, range(0xE0020, 0xE0080)),
}


def continues_cluster(text: str, i: int) -> bool:
    """Whether text[i] belongs to the character before it as one visible character: a joiner or what
    follows one (emoji ZWJ sequences), a variation selector, skin tone, tag or combining mark."""
    char = text[i]
    return (
        char == ZWJ
        or text[i - 1] == ZWJ
        or char in CLUSTER_MARKS
        or unicodedata.category(char).startswith("M")
    )


def char_spans(text: str, tokens: Sequence[ModelToken], probs: np.ndarray, tags: Sequence[int]) -> list[Span]:
    """Token-level terms as `Span`s over the original text, widened to whole visible characters: the
    tokenizer may cut an emoji sequence, a span never does."""
    spans = []
    for start, end, score in term_spans(probs, tags):
        first, last = tokens[start].start, tokens[end - 1].end
        while first > 0 and continues_cluster(text, first):
            first -= 1
        while last < len(text) and continues_cluster(text, last):
            last += 1
        spans.append(Span(text[first:last], first, last, score))
    return spans
