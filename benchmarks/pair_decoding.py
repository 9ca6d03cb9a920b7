"""How pairs are decoded, chosen on dev: which rule links an opinion to an aspect, and whose sentiment a
triplet takes.

    python benchmarks/pair_decoding.py RUN_DIR [RUN_DIR ...] [--split dev]

On the absa/ sentences of --split that aste-v2 annotates, each run's torch predictions are decoded
by several rules of `runtime.relations.linked_pairs`, over the spans the run found and over
aste-v2's gold spans (which isolates the pair head from the tagger): each opinion linked to its
best aspect (where that one's score, 1 - P(none) over the pair's block of grid cells, is above a
floor) and to any other above a second threshold. "none < 0.5", the first rule, links every pair
more likely linked than not; the runtime's is "best > 0.5 + others > 0.9" (`FIRST_LINK`,
`SECOND_LINK`). Or each opinion to the nearest of the aspects whose score is above a floor
(the head says which are plausible, distance chooses among them), and to any other above
`SECOND_LINK`. Or each opinion to its nearest aspect (`pairs_baseline.nearest_pairs`, no
model). A triplet's sentiment
comes from the pair's grid or from the aspect's own sentiment; an aspect's (ABSA F1, over every
sentence of --split) from its own words, or from its strongest pair where it has one (the
runtime's, `runtime.relations.decode_relations`). Prints a table per run, then the mean over the
runs.
"""

import argparse
import statistics
from functools import partial
from pathlib import Path

from pairs_baseline import gap, nearest_pairs
from report import markdown_table

from coextract.evaluation.benchmark import default_data_dir
from coextract.evaluation.evaluate import Benchmark
from coextract.evaluation.metrics import absa_scores, triplet_scores
from coextract.runtime.decoding import tags_to_spans
from coextract.runtime.predict import predict_sentences
from coextract.runtime.relations import (
    FIRST_LINK,
    SECOND_LINK,
    SENTIMENTS,
    decode_relations,
    linked_pairs,
    pair_blocks,
    span_sentiments,
)
from coextract.training.checkpoint import load_run, torch_backend

NAN = float("nan")  # a figure a row does not have


def nearest_plausible(pair_probs, aspects, opinions, floor: float) -> list[tuple[int, int, str, float]]:
    """Each opinion linked to the nearest of the aspects whose score is above `floor` (the head says
    which aspects are plausible, distance chooses among them), and to any other above SECOND_LINK;
    as `linked_pairs` returns them."""
    if not aspects or not opinions:
        return []
    blocks = pair_blocks(pair_probs, aspects, opinions)
    scores = 1.0 - blocks[..., 0]  # (A, O)
    pairs = []
    for o, opinion in enumerate(opinions):
        plausible = [a for a in range(len(aspects)) if scores[a, o] > floor]
        near = min(plausible, key=lambda a: (gap(aspects[a], opinion), aspects[a][0]), default=None)
        for a in range(len(aspects)):
            if a == near or scores[a, o] > SECOND_LINK:
                pairs.append((a, o, SENTIMENTS[int(blocks[a, o, 1:].argmax())], float(scores[a, o])))
    return sorted(pairs)


RULES = {  # name: the rule, (pair grid, aspects, opinions) -> linked pairs
    "none < 0.5": partial(linked_pairs, best_floor=0.5, second=0.5),
    "best > 0 + others > 0.9": partial(linked_pairs, best_floor=0.0, second=0.9),
    "best > 0.3 + others > 0.9": partial(linked_pairs, best_floor=0.3, second=0.9),
    "best > 0.5 + others > 0.7": partial(linked_pairs, best_floor=0.5, second=0.7),
    "best > 0.5 + others > 0.9": partial(linked_pairs, best_floor=FIRST_LINK, second=SECOND_LINK),
    "best > 0.5 + others > 0.95": partial(linked_pairs, best_floor=0.5, second=0.95),
    "best > 0.6 + others > 0.9": partial(linked_pairs, best_floor=0.6, second=0.9),
    **{
        f"nearest of those > {floor} + others > 0.9": partial(nearest_plausible, floor=floor)
        for floor in (0.0, 0.1, 0.3, 0.5)
    },
}


def decoded(prediction, aspects, opinions, rule, sentiment_from) -> list[tuple]:
    """(aspect, opinion, sentiment) of the pairs one rule links."""
    sentiments = span_sentiments(prediction.sentiment_probs, aspects)
    return [
        (aspects[a], opinions[o], label if sentiment_from == "pair" else sentiments[a][0])
        for a, o, label, _ in RULES[rule](prediction.pair_probs, aspects, opinions)
    ]


