"""A trained model with relation heads, used through every entry point: API, CLI, spaCy, Dask, evaluate."""

import json

import pytest
import spacy

from coextract.corpus.dask_engine import ModelFiles, tag_partition
from coextract.runtime.tagger import load
from tests.conftest import coextract

REVIEWS = [
    "The pizza was great but the waiter was painfully slow.",
    "Great sushi, rude staff, and the prices are too high.",
    "The food was cold and the service terrible.",
    "",
]


def test_the_api_gives_aspect_sentiments_and_pairs_of_found_spans(tiny_model_dir):
    tagger = load(tiny_model_dir)
    assert tagger.relations
    results = list(tagger.pipe(REVIEWS * 5, batch_size=3))
    aspects = [a for r in results for a in r.aspects]
    assert aspects and all(a.sentiment in ("positive", "negative", "neutral") for a in aspects)
    assert all(0 < a.sentiment_score <= 1 for a in aspects)
    assert all(o.sentiment is None for r in results for o in r.opinions)
    for result in results:
        for pair in result.pairs:  # the spans a pair names are the extraction's own
            assert pair.aspect in result.aspects and pair.opinion in result.opinions
            assert 0.5 < pair.score <= 1 and pair.sentiment in ("positive", "negative", "neutral")
    assert results[:4] == [tagger(text) for text in REVIEWS]  # alone or in any batch: the same


def test_tag_writes_sentiments_and_pairs_in_every_format(tiny_model_dir, tmp_path):
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in REVIEWS))
    for name in ("out.jsonl", "out.csv", "out.parquet"):
        result = coextract(
            "tag", str(source), "--model", str(tiny_model_dir), "--output", str(tmp_path / name), "--quiet"
        )
        assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    tagger = load(tiny_model_dir)
    for record, text in zip(records, REVIEWS, strict=True):
        expected = tagger(text)
        assert [a["sentiment"] for a in record["aspects"]] == [a.sentiment for a in expected.aspects]
        assert [(p["aspect"]["start"], p["opinion"]["start"], p["sentiment"]) for p in record["pairs"]] == [
            (p.aspect.start, p.opinion.start, p.sentiment) for p in expected.pairs
        ]
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == "id,error,aspects,opinions,pairs"
    pq = pytest.importorskip("pyarrow.parquet")
    assert pq.read_table(tmp_path / "out.parquet").to_pylist()[0]["pairs"] == records[0]["pairs"]


def test_a_dask_partition_carries_pairs(tiny_model_dir):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"text": REVIEWS})
    tagged = tag_partition(frame, "text", None, ModelFiles.read(tiny_model_dir), False)
    assert list(tagged.columns) == ["id", "error", "aspects", "opinions", "pairs"]
    tagger = load(tiny_model_dir)
    assert [len(pairs) for pairs in tagged["pairs"]] == [len(tagger(t).pairs) for t in REVIEWS]


def test_the_spacy_component_and_a_saved_pipeline_carry_sentiments_and_pairs(tiny_model_dir, tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("coextract", config={"model": str(tiny_model_dir)})
    expected = load(tiny_model_dir)
    nlp.to_disk(tmp_path / "pipe")
    for pipeline in (nlp, spacy.load(tmp_path / "pipe")):
        for text in REVIEWS:
            doc, found = pipeline(text), expected(text)
            assert [s._.sentiment for s in doc.spans["aspects"]] == [a.sentiment for a in found.aspects]
            assert [(a.start_char, o.start_char, s) for a, o, s, _ in doc._.pairs] == [
                (p.aspect.start, p.opinion.start, p.sentiment) for p in found.pairs
            ]


def evaluated(model, data_dir, *args) -> dict:
    """What `coextract evaluate --model MODEL ARGS --json` prints, read."""
    result = coextract("evaluate", "--model", str(model), *args, "--json", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_evaluate_reports_absa_pairs_and_triplets_as_the_card_says(tiny_model_dir, data_dir):
    meta = json.loads((tiny_model_dir / "meta.json").read_text())
    scores = meta["onnx_scores"]
    assert {"aspect", "opinion", "absa", "pair", "triplet"} <= set(scores["test"])
    assert set(scores["aste_test"]) == {"n_sentences", "pair", "triplet"}
    report = evaluated(tiny_model_dir, data_dir, "--dataset", "res14")
    assert {name: report[name] for name in scores["test"]} == scores["test"]
    report = evaluated(tiny_model_dir, data_dir, "--triplets", "14res")
    assert (report["pair"], report["triplet"]) == (
        scores["aste_test"]["pair"],
        scores["aste_test"]["triplet"],
    )
    table = coextract(
        "evaluate", "--model", str(tiny_model_dir), "--dataset", "res14", "--data-dir", str(data_dir)
    )
    assert [line.split()[0] for line in table.stdout.splitlines()[2:]] == [
        "aspect",
        "opinion",
        "absa",
        "pair",
        "triplet",
    ]


def test_a_model_folder_without_relation_heads_tags_as_before(tiny_plain_model_dir, tiny_model_dir, tmp_path):
    plain, full = load(tiny_plain_model_dir), load(tiny_model_dir)
    assert not plain.relations and full.relations
    for before, now in zip(plain.tag_batch(REVIEWS), full.tag_batch(REVIEWS), strict=True):
        assert before.pairs == () and all(span.sentiment is None for span in before.aspects)
        # The same tagger weights: the heads add to the spans, they change none of them.
        assert [(s.start, s.end) for s in before.aspects] == [(s.start, s.end) for s in now.aspects]
    source, out = tmp_path / "in.txt", tmp_path / "out.jsonl"
    source.write_text(REVIEWS[0] + "\n")
    result = coextract(
        "tag", str(source), "--model", str(tiny_plain_model_dir), "--output", str(out), "--quiet"
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    assert list(record) == ["id", "aspects", "opinions"]  # the record it always wrote
    assert all(list(span) == ["text", "start", "end", "score"] for span in record["aspects"])


def test_evaluate_triplets_refuses_a_model_without_a_pair_head(tiny_plain_model_dir, data_dir):
    model = str(tiny_plain_model_dir)
    result = coextract("evaluate", "--model", model, "--triplets", "res14", "--data-dir", str(data_dir))
    assert result.returncode == 2 and "has no pair head" in result.stderr
    result = coextract("evaluate", "--model", model, "--triplets", "16res", "--data-dir", str(data_dir))
    assert result.returncode == 2 and "--triplets takes 14res, 14lap, 15res" in result.stderr
