"""The spaCy preprocessor: benchmark-style tokens, and offsets that always index the text."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coextract.runtime.documents import tokens_document, windows
from coextract.runtime.preprocess import MAX_RUN, documents, spacy_text
from tests.conftest import UNICODE_CASES


def model_words(text: str) -> list[str]:
    (doc,) = documents([text])
    return list(doc.tokens)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The bread is top notch as well.", "the bread is top notch as well"),  # final "." left out
        ("Did I mention that the coffee is OUTSTANDING?", "did i mention that the coffee is outstanding"),
        ("For those that go once and don't enjoy it", "for those that go once and do n't enjoy it"),
        ("Straight-forward, no surprises", "straight-forward , no surprises"),  # hyphen keeps the word
        ("The service is awful--the last time", "the service is awful -- the last time"),
        ('the "sales" team', "the sales '' team"),  # opening quote out, closing quote as ''
        ("i recommend the thai popcorn :)", "i recommend the thai popcorn SMILE"),
        ("Result (red velvet): Great texture", "result ( red velvet ) great texture"),
        ("Excellent lunch buffet for only $6.95.", "excellent lunch buffet for only 6.95"),
        ("get a 4GB stick of RAM, it doesnt hurt", "get a 4gb stick of ram , it doesnt hurt"),
        ("I cannot even imagine", "i can not even imagine"),
        ("my purchase:Build Quality", "my purchase build quality"),
    ],
)
def test_benchmark_conventions(text, expected):
    assert " ".join(model_words(text)) == expected


def test_sentences_are_split_and_offsets_point_into_the_text():
    text = "Great pizza!  The waiter was slow. Never again"
    (doc,) = documents([text])
    assert len(doc.sentences) == 3
    for sentence in doc.sentences:
        for token in sentence:
            assert text[token.start : token.end].lower() == token.text


def test_tokens_document_lays_tokens_out_with_spaces():
    doc = tokens_document(["battery", "life", "rocks"])
    assert doc.text == "battery life rocks"
    assert [(t.start, t.end) for t in doc.sentences[0]] == [(0, 7), (8, 12), (13, 18)]
    assert tokens_document([]).sentences == ()


def test_windows_cover_every_token_once():
    sentence = tokens_document([str(i) for i in range(250)]).sentences[0]
    pieces = list(windows(sentence, 100))
    assert [len(p) for p in pieces] == [100, 100, 50]
    assert [t for p in pieces for t in p] == list(sentence)


@settings(max_examples=200)
@given(st.text(max_size=300))
@example(UNICODE_CASES[0])
@example(UNICODE_CASES[1])
@example(UNICODE_CASES[2])
@example(UNICODE_CASES[3])
@example(UNICODE_CASES[4])
@example(UNICODE_CASES[5])
@example(UNICODE_CASES[6])
@example(UNICODE_CASES[7])
@example(UNICODE_CASES[8])
def test_any_unicode_text_gives_offsets_that_index_it(text):
    (doc,) = documents([text])
    previous_end = 0
    for sentence in doc.sentences:
        assert sentence
        for token in sentence:
            assert 0 <= previous_end <= token.start < token.end <= len(text)
            assert token.text
            previous_end = token.end


def test_pipeline_is_rebuilt_when_its_vocabulary_grows_and_tokens_stay_the_same(monkeypatch):
    from coextract.runtime import preprocess as text

    reviews = ["The pizza was great, but the waiter was painfully slow!", "Battery life: 4gb... doesnt last."]
    before = list(documents(reviews))
    pipeline = text.preprocessor()
    monkeypatch.setattr(text, "MAX_VOCABULARY", len(pipeline.vocab.strings) - 1)
    after = list(documents(reviews))
    assert text.preprocessor() is not pipeline  # a fresh pipeline, with a fresh vocabulary
    assert after == before


@given(st.text(alphabet=st.sampled_from("a😀!:)., \n"), max_size=600))
@example("😀" * 300)
@example(":)" * 100 + " great " + "!" * 70)
def test_spacy_never_reads_a_long_whitespace_free_run_and_offsets_survive(text):
    spaced, added = spacy_text(text)
    assert max((len(run) for run in spaced.split()), default=0) <= MAX_RUN  # linear time in spaCy's tokenizer
    assert len(spaced) == len(text) + len(added) and all(spaced[i] == " " for i in added)
    (doc,) = documents([text])
    for token in (token for sentence in doc.sentences for token in sentence):
        if token.text not in ("SMILE", "''"):
            assert text[token.start : token.end].lower() == token.text


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["😀", "!", ":)"])
def test_100000_characters_without_a_space_are_tagged(unit):
    # Each took minutes (quadratic in spaCy's tokenizer) before long runs were cut for it.
    import coextract

    text = unit * (100_000 // len(unit))
    result = coextract.load("restaurant")(text)
    assert len(result.tokens) == len(text) // len(unit)
    assert all(text[s.start : s.end] == s.text for s in (*result.aspects, *result.opinions))
