"""One name per aspect: "the pizzas", "Pizza" and "pizza's" are all mentions of pizza.

A mention's key is its words lower-cased, leading determiners and possessive
pronouns dropped, possessive 's dropped, and every word lemmatized by spaCy's
lookup lemmatizer (its English table comes with `spacy-lookups-data`, the
`[summarize]` extra). A user's own synonyms (`--aspect-map`) then put several
keys under one name. The lemmatizer sees words out of context, so it folds
plurals and inflections but cannot tell a noun from a verb; the key is only used
to group, and a group is shown under the form its mentions use most.
"""

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from coextract.errors import CoextractError

# Closed-class words that open a noun phrase without being part of the aspect's name.
DETERMINERS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "my",
        "your",
        "his",
        "her",
        "its",
        "our",
        "their",
        "some",
        "any",
        "each",
        "every",
        "all",
        "no",
        "another",
        "such",
        "both",
        "either",
        "neither",
    ]
)
POSSESSIVE_MARKS = frozenset({"'s", "’s", "'", "’"})
CACHED_NAMES = 100_000  # distinct mention texts whose keys are remembered (about 20 MB at most)


def lookup_lemmatizer():
    """A blank English spaCy pipeline with the lookup lemmatizer, its table loaded."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    try:
        nlp.initialize()
    except (ValueError, OSError) as err:  # spaCy raises ValueError [E955] when the table is missing
        raise CoextractError(
            "summarize groups aspects with spaCy's lemmatizer, whose English table is not installed: "
            "pip install 'coextract[summarize]'"
        ) from err
    return nlp


class AspectNames:
    """Mention text -> group key, with the user's synonyms applied."""

    def __init__(self, synonyms: Mapping[str, str] | None = None):
        self.nlp = lookup_lemmatizer()
        self.key = lru_cache(maxsize=CACHED_NAMES)(self._key)
        self.synonyms = {self._key(word): name for word, name in (synonyms or {}).items()}

    def _key(self, text: str) -> str:
        words = [token for token in self.nlp(text.lower().strip()) if not token.is_space]
        while len(words) > 1 and words[0].lower_ in DETERMINERS:
            words = words[1:]
        lemmas = [token.lemma_ or token.lower_ for token in words if token.lower_ not in POSSESSIVE_MARKS]
        return " ".join(lemmas) or text.lower().strip()

    def group(self, text: str) -> tuple[str, bool]:
        """The group a mention belongs to, and whether that is a name from the user's synonyms."""
        key = self.key(text)
        return (self.synonyms[key], True) if key in self.synonyms else (key, False)


def read_aspect_map(path: str | Path) -> dict[str, str]:
    """A synonyms file: one group per line, `name = synonym = synonym ...`; `#` starts a comment.

    Every word on a line (the name too) is grouped under the line's first word; a
    word on two lines is an error, since it cannot be in two groups."""
    synonyms: dict[str, str] = {}
    where: dict[str, int] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise CoextractError(f"{path}: cannot read the aspect map ({err})") from None
    for line_no, line in enumerate(lines, start=1):
        words = [word.strip() for word in line.split("#", 1)[0].split("=")]
        if words == [""]:
            continue
        if len(words) < 2 or not all(words):
            raise CoextractError(f"{path}:{line_no}: expected `name = synonym = ...`, got {line.strip()!r}")
        for word in words:
            if word.lower() in synonyms:
                raise CoextractError(
                    f"{path}:{line_no}: {word!r} is already in the group on line {where[word.lower()]}"
                )
            synonyms[word.lower()], where[word.lower()] = words[0], line_no
    return synonyms
