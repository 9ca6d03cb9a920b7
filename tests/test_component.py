"""The spaCy component, used the way spaCy users use it, on the bundled restaurant model."""

import pytest
import spacy

from coextract.runtime.component import CoextractComponent


def spans(doc, key):
    return [(span.text, span.start_char, span.end_char) for span in doc.spans[key]]


def test_add_pipe_by_name_fills_doc_spans():
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": "restaurant"})  # found through the entry point
    doc = nlp("The pizza was great but the waiter was painfully slow.")
    assert spans(doc, "aspects") == [("pizza", 4, 9), ("waiter", 28, 34)]
    assert spans(doc, "opinions") == [("great", 14, 19), ("slow", 49, 53)]
    for key in ("aspects", "opinions"):
        scores = doc.spans[key].attrs["scores"]
        assert len(scores) == len(doc.spans[key]) and all(0.9 < score <= 1 for score in scores)


def test_pipe_with_processes_matches_one_by_one(bundled_model_dir):
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": str(bundled_model_dir), "aspects_key": "terms"})
    texts = ["Great sushi, rude staff.", "The battery life is amazing!", "", "meh"] * 3
    together = list(nlp.pipe(texts, batch_size=4, n_process=2))
    alone = [nlp(text) for text in texts]
    assert [spans(d, "terms") for d in together] == [spans(d, "terms") for d in alone]
    assert spans(alone[0], "terms") == [("sushi", 6, 11), ("staff", 18, 23)]
    assert spans(alone[0], "opinions") == [("Great", 0, 5), ("rude", 13, 17)]


def test_spans_align_to_another_tokenizer():
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": "restaurant"})
    doc = nlp("the pizza-place was great")  # spaCy splits "pizza-place"; coextract does not
    assert [token.text for token in doc[1:4]] == ["pizza", "-", "place"]
    assert spans(doc, "aspects") == [("pizza-place", 4, 15)]
    assert spans(doc, "opinions") == [("great", 20, 25)]


def test_the_component_takes_keyword_arguments_only():
    with pytest.raises(TypeError):
        CoextractComponent("coextract", "restaurant")  # noqa: the positional form spaCy components refuse
    assert CoextractComponent(model="laptop").tagger.meta["dataset"] == "lap14"
