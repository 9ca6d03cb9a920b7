"""Score a model on a benchmark split or on raw SemEval files; one report shape for both.

A report is a JSON-ready dict: `{"dataset", "split", "n_sentences", "aspect": {...},
"opinion": {...}}` with precision, recall, F1 (fractions) and the counts behind them.
"""

from pathlib import Path

from coextract.data import read_dataset
from coextract.errors import CoextractError
from coextract.metrics import score_predictions, span_scores
from coextract.predict import predict_sentences


def load_backend(name_or_path: str | Path):
    """(backend, featurizer) for an exported model (name or folder) or a training run folder (torch)."""
    if not (Path(name_or_path) / "config.json").is_file():
        from coextract.runtime import load

        tagger = load(name_or_path)
        return tagger.backend, tagger.featurizer
    from coextract.train import load_run, torch_backend

    model, featurizer, _ = load_run(name_or_path)
    return torch_backend(model), featurizer


def score_examples(backend, featurizer, examples, batch_size: int = 256) -> dict:
    """Aspect and opinion scores (as dicts) of a backend on tokenized `Example`s."""
    predictions = predict_sentences(backend, featurizer, [e.tokens for e in examples], batch_size)
    return {side: score.to_dict() for side, score in score_predictions(examples, predictions).items()}


def evaluate_tokenized(
    model: str | Path, data_dir: Path | str, dataset: str, split: str = "test", batch_size: int = 256
) -> dict:
    """Exact-match span scores on a split of the tokenized benchmark."""
    examples = read_dataset(data_dir, dataset)[split]
    backend, featurizer = load_backend(model)
    return {
        "dataset": dataset,
        "split": split,
        "n_sentences": len(examples),
        **score_examples(backend, featurizer, examples, batch_size),
    }


def evaluate_raw(model: str | Path, files: tuple[str | Path, str | Path], batch_size: int = 256) -> dict:
    """Exact character-span scores of the full raw-text path on raw SemEval files.

    `files` is a SemEval-2014 XML file and its opinion file, or the CMLA 2015
    sentence and aspect files (see `semeval.read_raw`).
    """
    from coextract.runtime import load
    from coextract.semeval import read_raw

    if (Path(model) / "config.json").is_file():
        raise CoextractError(f"{model} is a training run; raw-text evaluation needs an exported model")
    examples = read_raw(*files)
    tagger = load(model)
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
