import subprocess
import sys

import numpy as np

from coextract.runtime.features import SUBWORD_FEATURES, Featurizer, word_shape

VOCAB = ["<pad>", "the", "pizza", "<unk>"]


def test_word_shape():
    assert word_shape("Café-2") == "xxxx-d"
    assert word_shape("12345678") == "dddd"
    assert word_shape("n't") == "x'x"
    assert word_shape("") == ""


def test_batch_pads_and_masks():
    featurizer = Featurizer(VOCAB, n_buckets=64)
    batch = featurizer.batch([["The", "pizza"], ["zzz"]])
    assert batch.word_ids.tolist() == [[1, 2], [3, 0]]  # lower-cased lookup, <unk>, padding
    assert batch.mask.tolist() == [[True, True], [True, False]]
    assert batch.subword_ids.shape == (2, 2, len(SUBWORD_FEATURES))
    assert (batch.subword_ids[1, 1] == 0).all()  # padding bucket
    assert ((batch.subword_ids[batch.mask] >= 1) & (batch.subword_ids[batch.mask] < 64)).all()


def test_unknown_words_share_pieces_with_known_ones():
    featurizer = Featurizer(VOCAB, n_buckets=1 << 15)
    _, pizzas = featurizer.encode_token("pizzas")
    _, pizza = featurizer.encode_token("pizza")
    assert pizzas[:2] == pizza[:2]  # same prefixes


def test_hashes_are_stable_across_processes():
    # Bundled models depend on these exact ids: a change here breaks every shipped model.
    expected = "(1, (31100, 12063, 20454, 5063, 2439, 11870))"
    code = "from coextract.runtime.features import Featurizer; print(Featurizer(['<pad>', '<unk>'], 1 << 15).encode_token('Déjà-vu'))"
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.stdout.strip() == expected


def test_no_subwords():
    batch = Featurizer(VOCAB, n_buckets=0).batch([["the"]])
    assert batch.subword_ids.shape == (1, 1, 0)
    assert np.array_equal(batch.word_ids, [[1]])
