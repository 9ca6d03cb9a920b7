"""Tag reviews with an exported model on onnxruntime: the `Tagger`. Imports no torch.

`load` finds a model folder (`model_folder`), checks that its files belong
together, and returns a `Tagger`. A tagger turns raw texts or token lists into
`Extraction`s: the text goes through the spaCy preprocessor (`preprocess`), its
sentences through the model in batches (`predict`), and the decoded BIO tags
become character `Span`s over the original text.

Tags become `Span`s in `spans`.
"""

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path

import numpy as np

from coextract.runtime.documents import Document, tokens_document, windows
from coextract.runtime.features import Batch, Featurizer
from coextract.runtime.model_files import write_model_files
from coextract.runtime.model_folder import TOKENIZER, gives_relations, open_model, reads_word_vectors, tier
from coextract.runtime.model_names import resolve_model
from coextract.runtime.pieces import PieceFeaturizer
from coextract.runtime.predict import SentencePrediction, predict_sentences
from coextract.runtime.sizes import PART_ROWS, PIECE_CELLS, PIPE_BATCH, PIPE_CHUNK
from coextract.runtime.spans import Extraction, window_terms


def featurizer_for(model_dir: Path, meta: dict) -> Featurizer | PieceFeaturizer:
    """What turns words into the graph's inputs: word ids (fast tier) or word pieces (MiniLM tier)."""
    if tier(meta) == "minilm":
        return PieceFeaturizer(
            model_dir / TOKENIZER, meta["vocabulary"] if reads_word_vectors(meta) else None
        )
    return Featurizer(meta["vocabulary"], meta["n_buckets"])


