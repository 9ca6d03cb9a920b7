"""The real `coextract summarize` on the README's reviews, tagged by the real `coextract tag`: every output,
a recount of the tagged file, texts from --source, a pipe, a terminal, bad lines, and the page in a
real browser."""

import csv
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from coextract.cli import main
from tests.conftest import coextract, coextract_in_terminal
from tests.test_summarize import HOSTILE, names, review

REVIEWS = str(
    Path(__file__).resolve().parents[2] / "shared/data/semeval-raw/semeval14/Restaurants_Test_Gold.xml"
)


def summarize(capsys, *args: str) -> tuple[int, str]:
    """`coextract summarize ARGS` in this process (the command's own code, without a new interpreter and
    spaCy import per call; the pipe and terminal tests run it as a process): (exit status, stderr)."""
    status = main(["summarize", *args])
    return status, capsys.readouterr().err


@pytest.fixture(scope="module")
def tagged(tmp_path_factory) -> Path:
    """The README's XML tagged with the bundled restaurant model, texts included."""
    out = tmp_path_factory.mktemp("summarize") / "tagged.jsonl"
    done = coextract("tag", REVIEWS, "--output", str(out), "--include-text", "--workers", "1")
    assert done.returncode == 0, done.stderr
    return out


def recount(path: Path, groups: list[dict]) -> dict:
    """Mentions, reviews and sentiments per group, counted again from the tagged file, grouping each
    mention by its written form as the summary's `forms` list them."""
    group_of = {form: g["name"] for g in groups for form in g["forms"]}
    counts = defaultdict(lambda: {"mentions": 0, "reviews": 0, "sentiments": Counter()})
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        found = {group_of[a["text"].lower()] for a in record["aspects"]}
        for aspect in record["aspects"]:
            counts[group_of[aspect["text"].lower()]]["mentions"] += 1
            counts[group_of[aspect["text"].lower()]]["sentiments"][aspect.get("sentiment", "none")] += 1
        for name in found:
            counts[name]["reviews"] += 1
    return counts


@pytest.mark.slow  # runs the real command or many inputs: seconds, kept out of the quick loop
def test_html_json_and_csv_of_the_readmes_reviews_hold_a_recount_of_the_tagged_file(tagged, tmp_path, capsys):
    for suffix in ("html", "json", "csv"):
        status, said = summarize(capsys, str(tagged), "--output", str(tmp_path / f"report.{suffix}"))
        assert status == 0, said
        assert "800 records (0 with errors)" in said and "0 lines skipped" in said
    data = json.loads((tmp_path / "report.json").read_text())
    again = recount(tagged, data["groups"])
    assert (
        sum(g["mentions"] for g in data["groups"])
        == data["mentions"]
        == sum(c["mentions"] for c in again.values())
    )
    for group in data["groups"]:
        counted = again[group["name"]]
        assert (group["mentions"], group["reviews"]) == (counted["mentions"], counted["reviews"])
        assert {s: n for s, n in group["sentiments"].items() if n} == dict(counted["sentiments"])
    rows = list(csv.DictReader((tmp_path / "report.csv").open(encoding="utf-8")))
    assert [(r["name"], int(r["mentions"])) for r in rows] == [
        (g["name"], g["mentions"]) for g in data["groups"]
    ]
    page = (tmp_path / "report.html").read_text()
    assert "<svg" in page and page.count("<tr>") == 31  # the header and the 30 most mentioned
    assert "no example: no review text" not in page


@pytest.mark.slow  # runs the real command or many inputs: seconds, kept out of the quick loop
def test_examples_come_from_source_when_the_output_has_no_text(tmp_path, capsys):
    plain = tmp_path / "tagged.csv"
    assert coextract("tag", REVIEWS, "--output", str(plain), "--workers", "1").returncode == 0
    status, said = summarize(capsys, str(plain), "--output", str(tmp_path / "r.json"), "--source", REVIEWS)
    assert status == 0, said
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["records_with_text"] == 800 and any(data["groups"][0]["examples"].values())
    assert (
        "no review text, so no examples"
        in summarize(capsys, str(plain), "--output", str(tmp_path / "r.html"))[1]
    )
    other = tmp_path / "other.txt"
    other.write_text("Just one review.\n")
    status, said = summarize(
        capsys, str(plain), "--output", str(tmp_path / "r2.json"), "--source", str(other)
    )
    assert status == 2 and "not the files that were tagged" in said
    assert not (tmp_path / "r2.json").exists()


