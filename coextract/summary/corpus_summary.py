"""`Summary`: a tagged corpus at a glance, and `summarize`, which builds one from tagger output or from
the records `coextract tag` wrote.

A record is the JSON object of `corpus.writers` (what `tag` writes, a Dask
engine row, or an `Extraction`, converted). A record with an `error` is counted
as such and adds nothing else. Aspects get their sentiment from the model ("none"
from a model without relation heads) and their opinions from the record's pairs.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache, reduce

from coextract.corpus.writers import pair_record, span_record
from coextract.runtime.spans import Extraction
from coextract.summary.aspect_names import AspectNames
from coextract.summary.counts import SENTIMENTS, AspectGroup, example
from coextract.summary.html_report import html_page
from coextract.summary.reports import csv_text, data_frame, json_text, text_table


def as_record(item: Extraction | dict) -> dict:
    """A tagged record as `coextract tag` writes it, from a record or a tagger's `Extraction`."""
    if isinstance(item, Extraction):
        return {
            "text": item.text,
            "aspects": [span_record(span) for span in item.aspects],
            "opinions": [span_record(span) for span in item.opinions],
            "pairs": [pair_record(pair) for pair in item.pairs],
        }
    return item


SENTIMENT_VALUES = frozenset((*SENTIMENTS, None))  # None: a parquet row's aspect without one


def is_span(span) -> bool:
    """Whether `span` is a span `tag` wrote (exact types: this runs for every span of a corpus)."""
    return (
        type(span) is dict
        and type(span.get("text")) is str
        and type(span.get("start")) is int
        and type(span.get("end")) is int
        and span.get("sentiment") in SENTIMENT_VALUES
    )


def record_problem(record: dict) -> str | None:
    """What makes `record` not a tagged record a summary can count, or None."""
    if not isinstance(record, dict) or not all(
        isinstance(record.get(k), list) for k in ("aspects", "opinions")
    ):
        return "not a tagged record (no aspects and opinions lists)"
    if not all(is_span(span) for span in record["aspects"]):
        return "an aspect that is not {text, start, end[, sentiment]}"
    pairs = record.get("pairs") or []
    if not isinstance(pairs, list) or not all(
        isinstance(p, dict) and is_span(p.get("aspect")) and is_span(p.get("opinion")) for p in pairs
    ):
        return "a pair that is not {aspect, opinion, ...}"
    text = record.get("text")
    if text is not None and not isinstance(text, str):
        return "a text that is not a string"
    return None


@dataclass
class Summary:
    """Per aspect group counts over a corpus (`counts.AspectGroup`), and what was read."""

    records: int = 0
    errors: int = 0  # records `tag` could not tag (they carry an `error`)
    records_with_text: int = 0  # records whose text was there for examples
    groups: dict[str, AspectGroup] = field(default_factory=dict)

    def add(self, record: dict, names: AspectNames) -> None:
        """Count one tagged record; a record that is not one raises ValueError and counts nothing."""
        problem = record_problem(record)
        if problem:
            raise ValueError(problem)
        self.records += 1
        if record.get("error"):
            self.errors += 1
            return
        text = record.get("text")
        self.records_with_text += text is not None
        paired: dict[tuple[int, int], list[dict]] = {}
        for pair in record.get("pairs") or []:
            paired.setdefault((pair["aspect"]["start"], pair["aspect"]["end"]), []).append(pair["opinion"])
        mentioned = set()
        for aspect in record["aspects"]:
            key, named = names.group(aspect["text"])
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = AspectGroup(key, named)
            sentiment = aspect.get("sentiment") or "none"
            opinions = paired.get((aspect["start"], aspect["end"]), [])
            group.count(aspect["text"], sentiment, opinions)
            if text and group.wants_example(sentiment):
                group.examples.setdefault(sentiment, []).append(
                    example(record.get("id"), text, aspect, opinions)
                )
            group.reviews += key not in mentioned
            mentioned.add(key)

    def merge(self, other: "Summary") -> "Summary":
        """The summary of this corpus followed by `other`'s (a new Summary; neither changes)."""
        merged = Summary()
        for part in (self, other):
            merged.records += part.records
            merged.errors += part.errors
            merged.records_with_text += part.records_with_text
            for key, group in part.groups.items():
                merged.groups.setdefault(key, AspectGroup(key, group.named)).merge(group)
        return merged

    def ranked(self, top: int | None = None, min_mentions: int = 1) -> list[AspectGroup]:
        """Groups with at least `min_mentions` mentions, most mentioned first (ties by name)."""
        kept = [g for g in self.groups.values() if g.mentions >= min_mentions]
        return sorted(kept, key=lambda g: (-g.mentions, g.name))[:top]

    def to_dict(self, top: int | None = None, min_mentions: int = 1) -> dict:
        """The summary as JSON-ready data: what was read, and the ranked groups (`AspectGroup.to_dict`)."""
        return {
            "records": self.records,
            "errors": self.errors,
            "records_with_text": self.records_with_text,
            "aspect_groups": len(self.groups),
            "mentions": sum(group.mentions for group in self.groups.values()),
            "groups": [group.to_dict() for group in self.ranked(top, min_mentions)],
        }

    def to_json(self, top: int | None = None, min_mentions: int = 1) -> str:
        return json_text(self.to_dict(top, min_mentions))

    def to_csv(self, top: int | None = None, min_mentions: int = 1) -> str:
        """One row per group: counts, shares, net score and interval; opinions and forms as JSON."""
        return csv_text(self.to_dict(top, min_mentions))

    def to_text(self, top: int | None = 20, min_mentions: int = 1) -> str:
        """A table for a terminal."""
        return text_table(self.to_dict(top, min_mentions))

    def to_frame(self, top: int | None = None, min_mentions: int = 1):
        """A pandas DataFrame, one row per group, the CSV's columns (pandas must be installed)."""
        return data_frame(self.to_dict(top, min_mentions))

    def to_html(self, top: int | None = 30, min_mentions: int = 1) -> str:
        """One self-contained HTML page: chart, sortable table, examples; review text escaped."""
        return html_page(self.to_dict(top, min_mentions))


def summarize(
    items: Iterable[Extraction | dict], *, aspect_map: dict[str, str] | None = None, names=None
) -> Summary:
    """A `Summary` of tagger output (`Extraction`s) or tagged records (dicts), read once, in order.

    `aspect_map` maps a user's words to group names ({"waiter": "staff", "waitress": "staff"});
    `names` passes an `AspectNames` already built (its spaCy pipeline takes a second to load)."""
    names = names or AspectNames(aspect_map)
    summary = Summary()
    for item in items:
        summary.add(as_record(item), names)
    return summary


def summarize_partition(frame, aspect_map: dict[str, str] | None) -> Summary:
    return summarize(frame.to_dict("records"), names=cached_names(tuple(sorted((aspect_map or {}).items()))))


@lru_cache(maxsize=4)
def cached_names(aspect_map: tuple[tuple[str, str], ...]) -> AspectNames:
    """One `AspectNames` per worker process and map, not one per partition."""
    return AspectNames(dict(aspect_map))


def summarize_dataframe(ddf, *, aspect_map: dict[str, str] | None = None) -> Summary:
    """The `Summary` of a Dask DataFrame of tagged records (`tag_dataframe`'s output): each partition
    summarized where it lives, the summaries merged here in partition order."""
    import dask

    parts = [dask.delayed(summarize_partition)(part, aspect_map) for part in ddf.to_delayed()]
    return reduce(Summary.merge, dask.compute(*parts), Summary())
