"""The spaCy component, used the way spaCy users use it."""

import spacy


def test_add_pipe_by_name_fills_doc_spans(tiny_model_dir):
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": str(tiny_model_dir)})  # found through the entry point
    text = "The pizza was great but the waiter was painfully slow."
    doc = nlp(text)
    for key in ("aspects", "opinions"):
        group = doc.spans[key]
        assert len(group.attrs["scores"]) == len(group)
        for span in group:
            assert text[span.start_char : span.end_char] == span.text
    assert "great" in [span.text for span in doc.spans["opinions"]]


def test_pipe_with_processes_matches_one_by_one(tiny_model_dir):
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": str(tiny_model_dir), "aspects_key": "terms"})
    texts = ["Great sushi, rude staff.", "The battery life is amazing!", "", "meh"] * 3
    together = list(nlp.pipe(texts, batch_size=4, n_process=2))
    alone = [nlp(text) for text in texts]
    assert [[s.text for s in d.spans["terms"]] for d in together] == [
        [s.text for s in d.spans["terms"]] for d in alone
    ]


def test_spans_align_to_another_tokenizer(tiny_model_dir):
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": str(tiny_model_dir)})
    doc = nlp("the pizza-place was great")  # spaCy splits "pizza-place"; coextract does not
    for span in (*doc.spans["aspects"], *doc.spans["opinions"]):
        assert span.start_char < span.end_char
