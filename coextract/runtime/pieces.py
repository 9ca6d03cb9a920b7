"""Words -> the word pieces the MiniLM tier's encoder reads, with numpy and Hugging Face `tokenizers`.

Shared by training (torch) and the runtime (no torch), like `features` for the
fast tier. Each sentence becomes [CLS] pieces [SEP]; a word is read from its
first piece (`word_starts`). A word that gives no piece (a zero-width space)
reads as [UNK], and a word keeps at most MAX_WORD_PIECES pieces, so that a
window of MAX_TOKENS words always fits the encoder's 512 positions.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coextract.errors import CoextractError
from coextract.runtime.documents import MAX_TOKENS
from coextract.runtime.features import Featurizer

MAX_WORD_PIECES = 5  # 100 words * 5 + [CLS] + [SEP] = 502 <= 512 positions


@dataclass(frozen=True)
class PieceBatch:
    """Padded encoder inputs for B sentences of at most T words in at most P pieces."""

    piece_ids: np.ndarray  # (B, P) int64, 0 = [PAD]
    piece_mask: np.ndarray  # (B, P) bool
    word_starts: np.ndarray  # (B, T) int64, the position of each word's first piece; 0 at padding
    mask: np.ndarray  # (B, T) bool, True at real words
    # (B, T) int64: vocabulary ids, for a model that reads the dataset's word vectors too
    word_ids: np.ndarray | None = None

    def feeds(self) -> dict[str, np.ndarray]:
        feeds = {"piece_ids": self.piece_ids, "piece_mask": self.piece_mask, "word_starts": self.word_starts,
                 "mask": self.mask}  # fmt: skip
        return feeds if self.word_ids is None else {**feeds, "word_ids": self.word_ids}


class PieceFeaturizer:
    """Maps tokenized sentences to word pieces with the encoder's own `tokenizer.json`."""

    def __init__(self, tokenizer_path: Path, vocabulary: Sequence[str] | None = None) -> None:
        """`vocabulary`: also give each word's id in it (`word_ids`), for a model that reads the
        dataset's word vectors beside the encoder's states."""
        from tokenizers import Tokenizer

        self.words = Featurizer(vocabulary, n_buckets=0) if vocabulary is not None else None
        try:
            self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as err:  # tokenizers raises its own exception types
            raise CoextractError(f"{tokenizer_path}: not a Hugging Face tokenizer.json ({err})") from None
        self.tokenizer.no_padding()  # the shared MiniLM file pads every sentence to 128 otherwise
        self.tokenizer.no_truncation()
        # A review's "[PAD]" or "[SEP]" is text, never a control piece.
        self.tokenizer.encode_special_tokens = True
        self.cls, self.sep, self.unk = (self.tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[UNK]"))

    def word_pieces(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        """The piece ids of one sentence with [CLS] and [SEP], and where each word starts."""
        encoding = self.tokenizer.encode(list(words), is_pretokenized=True, add_special_tokens=False)
        per_word: list[list[int]] = [[] for _ in words]
        for piece, word in zip(encoding.ids, encoding.word_ids, strict=True):
            if word is not None and len(per_word[word]) < MAX_WORD_PIECES:
                per_word[word].append(piece)
        pieces, starts = [self.cls], []
        for word_pieces in per_word:
            starts.append(len(pieces))
            pieces += word_pieces or [self.unk]
        return [*pieces, self.sep], starts

    def size(self, words: Sequence[str]) -> int:
        """How many positions the encoder reads for the sentence: training sorts its batches by it."""
        return len(self.word_pieces(words)[0])

    def batch(self, sentences: Sequence[Sequence[str]]) -> PieceBatch:
        """Pad `sentences` (lists of at most MAX_TOKENS words, none empty) into one `PieceBatch`."""
        encoded = [self.word_pieces(words) for words in sentences]
        n_pieces = max((len(pieces) for pieces, _ in encoded), default=0)
        n_words = max((len(words) for words in sentences), default=0)
        piece_ids = np.zeros((len(sentences), n_pieces), np.int64)
        word_starts = np.zeros((len(sentences), n_words), np.int64)
        mask = np.zeros((len(sentences), n_words), bool)
        for b, ((pieces, starts), words) in enumerate(zip(encoded, sentences, strict=True)):
            if len(words) > MAX_TOKENS:
                raise ValueError(f"a sentence of {len(words)} words: windows hold at most {MAX_TOKENS}")
            piece_ids[b, : len(pieces)] = pieces
            word_starts[b, : len(starts)] = starts
            mask[b, : len(words)] = True
        lengths = np.array([len(pieces) for pieces, _ in encoded], np.int64)
        piece_mask = np.arange(n_pieces)[None, :] < lengths[:, None]  # never from the ids: see __init__
        word_ids = self.words.batch(sentences).word_ids if self.words is not None else None
        return PieceBatch(piece_ids, piece_mask, word_starts, mask, word_ids)