class Tagger:
    """Finds aspect and opinion terms with an ONNX model.

    Use `coextract.load` to make one. Call it on one input, or `pipe` over many.
    An input is raw text (split into sentences and tokens by the spaCy
    preprocessor; spans index the text) or a list of tokens (spans then index the
    tokens joined by single spaces).
    """

    def __init__(self, model_dir: Path, threads: int | None = None, quantized: bool = False) -> None:
        self.model_dir = Path(model_dir)
        self.meta, self.session = open_model(self.model_dir, quantized)
        self.featurizer = featurizer_for(self.model_dir, self.meta)
        self.relations = gives_relations(self.meta)  # gives aspects' sentiments and pairs
        self.threads = (os.cpu_count() or 1) if threads is None else positive("threads", threads)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    def __repr__(self) -> str:
        return f"Tagger({str(self.model_dir)!r}, dataset={self.meta.get('dataset')!r})"

    def backend(self, batch: Batch):
        """Run the ONNX graph on a batch: the `predict.Backend` of this tagger.

        The batch's rows are split into parts, one per thread and at most
        PART_ROWS each, and the parts run at once (onnxruntime releases the GIL).
        The model's small recurrent steps gain little from onnxruntime's own
        intra-op threads, while splitting the rows scales with the cores, and
        small parts keep each step's data in cache (benchmarks/README.md). For
        the MiniLM tier a part also holds at most PIECE_CELLS cells of attention,
        so a batch of long reviews in many pieces cannot take gigabytes.
        """
        feeds, rows = batch.feeds(), batch.mask.shape[0]
        step = max(1, min(PART_ROWS, -(-rows // self.threads)))  # rows per part
        if "piece_ids" in feeds:  # the encoder's attention holds rows x pieces x pieces per head
            step = max(1, min(step, PIECE_CELLS // feeds["piece_ids"].shape[1] ** 2))
        parts = [{name: array[i : i + step] for name, array in feeds.items()} for i in range(0, rows, step)]
        if len(parts) == 1:
            return self.run(parts[0])
        spread = self.pool().map if self.threads > 1 else map
        outputs = list(spread(self.run, parts))
        return tuple(np.concatenate(pieces) for pieces in zip(*outputs, strict=True))

    def pool(self) -> ThreadPoolExecutor:
        """The threads that run batch parts; made anew in a forked child, where the parent's do not exist."""
        if self._pool is None or self._pool_pid != os.getpid():
            self._pool, self._pool_pid = ThreadPoolExecutor(self.threads), os.getpid()
        return self._pool

    def run(self, feeds: dict[str, np.ndarray]):
        """The graph on one part of a batch: its arrays by input name."""
        aspect_probs, opinion_probs, aspect_att, opinion_att, *relations = self.session.run(None, feeds)
        return aspect_probs, opinion_probs, np.stack([aspect_att, opinion_att], axis=1), *relations

    def predict(
        self, sentences: Sequence[Sequence[str]], batch_size: int = PIPE_BATCH
    ) -> list[SentencePrediction]:
        """Per-token probabilities and attention for tokenized sentences (none empty)."""
        return predict_sentences(self.backend, self.featurizer, sentences, batch_size)

    def __call__(self, text: str | Sequence[str]) -> Extraction:
        """The terms of one review: raw text, or a list of tokens."""
        return self.tag_batch([text])[0]

    def pipe(
        self, inputs: Iterable[str | Sequence[str]], batch_size: int = PIPE_BATCH
    ) -> Iterator[Extraction]:
        """Extractions for `inputs` (raw texts or token lists), in order, `PIPE_CHUNK * batch_size` at a time.

        Checks its arguments at once, not when the first result is asked for.
        """
        if isinstance(inputs, str | bytes):
            raise TypeError(
                "pipe takes an iterable of reviews; for one review, call the tagger: tagger(text)"
            )
        positive("batch_size", batch_size)
        return self.chunks(iter(inputs), batch_size)

    def chunks(self, inputs: Iterator[str | Sequence[str]], batch_size: int) -> Iterator[Extraction]:
        while chunk := list(islice(inputs, PIPE_CHUNK * batch_size)):
            yield from self.tag_batch(chunk, batch_size)

    def tag_batch(
        self, inputs: Sequence[str | Sequence[str]], batch_size: int = PIPE_BATCH
    ) -> list[Extraction]:
        """Extractions for all of `inputs` at once: for callers that chunk their input themselves."""
        return list(self.extract(as_documents(inputs), batch_size))

    def extract(self, documents: Sequence[Document], batch_size: int = PIPE_BATCH) -> Iterator[Extraction]:
        """Tag every window of every sentence in one go, then hand each document its spans."""
        pieces = [
            (d, list(w))
            for d, doc in enumerate(documents)
            for sentence in doc.sentences
            for w in windows(sentence)
        ]
        predictions = self.predict([[t.text for t in piece] for _, piece in pieces], batch_size)
        found = [([], [], []) for _ in documents]  # aspects, opinions, pairs
        for (d, piece), prediction in zip(pieces, predictions, strict=True):
            for terms, window in zip(
                found[d], window_terms(documents[d].text, piece, prediction), strict=True
            ):
                terms += window
        for doc, (aspects, opinions, pairs) in zip(documents, found, strict=True):
            yield Extraction(doc.text, doc.tokens, tuple(aspects), tuple(opinions), tuple(pairs))


def as_documents(inputs: Sequence[str | Sequence[str]]) -> list[Document]:
    """Raw texts through the spaCy preprocessor (in one batch), token lists as they are."""
    raw = [text for text in inputs if isinstance(text, str)]
    parsed = iter(text_documents(raw)) if raw else iter(())
    return [next(parsed) if isinstance(item, str) else tokens_document(check_tokens(item)) for item in inputs]


def text_documents(texts: list[str]) -> list[Document]:
    from coextract.runtime.preprocess import documents  # spaCy loads only when raw text arrives

    return list(documents(texts))


def check_tokens(tokens: object) -> Sequence[str]:
    """A pre-tokenized review, checked: a list or tuple of non-empty token strings."""
    if isinstance(tokens, bytes | bytearray):
        raise TypeError("a review is text, not bytes: decode it first (review.decode('utf-8'))")
    if not isinstance(tokens, list | tuple):
        raise TypeError(f"a review is raw text (str) or a list of token strings, not {type(tokens).__name__}")
    if not all(isinstance(t, str) for t in tokens):
        wrong = next(type(t).__name__ for t in tokens if not isinstance(t, str))
        raise TypeError(f"a pre-tokenized review is a list of token strings; it holds a {wrong}")
    if not all(t and not t.isspace() for t in tokens):
        raise ValueError("a pre-tokenized review's tokens must be non-empty and not blank")
    return tokens


def positive(name: str, value: object) -> int:
    """`value` if it is an int of 1 or more, else a ValueError (or TypeError) naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int of 1 or more, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be 1 or more, got {value}")
    return value


def load_files(files: dict[str, bytes], threads: int | None = None) -> Tagger:
    """A `Tagger` for a model folder's files held in memory (`model_files.read_model_files`).

    They are written to a temporary folder only while the tagger loads (onnxruntime and the
    tokenizer read files, then hold everything they need), so nothing is left behind.
    """
    with tempfile.TemporaryDirectory(prefix="coextract-model-") as folder:
        return Tagger(write_model_files(Path(folder), files), threads)


def load(
    name_or_path: str | Path = "restaurant", threads: int | None = None, quantized: bool = False
) -> Tagger:
    """A `Tagger` for a bundled model (`restaurant`, `laptop`, `res15`, ...) or a model folder.

    `threads` is how many batch parts run at once (default: all cores);
    `quantized` picks the int8 model where the folder ships one.
    """
    if not isinstance(name_or_path, str | Path) or not str(name_or_path):
        raise TypeError(f"load takes a bundled model name or a model folder, not {name_or_path!r}")
    return Tagger(resolve_model(name_or_path), threads, quantized)
