"""Per-token argmax against constrained Viterbi decoding, on dev and test, for the benchmark runs.

    python benchmarks/decoding.py            # every run in benchmarks/runs (after f1.py)

The decision (Viterbi, in `coextract.runtime.decoding.best_tags`) was taken on dev; test is
shown beside it only to report what the decision did. Writes
benchmarks/results/decoding.json and a table in benchmarks/README.md.
"""

import json
import statistics

from report import HERE, run_predictions, write_section

from coextract.evaluation.metrics import span_scores
from coextract.runtime.decoding import best_tags, tags_to_spans

DECODERS = {"argmax": lambda probs: probs.argmax(-1).tolist(), "viterbi": best_tags}


def decoded_f1(examples, predictions, side: str, decode) -> float:
    gold = [tags_to_spans(getattr(e, f"{side}_tags")) for e in examples]
    pred = [tags_to_spans(decode(getattr(p, f"{side}_probs"))) for p in predictions]
    return span_scores(gold, pred).f1


def main() -> None:
    results: dict = {}
    for name, dataset, splits in run_predictions():
        row = {}
        for split, (examples, predictions) in splits.items():
            for side in ("aspect", "opinion"):
                for decoder, decode in DECODERS.items():
                    row[f"{split}_{side}_{decoder}"] = decoded_f1(examples, predictions, side, decode)
        results.setdefault(dataset, {})[name] = row
        print(name, {k: round(100 * v, 2) for k, v in row.items()})
    (HERE / "results" / "decoding.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = [
        "Mean F1 over the 5 seeds of each dataset, argmax -> Viterbi (difference). Reproduce: "
        "`python benchmarks/decoding.py` after `python benchmarks/f1.py`.",
        "",
        "| dataset | dev AE | dev OE | test AE | test OE | runs where Viterbi raised dev AE |",
        "|---|---|---|---|---|---|",
    ]
    for dataset, runs in results.items():
        cells = []
        for split, side in (("dev", "aspect"), ("dev", "opinion"), ("test", "aspect"), ("test", "opinion")):
            before = statistics.mean(r[f"{split}_{side}_argmax"] for r in runs.values())
            after = statistics.mean(r[f"{split}_{side}_viterbi"] for r in runs.values())
            cells.append(f"{100 * before:.2f} -> {100 * after:.2f} ({100 * (after - before):+.2f})")
        raised = sum(r["dev_aspect_viterbi"] > r["dev_aspect_argmax"] for r in runs.values())
        lines.append(f"| {dataset} | " + " | ".join(cells) + f" | {raised} of {len(runs)} |")
    write_section("decoding", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
