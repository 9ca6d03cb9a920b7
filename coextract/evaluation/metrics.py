"""Exact-match span precision, recall and F1, micro over a whole split.

A predicted term counts only if its (sentence, start, end) equals a gold term's.
Counts are summed over all sentences before dividing (micro), never averaged per
sentence, as in every paper this project compares with. The same matching scores
aspect-opinion pairs and triplets (`span_scores` over (aspect, opinion[,
sentiment]) tuples, as ASTE papers do), and `absa_scores` gives RACL's and IMN's
end-to-end "ABSA F1" of aspects with their sentiment.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

from coextract.evaluation.triplets import Relations, Triplet
from coextract.runtime.decoding import tags_to_spans
from coextract.runtime.predict import SentencePrediction
from coextract.runtime.relations import decode_relations


@dataclass(frozen=True)
class SpanScore:
    """Precision, recall and F1 (fractions in [0, 1]) with the counts behind them."""

    precision: float
    recall: float
    f1: float
    n_gold: int
    n_pred: int
    n_correct: int

    @classmethod
    def of(cls, n_gold: int, n_pred: int, n_correct: int) -> "SpanScore":
        precision = n_correct / n_pred if n_pred else 0.0
        recall = n_correct / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if n_correct else 0.0
        return cls(precision, recall, f1, n_gold, n_pred, n_correct)

    def to_dict(self) -> dict:
        return asdict(self)


def span_scores(
    gold: Iterable[Sequence[tuple[int, int]]], pred: Iterable[Sequence[tuple[int, int]]]
) -> SpanScore:
    """Score predicted spans against gold spans, sentence by sentence.

    `gold` and `pred` hold one list of (start, end) spans per sentence, in the
    same order. A span predicted twice in one sentence counts once.
    """
    n_gold = n_pred = n_correct = 0
    for gold_spans, pred_spans in zip(gold, pred, strict=True):
        gold_set, pred_set = set(map(tuple, gold_spans)), set(map(tuple, pred_spans))
        n_gold += len(gold_set)
        n_pred += len(pred_set)
        n_correct += len(gold_set & pred_set)
    return SpanScore.of(n_gold, n_pred, n_correct)


def absa_scores(
    gold: Iterable[Sequence[tuple[int, int, str]]], pred: Iterable[Sequence[tuple[int, int, str]]]
) -> SpanScore:
    """RACL's and IMN's ABSA F1: an aspect counts when its span and its sentiment are right.

    `gold` holds (start, end, sentiment) per sentence, a sentiment being positive, negative,
    neutral or conflict; `pred` the same without conflict. Conflict aspects are left out of the
    gold count, and a prediction of a conflict aspect's span is not counted against precision
    (`evaluation.py` of NLPWM-WHU/RACL, adopted from IMN; checked against a token-level
    reimplementation of it in tests/test_triplets.py).
    """
    n_gold = n_pred = n_correct = 0
    for gold_terms, pred_terms in zip(gold, pred, strict=True):
        sentiment = {(start, end): label for start, end, label in gold_terms}
        predicted = {(start, end): label for start, end, label in pred_terms}
        n_gold += sum(label != "conflict" for label in sentiment.values())
        n_pred += sum(sentiment.get(span) != "conflict" for span in predicted)
        n_correct += sum(sentiment.get(span) == label for span, label in predicted.items())
    return SpanScore.of(n_gold, n_pred, n_correct)


def score_predictions(examples, predictions) -> dict[str, SpanScore]:
    """Aspect and opinion span scores of `predictions` against gold `examples`.

    `examples` are `data.Example`s and `predictions` the matching
    `predict.SentencePrediction`s; both sides are decoded with `tags_to_spans`.
    """
    examples, predictions = list(examples), list(predictions)
    return {
        "aspect": span_scores(
            (tags_to_spans(e.aspect_tags) for e in examples),
            (tags_to_spans(p.aspect_tags) for p in predictions),
        ),
        "opinion": span_scores(
            (tags_to_spans(e.opinion_tags) for e in examples),
            (tags_to_spans(p.opinion_tags) for p in predictions),
        ),
    }


def predicted_relations(prediction: SentencePrediction) -> tuple[list[tuple], list[tuple]]:
    """A prediction's aspects as (start, end, sentiment) and its pairs as (aspect, opinion, sentiment),
    decoded as the runtime decodes them (`runtime.relations`)."""
    aspects, opinions = tags_to_spans(prediction.aspect_tags), tags_to_spans(prediction.opinion_tags)
    sentiments, pairs = decode_relations(prediction.sentiment_probs, prediction.pair_probs, aspects, opinions)
    return (
        [(start, end, label) for (start, end), (label, _) in zip(aspects, sentiments, strict=True)],
        [(aspects[a], opinions[o], label) for a, o, label, _ in pairs],
    )


def triplet_scores(
    gold: Iterable[Sequence[Triplet]], pred: Iterable[Sequence[tuple]]
) -> dict[str, SpanScore]:
    """Pair scores (both spans exact) and triplet scores (and the sentiment) of predicted
    (aspect, opinion, sentiment) tuples, one list per sentence, as ASTE papers count them."""
    gold, pred = [list(g) for g in gold], [list(p) for p in pred]
    return {
        "pair": span_scores(
            [[(t.aspect, t.opinion) for t in g] for g in gold], [[p[:2] for p in ps] for ps in pred]
        ),
        "triplet": span_scores(
            [[(t.aspect, t.opinion, t.sentiment) for t in g] for g in gold],
            [[tuple(p) for p in ps] for ps in pred],
        ),
    }


def relation_scores(
    relations: Sequence[Relations], predictions: Sequence[SentencePrediction]
) -> dict[str, SpanScore]:
    """ABSA F1 over every sentence; pair and triplet scores over the sentences aste-v2 annotates (none
    where it annotates none of them)."""
    decoded = [predicted_relations(p) for p in predictions]
    scores = {
        "absa": absa_scores([r.aspect_sentiments for r in relations], [aspects for aspects, _ in decoded])
    }
    annotated = [i for i, sentence in enumerate(relations) if sentence.triplets is not None]
    if annotated:
        scores |= triplet_scores(
            [relations[i].triplets for i in annotated], [decoded[i][1] for i in annotated]
        )
    return scores


def scores_by_group(
    gold: Iterable[Sequence[tuple[int, int]]],
    pred: Iterable[Sequence[tuple[int, int]]],
    group_of: Callable[[int, tuple[int, int]], str],
) -> dict[str, SpanScore]:
    """Span scores per group of terms, to see where the errors are (by length, by unseen words, ...).

    `group_of(sentence_index, span)` names a term's group. Gold and predicted
    terms are grouped by their own spans, so a group's recall counts its gold
    terms and its precision its predicted ones; a correct prediction is in the
    same group as the gold term it matches.
    """
    gold = [sorted(set(map(tuple, spans))) for spans in gold]
    pred = [sorted(set(map(tuple, spans))) for spans in pred]
    names = sorted(
        {group_of(i, span) for side in (gold, pred) for i, spans in enumerate(side) for span in spans}
    )

    def members(side, name):
        return ([span for span in spans if group_of(i, span) == name] for i, spans in enumerate(side))

    return {name: span_scores(members(gold, name), members(pred, name)) for name in names}
