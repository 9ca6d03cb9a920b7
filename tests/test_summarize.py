"""`coextract summarize` and `coextract.summarize`: grouping, counting, merging, every output form, the
hostile-text guarantees of the HTML page, and the real command on real tagged files."""

import csv
import io
import json
from functools import lru_cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

import coextract
from coextract.errors import CoextractError
from coextract.summary import Summary, summarize
from coextract.summary.aspect_names import AspectNames, read_aspect_map
from coextract.summary.counts import CONTEXT, wilson_interval

HOSTILE = [
    "<script>document.title='pwned'</script>",
    "<img src=x onerror=\"document.title='pwned'\">",
    "</style><script>document.title='pwned'</script>",
]


SYNONYMS = {"waiter": "staff", "waitress": "staff", "staff": "staff"}


@lru_cache(maxsize=1)
def names() -> AspectNames:
    return AspectNames(SYNONYMS)


def span(text: str, start: int, sentiment: str | None = None) -> dict:
    out = {"text": text, "start": start, "end": start + len(text), "score": 0.9}
    return out | ({"sentiment": sentiment, "sentiment_score": 0.8} if sentiment else {})


def review(
    record_id, text: str, aspects: list[tuple[str, str | None]], opinions: list[str], pairs=()
) -> dict:
    """A tagged record of `text`, its spans found where their words first occur."""
    aspect_spans = [span(a, text.index(a), s) for a, s in aspects]
    opinion_spans = [span(o, text.index(o)) for o in opinions]
    return {"id": record_id, "text": text, "aspects": aspect_spans, "opinions": opinion_spans,
            "pairs": [{"aspect": aspect_spans[a], "opinion": opinion_spans[o], "sentiment": "positive",
                       "score": 0.7} for a, o in pairs]}  # fmt: skip


def test_mentions_of_one_aspect_share_a_group_and_the_users_synonyms_join_groups():
    groups = {text: names().group(text) for text in ("the pizzas", "Pizza", "pizza's", "Their PIZZAS")}
    assert set(groups.values()) == {("pizza", False)}
    assert names().group("waiters") == names().group("Waitress") == ("staff", True)
    assert names().group("battery life") == ("battery life", False)
    assert names().group("sushi rolls") == names().group("Sushi roll")


def test_an_aspect_map_file_is_read_and_its_mistakes_are_named(tmp_path):
    good = tmp_path / "map.txt"
    good.write_text("# who serves\nstaff = waiter = Waitress\n\nloo = restroom  # British\n")
    assert read_aspect_map(good) == {"staff": "staff", "waiter": "staff", "waitress": "staff", "loo": "loo",
                                     "restroom": "loo"}  # fmt: skip
    for body, message in [("staff\n", r"map.txt:1: expected `name = synonym"),
                          ("a = b\nc = = d\n", r"map.txt:2: expected"),
                          ("a = b\nc = B\n", r"map.txt:2: 'B' is already in the group on line 1")]:  # fmt: skip
        good.write_text(body)
        with pytest.raises(CoextractError, match=message):
            read_aspect_map(good)


def test_wilson_interval_matches_the_textbook_values():
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson_interval(0, 5) == pytest.approx((0.0, 0.4345), abs=1e-4)
    assert wilson_interval(5, 5)[1] == 1.0


def test_counts_sentiments_opinions_reviews_and_net_score():
    records = [
        review(
            1,
            "The pizzas were great, the waiter rude.",
            [("pizzas", "positive"), ("waiter", "negative")],
            ["great", "rude"],
            pairs=[(0, 0), (1, 1)],
        ),  # fmt: skip
        review(
            2, "Pizza pizza pizza, good.", [("Pizza", "positive"), ("pizza", "neutral")], ["good"], [(0, 0)]
        ),
        {"id": 3, "error": "x.txt:3: no text", "aspects": [], "opinions": []},
    ]
    data = summarize(records, aspect_map={"waiter": "staff"}).to_dict()
    assert (data["records"], data["errors"], data["mentions"], data["aspect_groups"]) == (3, 1, 4, 2)
    pizza, staff = data["groups"]
    assert (pizza["name"], pizza["mentions"], pizza["reviews"]) == ("pizza", 3, 2)
    assert pizza["sentiments"] == {"positive": 2, "negative": 0, "neutral": 1, "none": 0}
    assert pizza["opinions"] == {"great": 1, "good": 1} and pizza["forms"] == {"pizzas": 1, "pizza": 2}
    assert pizza["net_score"] == 1.0 and pizza["net_interval"][0] == pytest.approx(2 * 0.3424 - 1, abs=1e-3)
    assert (staff["name"], staff["net_score"], staff["opinions"]) == ("staff", -1.0, {"rude": 1})
    assert pizza["examples"]["positive"][0]["marks"] == [[4, 10, "aspect"], [16, 21, "opinion"]]


