"""Tokens -> the integer arrays the model reads, with numpy only.

Shared by training (torch) and the ONNX runtime (no torch), so both see exactly
the same ids for the same tokens.

Each token gets a word id (lower-cased lookup in the benchmark vocabulary, else
`<unk>`) and a few hashed sub-word ids: prefixes, suffixes and the word shape.
A word outside the vocabulary -- most words of real reviews -- is then still
seen through its pieces ("...ability", "un...", "dd.dd") instead of being blind.
Hashing uses crc32, which is stable across processes and Python versions
(unlike `hash`), so ids computed at training time hold at inference.
"""

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

PAD, UNK = "<pad>", "<unk>"  # the first word of every vocabulary, and the word for all others
SUBWORD_FEATURES = ("prefix2", "prefix3", "suffix2", "suffix3", "suffix4", "shape")


def word_shape(word: str) -> str:
    """`Caf\u00e9-2` -> `xxxx-d`: letters to x, digits to d, runs longer than 4 cut to 4."""
    shape = []
    for char in word:
        kind = "x" if char.isalpha() else "d" if char.isdigit() else char
        if len(shape) < 4 or shape[-4:] != [kind] * 4:
            shape.append(kind)
    return "".join(shape)


def subword_pieces(word: str) -> tuple[str, ...]:
    """The strings behind `SUBWORD_FEATURES`, each tagged with its feature name."""
    pieces = (word[:2], word[:3], word[-2:], word[-3:], word[-4:], word_shape(word))
    return tuple(f"{name}={piece}" for name, piece in zip(SUBWORD_FEATURES, pieces, strict=True))


@dataclass(frozen=True)
class Batch:
    """Padded model inputs for B sentences of at most T tokens."""

    word_ids: np.ndarray  # (B, T) int64, 0 = padding
    subword_ids: np.ndarray  # (B, T, S) int64, 0 = padding
    mask: np.ndarray  # (B, T) bool, True at real tokens

    def feeds(self) -> dict[str, np.ndarray]:
        """The arrays by the names of the model's inputs."""
        return {"word_ids": self.word_ids, "subword_ids": self.subword_ids, "mask": self.mask}


class Featurizer:
    """Maps tokens to word ids and hashed sub-word ids.

    `n_buckets` is the size of the sub-word hash table; 0 turns sub-word
    features off. Bucket 0 is kept for padding.
    """

    def __init__(self, vocabulary: Sequence[str], n_buckets: int) -> None:
        if vocabulary[0] != PAD or UNK not in vocabulary:
            raise ValueError(f"vocabulary must start with {PAD!r} and contain {UNK!r}")
        self.vocabulary = list(vocabulary)
        self.n_buckets = n_buckets
        self._word_ids = {word: i for i, word in enumerate(self.vocabulary)}
        self._unk_id = self._word_ids[UNK]
        self.encode_token = lru_cache(maxsize=1 << 18)(self._encode_token)

    def size(self, words: Sequence[str]) -> int:
        """How many positions the model reads for the sentence (as `PieceFeaturizer.size`): its words."""
        return len(words)

    @property
    def n_subword_features(self) -> int:
        return len(SUBWORD_FEATURES) if self.n_buckets else 0

    def _encode_token(self, token: str) -> tuple[int, tuple[int, ...]]:
        word = token.lower()
        word_id = self._word_ids.get(word, self._unk_id)
        if not self.n_buckets:
            return word_id, ()
        buckets = tuple(
            1 + zlib.crc32(piece.encode("utf-8", "surrogatepass")) % (self.n_buckets - 1)
            for piece in subword_pieces(word)
        )
        return word_id, buckets

    def batch(self, sentences: Sequence[Sequence[str]]) -> Batch:
        """Pad `sentences` (lists of tokens, none empty) into one `Batch`."""
        n_tokens = max((len(s) for s in sentences), default=0)
        shape = (len(sentences), n_tokens)
        word_ids = np.zeros(shape, np.int64)
        subword_ids = np.zeros((*shape, self.n_subword_features), np.int64)
        mask = np.zeros(shape, bool)
        for b, tokens in enumerate(sentences):
            for t, token in enumerate(tokens):
                word_ids[b, t], subword_ids[b, t] = self.encode_token(token)
            mask[b, : len(tokens)] = True
        return Batch(word_ids, subword_ids, mask)
