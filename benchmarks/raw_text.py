"""Bundled models on raw text vs the tokenized benchmark, on the same test sentences.

    python benchmarks/raw_text.py

Scores each bundled model through onnxruntime twice: on the tokenized test split
(exact token spans) and on the raw SemEval test file (spaCy preprocessing,
exact character spans). Writes benchmarks/results/raw_text.json and a table in
benchmarks/README.md.
"""

import json

from report import HERE, write_section

from coextract.evaluation.benchmark import default_data_dir
from coextract.evaluation.evaluate import evaluate_raw, evaluate_tokenized
from coextract.runtime.model_names import bundled_models
from coextract.runtime.tagger import load

RAW_TEST = {
    "res14": ("semeval14/Restaurants_Test_Gold.xml", "wang-opinions/test_restaurant.txt"),
    "lap14": ("semeval14/Laptops_Test_Gold.xml", "wang-opinions/test_laptop.txt"),
    "res15": ("semeval15-cmla/sentence_restest15_op.txt", "semeval15-cmla/aspectTerm_restest15.txt"),
}


def main() -> None:
    data_dir = default_data_dir()
    raw_dir = data_dir.parent / "semeval-raw"
    models = bundled_models()
    results = {}
    for dataset, files in RAW_TEST.items():
        tagger = load(models[dataset])
        tokenized = evaluate_tokenized(tagger.backend, tagger.featurizer, data_dir, dataset)
        raw = evaluate_raw(tagger, tuple(raw_dir / f for f in files))
        results[dataset] = {"tokenized": tokenized, "raw": raw}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "raw_text.json").write_text(json.dumps(results, indent=1) + "\n")
    rows = [
        "| model | raw test file | AE tokenized | AE raw | gap | OE tokenized | OE raw | gap | gold terms not found in the raw text |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for dataset, r in results.items():
        cells = []
        for side in ("aspect", "opinion"):
            tok, raw = 100 * r["tokenized"][side]["f1"], 100 * r["raw"][side]["f1"]
            cells += [f"{tok:.2f}", f"{raw:.2f}", f"{raw - tok:+.2f}"]
        rows.append(
            f"| {dataset} | {r['raw']['split']} | "
            + " | ".join(cells)
            + f" | {r['raw']['unaligned_gold_terms']} |"
        )
    text = "\n".join(rows) + "\n"
    write_section("raw_text", text)
    print(text)


if __name__ == "__main__":
    main()
