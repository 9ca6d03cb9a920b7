"""Who thinks what of which aspect: the gold aspect sentiments and aspect-opinion triplets.

Two sources (see `../shared/data/README.md`):

- absa/ `target_polarity.txt`, line-aligned with `sentence.txt`: a code per token
  (0 none, 1 positive, 2 negative, 3 neutral, 4 conflict). An aspect's sentiment
  is the code at its first token, as RACL and IMN read it (`aspect_sentiments`).
- aste-v2 `{split}_triplets.txt`: `tokens####[([aspect indices], [opinion
  indices], 'POS'|'NEG'|'NEU'), ...]`, original case (`read_triplets`).

The two tokenize the same reviews a little differently (absa/ is lower-cased and
drops a sentence-final period, and splits some words otherwise), so
`align_triplets` moves aste-v2 spans onto absa/ tokens by their letters and
digits, and reports the spans whose ends fall inside an absa/ token.
`read_relations` gives every absa/ sentence both: its aspects' sentiments and,
where aste-v2 holds the review, its triplets (what multi-task training reads).
"""

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from coextract.errors import CoextractError
from coextract.runtime.decoding import tags_to_spans

POLARITIES = {1: "positive", 2: "negative", 3: "neutral", 4: "conflict"}  # target_polarity.txt codes
ASTE_SENTIMENTS = {"POS": "positive", "NEG": "negative", "NEU": "neutral"}
Span = tuple[int, int]  # token indices [start, end)


@dataclass(frozen=True)
class Triplet:
    """An opinion about an aspect, with the sentiment it expresses."""

    aspect: Span
    opinion: Span
    sentiment: str  # "positive", "negative" or "neutral"


@dataclass(frozen=True)
class TripletExample:
    tokens: tuple[str, ...]
    triplets: tuple[Triplet, ...]


def aspect_sentiments(aspect_tags: Sequence[Sequence[int]], path: Path) -> list[list[tuple[int, int, str]]]:
    """Each sentence's gold aspects as (start, end, sentiment), the sentiment read at the first token
    from `path` (a `target_polarity.txt` line-aligned with the tags)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if len(lines) != len(aspect_tags):
        raise CoextractError(f"{path}: {len(lines)} lines for {len(aspect_tags)} sentences")
    sentences = []
    for line_no, (line, tags) in enumerate(zip(lines, aspect_tags, strict=True), start=1):
        codes = [int(code) for code in line.split()]
        if len(codes) != len(tags):
            raise CoextractError(f"{path}:{line_no}: {len(codes)} codes for {len(tags)} tokens")
        spans = tags_to_spans(tags)
        if any(codes[start] not in POLARITIES for start, _ in spans):
            raise CoextractError(f"{path}:{line_no}: an aspect's first token has no sentiment")
        sentences.append([(start, end, POLARITIES[codes[start]]) for start, end in spans])
    return sentences


def read_triplets(path: Path | str) -> list[TripletExample]:
    """The sentences of an aste-v2 `*_triplets.txt` file with their triplets; errors name the line."""
    examples = []
    for line_no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        sentence, sep, listed = line.partition("####")
        tokens = tuple(sentence.split())
        try:
            triplets = tuple(parsed_triplet(item, len(tokens)) for item in ast.literal_eval(listed))
        except (ValueError, SyntaxError, TypeError, KeyError) as err:
            raise CoextractError(f"{path}:{line_no}: not an aste-v2 triplet line ({err})") from None
        if not sep or not tokens:
            raise CoextractError(f"{path}:{line_no}: no 'tokens####triplets' here")
        examples.append(TripletExample(tokens, triplets))
    return examples


def parsed_triplet(item, n_tokens: int) -> Triplet:
    aspect, opinion, sentiment = item
    return Triplet(span_of(aspect, n_tokens), span_of(opinion, n_tokens), ASTE_SENTIMENTS[sentiment])


def span_of(indices: Sequence[int], n_tokens: int) -> Span:
    """[i, i+1, ..., j] -> (i, j + 1), checked to be a run of tokens of the sentence."""
    start, end = indices[0], indices[-1] + 1
    if list(indices) != list(range(start, end)) or not 0 <= start < end <= n_tokens:
        raise ValueError(f"token indices {list(indices)} are not a run of the sentence's {n_tokens} tokens")
    return start, end


NOT_LETTER = re.compile(r"[^0-9a-z]")


@lru_cache(maxsize=1 << 16)  # reading a dataset asks for each word thousands of times
def letters(token: str) -> str:
    """What two tokenizations of one review agree on: the lower-cased letters and digits."""
    return NOT_LETTER.sub("", token.lower())


def review_key(tokens: Sequence[str]) -> str:
    """The same for two tokenizations of one review: its `letters`, end to end."""
    return "".join(map(letters, tokens))


def char_bounds(tokens: Sequence[str]) -> list[Span]:
    """Each token's [start, end) in the concatenation of the tokens' `letters`."""
    bounds, at = [], 0
    for token in tokens:
        bounds.append((at, at + len(letters(token))))
        at = bounds[-1][1]
    return bounds


def moved_span(span: Span, source: list[Span], starts: dict[int, int], ends: dict[int, int]) -> Span | None:
    """A token span of the source tokenization as a span of the target one (whose tokens start and
    end at the letter positions `starts` and `ends` map), or None where its letters do not start and
    end on target token boundaries (or hold no letter at all)."""
    first, last = source[span[0]][0], source[span[1] - 1][1]
    if first == last or first not in starts or last not in ends:
        return None
    return starts[first], ends[last]


def align_triplets(example: TripletExample, tokens: Sequence[str]) -> tuple[tuple[Triplet, ...], int]:
    """`example`'s triplets over `tokens` (another tokenization of the same review), and how many
    could not be moved (a ValueError where the two do not hold the same letters)."""
    if review_key(example.tokens) != review_key(tokens):
        raise ValueError("the two token lists are not the same review")
    source, target = char_bounds(example.tokens), char_bounds(tokens)
    starts = {start: i for i, (start, end) in enumerate(target) if end > start}
    ends = {end: i + 1 for i, (start, end) in enumerate(target) if end > start}
    moved, lost = [], 0
    for triplet in example.triplets:
        aspect = moved_span(triplet.aspect, source, starts, ends)
        opinion = moved_span(triplet.opinion, source, starts, ends)
        if aspect is None or opinion is None:
            lost += 1
        else:
            moved.append(Triplet(aspect, opinion, triplet.sentiment))
    return tuple(moved), lost


ASTE_NAMES = {"res14": "14res", "lap14": "14lap", "res15": "15res"}  # absa/ name -> aste-v2 name
ASTE_SOURCES = {"train": ("train", "dev"), "dev": ("train", "dev"), "test": ("test",)}  # never a test leak


def aste_dir(data_dir: Path | str, dataset: str) -> Path:
    """aste-v2's folder of an absa/ dataset (res14 -> aste-v2/14res), beside the absa/ `data_dir`."""
    return Path(data_dir).parent / "aste-v2" / ASTE_NAMES.get(dataset, dataset)


