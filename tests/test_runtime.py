"""The torch-free runtime, on the bundled restaurant model: spans, scores, and no torch import."""

import json
import multiprocessing
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from coextract.errors import CoextractError
from coextract.evaluation.benchmark import read_dataset
from coextract.runtime.model_names import resolve_model
from coextract.runtime.predict import length_sorted_batches
from coextract.runtime.spans import Extraction, term_spans
from coextract.runtime.tagger import load
from tests.conftest import UNICODE_CASES


def test_span_scores_are_mean_decoded_tag_probabilities():
    import numpy as np

    probs = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.7, 0.1, 0.2]])
    # tags: O B I O -> one term (1, 3) scored by mean(P(B) at 1, P(I) at 2) = 0.7
    assert term_spans(probs, [0, 1, 2, 0]) == [(1, 3, pytest.approx(0.7))]


def test_batches_group_by_length_and_cap_sentences_padded_tokens_and_padding():
    # batch_size 4 allows 4 * 32 = 128 padded tokens: three 40-token sentences, one of 100
    lengths = [5, 100, 3, 40, 40, 40, 7]
    assert list(length_sorted_batches(lengths, batch_size=4, pad_ratio=100)) == [[2, 0, 6], [3, 4, 5], [1]]
    # and at most 1.25 x the shortest + 2 words: 3 and 5 together, 7 starts a batch
    assert list(length_sorted_batches(lengths, batch_size=4)) == [[2, 0], [6], [3, 4, 5], [1]]
    assert list(length_sorted_batches([10, 14, 15, 18], batch_size=8)) == [[0, 1], [2, 3]]
    assert list(length_sorted_batches([2] * 5, batch_size=2)) == [[0, 1], [2, 3], [4]]
    assert list(length_sorted_batches([200], batch_size=1)) == [[0]]  # too long alone still runs


def test_a_forked_child_can_tag_with_a_tagger_its_parent_used(bundled_model_dir):
    global _inherited
    _inherited = load(bundled_model_dir, threads=2)
    sentences = [["the", "pizza", "was", "great"], ["slow", "service"], ["nice", "staff", "here"]]
    expected = _aspect_tags(sentences)  # starts the parent's threads
    with multiprocessing.get_context("fork").Pool(1) as pool:  # the child inherits the tagger
        result = pool.apply_async(_aspect_tags, (sentences,))
        assert result.get(timeout=60) == expected  # a child reusing the parent's threads would hang


_inherited = None


def _aspect_tags(sentences):
    return [p.aspect_tags for p in _inherited.predict(sentences)]


def test_spans_index_back_into_the_text(bundled_model_dir):
    tagger = load(bundled_model_dir)
    results = list(tagger.pipe([["the", "pizza", "was", "great"], ["service", "is", "slow", "!"]]))
    assert [r.text for r in results] == ["the pizza was great", "service is slow !"]
    assert [[(s.text, s.start, s.end) for s in r.aspects] for r in results] == [
        [("pizza", 4, 9)],
        [("service", 0, 7)],
    ]
    assert [[(s.text, s.start, s.end) for s in r.opinions] for r in results] == [
        [("great", 14, 19)],
        [("slow", 11, 15)],
    ]
    assert all(0.9 < span.score <= 1 for r in results for span in (*r.aspects, *r.opinions))


def test_empty_input_gives_empty_spans(bundled_model_dir):
    assert load(bundled_model_dir)([]) == Extraction("", (), (), ())


def test_bad_tokens_and_unknown_models_are_clear_errors(bundled_model_dir):
    with pytest.raises(ValueError, match="must be non-empty and not blank"):
        load(bundled_model_dir)(["a", ""])
    with pytest.raises(TypeError, match="list of token strings; it holds a int"):
        load(bundled_model_dir)(["a", 3])
    with pytest.raises(CoextractError, match="no model 'nope'"):
        resolve_model("nope")


