"""Raw review text -> the tokens the benchmark models read, with character offsets.

The benchmark sentences were tokenized Treebank-style and then stripped of some
punctuation, so a model trained on them has never seen a "." or a "?". This
module rebuilds that token stream from raw text with a spaCy pipeline (described
by `pipelines/preprocess.cfg`, needing no downloaded model):

- `coextract.ReviewTokenizer.v1`: spaCy's English tokenizer, but a single hyphen
  inside a word does not split it ("straight-forward", "dv4-1222nr"), runs of
  commas do, units stay on their numbers ("4gb"), and apostrophe-less spellings
  stay whole ("doesnt"; but "cannot" is "can not"), as in the benchmark.
- `coextract_normalizer`: gives each token the text the model sees (a list in
  `doc.user_data[MODEL_TEXT]`, read by `model_tokens`): lower-cased; emoticons become "SMILE"; a closing double
  quote becomes "''"; opening quotes, "$" and sentence punctuation (. ? : ; ...)
  are left out (`None`). Offsets always come from the original text.
"""

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from importlib import resources
from itertools import pairwise

import spacy
from spacy.attrs import IDX, LENGTH, ORTH, SENT_START
from spacy.lang.char_classes import ALPHA, HYPHENS
from spacy.language import Language
from spacy.tokens import Doc, Token
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex, registry

from coextract.runtime.documents import Document, ModelToken
from coextract.runtime.sizes import PREPROCESS_BATCH

DROPPED = re.compile(r"^(?:[.?:;…]+|\$|``)$")
SURROGATES = re.compile("[\ud800-\udfff]")
MAX_RUN = 64  # longest whitespace-free run spaCy is given; see `spacy_text`
LONG_RUN = re.compile(rf"\S{{{MAX_RUN + 1},}}")
QUOTES = {'"', "“", "”", "''", "„"}
# spaCy reads these as emoticons; in reviews they are brackets next to a colon: "(red velvet):".
NOT_EMOTICONS = {"):", "(:", ")-:", "(-:", "(=", "[:", "[=", "]=", "(;", "(-;", "[-:", "=[", "=]", "=("}

# What the model reads for each token of a doc, or None: a list kept in `doc.user_data` under this
# key, because setting spaCy extension attributes token by token cost more than tokenizing.
MODEL_TEXT = "coextract_model_text"
MAX_VOCABULARY = 100_000  # strings in spaCy's vocabulary before the pipeline is rebuilt (about 30 MB)


def review_infixes(infixes: Iterable[str]) -> list[str]:
    """spaCy's English infixes with the benchmark's hyphen and comma rules."""
    word_hyphen = rf"(?<=[{ALPHA}0-9])(?:{HYPHENS})(?=[{ALPHA}])"
    number_operator = r"(?<=[0-9])[+\-\*^](?=[0-9-])"
    word_symbol = rf"(?<=[{ALPHA}0-9])[:<>=/](?=[{ALPHA}])"
    kept = [p for p in infixes if p not in (word_hyphen, number_operator, word_symbol)]
    return [
        *kept,
        rf"(?<=[{ALPHA}0-9])(?:--+|—|–)(?=[{ALPHA}0-9])",  # "awful--the" splits, "chips-good" does not
        r"(?<=[0-9])[+\*^](?=[0-9-])",
        rf"(?<=[{ALPHA},]),(?=[{ALPHA},])",  # "place,,,it"
        rf"(?<=[{ALPHA}0-9])[:<>=](?=[{ALPHA}])",  # "purchase:build" splits, "cd/dvd" does not
    ]


def review_prefixes(prefixes: Iterable[str]) -> list[str]:
    """spaCy's English prefixes, but a leading "*" stays on its word ("*if", "***the")."""
    return [p for p in prefixes if p != r"\*"]


def review_suffixes(suffixes: Iterable[str]) -> list[str]:
    """spaCy's English suffixes without unit splitting: the benchmark has "4gb" and "5pm"."""
    return [p for p in suffixes if "km|km²" not in p]


def is_emoticon(text: str) -> bool:
    face = len(text) > 1 and not any(c.isalnum() for c in text) and any(c in ":;=^" for c in text)
    return face and text not in NOT_EMOTICONS


@registry.tokenizers("coextract.ReviewTokenizer.v1")
def create_review_tokenizer():
    def make(nlp: Language):
        defaults = nlp.Defaults
        exceptions = {
            text: pieces
            for text, pieces in defaults.tokenizer_exceptions.items()
            if text not in NOT_EMOTICONS
            and not (text.isalpha() and len(pieces) > 1 and text.lower() != "cannot")
        }
        return spacy.tokenizer.Tokenizer(
            nlp.vocab,
            rules=exceptions,
            prefix_search=compile_prefix_regex(review_prefixes(defaults.prefixes)).search,
            suffix_search=compile_suffix_regex(review_suffixes(defaults.suffixes)).search,
            infix_finditer=compile_infix_regex(review_infixes(defaults.infixes)).finditer,
            token_match=defaults.token_match,
            url_match=defaults.url_match,
        )

    return make


