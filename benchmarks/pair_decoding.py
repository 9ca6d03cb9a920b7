"""How pairs are decoded, chosen on dev: which rule links an opinion to an aspect, and whose sentiment a
triplet takes.

    python benchmarks/pair_decoding.py RUN_DIR [--split dev]

On the absa/ sentences of --split that aste-v2 annotates, one run's torch predictions are decoded
by several rules, over the spans the run found and over aste-v2's gold spans (which isolates the
pair head from the tagger): an (aspect, opinion) pair is linked where its block of grid cells gives
"none" under 0.5 (the runtime's rule, `runtime.relations.linked_pairs`); or, as well, each opinion
is linked to its most probable aspect (above 0, 0.1 or 0.2); or to its nearest aspect
(`pairs_baseline.nearest_pairs`, no model). A triplet's sentiment comes from the pair's grid or
from the aspect's own sentiment. Prints pair precision, recall, F1 and triplet F1 per rule.
"""

import argparse
from pathlib import Path

import numpy as np
from pairs_baseline import nearest_pairs

from coextract.evaluation.benchmark import default_data_dir
from coextract.evaluation.evaluate import Benchmark
from coextract.evaluation.metrics import triplet_scores
from coextract.runtime.decoding import tags_to_spans
from coextract.runtime.predict import predict_sentences
from coextract.runtime.relations import SENTIMENTS, span_sentiments
from coextract.training.checkpoint import load_run, torch_backend

RULES = {"none < 0.5": None, "+ best aspect": 0.0, "+ best aspect > 0.1": 0.1, "+ best aspect > 0.2": 0.2}


def decoded(prediction, aspects, opinions, best_above, sentiment_from) -> list[tuple]:
    """(aspect, opinion, sentiment) of the pairs one rule links."""
    sentiments, found = span_sentiments(prediction.sentiment_probs, aspects), []
    for opinion in opinions:
        blocks = [
            prediction.pair_probs[a0:a1, opinion[0] : opinion[1]].mean(axis=(0, 1)) for a0, a1 in aspects
        ]
        link = [1 - block[0] for block in blocks]
        best = int(np.argmax(link)) if blocks else -1
        for a, block in enumerate(blocks):
            if link[a] > 0.5 or (best_above is not None and a == best and link[a] > best_above):
                label = SENTIMENTS[int(block[1:].argmax())] if sentiment_from == "pair" else sentiments[a][0]
                found.append((aspects[a], opinion, label))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    args = parser.parse_args()
    model, featurizer, config = load_run(args.run_dir)
    benchmark = Benchmark.read(default_data_dir(), config["dataset"])
    relations = benchmark.relations[args.split]
    annotated = [i for i, r in enumerate(relations) if r.triplets is not None]
    gold = [relations[i].triplets for i in annotated]
    tokens = [benchmark.examples[args.split][i].tokens for i in annotated]
    predictions = predict_sentences(torch_backend(model), featurizer, tokens)
    for spans in ("found", "gold"):
        terms = [
            (tags_to_spans(p.aspect_tags), tags_to_spans(p.opinion_tags))
            if spans == "found"
            else (sorted({t.aspect for t in g}), sorted({t.opinion for t in g}))
            for p, g in zip(predictions, gold, strict=True)
        ]
        for rule, best_above in RULES.items():
            for source in ("pair", "aspect"):
                pred = [decoded(p, *t, best_above, source) for p, t in zip(predictions, terms, strict=True)]
                s = triplet_scores(gold, pred)
                print(
                    f"{spans} spans, {rule:20} sentiment of the {source:6}: pair P {100 * s['pair'].precision:.2f} "
                    f"R {100 * s['pair'].recall:.2f} F1 {100 * s['pair'].f1:.2f}, triplet F1 {100 * s['triplet'].f1:.2f}"
                )
        nearest = [[(*pair, "") for pair in nearest_pairs(*t)] for t in terms]
        s = triplet_scores(gold, nearest)
        print(f"{spans} spans, nearest aspect (no model): pair P {100 * s['pair'].precision:.2f} "
              f"R {100 * s['pair'].recall:.2f} F1 {100 * s['pair'].f1:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