@pytest.mark.slow  # runs the real command or many inputs: seconds, kept out of the quick loop
def test_in_a_pipe_it_reads_stdin_and_prints_a_table(tagged):
    command = f"cat {tagged} | {sys.executable} -m coextract summarize - --output - --top 5"
    done = subprocess.run(command, shell=True, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("800 records") and lines[2].split()[0] == "food" and len(lines) == 7
    assert "records/s" not in done.stderr  # no progress bar off a terminal


@pytest.mark.slow  # runs the real command or many inputs: seconds, kept out of the quick loop
def test_in_a_terminal_it_shows_progress(tagged, tmp_path):
    status, shown = coextract_in_terminal("summarize", str(tagged), "--output", str(tmp_path / "r.json"))
    assert status == 0 and "800 records" in shown and "records/s" in shown


def test_lines_that_are_not_tagged_records_are_named_and_the_rest_counted(tagged, tmp_path, capsys):
    lines = tagged.read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_text(
        "\n".join([lines[0], "{not json", '{"aspects": "x", "opinions": []}', *lines[1:]]) + "\n"
    )
    status, said = summarize(capsys, str(broken), "--output", str(tmp_path / "r.json"))
    assert status == 0, said
    assert f"{broken}:2: invalid JSON" in said and f"{broken}:3: not a tagged record" in said
    assert "800 records" in said and "2 lines skipped" in said
    status, said = summarize(capsys, str(tagged), "--output", str(tmp_path / "r.xlsx"))
    assert status == 2 and "name it .html, .json or .csv" in said


def test_an_aspect_map_puts_synonyms_under_the_users_name(tagged, tmp_path, capsys):
    (tmp_path / "map.txt").write_text("staff = waiter = waitress\n")
    args = ("--output", str(tmp_path / "r.json"), "--aspect-map", str(tmp_path / "map.txt"))
    assert summarize(capsys, str(tagged), *args)[0] == 0
    groups = {g["name"]: g for g in json.loads((tmp_path / "r.json").read_text())["groups"]}
    assert "waiter" not in groups and {"waiter", "staff"} <= set(groups["staff"]["forms"])


@pytest.mark.slow
def test_the_page_renders_in_headless_chromium_and_hostile_reviews_run_nothing(tmp_path):
    browser = shutil.which("chromium")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed: .ci/run installs it (apt-get install chromium)")
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    from coextract.summary import summarize

    rows = [review(i, f"The pizza {bad} was fine", [("pizza", "positive"), (bad, "negative")], ["fine"], [(0, 0)])
            for i, bad in enumerate(HOSTILE)]  # fmt: skip
    page = tmp_path / "report.html"
    page.write_text(summarize(rows, names=names()).to_html(), encoding="utf-8")
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)  # fmt: skip
    dom = done.stdout
    assert 'data-ready="yes"' in dom  # the page's own script ran to its end
    assert dom.count('class="bar"') == 4 and dom.count("<tr>") == 5  # a bar and a row per group (+ header)
    assert "<title>coextract summary</title>" in dom and "pwned</title>" not in dom
    assert "<img" not in dom  # the review's tag is text, not an element
    assert [line for line in done.stderr.splitlines() if ":CONSOLE" in line] == []  # no error, no CSP block


def test_a_model_with_relation_heads_fills_sentiments_and_paired_opinions(tiny_model_dir, tmp_path, capsys):
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("The pizza was great but the service was slow.\nGreat food, rude waiter.\n" * 20)
    tagged = tmp_path / "tagged.jsonl"
    assert coextract("tag", str(reviews), "--model", str(tiny_model_dir), "--include-text", "--output", str(tagged)).returncode == 0  # fmt: skip
    status, said = summarize(capsys, str(tagged), "--output", str(tmp_path / "r.json"))
    assert status == 0, said
    data = json.loads((tmp_path / "r.json").read_text())
    records = [json.loads(line) for line in tagged.read_text().splitlines()]
    pairs = sum(len(r["pairs"]) for r in records)
    assert sum(sum(g["opinions"].values()) for g in data["groups"]) == pairs
    assert sum(g["sentiments"]["none"] for g in data["groups"]) == 0 and data["mentions"] > 0
