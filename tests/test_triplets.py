"""Aspect sentiments and aspect-opinion triplets: the readers, their alignment, and the metrics
(RACL's ABSA F1 checked against a token-level reimplementation of its `evaluation.py`)."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coextract.errors import CoextractError
from coextract.evaluation.benchmark import read_dataset, read_split
from coextract.evaluation.metrics import absa_scores, span_scores
from coextract.evaluation.triplets import (
    Triplet,
    align_triplets,
    aspect_sentiments,
    letters,
    read_relations,
    read_triplets,
    review_key,
)
from coextract.runtime.decoding import tags_to_spans

ASTE = {"14res": "res14", "14lap": "lap14", "15res": "res15"}
TEST_SIZES = {"14res": (492, 994), "14lap": (328, 543), "15res": (322, 485)}  # the data README's table
IN_ABSA_TEST = {"14res": 485, "14lap": 324, "15res": 319}  # and the test sentences it finds in absa/ test


@pytest.mark.parametrize("aste", ASTE)
def test_aste_v2_test_files_read_whole(aste, data_dir):
    examples = read_triplets(data_dir.parent / "aste-v2" / aste / "test_triplets.txt")
    assert (len(examples), sum(len(e.triplets) for e in examples)) == TEST_SIZES[aste]
    first = read_triplets(data_dir.parent / "aste-v2" / "14res" / "test_triplets.txt")[0]
    assert first.tokens[:3] == ("The", "bread", "is")
    assert first.triplets == (Triplet((1, 2), (3, 5), "positive"),)  # ([1], [3, 4], 'POS')


@pytest.mark.parametrize(
    "line, message",
    [
        ("Good food .####[([1], [0, 2], 'POS')]", r"\[0, 2\] are not a run"),
        ("Good food .####[([1], [7], 'POS')]", "not a run of the sentence's 3 tokens"),
        ("Good food .####[([1], [0], 'GREAT')]", "GREAT"),
        ("Good food .", "not an aste-v2 triplet line"),
    ],
)
def test_a_bad_triplet_line_names_its_line(line, message, tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(f"Nice .####[([0], [0], 'POS')]\n{line}\n")
    with pytest.raises(CoextractError, match=rf"t\.txt:2: .*{message}"):
        read_triplets(path)


def test_every_absa_test_aspect_has_its_sentiment(data_dir):
    examples = read_dataset(data_dir, "res14")["test"]
    path = data_dir / "res14" / "test" / "target_polarity.txt"
    sentiments = aspect_sentiments([e.aspect_tags for e in examples], path)
    labels = [label for sentence in sentiments for _, _, label in sentence]
    assert len(labels) == 1134 and set(labels) == {"positive", "negative", "neutral", "conflict"}
    assert [(s, e) for s, e, _ in sentiments[0]] == tags_to_spans(examples[0].aspect_tags)


@pytest.mark.parametrize("aste", ASTE)
def test_aste_v2_test_triplets_move_onto_absa_test_tokens(aste, data_dir):
    absa = {review_key(e.tokens): e.tokens for e in read_dataset(data_dir, ASTE[aste])["test"]}
    examples = read_triplets(data_dir.parent / "aste-v2" / aste / "test_triplets.txt")
    found = [e for e in examples if review_key(e.tokens) in absa]
    assert len(found) == IN_ABSA_TEST[aste]
    moved = lost = 0
    for example in found:
        tokens = absa[review_key(example.tokens)]
        triplets, n_lost = align_triplets(example, tokens)
        moved, lost = moved + len(triplets), lost + n_lost
        assert said(tokens, triplets) <= said(example.tokens, example.triplets)  # the same words, moved
    assert lost <= 0.01 * (moved + lost)


def said(tokens, triplets) -> Counter:
    """What each triplet says, in letters: (aspect, opinion, sentiment)."""
    text = lambda span: letters("".join(tokens[span[0] : span[1]]))  # noqa: E731
    return Counter((text(t.aspect), text(t.opinion), t.sentiment) for t in triplets)


def test_a_span_that_ends_inside_a_token_of_the_other_tokenization_is_reported(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("The hot dog was great .####[([1], [4], 'POS'), ([1, 2], [4], 'POS')]\n")
    (example,) = read_triplets(path)
    triplets, lost = align_triplets(example, ["the", "hotdog", "was", "great"])
    assert triplets == (Triplet((1, 2), (3, 4), "positive"),) and lost == 1  # "hot" alone is half a token
    with pytest.raises(ValueError, match="not the same review"):
        align_triplets(example, ["another", "review"])


def test_pairs_and_triplets_count_when_both_spans_and_the_sentiment_match():
    gold = [[((1, 2), (3, 4), "positive"), ((5, 6), (7, 8), "negative")]]
    pred = [[((1, 2), (3, 4), "positive"), ((5, 6), (7, 8), "positive"), ((5, 6), (9, 10), "negative")]]
    pairs = span_scores([[t[:2] for t in s] for s in gold], [[t[:2] for t in s] for s in pred])
    triplets = span_scores(gold, pred)
    assert (pairs.n_gold, pairs.n_pred, pairs.n_correct) == (2, 3, 2)
    assert (triplets.n_gold, triplets.n_pred, triplets.n_correct) == (2, 3, 1)


def test_absa_f1_leaves_conflict_aspects_out():
    gold = [[(0, 1, "positive"), (2, 4, "conflict"), (5, 6, "negative")]]
    pred = [[(0, 1, "positive"), (2, 4, "negative"), (5, 6, "positive"), (7, 8, "neutral")]]
    score = absa_scores(gold, pred)
    assert (score.n_gold, score.n_pred, score.n_correct) == (2, 3, 1)  # the conflict span counts nowhere


# An independent reimplementation of RACL's (IMN's) token-level scoring: B = 1, I = 2; gold
# sentiment codes 1-3 at each aspect token, 0 for conflict; predicted codes 1-3 at every token.
CODES = {"positive": 1, "negative": 2, "neutral": 3, "conflict": 0}


def racl_counts(true_tags, pred_tags, true_codes, pred_codes) -> tuple[int, int, int]:
    correct = predicted = total = predicted_conflict = 0
    for t, p, tc, pc in zip(true_tags, pred_tags, true_codes, pred_codes, strict=True):
        predicted += sum(tag == 1 for tag in p)
        for k in range(len(t)):
            if t[k] != 1:
                continue
            total += tc[k] != 0
            run_t = next((j for j in range(k + 1, len(t)) if t[j] != 2), len(t))
            run_p = next((j for j in range(k + 1, len(p)) if p[j] != 2), len(p))
            if p[k] == 1 and run_t == run_p:
                if tc[k] == 0:
                    predicted_conflict += 1
                else:
                    correct += tc[k] == pc[k]
    return total, predicted - predicted_conflict, correct


def bio_tags(draw, n: int) -> list[int]:
    tags = []
    for _ in range(n):
        tags.append(draw(st.sampled_from([0, 1, 2] if tags and tags[-1] != 0 else [0, 1])))
    return tags


@st.composite
def sentences(draw):
    n = draw(st.integers(1, 12))
    true_tags, pred_tags = bio_tags(draw, n), bio_tags(draw, n)
    labels = {s: draw(st.sampled_from(list(CODES))) for s in tags_to_spans(true_tags)}
    true_codes = [0] * n
    for (start, end), label in labels.items():
        true_codes[start:end] = [CODES[label]] * (end - start)
    pred_codes = [draw(st.integers(1, 3)) for _ in range(n)]
    return true_tags, pred_tags, true_codes, pred_codes, labels


@given(st.lists(sentences(), min_size=1, max_size=6))
def test_absa_f1_equals_racls_token_level_scoring(batch):
    names = {code: name for name, code in CODES.items() if code}
    gold = [[(s, e, label) for (s, e), label in labels.items()] for *_, labels in batch]
    pred = [[(s, e, names[pc[s]]) for s, e in tags_to_spans(pt)] for _, pt, _, pc, _ in batch]
    ours = absa_scores(gold, pred)
    total, predicted, correct = racl_counts(*([sentence[i] for sentence in batch] for i in range(4)))
    assert (ours.n_gold, ours.n_pred, ours.n_correct) == (total, predicted, correct)


def test_relations_line_up_with_the_absa_sentences(data_dir):
    examples = read_dataset(data_dir, "res14")
    relations = read_relations(data_dir, "res14", examples)
    assert {split: len(r) for split, r in relations.items()} == {s: len(e) for s, e in examples.items()}
    test = relations["test"]
    assert sum(r.triplets is not None for r in test) == IN_ABSA_TEST["14res"]
    assert sum(len(r.aspect_sentiments) for r in test) == 1134
    assert 980 <= sum(len(r.triplets) for r in test if r.triplets) <= 994
    trained = sum(r.triplets is not None for split in ("train", "dev") for r in relations[split])
    assert 1500 <= trained <= 1266 + 310  # aste-v2 train and dev, found in absa/ train and dev


def write_split(folder, sentence: str, polarity: str) -> None:
    folder.mkdir(parents=True)
    n = len(sentence.split())
    (folder / "sentence.txt").write_text(sentence + "\n")
    (folder / "target.txt").write_text(" ".join(["0"] * (n - 1) + ["1"]) + "\n")
    (folder / "opinion.txt").write_text(" ".join(["1"] + ["0"] * (n - 1)) + "\n")
    (folder / "target_polarity.txt").write_text(" ".join(["0"] * (n - 1) + [polarity]) + "\n")


def test_no_test_pair_reaches_a_training_sentence(tmp_path):
    # The same review in every split of both sets: absa/ train and dev read aste-v2 train, test reads test.
    for split in ("train", "dev", "test"):
        write_split(tmp_path / "absa" / "res14" / split, "great food", "1")
    aste = tmp_path / "aste-v2" / "14res"
    aste.mkdir(parents=True)
    for split, sentiment in (("train", "POS"), ("dev", "POS"), ("test", "NEG")):
        (aste / f"{split}_triplets.txt").write_text(f"Great food .####[([1], [0], '{sentiment}')]\n")
    examples = {split: read_split(tmp_path / "absa" / "res14" / split) for split in ("train", "dev", "test")}
    relations = read_relations(tmp_path / "absa", "res14", examples)
    said = {split: r[0].triplets[0].sentiment for split, r in relations.items()}
    assert said == {"train": "positive", "dev": "positive", "test": "negative"}
    assert relations["test"][0].aspect_sentiments == ((1, 2, "positive"),)
