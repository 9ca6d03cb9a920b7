"""Where the missed terms are: gold terms that contain a word the training split never has.

    python benchmarks/unseen_words.py        # every run in benchmarks/runs (after f1.py)

A diagnosis, not a selection: it changes no model. It splits each dataset's gold
terms (and the predicted ones) by whether any of their words is absent from the
training sentences, and reports recall and precision of each group, averaged over
the 5 seeds. Writes benchmarks/results/unseen_words.json and a table in
benchmarks/README.md.
"""

import json
import statistics

from report import HERE, run_predictions, write_section

from coextract.data import default_data_dir, read_dataset
from coextract.tagging import tags_to_spans

GROUPS = ("unseen", "seen")


def group_counts(examples, predictions, side: str, train_words: set[str]) -> dict:
    """Gold, predicted and correct term counts, for terms with and without a word unseen in training."""
    counts = {group: {"gold": 0, "pred": 0, "correct": 0} for group in GROUPS}

    def group(example, span) -> str:
        return "unseen" if any(w not in train_words for w in example.tokens[span[0] : span[1]]) else "seen"

    for example, prediction in zip(examples, predictions, strict=True):
        gold = set(tags_to_spans(getattr(example, f"{side}_tags")))
        pred = set(tags_to_spans(getattr(prediction, f"{side}_tags")))
        for span in gold:
            counts[group(example, span)]["gold"] += 1
            counts[group(example, span)]["correct"] += span in pred
        for span in pred:
            counts[group(example, span)]["pred"] += 1
    return counts


def main() -> None:
    data_dir = default_data_dir()
    results: dict = {}
    for name, dataset, splits in run_predictions():
        train_words = {w for e in read_dataset(data_dir, dataset)["train"] for w in e.tokens}
        results.setdefault(dataset, {})[name] = {
            f"{split}_{side}": group_counts(examples, predictions, side, train_words)
            for split, (examples, predictions) in splits.items()
            for side in ("aspect", "opinion")
        }
        print(name, results[dataset][name])
    (HERE / "results" / "unseen_words.json").write_text(json.dumps(results, indent=1) + "\n")

    def mean(runs, key, group, numerator, denominator) -> float:
        return statistics.mean(
            100 * r[key][group][numerator] / max(1, r[key][group][denominator]) for r in runs
        )

    lines = [
        "Terms with a word that never occurs in the training sentences, against the rest: share of the "
        "gold terms, recall and precision (percent, mean of the 5 seeds). Reproduce: "
        "`python benchmarks/unseen_words.py` after `python benchmarks/f1.py`.",
        "",
        "| dataset | split | side | gold terms with an unseen word | recall: unseen / seen "
        "| precision: unseen / seen |",
        "|---|---|---|---|---|---|",
    ]
    for dataset, runs in results.items():
        runs = list(runs.values())
        for key in runs[0]:
            split, side = key.split("_")
            counts = runs[0][key]
            share = 100 * counts["unseen"]["gold"] / (counts["unseen"]["gold"] + counts["seen"]["gold"])
            recall = [mean(runs, key, g, "correct", "gold") for g in GROUPS]
            precision = [mean(runs, key, g, "correct", "pred") for g in GROUPS]
            lines.append(
                f"| {dataset} | {split} | {side} | {counts['unseen']['gold']} ({share:.0f} %) "
                f"| {recall[0]:.1f} / {recall[1]:.1f} | {precision[0]:.1f} / {precision[1]:.1f} |"
            )
    write_section("unseen_words", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
