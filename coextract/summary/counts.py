"""The counts behind a corpus summary: per aspect group, its mentions, sentiments, paired opinions
and a few example sentences, added up one tagged record at a time.

Counting is exact and order-preserving, so summaries merge: the summary of two
halves of a corpus, merged in order, equals the summary of the whole (examples
are the first ones met). Memory grows with the distinct aspect groups, their
surface forms and paired opinion terms, and at most `EXAMPLES_PER_SENTIMENT`
examples of at most 2 x `CONTEXT` characters per group and sentiment -- never
with the number of records.
"""

import math
from collections import Counter
from dataclasses import dataclass, field

SENTIMENTS = ("positive", "negative", "neutral", "none")  # "none": the model gave the aspect no sentiment
EXAMPLES_PER_SENTIMENT = 3
CONTEXT = 200  # characters of an example kept either side of its aspect
Z_95 = 1.959964  # the normal quantile of a two-sided 95 % interval


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for a proportion: unlike the normal approximation it stays inside
    [0, 1] and is honest for a handful of mentions, which is what most aspects have."""
    p, n = successes / trials, trials
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Example:
    """A sentence that mentions the aspect, cut to `CONTEXT` characters either side of it ("…" where
    cut), with its aspect and the opinions paired with it marked as (start, end, kind) in `text`."""

    id: object
    text: str
    marks: tuple[tuple[int, int, str], ...]


def example(record_id, text: str, aspect: dict, opinions: list[dict]) -> Example:
    lo, hi = max(0, aspect["start"] - CONTEXT), min(len(text), aspect["end"] + CONTEXT)
    shift = lo - (1 if lo > 0 else 0)  # marks move left by the cut, right by the "…" put before it
    spans = [(aspect["start"], aspect["end"], "aspect")] + [
        (o["start"], o["end"], "opinion") for o in opinions
    ]
    marks = tuple(sorted((s - shift, e - shift, kind) for s, e, kind in spans if lo <= s < e <= hi))
    return Example(record_id, ("…" if lo > 0 else "") + text[lo:hi] + ("…" if hi < len(text) else ""), marks)


@dataclass
class AspectGroup:
    """Everything counted about one aspect group."""

    key: str  # the grouping key (`AspectNames`), or the user's name for a group of synonyms
    named: bool = False  # whether `key` is the user's name
    mentions: int = 0
    reviews: int = 0  # records mentioning it at least once
    sentiments: Counter = field(default_factory=Counter)
    opinions: Counter = field(default_factory=Counter)  # opinion terms paired with it (lower-cased)
    forms: Counter = field(default_factory=Counter)  # how its mentions are written (lower-cased)
    examples: dict = field(default_factory=dict)  # sentiment -> [Example], the first ones met

    @property
    def name(self) -> str:
        """The user's name, else the form its mentions use most (ties: the first alphabetically)."""
        if self.named or not self.forms:
            return self.key
        return min(self.forms.items(), key=lambda item: (-item[1], item[0]))[0]

    def net_score(self) -> tuple[float, float, float] | None:
        """(positive - negative) / (positive + negative), with the 95 % interval that Wilson's interval
        for the positive share maps to; None without a positive or negative mention."""
        positive, polar = (
            self.sentiments["positive"],
            self.sentiments["positive"] + self.sentiments["negative"],
        )
        if not polar:
            return None
        low, high = wilson_interval(positive, polar)
        return 2 * positive / polar - 1, 2 * low - 1, 2 * high - 1

    def count(self, form: str, sentiment: str, opinions: list[dict]) -> None:
        """One mention, written `form`, with its sentiment and the opinion spans paired with it."""
        self.mentions += 1
        self.forms[form.lower()] += 1
        self.sentiments[sentiment] += 1
        self.opinions.update(opinion["text"].lower() for opinion in opinions)

    def wants_example(self, sentiment: str) -> bool:
        return len(self.examples.get(sentiment, ())) < EXAMPLES_PER_SENTIMENT

    def merge(self, other: "AspectGroup") -> None:
        self.mentions += other.mentions
        self.reviews += other.reviews
        self.sentiments += other.sentiments
        self.opinions += other.opinions
        self.forms += other.forms
        for sentiment, examples in other.examples.items():
            self.examples[sentiment] = (self.examples.get(sentiment, []) + examples)[:EXAMPLES_PER_SENTIMENT]

    def to_dict(self) -> dict:
        net = self.net_score()
        return {
            "name": self.name,
            "key": self.key,
            "mentions": self.mentions,
            "reviews": self.reviews,
            "sentiments": {s: self.sentiments[s] for s in SENTIMENTS},
            "shares": {s: self.sentiments[s] / self.mentions for s in SENTIMENTS},
            "net_score": None if net is None else net[0],
            "net_interval": None if net is None else list(net[1:]),
            "opinions": dict(self.opinions.most_common()),
            "forms": dict(self.forms.most_common()),
            "examples": {
                s: [
                    {"id": e.id, "text": e.text, "marks": [list(m) for m in e.marks]}
                    for e in self.examples[s]
                ]
                for s in SENTIMENTS
                if s in self.examples
            },
        }
