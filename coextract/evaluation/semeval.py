"""Readers for the raw SemEval reviews with their gold terms as character spans.

Two formats (see `../shared/data/README.md`):

- SemEval-2014 XML (`<sentence><text>` with `<aspectTerm from to>`) plus Wang et
  al.'s opinion file, one line per `<sentence>`: `term +1, term -1` or `NIL`.
- The SemEval-2015 files released with CMLA: `raw sentence##op +1, op -1` lines
  and a line-aligned aspect file (`a, b` or `NULL`).

Terms given as strings (all opinions; the 2015 aspects) are located in the text by
this rule: case-insensitive, on word boundaries, left to right; a term listed k
times takes its first k occurrences. A term that cannot be found is counted in
`RawExample.unaligned` and left out of the gold, never silently; where more than
MAX_UNALIGNED of the terms are not found, the two files are not of the same
reviews and `check_alignment` refuses them (evaluation and training alike).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from coextract.corpus.readers import xml_sentences
from coextract.errors import CoextractError
from coextract.evaluation.benchmark import Example
from coextract.runtime.decoding import spans_to_tags


@dataclass(frozen=True)
class RawExample:
    """A raw review sentence with gold aspect and opinion terms as (start, end) character spans."""

    text: str
    aspects: tuple[tuple[int, int], ...]
    opinions: tuple[tuple[int, int], ...]
    unaligned: tuple[str, ...] = ()  # listed terms not found in the text


def _lines(path: Path) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CoextractError(f"{path}: file not found") from None
    except UnicodeDecodeError as err:
        raise CoextractError(f"{path}: not UTF-8 text ({err})") from None


def locate(text: str, terms: list[str]) -> tuple[list[tuple[int, int]], list[str]]:
    """Character spans of `terms` in `text` by the module's rule; also the terms not found."""
    found, missing, taken = [], [], set()
    for term in terms:
        pattern = re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE)
        match = next((m for m in pattern.finditer(text) if m.span() not in taken), None)
        if match is None:
            missing.append(term)
        else:
            taken.add(match.span())
            found.append(match.span())
    return found, missing


def parse_terms(field: str) -> list[str]:
    """`term +1, term -1` -> [term, term]; `NIL`, `NULL` or empty -> []."""
    terms = [re.sub(r"\s*[+-]1$", "", item.strip()).strip() for item in field.split(",")]
    return [term for term in terms if term not in ("", "NIL", "NULL")]  # "rude -1," and "NULL, NULL" too


def read_semeval14(xml_path: Path | str, opinions_path: Path | str) -> list[RawExample]:
    """Sentences of a SemEval-2014 XML file with Wang et al.'s opinions for it."""
    xml_path, opinions_path = Path(xml_path), Path(opinions_path)
    opinion_lines = _lines(opinions_path)
    sentences = [(s.findtext("text") or "", s.findall(".//aspectTerm")) for s in xml_sentences(str(xml_path))]
    if len(opinion_lines) != len(sentences):
        raise CoextractError(
            f"{opinions_path}: {len(opinion_lines)} lines for the {len(sentences)} sentences of {xml_path}; "
            "it needs one line per <sentence>, in order"
        )
    examples = []
    for i, ((text, terms), opinion_line) in enumerate(zip(sentences, opinion_lines, strict=True)):
        aspects = []
        for term in terms:
            start, end = int(term.get("from")), int(term.get("to"))
            if text[start:end] != term.get("term"):
                raise CoextractError(
                    f"{xml_path}: sentence {i + 1}: aspect {term.get('term')!r} is not at {start}:{end}"
                )
            aspects.append((start, end))
        opinions, missing = locate(text, parse_terms(opinion_line))
        examples.append(RawExample(text, tuple(aspects), tuple(opinions), tuple(missing)))
    return examples


def read_cmla15(sentences_path: Path | str, aspects_path: Path | str) -> list[RawExample]:
    """The SemEval-2015 sentences and aspect terms as released with CMLA."""
    sentences_path, aspects_path = Path(sentences_path), Path(aspects_path)
    sentence_lines, aspect_lines = _lines(sentences_path), _lines(aspects_path)
    if len(sentence_lines) != len(aspect_lines):
        raise CoextractError(
            f"{aspects_path}: {len(aspect_lines)} lines, but {sentences_path} has {len(sentence_lines)}; "
            "the files must be line-aligned"
        )
    examples = []
    for line, aspect_line in zip(sentence_lines, aspect_lines, strict=True):
        text, _, opinion_field = line.partition("##")
        aspects, missing_aspects = locate(text, parse_terms(aspect_line))
        opinions, missing_opinions = locate(text, parse_terms(opinion_field))
        examples.append(
            RawExample(text, tuple(aspects), tuple(opinions), (*missing_aspects, *missing_opinions))
        )
    return examples


def read_raw(first: Path | str, second: Path | str) -> list[RawExample]:
    """A SemEval-2014 XML file and its opinions, or the CMLA 2015 sentence and aspect files."""
    if str(first).endswith(".xml"):
        return read_semeval14(first, second)
    return read_cmla15(first, second)


def align(examples: list[RawExample]) -> tuple[list[Example], list[str]]:
    """Training `Example`s from raw ones, through the same preprocessing as tagging.

    Each review becomes one example (its sentences' model tokens in a row). A gold
    term whose characters do not start and end on token boundaries cannot be
    expressed in BIO tags: it is left out and reported in the returned problems,
    as is a review with no tokens at all and every term that was never located.
    """
    from coextract.runtime.preprocess import documents  # spaCy only when raw text is read

    aligned, problems = [], []
    for i, (raw, doc) in enumerate(zip(examples, documents([e.text for e in examples]), strict=True)):
        tokens = [token for sentence in doc.sentences for token in sentence]
        problems += [f"review {i + 1}: term {term!r} not found in {raw.text!r}" for term in raw.unaligned]
        if not tokens:
            problems.append(f"review {i + 1}: no tokens in {raw.text!r}; left out")
            continue
        starts = {token.start: n for n, token in enumerate(tokens)}
        ends = {token.end: n + 1 for n, token in enumerate(tokens)}
        tags = {}
        for side in ("aspects", "opinions"):
            spans = []
            for start, end in getattr(raw, side):
                if start in starts and end in ends:
                    spans.append((starts[start], ends[end]))
                else:
                    problems.append(
                        f"review {i + 1}: {side[:-1]} {raw.text[start:end]!r} ({start}:{end}) "
                        "does not fall on token boundaries; left out"
                    )
            tags[side] = tuple(spans_to_tags(spans, len(tokens)))
        aligned.append(Example(tuple(t.text for t in tokens), tags["aspects"], tags["opinions"]))
    return aligned, problems


MAX_UNALIGNED = 0.05  # share of gold terms not found in their review past which the files do not match


def check_alignment(examples: list[RawExample], files: Sequence[str | Path]) -> None:
    """Refuse gold whose terms are mostly not in their reviews: the second file belongs to other
    reviews (a laptop opinion file beside the restaurant XML), and the scores would mean nothing."""
    unaligned = sum(len(e.unaligned) for e in examples)
    total = unaligned + sum(len(e.aspects) + len(e.opinions) for e in examples)
    if total and unaligned / total > MAX_UNALIGNED:
        raise CoextractError(
            f"{unaligned} of {total} gold terms of {Path(files[1]).name} are not in the reviews of "
            f"{Path(files[0]).name} (at most {MAX_UNALIGNED:.0%} may be): are they the files of the same reviews?"
        )