def run_scores(run_dir: Path, split: str) -> dict[str, tuple[float, ...]]:
    """Pair precision, recall, F1 and triplet F1 (%) of each rule on one run, by row name."""
    model, featurizer, config = load_run(run_dir)
    benchmark = Benchmark.read(default_data_dir(), config["dataset"])
    relations = benchmark.relations[split]
    annotated = [i for i, r in enumerate(relations) if r.triplets is not None]
    gold = [relations[i].triplets for i in annotated]
    tokens = [benchmark.examples[split][i].tokens for i in annotated]
    predictions = predict_sentences(torch_backend(model), featurizer, tokens)
    rows = {}
    for spans in ("found", "gold"):
        terms = [
            (tags_to_spans(p.aspect_tags), tags_to_spans(p.opinion_tags))
            if spans == "found"
            else (sorted({t.aspect for t in g}), sorted({t.opinion for t in g}))
            for p, g in zip(predictions, gold, strict=True)
        ]
        decodings = {
            f"{spans} spans, {rule}, sentiment of the {source}": [
                decoded(p, *t, rule, source) for p, t in zip(predictions, terms, strict=True)
            ]
            for rule in RULES
            for source in ("pair", "aspect")
        }
        decodings[f"{spans} spans, nearest aspect (no model)"] = [
            [(*pair, "") for pair in nearest_pairs(*t)] for t in terms
        ]
        for name, pred in decodings.items():
            s = triplet_scores(gold, pred)
            triplet = NAN if name.endswith("(no model)") else s["triplet"].f1  # the rule gives no sentiment
            rows[name] = tuple(
                100 * x for x in (s["pair"].precision, s["pair"].recall, s["pair"].f1, triplet, NAN)
            )
    return rows | absa_rows(model, featurizer, benchmark, split)


def absa_rows(model, featurizer, benchmark: Benchmark, split: str) -> dict[str, tuple[float, ...]]:
    """ABSA F1 (%) over every sentence of the split, an aspect's sentiment read from its own words
    alone, or from its strongest pair where an opinion is linked to it (the runtime's)."""
    predictions = predict_sentences(
        torch_backend(model), featurizer, [e.tokens for e in benchmark.examples[split]]
    )
    gold = [r.aspect_sentiments for r in benchmark.relations[split]]
    found = [tags_to_spans(p.aspect_tags) for p in predictions]
    own = [span_sentiments(p.sentiment_probs, spans) for p, spans in zip(predictions, found, strict=True)]
    paired = [
        decode_relations(p.sentiment_probs, p.pair_probs, spans, tags_to_spans(p.opinion_tags))[0]
        for p, spans in zip(predictions, found, strict=True)
    ]
    rows = {}
    for source, sentiments in (("aspect's own words", own), ("strongest pair, else own words", paired)):
        pred = [[(*span, label) for span, (label, _) in zip(spans, labels, strict=True)] for spans, labels in zip(found, sentiments, strict=True)]  # fmt: skip
        rows[f"ABSA, sentiment of the {source}"] = (NAN,) * 4 + (100 * absa_scores(gold, pred).f1,)
    return rows


def print_table(title: str, rows: dict[str, tuple[float, ...]]) -> None:
    head = ["decoding", "pair P", "pair R", "pair F1", "triplet F1", "ABSA F1"]
    cells = [[row, *(f"{v:.2f}".replace("nan", "–") for v in values)] for row, values in rows.items()]
    print(f"\n{title}:\n\n" + "\n".join(markdown_table(head, cells)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dirs", type=Path, nargs="+")
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    args = parser.parse_args()
    # by the path as given: two variants' runs of one seed share a folder name
    runs = {run_dir.as_posix(): run_scores(run_dir, args.split) for run_dir in dict.fromkeys(args.run_dirs)}
    for name, rows in runs.items():
        print_table(f"{name}, {args.split}", rows)
    if len(runs) > 1:
        first = next(iter(runs.values()))
        means = {
            row: tuple(statistics.mean(r[row][i] for r in runs.values()) for i in range(5)) for row in first
        }
        print_table(f"mean of {len(runs)} runs ({', '.join(runs)}), {args.split}", means)


if __name__ == "__main__":
    main()
