"""Word pieces for the MiniLM tier: [CLS] pieces [SEP], each word read from its first piece."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("tokenizers")

from coextract.runtime.documents import MAX_TOKENS  # noqa: E402
from coextract.runtime.pieces import MAX_WORD_PIECES, PieceFeaturizer  # noqa: E402

TOKENIZER = Path(__file__).resolve().parents[2] / "shared" / "models" / "all-MiniLM-L6-v2" / "tokenizer.json"
FEATURIZER = PieceFeaturizer(TOKENIZER)


def test_words_start_at_their_first_piece_and_padding_is_zero():
    batch = FEATURIZER.batch([["the", "batterylife", "is", "gr8"], ["ok"]])
    pieces = [FEATURIZER.tokenizer.id_to_token(i) for i in batch.piece_ids[0]]
    assert pieces == ["[CLS]", "the", "battery", "##life", "is", "gr", "##8", "[SEP]"]  # no padding to 128
    assert batch.word_starts[0].tolist() == [1, 2, 4, 5]
    assert batch.word_starts[1].tolist() == [1, 0, 0, 0] and batch.mask[1].tolist() == [
        True,
        False,
        False,
        False,
    ]
    assert batch.piece_mask[1].tolist() == [True, True, True] + [False] * 5
    assert set(batch.feeds()) == {"piece_ids", "piece_mask", "word_starts", "mask"}


def test_a_word_without_pieces_reads_as_unk():
    batch = FEATURIZER.batch([["good", "\u200b", "food"]])
    starts = batch.word_starts[0]
    assert FEATURIZER.tokenizer.id_to_token(int(batch.piece_ids[0, starts[1]])) == "[UNK]"


@given(
    st.lists(
        st.text(min_size=1, max_size=40).filter(lambda w: w.strip() == w and w),
        min_size=1,
        max_size=MAX_TOKENS,
    )
)
def test_any_window_fits_the_encoder_and_every_word_has_its_own_start(words):
    batch = FEATURIZER.batch([words])
    assert batch.piece_ids.shape[1] <= 2 + MAX_WORD_PIECES * MAX_TOKENS <= 512
    starts = batch.word_starts[0]
    assert len(starts) == len(words) and np.all(np.diff(starts) >= 1) and starts[0] == 1
