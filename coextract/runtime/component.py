"""The `coextract` spaCy component: aspect and opinion terms on `doc.spans`.

    nlp = spacy.blank("en")                      # or any pipeline
    nlp.add_pipe("coextract", config={"model": "restaurant"})
    doc = nlp("The pizza was great but the waiter was painfully slow.")
    doc.spans["aspects"], doc.spans["opinions"]  # SpanGroups; scores in .attrs["scores"]

The factory is registered through the `spacy_factories` entry point, so no
import of coextract is needed. The component reads `doc.text` through coextract's
own preprocessing (the tokens the model was trained on) and maps the terms onto
the doc's tokens by character offsets, so it works after any tokenizer.
"""

from collections.abc import Iterable, Iterator

from spacy.language import Language
from spacy.tokens import Doc, SpanGroup
from spacy.util import minibatch

from coextract.runtime.sizes import PIPE_BATCH
from coextract.runtime.tagger import Extraction, Span, Tagger, load


class CoextractComponent:
    """Finds terms with an ONNX tagger and writes them to `doc.spans`."""

    def __init__(
        self,
        *,
        name: str = "coextract",
        model: str = "restaurant",
        aspects_key: str = "aspects",
        opinions_key: str = "opinions",
        threads: int | None = None,
        batch_size: int = PIPE_BATCH,
    ) -> None:
        self.name = name
        self.model = model
        self.aspects_key = aspects_key
        self.opinions_key = opinions_key
        self.threads = threads
        self.batch_size = batch_size
        self._tagger: Tagger | None = load(model, threads=threads)  # a wrong model fails at add_pipe

    @property
    def tagger(self) -> Tagger:
        if self._tagger is None:
            self._tagger = load(self.model, threads=self.threads)
        return self._tagger

    def __getstate__(self) -> dict:
        """Picklable for `nlp.pipe(n_process=...)`: each process opens its own session."""
        return {**self.__dict__, "_tagger": None}

    def predict(self, docs: Iterable[Doc]) -> list[Extraction]:
        """The extractions of `docs`' texts, tagged in model batches of `batch_size` sentences."""
        return self.tagger.tag_batch([doc.text for doc in docs], batch_size=self.batch_size)

    def set_annotations(self, docs: Iterable[Doc], extractions: Iterable[Extraction]) -> None:
        """Put each extraction's terms on its doc as `SpanGroup`s with scores in `attrs`."""
        for doc, extraction in zip(docs, extractions, strict=True):
            doc.spans[self.aspects_key] = span_group(doc, self.aspects_key, extraction.aspects)
            doc.spans[self.opinions_key] = span_group(doc, self.opinions_key, extraction.opinions)

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, docs: Iterable[Doc], *, batch_size: int = PIPE_BATCH) -> Iterator[Doc]:
        """Tag docs `batch_size` at a time (spaCy passes `nlp.pipe`'s batch size)."""
        for batch in minibatch(docs, size=batch_size):
            self.set_annotations(batch, self.predict(batch))
            yield from batch


def span_group(doc: Doc, key: str, spans: Iterable[Span]) -> SpanGroup:
    """spaCy spans for character spans; a term that does not cover whole doc tokens is widened to them."""
    found, scores = [], []
    for span in spans:
        token_span = doc.char_span(span.start, span.end, alignment_mode="expand")
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
        "threads": None,
        "batch_size": PIPE_BATCH,
    },
)
def make_coextract(
    nlp: Language,
    name: str,
    *,
    model: str,
    aspects_key: str,
    opinions_key: str,
    threads: int | None,
    batch_size: int,
) -> CoextractComponent:
    """The `coextract` factory: `model` is a bundled name or alias, or a model folder."""
    return CoextractComponent(
        name=name,
        model=model,
        aspects_key=aspects_key,
        opinions_key=opinions_key,
        threads=threads,
        batch_size=batch_size,
    )