def relation_files(data_dir: Path | str, dataset: str) -> tuple[Path, ...]:
    """The files relation heads learn from and are selected on: absa/ train and dev sentiments and
    aste-v2's train and dev triplets (what a model's data fingerprint covers beside its terms)."""
    polarities = [Path(data_dir) / dataset / split / "target_polarity.txt" for split in ("train", "dev")]
    return (
        *polarities,
        *(aste_dir(data_dir, dataset) / f"{split}_triplets.txt" for split in ("train", "dev")),
    )


@dataclass(frozen=True)
class Relations:
    """What the data says of one absa/ sentence beyond its terms: who thinks what of which aspect."""

    aspect_sentiments: tuple[tuple[int, int, str], ...]  # each gold aspect (start, end, sentiment)
    triplets: tuple[Triplet, ...] | None  # aste-v2's, on absa/ tokens; None: aste-v2 lacks the sentence


def read_relations(data_dir: Path | str, dataset: str, examples: dict) -> dict[str, list[Relations]]:
    """Per absa/ split, line-aligned with `examples` (`benchmark.read_dataset`): the aspects'
    sentiments and, where aste-v2 holds the same review, its triplets moved onto absa/ tokens.

    An absa/ train or dev sentence takes triplets only from aste-v2 train or dev, a test sentence
    only from aste-v2 test (ASTE_SOURCES), so no test pair can reach training. `data_dir` is the
    absa/ folder; aste-v2/ is beside it (without it, every sentence's triplets are None).
    """
    root, aste = Path(data_dir), aste_dir(data_dir, dataset)
    names = {source for split in examples for source in ASTE_SOURCES[split]} if aste.is_dir() else ()
    files = {name: read_triplets(aste / f"{name}_triplets.txt") for name in names}
    relations = {}
    for split, split_examples in examples.items():
        sentiments = aspect_sentiments(
            [e.aspect_tags for e in split_examples], root / dataset / split / "target_polarity.txt"
        )
        found = {review_key(e.tokens): e for source in ASTE_SOURCES[split] for e in files.get(source, ())}
        relations[split] = [
            Relations(tuple(s), moved_triplets(found.get(review_key(e.tokens)), e.tokens))
            for e, s in zip(split_examples, sentiments, strict=True)
        ]
    return relations


def moved_triplets(example: TripletExample | None, tokens: Sequence[str]) -> tuple[Triplet, ...] | None:
    return None if example is None else align_triplets(example, tokens)[0]
