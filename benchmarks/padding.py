"""Batches of sentences of similar length: `Tagger.pipe` with the padding bound and without it.

    python benchmarks/padding.py

Model batches hold sentences sorted by length; since session 12 a batch also ends where the next
sentence is longer than `sizes.PAD_RATIO` times its shortest plus `PAD_SLACK` words. Here both
ways tag the 800 SemEval-2014 restaurant test reviews with each bundled tier (the MiniLM tier on
the first 400), taking turns, 3 rounds after a warm-up; medians of reviews/s, and their ratio.
"""

import math
import statistics
import time
from functools import partial

from report import machine, markdown_table, publish

import coextract
import coextract.runtime.predict as predict
from coextract.corpus.readers import read_records
from coextract.evaluation.benchmark import default_data_dir

MODELS = {"restaurant": 800, "restaurant-minilm": 400}  # model: reviews tagged per round
WAYS = {
    "sorted, padding unbounded": partial(predict.length_sorted_batches, pad_ratio=math.inf),
    "sorted, padding bounded (default)": predict.length_sorted_batches,
}


def speeds(model: str, texts: list[str], rounds: int = 3) -> dict[str, float]:
    tagger = coextract.load(model)
    list(tagger.pipe(texts[:64]))
    seen: dict[str, list[float]] = {way: [] for way in WAYS}
    for _ in range(rounds):
        for way, batches in WAYS.items():
            predict.length_sorted_batches = batches
            start = time.perf_counter()
            list(tagger.pipe(texts))
            seen[way].append(len(texts) / (time.perf_counter() - start))
    predict.length_sorted_batches = WAYS["sorted, padding bounded (default)"]
    return {way: statistics.median(values) for way, values in seen.items()}


def main() -> None:
    xml = default_data_dir().parent / "semeval-raw" / "semeval14" / "Restaurants_Test_Gold.xml"
    texts = [record.text for record in read_records(str(xml))]
    results = {"machine": machine(), "models": {m: speeds(m, texts[:n]) for m, n in MODELS.items()}}
    rows = []
    for model, found in results["models"].items():
        before, after = found.values()
        rows.append([model, f"{before:,.0f}", f"{after:,.0f}", f"{after / before:.2f}x"])
    columns = ["model", *(f"{way} (reviews/s)" for way in WAYS), "ratio"]
    text = (f"`python benchmarks/padding.py` ({machine()}; Tagger.pipe, batch 256, medians of 3 rounds taking "
            "turns):\n\n" + "\n".join(markdown_table(columns, rows)) + "\n")  # fmt: skip
    publish("padding", results, text)


if __name__ == "__main__":
    main()
