"""How often the spaCy preprocessing reproduces the benchmark's tokens exactly.

    python benchmarks/tokenization.py

Runs `pipelines/preprocess.cfg` on the raw SemEval-2014 sentences (restaurants
and laptops, train and test XML) and counts the sentences whose model tokens
equal a line of the tokenized benchmark (`absa/{res14,lap14}/*/sentence.txt`).
Each mismatch is paired with the closest benchmark line and classified by the
first tokens that differ. Writes benchmarks/results/tokenization.json and a
table in benchmarks/README.md.
"""

import collections
import difflib
import json
import xml.etree.ElementTree as ET

from report import HERE, write_section

from coextract.evaluation.benchmark import default_data_dir
from coextract.runtime.preprocess import documents

FILES = {
    "Restaurants_Train.xml": "res14",
    "Restaurants_Test_Gold.xml": "res14",
    "Laptops_Train.xml": "lap14",
    "Laptops_Test_Gold.xml": "lap14",
}


def kind_of(ours: list[str], theirs: list[str]) -> str:
    """The kind of the first difference between two token lists."""
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        differing = " ".join(ours[i1:i2] + theirs[j1:j2])
        for kind, chars in (
            ("quotes and apostrophes", "'\"`"),
            ("hyphens and dashes", "-–—"),
            ("emoticons", "SMILE"),
            ("slashes and symbols", "/*+&=<>#@~^|\\"),
            ("sentence punctuation (. ? : ; ! ...)", ".?:;!…"),
            ("numbers and units", "0123456789$%"),
        ):
            if any(c in differing for c in chars):
                return kind
        return "words split or joined differently"
    return "other"


def main() -> None:
    absa = default_data_dir()
    raw = absa.parent / "semeval-raw" / "semeval14"
    results, kinds, examples = {}, collections.Counter(), collections.defaultdict(list)
    for file, dataset in FILES.items():
        lines = [
            line.split()
            for split in ("train", "dev", "test")
            for line in (absa / dataset / split / "sentence.txt").open()
        ]
        benchmark = {" ".join(tokens) for tokens in lines}
        by_start = collections.defaultdict(list)
        for tokens in lines:
            by_start[tuple(tokens[:2])].append(tokens)
        texts = [s.findtext("text") or "" for s in ET.parse(raw / file).getroot().iter("sentence")]
        identical = 0
        for text, doc in zip(texts, documents(texts), strict=True):
            ours = list(doc.tokens)
            if " ".join(ours) in benchmark:
                identical += 1
                continue
            candidates = by_start.get(tuple(ours[:2])) or lines
            closest = max(
                candidates, key=lambda c: difflib.SequenceMatcher(a=ours, b=c, autojunk=False).ratio()
            )
            score = difflib.SequenceMatcher(a=ours, b=closest, autojunk=False).ratio()
            kind = kind_of(ours, closest) if score > 0.8 else "no close benchmark line (text differs)"
            kinds[kind] += 1
            if len(examples[kind]) < 2:
                examples[kind].append({"raw": text, "ours": " ".join(ours), "benchmark": " ".join(closest)})
        results[file] = {"sentences": len(texts), "identical": identical}
    total = sum(r["sentences"] for r in results.values())
    identical = sum(r["identical"] for r in results.values())
    summary = {
        "files": results,
        "identical_fraction": identical / total,
        "mismatch_kinds": dict(kinds),
        "examples": examples,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "tokenization.json").write_text(
        json.dumps(summary, indent=1, ensure_ascii=False) + "\n"
    )
    rows = ["| file | sentences | identical to the benchmark |", "|---|---|---|"]
    rows += [
        f"| {f} | {r['sentences']} | {r['identical']} ({100 * r['identical'] / r['sentences']:.1f} %) |"
        for f, r in results.items()
    ]
    rows += [
        f"| **all** | {total} | **{identical} ({100 * identical / total:.1f} %)** |",
        "",
        "| kind of mismatch | sentences |",
        "|---|---|",
    ]
    rows += [f"| {kind} | {n} |" for kind, n in kinds.most_common()]
    text = "\n".join(rows) + "\n\nExamples of each kind are in `results/tokenization.json`.\n"
    write_section("tokenization", text)
    print(text)


if __name__ == "__main__":
    main()
