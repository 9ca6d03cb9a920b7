"""How far aste-v2's terms agree with absa/'s gold terms, on the sentences both annotate.

    python benchmarks/opinion_agreement.py

The tagger learns absa/'s aspects and opinions; pairs and triplets are scored against aste-v2's
(Fan et al.'s opinion annotation). On the absa/ dev and test sentences aste-v2 annotates (moved
onto absa/ tokens by `evaluation.triplets`), absa/'s gold spans are scored against aste-v2's as if
they were predictions: the ceiling a perfect absa/ tagger would give pairs. Writes
benchmarks/results/opinion_agreement.json and a table in benchmarks/README.md.
"""

from report import markdown_table, publish

from coextract.evaluation.benchmark import DATASETS, default_data_dir
from coextract.evaluation.evaluate import Benchmark
from coextract.evaluation.metrics import span_scores
from coextract.runtime.decoding import tags_to_spans


def agreement(benchmark: Benchmark, split: str) -> dict:
    relations, examples = benchmark.relations[split], benchmark.examples[split]
    annotated = [i for i, r in enumerate(relations) if r.triplets is not None]
    scores = {"sentences": len(annotated)}
    for side in ("aspect", "opinion"):
        aste = [sorted({getattr(t, side) for t in relations[i].triplets}) for i in annotated]
        absa = [tags_to_spans(getattr(examples[i], f"{side}_tags")) for i in annotated]
        scores[side] = span_scores(aste, absa).to_dict()
    return scores


def main() -> None:
    data_dir = default_data_dir()
    results = {
        dataset: {split: agreement(Benchmark.read(data_dir, dataset), split) for split in ("dev", "test")}
        for dataset in DATASETS
    }
    rows = [
        [dataset, split, str(r["sentences"]),
         *(f"{100 * r[side][key]:.1f}" for side in ("aspect", "opinion") for key in ("precision", "recall", "f1"))]
        for dataset, splits in results.items()
        for split, r in splits.items()
    ]  # fmt: skip
    head = [
        "dataset",
        "split",
        "sentences",
        "aspect P",
        "aspect R",
        "aspect F1",
        "opinion P",
        "opinion R",
        "opinion F1",
    ]
    text = (
        "absa/ gold terms scored against aste-v2's. Reproduce: `python benchmarks/opinion_agreement.py`.\n\n"
    )
    publish("opinion_agreement", results, text + "\n".join(markdown_table(head, rows)) + "\n")


if __name__ == "__main__":
    main()
