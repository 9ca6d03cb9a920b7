"""A review as the model reads it: its text, and its sentences as tokens with offsets.

Raw text becomes a `Document` through the spaCy preprocessor (`coextract.runtime.preprocess`);
a pre-tokenized input becomes one through `tokens_document`, which lays the
tokens out with single spaces. Either way every token knows its character
offsets, so every predicted span maps back into the original text.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

MAX_TOKENS = 100  # longest window the model reads; longer sentences are cut, never dropped


class ModelToken(NamedTuple):
    """A token as the model reads it, and where it stands in the original text.

    A named tuple, not a dataclass: a large corpus makes hundreds of thousands of
    them per second, and a tuple is several times cheaper to build.
    """

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Document:
    text: str
    sentences: tuple[tuple[ModelToken, ...], ...]

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(token.text for sentence in self.sentences for token in sentence)


def tokens_document(tokens: Sequence[str]) -> Document:
    """A pre-tokenized sentence as a Document whose text is the tokens joined by spaces."""
    placed, start = [], 0
    for token in tokens:
        placed.append(ModelToken(token, start, start + len(token)))
        start += len(token) + 1
    return Document(" ".join(tokens), (tuple(placed),) if placed else ())


def windows(sentence: Sequence[ModelToken], size: int = MAX_TOKENS) -> Iterator[Sequence[ModelToken]]:
    """Consecutive pieces of at most `size` tokens; a term cut at a border is split in two."""
    for start in range(0, len(sentence), size):
        yield sentence[start : start + size]
