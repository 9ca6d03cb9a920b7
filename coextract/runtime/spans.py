"""Tags -> spans: a sentence's decoded BIO tags become character `Span`s over the original text,
and, from a model with relation heads, the aspects' sentiments and the aspect-opinion `Pair`s.

Span scores: a term's score is the mean, over its tokens, of the probability the
model gave the tag the term was decoded from (B on its first token, I on the
others), rounded to 4 decimals. It is in [0, 1] and can be used to trade
precision for recall. Sentiments and pairs are decoded by `relations`.
"""

import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from coextract.runtime.decoding import B, I, tags_to_spans
from coextract.runtime.documents import ModelToken
from coextract.runtime.predict import SentencePrediction
from coextract.runtime.relations import decode_relations


@dataclass(frozen=True)
class Span:
    """A term: `text == source[start:end]`, with a confidence score in [0, 1]; an aspect found by a model
    with relation heads also has its sentiment ("positive", "negative" or "neutral") and its probability."""

    text: str
    start: int
    end: int
    score: float
    sentiment: str | None = None
    sentiment_score: float | None = None


@dataclass(frozen=True)
class Pair:
    """An opinion term linked to the aspect term it is about, with the sentiment it expresses and the
    model's confidence in the link, in [0, 1]."""

    aspect: Span
    opinion: Span
    sentiment: str
    score: float


@dataclass(frozen=True)
class Extraction:
    """The aspect and opinion terms of one input, with the tokens the model read, and the pairs that link
    them (always empty from a model without relation heads)."""

    text: str
    tokens: tuple[str, ...]
    aspects: tuple[Span, ...]
    opinions: tuple[Span, ...]
    pairs: tuple[Pair, ...] = ()

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


def char_span(text: str, tokens: Sequence[ModelToken], start: int, end: int, score: float) -> Span:
    """Tokens [start, end) as a `Span` over the original text, widened to whole visible characters: the
    tokenizer may cut an emoji sequence, a span never does."""
    first, last = tokens[start].start, tokens[end - 1].end
    while first > 0 and continues_cluster(text, first):
        first -= 1
    while last < len(text) and continues_cluster(text, last):
        last += 1
    return Span(text[first:last], first, last, score)


def window_terms(
    text: str, tokens: Sequence[ModelToken], prediction: SentencePrediction
) -> tuple[list[Span], list[Span], list[Pair]]:
    """The aspects (with their sentiments, from a model with relation heads), opinions and pairs the
    model found in one window of `text`'s `tokens`."""
    found = (
        term_spans(prediction.aspect_probs, prediction.aspect_tags),
        term_spans(prediction.opinion_probs, prediction.opinion_tags),
    )
    aspects, opinions = ([char_span(text, tokens, *term) for term in terms] for terms in found)
    if prediction.pair_probs is None:
        return aspects, opinions, []
    aspect_words, opinion_words = ([(start, end) for start, end, _ in terms] for terms in found)
    sentiments, links = decode_relations(
        prediction.sentiment_probs, prediction.pair_probs, aspect_words, opinion_words
    )
    aspects = [
        replace(span, sentiment=label, sentiment_score=p)
        for span, (label, p) in zip(aspects, sentiments, strict=True)
    ]
    return aspects, opinions, [Pair(aspects[a], opinions[o], label, score) for a, o, label, score in links]
