"""Who thinks what of which aspect, on a spaCy `Doc`: what the `coextract` component adds for a model
with relation heads, the spaCy way.

    doc = nlp("The pizza was great but the waiter was painfully slow.")
    [(s.text, s._.sentiment, s._.sentiment_score) for s in doc.spans["aspects"]]
    doc._.pairs        # [(aspect span, opinion span, "negative", 0.97), ...]: spans of the doc
    render_pairs(doc)  # displaCy's arcs: each opinion pointing at its aspect, labelled with the sentiment

Sentiments are span extensions (spaCy keeps them by the span's offsets, so every span over the same
characters sees them); pairs are kept as character offsets (`doc._.pair_offsets`, which a `DocBin`
with user data keeps) and `doc._.pairs` makes them spans. `relation_scores` gives `nlp.evaluate`
ABSA, pair and triplet scores against gold docs that carry the same extensions.
"""

from collections.abc import Iterable

from spacy import displacy
from spacy.scorer import PRFScore
from spacy.tokens import Doc, Span
from spacy.training import Example

from coextract.runtime.spans import Extraction

PairOffsets = tuple[int, int, int, int, str, float]  # aspect start, end, opinion start, end, sentiment, score


def register_extensions() -> None:
    """`span._.sentiment`, `span._.sentiment_score`, `doc._.pair_offsets` and `doc._.pairs` (once)."""
    for name in ("sentiment", "sentiment_score"):
        if not Span.has_extension(name):
            Span.set_extension(name, default=None)
    if not Doc.has_extension("pair_offsets"):
        Doc.set_extension("pair_offsets", default=None)
    if not Doc.has_extension("pairs"):
        Doc.set_extension("pairs", getter=doc_pairs)


def doc_spans(doc: Doc, start: int, end: int) -> Span | None:
    """The doc's tokens covering characters [start, end), as the component's span groups hold them."""
    return doc.char_span(start, end, alignment_mode="expand")


def doc_pairs(doc: Doc) -> list[tuple[Span, Span, str, float]]:
    """`doc._.pairs`: each (aspect, opinion, sentiment, score) with the two as spans of `doc`."""
    return [
        (doc_spans(doc, a_start, a_end), doc_spans(doc, o_start, o_end), sentiment, score)
        for a_start, a_end, o_start, o_end, sentiment, score in doc._.pair_offsets or ()
    ]


def set_relations(doc: Doc, extraction: Extraction) -> None:
    """Put an extraction's aspect sentiments and pairs on `doc` (nothing from a model without them)."""
    for term in extraction.aspects:
        span = doc_spans(doc, term.start, term.end)
        if span is not None and term.sentiment is not None:
            span._.sentiment, span._.sentiment_score = term.sentiment, term.sentiment_score
    offsets = []
    for pair in extraction.pairs:
        aspect, opinion = (
            doc_spans(doc, pair.aspect.start, pair.aspect.end),
            doc_spans(doc, pair.opinion.start, pair.opinion.end),
        )
        if aspect is not None and opinion is not None:
            found = (aspect.start_char, aspect.end_char, opinion.start_char, opinion.end_char)
            offsets.append((*found, pair.sentiment, pair.score))
    doc._.pair_offsets = offsets


def render_pairs(doc: Doc, **options) -> str:
    """displaCy's dependency view of the pairs: an arc from each opinion to its aspect (between the two
    spans' root tokens), labelled with the sentiment; `options` as `displacy.render` takes them."""
    arcs = []
    for aspect, opinion, sentiment, _ in doc._.pairs:
        start, end = sorted((aspect.root.i, opinion.root.i))
        arcs.append(
            {
                "start": start,
                "end": end,
                "label": sentiment,
                "dir": "left" if start == aspect.root.i else "right",
            }
        )
    words = [{"text": token.text, "tag": ""} for token in doc]
    return displacy.render({"words": words, "arcs": arcs}, style="dep", manual=True, **options)


def relation_scores(examples: Iterable[Example], aspects_key: str) -> dict[str, float]:
    """ABSA (an aspect with its sentiment; a gold "conflict" aspect neither counted nor held against a
    prediction, as RACL and IMN score it), pair and triplet precision, recall and F1, micro over the
    examples; only the scores whose gold the reference docs carry (sentiments, `pair_offsets`)."""
    scores = {name: PRFScore() for name in ("aspect_sentiment", "pairs", "triplets")}
    seen = set()
    for example in examples:
        gold = sentiments(example.reference, aspects_key)
        conflict = {span for span, label in gold.items() if label == "conflict"}
        predicted = sentiments(example.predicted, aspects_key)
        if gold:
            seen.add("aspect_sentiment")
            scores["aspect_sentiment"].score_set(
                {(*span, label) for span, label in predicted.items() if span not in conflict},
                {(*span, label) for span, label in gold.items() if span not in conflict},
            )
        if example.reference._.pair_offsets is not None:
            seen |= {"pairs", "triplets"}
            gold_pairs, pred_pairs = (
                doc._.pair_offsets or () for doc in (example.reference, example.predicted)
            )
            for name, width in (("pairs", 4), ("triplets", 5)):  # offsets, and the sentiment
                found = ({tuple(p[:width]) for p in pairs} for pairs in (pred_pairs, gold_pairs))
                scores[name].score_set(*found)
    return {
        f"{name}_{kind}": getattr(scores[name], attr)
        for name in sorted(seen)
        for kind, attr in (("p", "precision"), ("r", "recall"), ("f", "fscore"))
    }


def sentiments(doc: Doc, key: str) -> dict[tuple[int, int], str]:
    """The sentiment of each span of `doc.spans[key]` that has one, by its character offsets."""
    return {(s.start_char, s.end_char): s._.sentiment for s in doc.spans.get(key, []) if s._.sentiment}
