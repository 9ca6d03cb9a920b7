"""Sentiments and pairs on spaCy docs: extensions, displaCy arcs, nlp.evaluate scores, saved pipelines."""

import spacy
from spacy.tokens import DocBin
from spacy.training import Example

from coextract.runtime.spacy_relations import (
    register_extensions,
    relation_scores,
    render_pairs,
    set_relations,
)
from coextract.runtime.spans import Extraction, Pair, Span

TEXT = "The pizza was great but the waiter was painfully slow."
PIZZA, WAITER = Span("pizza", 4, 9, 0.99, "positive", 0.9), Span("waiter", 28, 34, 0.98, "negative", 0.8)
GREAT, SLOW = Span("great", 14, 19, 0.97), Span("painfully slow", 39, 53, 0.9)
EXTRACTION = Extraction(TEXT, (), (PIZZA, WAITER), (GREAT, SLOW),
                        (Pair(PIZZA, GREAT, "positive", 0.95), Pair(WAITER, SLOW, "negative", 0.85)))  # fmt: skip


def annotated(nlp, extraction=EXTRACTION):
    register_extensions()
    doc = nlp(extraction.text)
    doc.spans["aspects"] = [doc.char_span(s.start, s.end, label="ASPECT") for s in extraction.aspects]
    doc.spans["opinions"] = [doc.char_span(s.start, s.end, label="OPINION") for s in extraction.opinions]
    set_relations(doc, extraction)
    return doc


def test_aspects_carry_their_sentiment_and_pairs_are_spans_of_the_doc():
    doc = annotated(spacy.blank("en"))
    assert [(s.text, s._.sentiment, s._.sentiment_score) for s in doc.spans["aspects"]] == [
        ("pizza", "positive", 0.9),
        ("waiter", "negative", 0.8),
    ]
    assert [s._.sentiment for s in doc.spans["opinions"]] == [None, None]
    assert [(a.text, o.text, sentiment, score) for a, o, sentiment, score in doc._.pairs] == [
        ("pizza", "great", "positive", 0.95),
        ("waiter", "painfully slow", "negative", 0.85),
    ]
    aspect, group = doc._.pairs[1][0], doc.spans["aspects"][1]
    assert (aspect.start, aspect.end) == (group.start, group.end)  # the same tokens as the span group's


def test_a_docbin_keeps_sentiments_and_pairs():
    nlp = spacy.blank("en")
    stored = DocBin(store_user_data=True, docs=[annotated(nlp)]).to_bytes()
    doc = next(DocBin().from_bytes(stored).get_docs(nlp.vocab))
    assert [s._.sentiment for s in doc.spans["aspects"]] == ["positive", "negative"]
    assert [(a.text, o.text) for a, o, _, _ in doc._.pairs] == [
        ("pizza", "great"),
        ("waiter", "painfully slow"),
    ]


def test_displacy_draws_an_arc_from_each_opinion_to_its_aspect_and_escapes_the_text():
    hostile = Extraction("<script>x</script> pizza great", (), (Span("pizza", 19, 24, 1.0, "positive", 1.0),),
                         (Span("great", 25, 30, 1.0),), ())  # fmt: skip
    hostile = Extraction(hostile.text, (), hostile.aspects, hostile.opinions,
                         (Pair(hostile.aspects[0], hostile.opinions[0], "positive", 1.0),))  # fmt: skip
    html = render_pairs(annotated(spacy.blank("en"), hostile))
    assert html.count("displacy-arc") == 1 and ">positive<" in html
    assert "<script" not in html and "x&lt;/script" in html  # the review's markup shows as text
    svg = render_pairs(annotated(spacy.blank("en")))
    assert svg.count("displacy-arc") == 2 and ">negative<" in svg


def test_nlp_evaluate_scores_sentiments_and_pairs_against_gold_docs():
    nlp = spacy.blank("en")
    gold = annotated(nlp)
    wrong_sentiment = Span("waiter", 28, 34, 0.98, "neutral", 0.6)
    predicted = annotated(nlp, Extraction(TEXT, (), (PIZZA, wrong_sentiment), (GREAT, SLOW),
                                          (Pair(PIZZA, SLOW, "positive", 0.6), Pair(wrong_sentiment, SLOW, "negative", 0.85))))  # fmt: skip
    scores = relation_scores([Example(predicted, gold)], "aspects")
    assert scores["aspect_sentiment_p"] == scores["aspect_sentiment_r"] == 0.5
    assert scores["pairs_p"] == scores["pairs_r"] == 0.5
    assert scores["triplets_f"] == 0.5
    plain = nlp(TEXT)  # gold without sentiments or pairs: no such scores
    plain.spans["aspects"] = []
    assert relation_scores([Example(predicted, plain)], "aspects") == {}
