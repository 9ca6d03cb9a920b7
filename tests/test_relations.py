"""Who thinks what of which aspect: decoding the relation heads, their targets, their output records."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coextract.corpus.readers import Record
from coextract.corpus.writers import OutputFields, columns, output_record, parquet_schema, to_csv
from coextract.evaluation.metrics import relation_scores, triplet_scores
from coextract.evaluation.triplets import Relations, Triplet
from coextract.runtime.documents import tokens_document
from coextract.runtime.predict import SentencePrediction
from coextract.runtime.relations import (
    FIRST_LINK,
    SECOND_LINK,
    SENTIMENTS,
    decode_relations,
    linked_pairs,
    span_sentiments,
)
from coextract.runtime.spans import Extraction, Pair, Span, window_terms

NONE, POSITIVE, NEGATIVE, NEUTRAL = range(4)


def grid(n_words: int, cells: dict) -> np.ndarray:
    """A pair grid (T, T, 4) that is sure of "none" except at `cells`: (i, j) -> class."""
    probs = np.zeros((n_words, n_words, 4), np.float32)
    probs[..., NONE] = 1
    for (i, j), label in cells.items():
        probs[i, j] = 0
        probs[i, j, label] = 1
    return probs


def test_an_aspect_takes_the_sentiment_its_words_give_most_probability_on_average():
    probs = np.array([[0.6, 0.3, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]], np.float32)
    assert span_sentiments(probs, [(0, 2), (2, 3), (0, 1)]) == [
        ("negative", 0.55),
        ("neutral", 0.6),
        ("positive", 0.6),
    ]


def test_each_opinion_links_its_best_aspect_and_another_only_above_second_link():
    # "the pizza crust was great but the staff rude": aspects pizza crust (1-3), staff (7); opinions great (4), rude (8)
    probs = grid(9, {(1, 4): POSITIVE, (2, 4): POSITIVE, (7, 8): NEGATIVE})
    aspects, opinions = [(1, 3), (7, 8)], [(4, 5), (8, 9)]
    probs[1, 8] = probs[2, 8] = [
        0.3,
        0.0,
        0.7,
        0.0,
    ]  # crust-rude: more likely linked than not, second to staff
    assert linked_pairs(probs, aspects, opinions) == [(0, 0, "positive", 1.0), (1, 1, "negative", 1.0)]
    assert (0, 1, "negative", 0.7) in linked_pairs(
        probs, aspects, opinions, best_floor=0.5, second=0.5
    )  # first rule
    probs[1, 8] = probs[2, 8] = [0.05, 0.0, 0.95, 0.0]
    assert (0, 1, "negative", 0.95) in linked_pairs(probs, aspects, opinions)  # a second aspect, sure enough
    unsure = grid(9, {})
    unsure[7, 4] = [0.7, 0.3, 0.0, 0.0]  # "great" leans to staff, but less than even
    assert linked_pairs(unsure, aspects, opinions) == []
    assert linked_pairs(unsure, aspects, opinions, best_floor=0.0) == [(1, 0, "positive", 0.3)]


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 3)), max_size=4), st.integers(0, 2**31 - 1))
def test_pairs_only_name_spans_that_were_found(spans, seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(4), size=(9, 9)).astype(np.float32)
    found = [(start, start + width) for start, width in spans]
    pairs = linked_pairs(probs, found, found[::-1])
    for a, o, sentiment, score in pairs:
        assert 0 <= a < len(found) and 0 <= o < len(found) and sentiment in SENTIMENTS and score >= FIRST_LINK
    for o in range(len(found)):  # one link at most below SECOND_LINK per opinion: its best aspect's
        assert sum(p[1] == o and p[3] < SECOND_LINK for p in pairs) <= 1
    first_rule = linked_pairs(probs, found, found[::-1], best_floor=0.5, second=0.5)
    assert set(pairs) <= set(first_rule)  # never a pair the first rule would not link
    assert {p for p in first_rule if p[3] > SECOND_LINK + 1e-4} <= set(pairs)  # and every sure one it links


def test_a_linked_aspect_says_what_its_strongest_pair_says_and_an_unlinked_one_its_own():
    # aspects food (1), staff (3), view (6); opinions great (4), rude (5)
    own = np.tile(np.array([[0.7, 0.2, 0.1]], np.float32), (7, 1))  # every word leans positive on its own
    probs = grid(7, {(1, 4): POSITIVE, (3, 5): NEGATIVE})
    probs[3, 4] = [0.05, 0.0, 0.0, 0.95]  # staff-great: linked too, but less surely than staff-rude
    probs[1, 4] = [0.0, 0.6, 0.3, 0.1]
    sentiments, pairs = decode_relations(own, probs, [(1, 2), (3, 4), (6, 7)], [(4, 5), (5, 6)])
    assert pairs == [(0, 0, "positive", 1.0), (1, 0, "neutral", 0.95), (1, 1, "negative", 1.0)]
    assert sentiments == [("positive", 0.6), ("negative", 1.0), ("positive", 0.7)]


def prediction(n_words, aspect_tags, opinion_tags, sentiments=None, pairs=None) -> SentencePrediction:
    def probs(tags):
        return np.eye(3, dtype=np.float32)[tags]

    return SentencePrediction(
        probs(aspect_tags), probs(opinion_tags), np.zeros((2, 2, n_words)), aspect_tags, opinion_tags,
        sentiments, pairs,
    )  # fmt: skip


TOKENS = ["the", "pizza", "was", "great", "but", "the", "waiter", "was", "painfully", "slow"]
ASPECTS, OPINIONS = [0, 1, 0, 0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0, 1, 2]


def test_spans_carry_sentiments_and_pairs_name_the_spans_they_link():
    sentiments = np.tile(np.array([[0.1, 0.8, 0.1]], np.float32), (10, 1))
    sentiments[1] = [0.9, 0.05, 0.05]
    pairs = grid(10, {(1, 3): POSITIVE})
    pairs[1, 3] = [0.0, 0.7, 0.2, 0.1]  # pizza-great: linked, positive given the link with 0.7
    doc = tokens_document(TOKENS)
    aspects, opinions, linked = window_terms(
        doc.text, doc.sentences[0], prediction(10, ASPECTS, OPINIONS, sentiments, pairs)
    )
    assert [(a.text, a.sentiment, a.sentiment_score) for a in aspects] == [
        ("pizza", "positive", 0.7),  # its pair's
        ("waiter", "negative", 0.8),  # no opinion linked to it ("painfully slow" leans nowhere): its own
    ]
    assert [o.sentiment for o in opinions] == [None, None]
    assert [(p.aspect.text, p.opinion.text, p.sentiment, p.score) for p in linked] == [
        ("pizza", "great", "positive", 1.0)
    ]
    assert linked[0].aspect is aspects[0] and linked[0].opinion is opinions[0]


def test_a_model_without_relation_heads_gives_plain_spans_and_no_pairs():
    doc = tokens_document(TOKENS)
    aspects, opinions, linked = window_terms(doc.text, doc.sentences[0], prediction(10, ASPECTS, OPINIONS))
    assert [a.sentiment for a in aspects] == [None, None] and linked == []


PIZZA = Span("pizza", 4, 9, 0.97, "positive", 0.9)
GREAT = Span("great", 14, 19, 0.95)
EXTRACTION = Extraction("The pizza was great", ("the", "pizza", "was", "great"), (PIZZA,), (GREAT,),
                        (Pair(PIZZA, GREAT, "positive", 0.88),))  # fmt: skip


def test_the_output_record_of_a_relation_model():
    fields = OutputFields(relations=True)
    out = output_record(Record("in.jsonl", 1, "r1", EXTRACTION.text), EXTRACTION, fields)
    assert columns(fields) == ["id", "error", "aspects", "opinions", "pairs"]
    assert list(out) == ["id", "aspects", "opinions", "pairs"]  # a good record has no error
    assert out["aspects"] == [
        {
            "text": "pizza",
            "start": 4,
            "end": 9,
            "score": 0.97,
            "sentiment": "positive",
            "sentiment_score": 0.9,
        }
    ]
    assert out["opinions"] == [{"text": "great", "start": 14, "end": 19, "score": 0.95}]
    assert out["pairs"] == [
        {
            "aspect": {"text": "pizza", "start": 4, "end": 9, "score": 0.97},
            "opinion": {"text": "great", "start": 14, "end": 19, "score": 0.95},
            "sentiment": "positive",
            "score": 0.88,
        }
    ]
    failed = output_record(Record("in.jsonl", 2, "r2", None, error="no text"), None, fields)
    assert failed["pairs"] == [] and failed["error"] == "no text"


def test_a_model_without_relation_heads_writes_the_record_it_always_wrote():
    plain = Extraction("The pizza", ("the", "pizza"), (Span("pizza", 4, 9, 0.97),), ())
    out = output_record(Record("in.jsonl", 1, "r1", plain.text), plain, OutputFields())
    assert out == {
        "id": "r1",
        "aspects": [{"text": "pizza", "start": 4, "end": 9, "score": 0.97}],
        "opinions": [],
    }


def test_csv_and_parquet_carry_sentiments_and_pairs(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    from coextract.corpus.writers import to_parquet

    fields = OutputFields(relations=True)
    record = output_record(Record("in.jsonl", 1, "r1", EXTRACTION.text), EXTRACTION, fields)
    source = tmp_path / "out.jsonl"
    source.write_text(json.dumps(record) + "\n")
    to_csv(source, tmp_path / "out.csv")
    header, row = (tmp_path / "out.csv").read_text().splitlines()
    assert header == "id,error,aspects,opinions,pairs"
    to_parquet(source, tmp_path / "out.parquet")
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema == parquet_schema(fields)
    assert table.to_pylist()[0]["pairs"] == record["pairs"]
    assert table.to_pylist()[0]["aspects"] == record["aspects"]


def test_relation_scores_count_absa_over_every_sentence_and_pairs_where_aste_annotates():
    sentiments = np.tile(np.array([[0.1, 0.8, 0.1]], np.float32), (10, 1))
    pairs = grid(10, {(1, 3): POSITIVE, (6, 8): NEGATIVE, (6, 9): NEGATIVE})
    pred = prediction(10, ASPECTS, OPINIONS, sentiments, pairs)
    # every word leans negative on its own; pizza is linked to "great", positive: its pair decides
    gold = Relations(((1, 2, "positive"), (6, 7, "negative")), (Triplet((1, 2), (3, 4), "positive"),))
    scores = relation_scores(
        [gold, Relations((), None)], [pred, prediction(2, [0, 0], [0, 0], sentiments[:2], pairs[:2, :2])]
    )
    assert (scores["absa"].n_gold, scores["absa"].n_pred, scores["absa"].n_correct) == (2, 2, 2)
    assert (scores["pair"].n_gold, scores["pair"].n_pred, scores["pair"].n_correct) == (1, 2, 1)
    assert scores["triplet"].n_correct == 1
    assert "pair" not in relation_scores(
        [Relations((), None)], [pred]
    )  # aste-v2 annotates none: no pair score


def test_a_triplet_needs_both_spans_and_the_sentiment():
    gold = [[Triplet((0, 1), (2, 3), "positive"), Triplet((4, 5), (6, 8), "negative")]]
    pred = [[((0, 1), (2, 3), "negative"), ((4, 5), (6, 8), "negative"), ((4, 5), (6, 7), "negative")]]
    scores = triplet_scores(gold, pred)
    assert (scores["pair"].n_pred, scores["pair"].n_correct) == (3, 2)
    assert (scores["triplet"].n_pred, scores["triplet"].n_correct) == (3, 1)


span = st.tuples(st.integers(0, 6), st.integers(1, 3)).map(lambda s: (s[0], s[0] + s[1]))
triplet = st.tuples(span, span, st.sampled_from(SENTIMENTS))


@given(st.lists(st.tuples(st.lists(triplet, max_size=4), st.lists(triplet, max_size=4)), max_size=6))
def test_triplet_scores_equal_gts_counting(sentences):
    # GTS (NJUNLP/GTS, code/BertModel/utils.py, Metric.score_uniontags) counts one global set of
    # "sentence-al-ar-pl-pr-sentiment" keys, spans with inclusive ends; P = |gold & pred| / |pred|.
    def keys(side, with_sentiment):
        found = set()
        for i, sentence in enumerate(sentences):
            for (a0, a1), (o0, o1), sentiment in sentence[side]:
                found.add(
                    "-".join(map(str, (i, a0, a1 - 1, o0, o1 - 1, *([sentiment] if with_sentiment else []))))
                )
        return found

    gold = [[Triplet(a, o, s) for a, o, s in g] for g, _ in sentences]
    scores = triplet_scores(gold, [p for _, p in sentences])
    for name, with_sentiment in (("pair", False), ("triplet", True)):
        g, p = keys(0, with_sentiment), keys(1, with_sentiment)
        precision = len(g & p) / len(p) if p else 0
        recall = len(g & p) / len(g) if g else 0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0
        assert scores[name].precision == pytest.approx(precision) and scores[name].recall == pytest.approx(
            recall
        )
        assert scores[name].f1 == pytest.approx(f1)
