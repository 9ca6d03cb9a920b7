"""Where the missed terms are: gold terms that contain a word the training split never has.

    python benchmarks/unseen_words.py        # every run in benchmarks/runs (after f1.py)

A diagnosis, not a selection: it changes no model. It splits each dataset's gold
terms (and the predicted ones) by whether any of their words is absent from the
training sentences, and reports recall and precision of each group, averaged over
the 5 seeds. Writes benchmarks/results/unseen_words.json and a table in
benchmarks/README.md. (The F1 notebook shows the same split for the bundled models.)
"""

import json
import statistics

from report import HERE, run_predictions, write_section

from coextract.evaluation.benchmark import default_data_dir, read_dataset
from coextract.evaluation.metrics import scores_by_group
from coextract.runtime.decoding import tags_to_spans

GROUPS = ("unseen word", "seen")


def grouping(examples, train_words: set[str]):
    """`scores_by_group`'s group of a term: does it have a word the training sentences never have?"""

    def group(i: int, span: tuple[int, int]) -> str:
        words = examples[i].tokens[span[0] : span[1]]
        return "seen" if all(w in train_words for w in words) else "unseen word"

    return group


def main() -> None:
    data_dir = default_data_dir()
    results: dict = {}
    train_words_of: dict[str, set[str]] = {}  # per dataset, read once for its 5 runs
    for name, dataset, splits in run_predictions():
        if dataset not in train_words_of:
            train_words_of[dataset] = {w for e in read_dataset(data_dir, dataset)["train"] for w in e.tokens}
        train_words = train_words_of[dataset]
        row = {}
        for split, (examples, predictions) in splits.items():
            group = grouping(examples, train_words)
            for side in ("aspect", "opinion"):
                gold = [tags_to_spans(getattr(e, f"{side}_tags")) for e in examples]
                pred = [tags_to_spans(getattr(p, f"{side}_tags")) for p in predictions]
                groups = scores_by_group(gold, pred, group)
                row[f"{split} {side}"] = {g: groups[g].to_dict() for g in GROUPS}
        results.setdefault(dataset, {})[name] = row
        print(name, {key: {g: round(100 * s["recall"], 1) for g, s in v.items()} for key, v in row.items()})
    (HERE / "results" / "unseen_words.json").write_text(json.dumps(results, indent=1) + "\n")

    lines = [
        "Terms with a word that never occurs in the training sentences, against the rest: how many of the "
        "gold terms, and recall and precision (percent, mean of the 5 seeds). Reproduce: "
        "`python benchmarks/unseen_words.py` after `python benchmarks/f1.py`.",
        "",
        "| dataset | split | side | gold terms with an unseen word | recall: unseen / seen "
        "| precision: unseen / seen |",
        "|---|---|---|---|---|---|",
    ]
    for dataset, runs in results.items():
        runs = list(runs.values())
        for key, groups in runs[0].items():
            split, side = key.split()
            n_unseen, n_seen = groups["unseen word"]["n_gold"], groups["seen"]["n_gold"]
            recall, precision = (
                [statistics.mean(100 * r[key][g][measure] for r in runs) for g in GROUPS]
                for measure in ("recall", "precision")
            )
            lines.append(
                f"| {dataset} | {split} | {side} | {n_unseen} of {n_unseen + n_seen} "
                f"| {recall[0]:.1f} / {recall[1]:.1f} | {precision[0]:.1f} / {precision[1]:.1f} |"
            )
    write_section("unseen_words", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