def test_raw_text_spans_index_the_original_text(bundled_model_dir):
    text = "The PIZZA was great!!  But the waiter -- painfully slow :( Never again."
    result = load(bundled_model_dir)(text)
    assert result.text == text and "pizza" in result.tokens and "." not in result.tokens
    assert [(s.text, s.start, s.end) for s in result.aspects] == [("PIZZA", 4, 9), ("waiter", 31, 37)]
    assert [(s.text, s.start, s.end) for s in result.opinions] == [("great", 14, 19), ("slow", 51, 55)]
    for span in (*result.aspects, *result.opinions):
        assert text[span.start : span.end] == span.text


def test_a_sentence_longer_than_a_window_is_tagged_not_dropped(bundled_model_dir):
    words = ["the", "food", "was", "great", "and"] * 60  # 300 tokens, one sentence
    result = load(bundled_model_dir)(" ".join(words))
    assert len(result.tokens) == 300
    assert max(s.end for s in result.opinions) > 1200  # found in the last window too


@pytest.mark.slow  # runs the real command or many inputs: seconds, kept out of the quick loop
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=120), max_size=4))
@example(UNICODE_CASES)
def test_any_unicode_never_crashes_the_tagger(bundled_model_dir, texts):
    tagger = load(bundled_model_dir)
    for text, result in zip(texts, tagger.pipe(texts), strict=True):
        assert result.text == text
        for span in (*result.aspects, *result.opinions):
            assert text[span.start : span.end] == span.text and 0 <= span.score <= 1


