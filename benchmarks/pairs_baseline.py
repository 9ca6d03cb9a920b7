"""The floor a pair head must beat: each predicted opinion paired with its nearest predicted aspect.

    python benchmarks/pairs_baseline.py

Every bundled model tags its domain's aste-v2 test sentences (the aste-v2
tokens, lower-cased as the models were trained); each opinion it finds is
paired with the aspect it finds nearest (fewest tokens between the two spans;
on a tie, the earlier aspect). Pair P/R/F1 against aste-v2's gold pairs (both
spans exact, micro over the file, `metrics.span_scores`); no sentiment, so no
triplet score. Writes benchmarks/results/pairs_baseline.json and a table in
benchmarks/README.md.
"""

import json

from report import HERE, machine, markdown_table, write_section

from coextract.evaluation.benchmark import default_data_dir
from coextract.evaluation.metrics import span_scores
from coextract.evaluation.triplets import read_triplets
from coextract.runtime.decoding import tags_to_spans
from coextract.runtime.tagger import load

MODELS = {
    "restaurant": "14res",
    "restaurant-minilm": "14res",
    "laptop": "14lap",
    "laptop-minilm": "14lap",
    "res15": "15res",
}


def gap(aspect: tuple[int, int], opinion: tuple[int, int]) -> int:
    """Tokens between two spans (0 when they touch or overlap)."""
    return max(0, opinion[0] - aspect[1], aspect[0] - opinion[1])


def nearest_pairs(aspects: list[tuple[int, int]], opinions: list[tuple[int, int]]) -> list[tuple]:
    """Each opinion with its nearest aspect (the earlier one on a tie); none where no aspect was found."""
    if not aspects:
        return []
    return [(min(aspects, key=lambda a: (gap(a, o), a[0])), o) for o in opinions]


def main() -> None:
    data_dir = default_data_dir().parent / "aste-v2"
    results = {"machine": machine(), "models": {}}
    for name, dataset in MODELS.items():
        examples = read_triplets(data_dir / dataset / "test_triplets.txt")
        predictions = load(name).predict([[t.lower() for t in e.tokens] for e in examples])
        pred = [
            nearest_pairs(tags_to_spans(p.aspect_tags), tags_to_spans(p.opinion_tags)) for p in predictions
        ]
        gold = [[(t.aspect, t.opinion) for t in e.triplets] for e in examples]
        results["models"][name] = {"dataset": dataset, "pair": span_scores(gold, pred).to_dict()}
        print(name, dataset, round(100 * results["models"][name]["pair"]["f1"], 2))
    (HERE / "results" / "pairs_baseline.json").write_text(json.dumps(results, indent=1) + "\n")
    write_section("pairs_baseline", report(results))


def report(results: dict) -> str:
    lines = [
        f"Nearest-aspect pairing over each bundle's own spans, aste-v2 test, measured on {results['machine']}. "
        "Reproduce: `python benchmarks/pairs_baseline.py`.",
        "",
    ]
    rows = [
        [f"`{name}`", m["dataset"], *(f"{100 * m['pair'][key]:.2f}" for key in ("precision", "recall", "f1"))]
        for name, m in results["models"].items()
    ]
    lines += markdown_table(
        ["bundled model", "aste-v2 test", "pair precision", "pair recall", "pair F1"], rows
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
