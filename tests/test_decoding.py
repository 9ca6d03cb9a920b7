import itertools

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra.numpy import arrays

from coextract.runtime.decoding import B, I, O, best_tags, best_tags_batch, spans_to_tags, tags_to_spans


def test_single_and_multi_token_terms():
    # "the battery life is great"  -> battery life = tokens 1..2
    assert tags_to_spans([O, B, I, O, B]) == [(1, 3), (4, 5)]


def test_adjacent_b_tags_are_separate_terms():
    assert tags_to_spans([B, B, I, B]) == [(0, 1), (1, 3), (3, 4)]


def test_i_after_o_is_promoted_to_b():
    # The documented rule: an I that follows O (or opens the sentence) begins a term.
    assert tags_to_spans([I, I, O, I]) == [(0, 2), (3, 4)]


def test_term_running_to_the_end_and_empty_input():
    assert tags_to_spans([O, O, B, I, I]) == [(2, 5)]
    assert tags_to_spans([]) == []
    assert tags_to_spans([O, O]) == []


def test_spans_to_tags_round_trip():
    tags = [B, I, O, B, O, B, I, I]
    assert spans_to_tags(tags_to_spans(tags), len(tags)) == tags


def test_best_tags_agrees_with_argmax_when_argmax_is_valid():
    probs = np.array([[0.1, 0.8, 0.1], [0.2, 0.1, 0.7], [0.9, 0.05, 0.05]])
    assert best_tags(probs) == [B, I, O]


def test_best_tags_never_puts_i_after_o():
    # Argmax would say O, I (a stray I). Hand-computed paths over the 2 tokens:
    # O,O = .6*.3 = .18; B,I = .35*.6 = .21; O,B = .6*.1 = .06 -> B, I wins.
    probs = np.array([[0.6, 0.35, 0.05], [0.3, 0.1, 0.6]])
    assert best_tags(probs) == [B, I]
    # When the first token is surely O, the I becomes the best allowed tag instead: B.
    probs = np.array([[0.98, 0.01, 0.01], [0.3, 0.25, 0.45]])
    assert best_tags(probs) == [O, O]
    probs = np.array([[0.98, 0.01, 0.01], [0.2, 0.35, 0.45]])
    assert best_tags(probs) == [O, B]


def test_best_tags_does_not_start_inside_a_term():
    assert best_tags(np.array([[0.1, 0.4, 0.5]])) == [B]


@given(st.integers(1, 12).flatmap(lambda n: arrays(np.float64, (n, 3), elements=st.floats(0.001, 1.0))))
def test_best_tags_is_valid_bio(weights):
    probs = weights / weights.sum(-1, keepdims=True)
    tags = best_tags(probs)
    assert len(tags) == len(probs)
    assert all(
        not (tag == I and previous != I and previous != B)
        for previous, tag in zip([O] + tags[:-1], tags, strict=True)
    )


@pytest.mark.slow  # runs the real command or many inputs: seconds, kept out of the quick loop
@given(st.lists(st.integers(1, 9), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_batch_decoding_equals_one_sentence_at_a_time(lengths, seed):
    # Padding (random probabilities past each length) must not change any sentence's tags.
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(3), size=(len(lengths), max(lengths)))
    batched = best_tags_batch(probs, lengths)
    assert batched == [best_tags_unbatched(probs[b, :n]) for b, n in enumerate(lengths)]


def best_tags_unbatched(probs):
    """Reference Viterbi over every (O, B, I) path, by brute force."""
    best, best_score = None, -np.inf
    for path in itertools.product((O, B, I), repeat=len(probs)):
        if any(tag == I and previous == O for previous, tag in zip((O, *path[:-1]), path, strict=True)):
            continue
        score = sum(np.log(probs[t, tag]) for t, tag in enumerate(path))
        if score > best_score:
            best, best_score = list(path), score
    return best