def test_runtime_runs_with_torch_hidden(bundled_model_dir):
    code = textwrap.dedent(
        f"""
        import sys
        class NoTorch:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch is hidden in this test")
        sys.meta_path.insert(0, NoTorch())
        import coextract
        tagger = coextract.load({str(bundled_model_dir)!r})
        print(tagger(["the", "pizza", "was", "great"]).text)
        assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "the pizza was great"


@pytest.mark.slow
def test_a_one_megabyte_review_is_tagged(bundled_model_dir):
    text = "The food was great but the service was slow. " * 25_000  # 1.1 MB, 25,000 sentences
    result = load(bundled_model_dir)(text)
    assert len(text) > 1_000_000 and len(result.tokens) == 25_000 * 9
    assert all(text[s.start : s.end] == s.text for s in result.opinions)
    assert result.opinions and result.opinions[-1].end > 1_000_000


@pytest.mark.parametrize("threads", [1, 3])  # 3: a batch's rows run as three parts at once
def test_results_do_not_depend_on_batching(bundled_model_dir, data_dir, threads):
    tagger = load(bundled_model_dir, threads=threads)
    sentences = [e.tokens for e in read_dataset(data_dir, "res14")["dev"][:60]]
    batched = list(tagger.pipe(sentences, batch_size=32))
    one_by_one = [tagger(s) for s in sentences]
    spans = [[(s.text, s.start, s.end) for s in (*r.aspects, *r.opinions)] for r in batched]
    assert spans == [[(s.text, s.start, s.end) for s in (*r.aspects, *r.opinions)] for r in one_by_one]
    scores = [s.score for r in batched for s in (*r.aspects, *r.opinions)]
    assert scores == pytest.approx([s.score for r in one_by_one for s in (*r.aspects, *r.opinions)], abs=1e-4)
    probs_batched = tagger.predict(sentences, batch_size=60)
    probs_single = [tagger.predict([s])[0] for s in sentences]
    for a, b in zip(probs_batched, probs_single, strict=True):
        assert np.allclose(a.aspect_probs, b.aspect_probs, atol=1e-5)


def edit_meta(folder, **changes):
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, **changes}))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "meta.json").unlink(), "meta.json: missing"),
        (lambda d: (d / "meta.json").write_text("{"), "not valid JSON"),
        (
            lambda d: (d / "model.onnx").write_bytes((d / "model.onnx").read_bytes()[:5000]),
            "model.onnx does not belong with .*meta.json",
        ),
        (lambda d: (d / "model.onnx").write_text("hello"), "model.onnx does not belong with"),
        (lambda d: (d / "model.onnx").unlink(), "model.onnx: cannot be loaded"),
        (lambda d: shutil.copy(resolve_model("laptop") / "model.onnx", d), "model.onnx does not belong with"),
        (lambda d: shutil.copy(resolve_model("laptop") / "meta.json", d), "model.onnx does not belong with"),
        (lambda d: edit_meta(d, n_buckets=1 << 14), "n_buckets 32768 in the graph, 16384 in meta.json"),
        (lambda d: edit_meta(d, files_sha256={}), "records no sha256 of model.onnx"),
        (
            lambda d: (d / "meta.json").write_text(
                (d / "meta.json").read_text().replace('"<unk>"', '"<UNK>"')
            ),
            "vocabulary does not match its sha256",
        ),
    ],
)
def test_damaged_model_folders_give_clear_errors(bundled_model_dir, tmp_path, damage, message):
    broken = tmp_path / "broken"
    shutil.copytree(bundled_model_dir, broken)
    damage(broken)
    with pytest.raises(CoextractError, match=message) as info:
        load(broken)
    assert str(broken) in str(info.value)


def test_a_model_tags_only_with_its_own_files(bundled_model_dir, tmp_path):
    # lap14's meta.json with res14's model.onnx used to tag silently with the wrong model
    mixed = shutil.copytree(bundled_model_dir, tmp_path / "mixed")
    shutil.copy(resolve_model("laptop") / "meta.json", mixed)
    with pytest.raises(CoextractError, match="does not belong with"):
        load(mixed)
    with pytest.raises(CoextractError, match="no int8 model ships here"):
        load("restaurant", quantized=True)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda t: t(None), TypeError, "raw text .str. or a list of token strings, not NoneType"),
        (lambda t: t(123), TypeError, "not int"),
        (lambda t: t(b"Great pizza"), TypeError, "not bytes: decode it first"),
        (lambda t: t({"text": "Great pizza"}), TypeError, "not dict"),
        (lambda t: t.pipe("a string"), TypeError, "pipe takes an iterable of reviews"),
        (lambda t: t.pipe(["Great pizza"], batch_size=0), ValueError, "batch_size must be 1 or more, got 0"),
        (
            lambda t: t.pipe(["Great pizza"], batch_size=-1),
            ValueError,
            "batch_size must be 1 or more, got -1",
        ),
        (lambda t: load(None), TypeError, "load takes a bundled model name or a model folder, not None"),
        (lambda t: load(123), TypeError, "not 123"),
        (lambda t: load(""), TypeError, "not ''"),
        (lambda t: load("restaurant", threads=-2), ValueError, "threads must be 1 or more, got -2"),
        (lambda t: load("restaurant", quantized=True), CoextractError, "no int8 model ships here"),
    ],
)
def test_api_misuse_is_a_clear_error_never_silent(call, error, message):
    with pytest.raises(error, match=message):
        call(load("restaurant"))


WORDS = [
    "the",
    "pizza",
    "was",
    "great",
    "but",
    "waiter",
    "rude",
    "battery",
    "life",
    "is",
    "slow",
    "service",
    ".",
]
TAGGER = None


def restaurant():
    global TAGGER
    TAGGER = TAGGER or load("restaurant")
    return TAGGER


@settings(max_examples=25)
@given(
    st.lists(st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join), min_size=1, max_size=12),
    st.integers(1, 8),
)
def test_batching_changes_no_span_and_a_score_by_at_most_its_last_digit(texts, batch_size):
    # Rounding to 4 decimals cannot make scores batch-independent: a batch sums floats in
    # another order, so a score on a rounding edge may move by 0.0001 (README says so).
    batched = list(restaurant().pipe(texts, batch_size=batch_size))
    alone = [restaurant()(text) for text in texts]
    for a, b in zip(batched, alone, strict=True):
        assert [(s.start, s.end) for s in a.aspects] == [(s.start, s.end) for s in b.aspects]
        assert [(s.start, s.end) for s in a.opinions] == [(s.start, s.end) for s in b.opinions]
        for x, y in zip((*a.aspects, *a.opinions), (*b.aspects, *b.opinions), strict=True):
            assert abs(x.score - y.score) <= 1.0001e-4