def test_an_example_is_cut_around_its_aspect_and_its_marks_follow():
    text = "x" * 500 + " the soup was cold " + "y" * 500
    data = summarize([review(1, text, [("soup", "negative")], ["cold"], [(0, 0)])]).to_dict()
    example = data["groups"][0]["examples"]["negative"][0]
    assert example["text"].startswith("…") and example["text"].endswith("…")
    assert len(example["text"]) == 2 * CONTEXT + len("soup") + 2
    assert [example["text"][s:e] for s, e, _ in example["marks"]] == ["soup", "cold"]


def test_a_record_that_is_not_a_tagged_record_counts_nothing():
    summary = Summary()
    for bad in [{"aspects": [{"text": "x"}], "opinions": []}, {"aspects": "pizza", "opinions": []},
                {"aspects": [span("a", 0, "great")], "opinions": []}]:  # fmt: skip
        with pytest.raises(ValueError):
            summary.add(bad, names())
    assert summary == Summary()


WORDS = ["pizza", "Pizzas", "the pizza", "service", "waiter", "waiters", "staff", "battery life"]


@st.composite
def records(draw):
    out = []
    for i in range(draw(st.integers(0, 12))):
        words = draw(st.lists(st.sampled_from(WORDS), max_size=3))
        text = " and ".join(words) + " were fine"
        aspects = [(w, draw(st.sampled_from(["positive", "negative", "neutral", None]))) for w in words]
        with_pairs = review(
            i, text, aspects, ["fine"], [(a, 0) for a in range(len(words)) if draw(st.booleans())]
        )
        if draw(st.booleans()):
            del with_pairs["text"]
        out.append(
            with_pairs
            if draw(st.integers(0, 9))
            else {"id": i, "error": "bad", "aspects": [], "opinions": []}
        )
    return out


@given(records(), st.data())
def test_the_summary_of_two_halves_merged_is_the_summary_of_the_whole(rows, data):
    cut = data.draw(st.integers(0, len(rows)))
    whole = summarize(rows, names=names())
    halves = summarize(rows[:cut], names=names()).merge(summarize(rows[cut:], names=names()))
    assert halves == whole
    assert halves.to_json() == whole.to_json()


def test_every_form_of_a_summary_holds_the_same_groups():
    rows = [
        review(i, f"The {w} was fine", [(w, "positive")], ["fine"], [(0, 0)]) for i, w in enumerate(WORDS)
    ]
    summary = summarize(rows, names=names())
    data = json.loads(summary.to_json())
    table = list(csv.DictReader(io.StringIO(summary.to_csv())))
    frame = summary.to_frame()
    assert [g["name"] for g in data["groups"]] == [r["name"] for r in table] == list(frame["name"])
    assert (
        [g["mentions"] for g in data["groups"]]
        == [int(r["mentions"]) for r in table]
        == list(frame["mentions"])
    )
    assert "pizza" in summary.to_text() and summary.to_text(top=1).count("\n") == 3


def test_the_python_api_summarizes_a_taggers_output():
    tagger = coextract.load("restaurant")
    summary = coextract.summarize(tagger.pipe(["The pizzas were great.", "Pizza again, and the service."]))
    groups = {g.name: g for g in summary.ranked()}
    assert groups["pizza"].mentions == 2 and groups["pizza"].reviews == 2
    assert summary.records_with_text == 2


def test_review_text_in_the_html_page_stays_text():
    rows = [review(i, f"The pizza {bad} was fine", [("pizza", "positive"), (bad, "negative")], ["fine"], [(0, 0)])
            for i, bad in enumerate(HOSTILE)]  # fmt: skip
    page = summarize(rows, names=names()).to_html()
    assert "document.title" in page and "pwned" in page  # the text is there, as text
    assert page.count("<script") == 1  # one script: the page's own
    assert "<img" not in page and page.count("</style>") == 1
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    assert "Content-Security-Policy" in page and "script-src 'sha256-" in page


def test_a_dask_frame_of_tagged_rows_is_summarized_by_partition_and_merged_in_order():
    dd = pytest.importorskip("dask.dataframe")
    import dask
    import pandas as pd

    from coextract.corpus.dask_engine import tag_dataframe
    from coextract.summary import summarize_dataframe

    texts = [f"The {w} was great but the service {i} was slow." for i, w in enumerate(WORDS * 2)]
    tagged = tag_dataframe(dd.from_pandas(pd.DataFrame({"text": texts}), npartitions=3), include_text=True)
    with dask.config.set(scheduler="synchronous"):
        by_partition = summarize_dataframe(tagged, aspect_map=SYNONYMS)
        whole = summarize(tagged.compute().to_dict("records"), names=names())
    assert by_partition == whole and by_partition.records == len(texts)
    direct = summarize(coextract.load("restaurant").pipe(texts), names=names())
    assert [(g.name, g.mentions) for g in direct.ranked()] == [(g.name, g.mentions) for g in whole.ranked()]
