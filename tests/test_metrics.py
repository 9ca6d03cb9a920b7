import pytest

from coextract.evaluation.metrics import scores_by_group, span_scores


def test_hand_computed_micro_scores():
    # Sentence 1: gold {(0,1), (3,5)}, pred {(0,1), (3,4)} -> 1 correct.
    # Sentence 2: gold {(2,3)},         pred {(2,3), (5,6)} -> 1 correct.
    # Sentence 3: gold {},              pred {}             -> nothing.
    # Micro: correct 2, pred 4, gold 3 -> P = 0.5, R = 2/3, F1 = 2*0.5*(2/3)/(0.5+2/3) = 4/7.
    gold = [[(0, 1), (3, 5)], [(2, 3)], []]
    pred = [[(0, 1), (3, 4)], [(2, 3), (5, 6)], []]
    score = span_scores(gold, pred)
    assert (score.n_gold, score.n_pred, score.n_correct) == (3, 4, 2)
    assert score.precision == pytest.approx(0.5)
    assert score.recall == pytest.approx(2 / 3)
    assert score.f1 == pytest.approx(4 / 7)


def test_micro_is_not_a_mean_of_sentence_scores():
    # Per-sentence F1 would be 1.0 and 0.0 (mean 0.5); micro counts terms: 1 of 3.
    gold = [[(0, 1)], [(0, 1), (2, 3)]]
    pred = [[(0, 1)], [(1, 2)]]
    score = span_scores(gold, pred)
    assert score.precision == pytest.approx(0.5)
    assert score.recall == pytest.approx(1 / 3)
    assert score.f1 == pytest.approx(0.4)


def test_partial_overlap_counts_as_wrong():
    score = span_scores([[(1, 3)]], [[(1, 2)]])
    assert score.f1 == 0.0 and score.n_correct == 0


def test_empty_predictions_and_gold_give_zero_not_error():
    assert span_scores([[]], [[]]).f1 == 0.0
    assert span_scores([[(0, 1)]], [[]]).recall == 0.0


def test_duplicate_predictions_count_once():
    score = span_scores([[(0, 1)]], [[(0, 1), (0, 1)]])
    assert score.precision == 1.0 and score.n_pred == 1


def test_sentence_counts_must_match():
    with pytest.raises(ValueError):
        span_scores([[]], [[], []])


def test_scores_by_group_hand_computed():
    # sentence 0: gold (0,1) (2,4); predicted (0,1) (3,4)   sentence 1: gold (1,2); predicted (1,2) (0,3)
    gold = [[(0, 1), (2, 4)], [(1, 2)]]
    pred = [[(0, 1), (3, 4)], [(1, 2), (0, 3), (1, 2)]]

    def by_length(i, span):
        return "one" if span[1] - span[0] == 1 else "longer"

    scores = scores_by_group(gold, pred, by_length)
    # one token: gold (0,1) (1,2), predicted (0,1) (3,4) (1,2): 2 correct
    assert (scores["one"].n_gold, scores["one"].n_pred, scores["one"].n_correct) == (2, 3, 2)
    assert scores["one"].recall == 1.0 and scores["one"].precision == pytest.approx(2 / 3)
    # longer: gold (2,4), predicted (0,3): none correct
    assert (scores["longer"].n_gold, scores["longer"].n_pred, scores["longer"].n_correct) == (1, 1, 0)
    assert scores["longer"].f1 == 0.0
    by_sentence = scores_by_group(gold, pred, lambda i, span: f"s{i}")
    assert by_sentence["s1"].precision == 0.5  # the repeated (1,2) counts once
