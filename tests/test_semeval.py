"""Readers of the raw SemEval files, and raw-text evaluation through the CLI."""

import json
import subprocess
import sys

import pytest

from coextract.errors import CoextractError
from coextract.evaluation.semeval import locate, parse_terms, read_cmla15, read_semeval14

XML = """<?xml version="1.0" encoding="UTF-8"?>
<sentences>
  <sentence id="1"><text>The Pizza was great, great!</text>
    <aspectTerms><aspectTerm term="Pizza" polarity="positive" from="4" to="9"/></aspectTerms></sentence>
  <sentence id="2"><text>Nothing to say.</text></sentence>
</sentences>
"""


def test_locate_takes_occurrences_left_to_right_on_word_boundaries():
    text = "Great food, great staff; greatness aside"
    assert locate(text, ["great", "great"]) == ([(0, 5), (12, 17)], [])
    assert locate(text, ["great", "great", "great"]) == (
        [(0, 5), (12, 17)],
        ["great"],
    )  # not inside "greatness"
    assert locate(text, ["food"]) == ([(6, 10)], [])


def test_parse_terms():
    assert parse_terms("fresh +1, hot -1") == ["fresh", "hot"]
    assert parse_terms("rude -1,") == ["rude"]
    assert parse_terms("NIL") == [] and parse_terms("NULL,fish and chips") == ["fish and chips"]


def test_read_semeval14(tmp_path):
    xml, opinions = tmp_path / "r.xml", tmp_path / "o.txt"
    xml.write_text(XML)
    opinions.write_text("great +1, great +1, superb +1\nNIL\n")
    first, second = read_semeval14(xml, opinions)
    assert first.aspects == ((4, 9),)
    assert first.opinions == ((14, 19), (21, 26))
    assert first.unaligned == ("superb",)
    assert second.aspects == second.opinions == ()
    opinions.write_text("NIL\n")
    with pytest.raises(CoextractError, match=r"o\.txt: 1 lines for the 2 sentences"):
        read_semeval14(xml, opinions)


def test_read_cmla15(tmp_path):
    sentences, aspects = tmp_path / "s.txt", tmp_path / "a.txt"
    sentences.write_text("Love Al Di La##Love +1\nGreat food.##Great +1\nOk.\n")
    aspects.write_bytes(b"Al Di La\r\nfood\r\nNULL\r\n")
    examples = read_cmla15(sentences, aspects)
    assert [e.aspects for e in examples] == [((5, 13),), ((6, 10),), ()]
    assert [e.opinions for e in examples] == [((0, 4),), ((0, 5),), ()]


def test_real_files_align(data_dir):
    raw = data_dir.parent / "semeval-raw"
    examples = read_semeval14(raw / "semeval14/Laptops_Test_Gold.xml", raw / "wang-opinions/test_laptop.txt")
    assert len(examples) == 800 and sum(len(e.aspects) for e in examples) == 654


def test_raw_evaluation_command(tiny_model_dir, data_dir):
    raw = data_dir.parent / "semeval-raw"
    result = subprocess.run(
        [sys.executable, "-m", "coextract", "evaluate", "--model", str(tiny_model_dir), "--json",
         "--cmla-sentences", str(raw / "semeval15-cmla/sentence_restest15_op.txt"),
         "--cmla-aspects", str(raw / "semeval15-cmla/aspectTerm_restest15.txt")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["split"] == "sentence_restest15_op.txt" and report["n_sentences"] == 685
    assert report["aspect"]["n_gold"] == 543 and 0 <= report["opinion"]["f1"] <= 1


@pytest.mark.slow
def test_train_from_raw_semeval_files(tmp_path, data_dir):
    raw = data_dir.parent / "semeval-raw"
    out = tmp_path / "raw-run"
    result = subprocess.run(
        [sys.executable, "-m", "coextract", "train", "--dataset", "res14", "--output", str(out),
         "--data-dir", str(data_dir), "--semeval-xml", str(raw / "semeval14/Restaurants_Test_Gold.xml"),
         "--opinions", str(raw / "wang-opinions/test_restaurant.txt"), "--max-epochs", "1",
         "--hidden-dim", "8", "--n-slices", "2", "--conv-kernels", "", "--max-train-sentences", "100"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "800 reviews" in result.stderr and "could not be used" in result.stderr
    problems = (out / "alignment_problems.txt").read_text().splitlines()
    assert problems and all(p.startswith("review ") for p in problems)
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["raw_files"][0].endswith("Restaurants_Test_Gold.xml")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["aspect"]["n_gold"] == 1134  # tested on the benchmark's test split
