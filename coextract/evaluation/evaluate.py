"""Score a model on a benchmark split or on raw SemEval files; one report shape for both.

A report is a JSON-ready dict: `{"dataset", "split", "n_sentences", "aspect": {...},
"opinion": {...}}` with precision, recall, F1 (fractions) and the counts behind them.
The model comes in as a `predict.Backend` with its featurizer (onnxruntime or
torch: the caller chooses) or, for raw text, as a `Tagger`.
"""

from pathlib import Path

from coextract.evaluation.benchmark import Example, read_dataset
from coextract.evaluation.metrics import score_predictions, span_scores
from coextract.evaluation.semeval import check_alignment, read_raw
from coextract.runtime.features import Featurizer
from coextract.runtime.predict import Backend, predict_sentences
from coextract.runtime.sizes import PIPE_BATCH
from coextract.runtime.tagger import Tagger


def score_examples(
    backend: Backend, featurizer: Featurizer, examples: list[Example], batch_size: int = PIPE_BATCH
) -> dict:
    """Aspect and opinion scores (as dicts) of a backend on tokenized `Example`s."""
    predictions = predict_sentences(backend, featurizer, [e.tokens for e in examples], batch_size)
    return {side: score.to_dict() for side, score in score_predictions(examples, predictions).items()}


def evaluate_tokenized(
    backend: Backend,
    featurizer: Featurizer,
    data_dir: Path | str,
    dataset: str,
    split: str = "test",
    batch_size: int = PIPE_BATCH,
) -> dict:
    """Exact-match span scores on a split of the tokenized benchmark."""
    examples = read_dataset(data_dir, dataset)[split]
    return {
        "dataset": dataset,
        "split": split,
        "n_sentences": len(examples),
        **score_examples(backend, featurizer, examples, batch_size),
    }


def evaluate_raw(tagger: Tagger, files: tuple[str | Path, str | Path], batch_size: int = PIPE_BATCH) -> dict:
    """Exact character-span scores of the full raw-text path on raw SemEval files.

    `files` is a SemEval-2014 XML file and its opinion file, or the CMLA 2015
    sentence and aspect files (see `semeval.read_raw`).
    """
    examples = read_raw(*files)
    check_alignment(examples, files)
    extractions = list(tagger.pipe([e.text for e in examples], batch_size=batch_size))

    def score(side: str) -> dict:
        gold = [getattr(e, side) for e in examples]
        pred = [[(s.start, s.end) for s in getattr(x, side)] for x in extractions]
        return span_scores(gold, pred).to_dict()

    return {
        "dataset": tagger.meta.get("dataset"),
        "split": Path(files[0]).name,
        "n_sentences": len(examples),
        "aspect": score("aspects"),
        "opinion": score("opinions"),
        "unaligned_gold_terms": sum(len(e.unaligned) for e in examples),
    }
