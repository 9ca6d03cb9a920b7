"""Score a model on a benchmark split or on raw SemEval files; one report shape for both.

A report is a JSON-ready dict: `{"dataset", "split", "n_sentences", "aspect": {...},
"opinion": {...}}` with precision, recall, F1 (fractions) and the counts behind them.
The model comes in as a `predict.Backend` with its featurizer (onnxruntime or
torch: the caller chooses) or, for raw text, as a `Tagger`.
"""

from dataclasses import dataclass
from pathlib import Path

from coextract.evaluation.benchmark import Example, read_dataset
from coextract.evaluation.metrics import (
    predicted_relations,
    relation_scores,
    score_predictions,
    span_scores,
    triplet_scores,
)
from coextract.evaluation.semeval import check_alignment, read_raw
from coextract.evaluation.triplets import Relations, TripletExample, aste_dir, read_relations, read_triplets
from coextract.runtime.features import Featurizer
from coextract.runtime.predict import Backend, predict_sentences
from coextract.runtime.sizes import PIPE_BATCH
from coextract.runtime.tagger import Tagger


def score_examples(
    backend: Backend,
    featurizer: Featurizer,
    examples: list[Example],
    batch_size: int = PIPE_BATCH,
    relations: list[Relations] | None = None,
) -> dict:
    """Aspect and opinion scores (as dicts) of a backend on tokenized `Example`s; with the examples'
    `relations` and a model with relation heads, ABSA, pair and triplet scores too."""
    predictions = predict_sentences(backend, featurizer, [e.tokens for e in examples], batch_size)
    scores = score_predictions(examples, predictions)
    if relations is not None and predictions and predictions[0].pair_probs is not None:
        scores |= relation_scores(relations, predictions)
    return {name: score.to_dict() for name, score in scores.items()}


def score_triplets(
    backend: Backend, featurizer: Featurizer, examples: list[TripletExample], batch_size: int = PIPE_BATCH
) -> dict:
    """Pair and triplet scores (as dicts) on aste-v2 sentences, end to end: the model tags their tokens
    (lower-cased, as the benchmark it learned from) and links what it found."""
    tokens = [[token.lower() for token in e.tokens] for e in examples]
    predictions = predict_sentences(backend, featurizer, tokens, batch_size)
    pred = [predicted_relations(p)[1] for p in predictions]
    scores = triplet_scores([e.triplets for e in examples], pred)
    return {"n_sentences": len(examples), **{name: score.to_dict() for name, score in scores.items()}}


SCORED_SPLITS = ("dev", "test", "aste_test")  # what `benchmark_scores` gives, the last where it can


@dataclass(frozen=True)
class Benchmark:
    """A dataset as training and export score it: its splits and, where aste-v2 holds the dataset,
    each sentence's `Relations` and aste-v2's own test sentences."""

    dataset: str
    examples: dict[str, list[Example]]
    relations: dict[str, list[Relations]] | None = None
    aste_test: list[TripletExample] | None = None

    @classmethod
    def read(cls, data_dir: Path | str, dataset: str) -> "Benchmark":
        examples, aste = read_dataset(data_dir, dataset), aste_dir(data_dir, dataset)
        if not aste.is_dir():
            return cls(dataset, examples)
        relations = read_relations(data_dir, dataset, examples)
        return cls(dataset, examples, relations, read_triplets(aste / "test_triplets.txt"))


def benchmark_scores(backend: Backend, featurizer: Featurizer, benchmark: Benchmark, relations: bool) -> dict:
    """Dev and test scores as dicts (`score_examples`) and, for a model with relation heads (`relations`),
    pair and triplet scores on aste-v2's test file (`score_triplets`) as "aste_test"."""
    gold = benchmark.relations if relations else None
    scores = {
        split: score_examples(backend, featurizer, benchmark.examples[split], relations=gold and gold[split])
        for split in ("dev", "test")
    }
    if gold and benchmark.aste_test is not None:
        scores["aste_test"] = score_triplets(backend, featurizer, benchmark.aste_test)
    return scores


def evaluate_tokenized(
    backend: Backend,
    featurizer: Featurizer,
    data_dir: Path | str,
    dataset: str,
    split: str = "test",
    batch_size: int = PIPE_BATCH,
) -> dict:
    """Exact-match span scores on a split of the tokenized benchmark; from a model with relation heads
    also ABSA F1 and, on the sentences aste-v2 annotates, pair and triplet scores."""
    examples = read_dataset(data_dir, dataset)[split]
    polarity = Path(data_dir) / dataset / split / "target_polarity.txt"
    relations = read_relations(data_dir, dataset, {split: examples})[split] if polarity.is_file() else None
    return {
        "dataset": dataset,
        "split": split,
        "n_sentences": len(examples),
        **score_examples(backend, featurizer, examples, batch_size, relations),
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