def model_text(token: Token) -> str | None:
    """What the model reads for `token`, or None if the benchmark leaves it out."""
    text = token.text
    if token.is_space or DROPPED.match(text):
        return None
    if text in QUOTES:
        previous = token.nbor(-1) if token.i > token.sent.start else None
        opening = previous is None or previous.whitespace_ or previous.text in "([{"
        return None if opening else "''"
    if is_emoticon(text):
        return "SMILE"
    return text.lower()


@Language.component("coextract_normalizer")
def normalize(doc: Doc) -> Doc:
    """Record what the model reads for every token (see `model_text`) in `doc.user_data`."""
    words = map(doc.vocab.strings.__getitem__, doc.to_array(ORTH).tolist())
    # Plain words and numbers (most tokens) skip building a spaCy Token object.
    doc.user_data[MODEL_TEXT] = [
        word.lower() if word.isalnum() else model_text(doc[i]) for i, word in enumerate(words)
    ]
    return doc


def model_tokens(doc: Doc, added: Sequence[int] = ()) -> Iterator[tuple[ModelToken, ...]]:
    """The tokens the model reads, with character offsets, sentence by sentence (none empty).

    `added` are the positions of the spaces `spacy_text` put into the doc's text;
    offsets are moved back over them, so they index the original text. Reads the
    doc's arrays rather than building its Span and Token objects, which takes
    about a third less time.
    """
    texts = doc.user_data[MODEL_TEXT]
    columns = doc.to_array([IDX, LENGTH, SENT_START]).T.tolist()  # (3, tokens), also for an empty doc
    sentence: list[ModelToken] = []
    for text, start, length, sent_start in zip(texts, *columns, strict=True):
        if sent_start == 1 and sentence:
            yield tuple(sentence)
            sentence = []
        if text is not None:
            start -= bisect_left(added, start) if added else 0  # a token never holds an added space
            sentence.append(ModelToken(text, start, start + length))
    if sentence:
        yield tuple(sentence)


@lru_cache(maxsize=1)
def preprocessor() -> Language:
    """The preprocessing pipeline of `pipelines/preprocess.cfg` (loaded once per process)."""
    with resources.as_file(resources.files("coextract.pipelines") / "preprocess.cfg") as path:
        config = spacy.util.load_config(path)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    nlp.max_length = 100_000_000  # spaCy's 1M-character guard is for parsers; a 1 MB review must be tagged
    return nlp


def to_document(text: str, doc: Doc, added: Sequence[int]) -> Document:
    """`text`, preprocessed as `doc` (with spaces `added`), as a `Document` (sentences without model
    tokens left out)."""
    return Document(text, tuple(model_tokens(doc, added)))


def spacy_text(text: str) -> tuple[str, list[int]]:
    """What spaCy reads for `text`, and where in it spaces were added.

    Lone surrogates (which spaCy cannot encode) become U+FFFD, and a whitespace-free
    run longer than MAX_RUN characters gets a space after every MAX_RUN of them:
    spaCy's prefix and suffix rules take time quadratic in a run's length (4,000
    emoji took 2 s, 100,000 would take minutes), so a run is cut into pieces it
    tokenizes in linear time overall.
    """
    text = SURROGATES.sub("\ufffd", text)
    pieces, added, done, shift = [], [], 0, 0
    for run in LONG_RUN.finditer(text):
        pieces.append(text[done : run.start()])
        for cut in range(run.start() + MAX_RUN, run.end(), MAX_RUN):
            added.append(cut + shift)
            shift += 1
        cuts = [*range(run.start(), run.end(), MAX_RUN), run.end()]
        pieces.append(" ".join(text[start:end] for start, end in pairwise(cuts)))
        done = run.end()
    return "".join([*pieces, text[done:]]) if added else text, added


def documents(texts: Iterable[str], batch_size: int = PREPROCESS_BATCH) -> Iterator[Document]:
    """Raw texts as `Document`s, in order; offsets index the texts as given.

    spaCy keeps every new word in its vocabulary for the life of the pipeline, so
    on a large corpus the pipeline is rebuilt once its vocabulary passes
    `MAX_VOCABULARY` strings: memory stays bounded, and the tokens are the same.
    (spaCy's `memory_zone` frees them per call instead, but cost 24 % more CPU.)
    """
    if len(preprocessor().vocab.strings) > MAX_VOCABULARY:
        preprocessor.cache_clear()
    texts = list(texts)
    prepared = [spacy_text(text) for text in texts]
    docs = preprocessor().pipe((spaced for spaced, _ in prepared), batch_size=batch_size)
    for text, (_, added), doc in zip(texts, prepared, docs, strict=True):
        yield to_document(text, doc, added)
