"""The `coextract` spaCy component: labelled aspect and opinion terms on `doc.spans`.

    nlp = spacy.blank("en")                      # or any pipeline
    nlp.add_pipe("coextract", config={"model": "restaurant"})
    doc = nlp("The pizza was great but the waiter was painfully slow.")
    doc.spans["aspects"], doc.spans["opinions"]  # labelled ASPECT, OPINION; scores in .attrs["scores"]
    doc.spans["aspects"][0]._.sentiment, doc._.pairs  # from a model with relation heads (`spacy_relations`)

The factory is registered through the `spacy_factories` entry point, so no
import of coextract is needed. The component reads `doc.text` through coextract's
own preprocessing (the tokens the model was trained on) and maps the terms onto
the doc's tokens by character offsets, so it works after any tokenizer; after
coextract's own (`coextract.ReviewTokenizer.v1`) every term is exactly a span of
doc tokens.

Serialization: `nlp.to_disk` writes the model's files into the pipeline folder
(unless the component names a bundled model, which ships with coextract and is
stored by name), so the folder loads anywhere with `spacy.load`; `to_bytes`
carries them likewise. `score` gives `nlp.evaluate` the span scores of both keys,
and ABSA, pair and triplet scores where the gold docs carry sentiments and pairs.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from pathlib import Path

import srsly
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc, SpanGroup
from spacy.training import Example
from spacy.util import ensure_path, minibatch

from coextract.errors import CoextractError
from coextract.runtime.model_files import read_model_files, write_model_files
from coextract.runtime.model_names import is_bundled_name
from coextract.runtime.sizes import PIPE_BATCH
from coextract.runtime.spacy_relations import register_extensions, relation_scores, set_relations
from coextract.runtime.spans import Extraction, Span
from coextract.runtime.tagger import Tagger, load, load_files

MODEL_FOLDER = "model"  # inside the component's folder of a saved pipeline
register_extensions()  # span._.sentiment, doc._.pairs: on every doc, filled by a model with relation heads


class CoextractComponent:
    """Finds terms with an ONNX tagger and writes them to `doc.spans`."""

    def __init__(
        self,
        *,
        name: str = "coextract",
        model: str = "restaurant",
        aspects_key: str = "aspects",
        opinions_key: str = "opinions",
        aspects_label: str = "ASPECT",
        opinions_label: str = "OPINION",
        threads: int | None = None,
        batch_size: int = PIPE_BATCH,
    ) -> None:
        self.name = name
        self.model = model
        self.sides = ((aspects_key, aspects_label), (opinions_key, opinions_label))  # (span key, label)
        self.threads = threads
        self.batch_size = batch_size
        self.source = model  # where the tagger loads from: the model, or the folder `from_disk` read
        self._files: dict[str, bytes] = {}  # the model's files, where `from_bytes` brought them
        self._tagger: Tagger | None = None
        # `spacy.load` builds the component before `from_disk` hands it the model it saved (the
        # folder `model` named may be gone): a model still missing fails at the first doc, named.
        with suppress(CoextractError):
            self._tagger = load(model, threads=threads)

    @property
    def tagger(self) -> Tagger:
        if self._tagger is None:
            self._tagger = (
                load_files(self._files, self.threads)
                if self._files
                else load(self.source, threads=self.threads)
            )
        return self._tagger

    def __getstate__(self) -> dict:
        """Picklable for `nlp.pipe(n_process=...)`: each process opens its own session."""
        return {**self.__dict__, "_tagger": None}

    def predict(self, docs: Iterable[Doc]) -> list[Extraction]:
        """The extractions of `docs`' texts, tagged in model batches of `batch_size` sentences."""
        return self.tagger.tag_batch([doc.text for doc in docs], batch_size=self.batch_size)

    def set_annotations(self, docs: Iterable[Doc], extractions: Iterable[Extraction]) -> None:
        """Put each extraction's terms on its doc as labelled `SpanGroup`s with scores in `attrs`."""
        for doc, extraction in zip(docs, extractions, strict=True):
            for (key, label), terms in zip(
                self.sides, (extraction.aspects, extraction.opinions), strict=True
            ):
                doc.spans[key] = span_group(doc, key, label, terms)
            if self.tagger.relations:
                set_relations(doc, extraction)

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, docs: Iterable[Doc], *, batch_size: int = PIPE_BATCH) -> Iterator[Doc]:
        """Tag docs `batch_size` at a time (spaCy passes `nlp.pipe`'s batch size)."""
        for batch in minibatch(docs, size=batch_size):
            self.set_annotations(batch, self.predict(batch))
            yield from batch

    def score(self, examples: Iterable[Example], **kwargs) -> dict:
        """Exact span precision, recall and F1 of both keys (`spans_aspects_p`, ...), labels aside; and
        where the gold docs carry them, ABSA, pair and triplet scores (`spacy_relations.relation_scores`)."""
        examples, scores = list(examples), {}
        for key, _ in self.sides:
            scores.update(Scorer.score_spans(examples, f"spans_{key}", getter=spans_of(key), labeled=False,
                                             allow_overlap=True, **kwargs))  # fmt: skip
        return scores | relation_scores(examples, self.sides[0][0])

    def model_files(self) -> dict[str, bytes]:
        """The files to save with the pipeline: none for a model named as a bundled one (it ships with
        coextract and the config names it); a bundled model's folder given by its path is saved whole,
        since that path belongs to one installation."""
        if self._files:
            return self._files
        folder = self.tagger.model_dir
        return {} if self.source == self.model and is_bundled_name(self.model) else read_model_files(folder)

    def to_disk(self, path, *, exclude: Iterable[str] = ()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        if files := self.model_files():
            write_model_files(path / MODEL_FOLDER, files)

    def from_disk(self, path, *, exclude: Iterable[str] = ()) -> "CoextractComponent":
        folder = ensure_path(path) / MODEL_FOLDER
        if folder.is_dir():
            self.use(folder)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return srsly.msgpack_dumps({"files": self.model_files()})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> "CoextractComponent":
        if files := srsly.msgpack_loads(data)["files"]:
            self._files, self._tagger = files, load_files(files, self.threads)
        return self

    def use(self, folder: Path) -> None:
        """Tag with the model in `folder` (checked by `load` to be whole and consistent)."""
        self._tagger = load(folder, threads=self.threads)
        self.source, self._files = str(folder), {}


def spans_of(key: str) -> Callable[[Doc, str], Iterable]:
    return lambda doc, attr: doc.spans.get(key, [])


def span_group(doc: Doc, key: str, label: str, spans: Iterable[Span]) -> SpanGroup:
    """Labelled spaCy spans for character spans; a term that does not cover whole doc tokens is widened to them."""
    found, scores = [], []
    for span in spans:
        token_span = doc.char_span(span.start, span.end, label=label, alignment_mode="expand")
        if token_span is not None:
            found.append(token_span)
            scores.append(span.score)
    return SpanGroup(doc, name=key, spans=found, attrs={"scores": scores})


@Language.factory(
    "coextract",
    default_config={
        "model": "restaurant",
        "aspects_key": "aspects",
        "opinions_key": "opinions",
        "aspects_label": "ASPECT",
        "opinions_label": "OPINION",
        "threads": None,
        "batch_size": PIPE_BATCH,
    },
    default_score_weights={
        "spans_aspects_f": 0.5,
        "spans_opinions_f": 0.5,
        "spans_aspects_p": 0.0,
        "spans_aspects_r": 0.0,
        "spans_opinions_p": 0.0,
        "spans_opinions_r": 0.0,
    },  # fmt: skip
)
def make_coextract(
    nlp: Language,
    name: str,
    *,
    model: str,
    aspects_key: str,
    opinions_key: str,
    aspects_label: str,
    opinions_label: str,
    threads: int | None,
    batch_size: int,
) -> CoextractComponent:
    """The `coextract` factory: `model` is a bundled name or alias, or a model folder."""
    return CoextractComponent(
        name=name,
        model=model,
        aspects_key=aspects_key,
        opinions_key=opinions_key,
        aspects_label=aspects_label,
        opinions_label=opinions_label,
        threads=threads,
        batch_size=batch_size,
    )
