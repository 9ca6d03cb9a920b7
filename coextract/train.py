"""Train CMLA on one benchmark dataset, select on dev, and save a run folder.

A run folder holds everything needed to use or audit the model:

- `model.pt`: the weights, a plain state dict (`torch.load(..., weights_only=True)`).
- `config.json`: model and training hyper-parameters, the vocabulary, the seed,
  the dataset and a sha256 fingerprint of the training data.
- `metrics.json`: dev and test scores of the selected epoch and per-epoch history.

Model selection uses dev only: the epoch with the best dev aspect F1 + opinion
F1 is kept, and training stops after `patience` epochs without improvement.
Then the weights of the `average_top` best epochs are averaged; the average
replaces the best epoch only if its dev score is higher (on lap14 it often is:
an average of nearby good solutions generalises better than any one of them).
Test is scored once, with the selected weights.
"""

import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from coextract import __version__
from coextract.data import Example, fingerprint, read_dataset, read_vocabulary, read_word_vectors
from coextract.errors import CoextractError
from coextract.evaluation import score_examples
from coextract.features import Batch, Featurizer
from coextract.model import CMLA, CMLAConfig
from coextract.predict import Backend


@dataclass
class TrainConfig:
    dataset: str = "res14"
    seed: int = 1
    embeddings: tuple[str, ...] = ("domain",)  # which *_embedding.npy files, side by side
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    max_epochs: int = 40
    patience: int = 8  # epochs without dev improvement before stopping
    ema_decay: float = 0.0  # evaluate and keep an exponential moving average of the weights; 0 = off
    average_top: int = 5  # also try the mean weights of the k best epochs on dev; kept if dev prefers it
    max_train_sentences: int | None = None  # a slice of train, for quick tests
    raw_files: tuple[str, ...] = ()  # train on raw SemEval files (XML + opinions, or CMLA 2015 pair) instead
    model: dict = field(default_factory=dict)  # CMLAConfig overrides


# Settings that dev F1 preferred over the TrainConfig and CMLAConfig defaults, per
# dataset (the sweep is in benchmarks/README.md). `coextract train` starts here.
_SLOWER_LEARNING = {"learning_rate": 5e-4, "patience": 10, "max_epochs": 60}
_CONV_FINE_TUNED = {"conv_kernels": (3, 5), "freeze_embeddings": False}
RECOMMENDED: dict[str, dict] = {
    "res14": {**_SLOWER_LEARNING, "model": _CONV_FINE_TUNED},
    "lap14": {**_SLOWER_LEARNING, "model": _CONV_FINE_TUNED},
    "res15": {**_SLOWER_LEARNING, "embeddings": ("domain", "glove"), "model": _CONV_FINE_TUNED},
}


def recommended_config(dataset: str) -> TrainConfig:
    """A fresh TrainConfig with the dev-chosen settings for `dataset`."""
    settings = RECOMMENDED.get(dataset, {})
    return TrainConfig(dataset=dataset, **{**settings, "model": dict(settings.get("model", {}))})


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def to_tensors(batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (
        torch.from_numpy(batch.word_ids),
        torch.from_numpy(batch.subword_ids),
        torch.from_numpy(batch.mask),
    )


def torch_backend(model: CMLA) -> Backend:
    """Wrap a model as a `predict.Backend`: eval mode, no gradients, probabilities."""

    def run(batch: Batch):
        model.eval()
        with torch.inference_mode():
            aspect_logits, opinion_logits, attentions = model(*to_tensors(batch))
        return (
            aspect_logits.softmax(-1).numpy(),
            opinion_logits.softmax(-1).numpy(),
            attentions.numpy(),
        )

    return run


def evaluate_model(model: CMLA, featurizer: Featurizer, examples: Sequence[Example]) -> dict:
    return score_examples(torch_backend(model), featurizer, examples)


def average_weights(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {name: torch.stack([state[name] for state in states]).mean(dim=0) for name in states[0]}


def pad_tags(tag_lists: Sequence[Sequence[int]], n_tokens: int) -> torch.Tensor:
    tags = torch.zeros(len(tag_lists), n_tokens, dtype=torch.long)
    for b, seq in enumerate(tag_lists):
        tags[b, : len(seq)] = torch.tensor(seq)
    return tags


def shuffled_batches(lengths: Sequence[int], batch_size: int, rng) -> list[list[int]]:
    """Random batches of similar-length sentences: less padding, same randomness.

    Sentences are shuffled, sorted by length within pools of 50 batches, cut into
    batches, and the batches shuffled again.
    """
    order = rng.permutation(len(lengths))
    pool = 50 * batch_size
    batches = []
    for start in range(0, len(order), pool):
        by_length = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [by_length[i : i + batch_size] for i in range(0, len(by_length), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def train_epoch(model, optimizer, featurizer, examples, config: TrainConfig, rng, average=None) -> float:
    """One pass over `examples` in a seeded random order; returns the mean loss."""
    model.train()
    total, n_batches = 0.0, 0
    for indices in shuffled_batches([len(e.tokens) for e in examples], config.batch_size, rng):
        chunk = [examples[i] for i in indices]
        batch = featurizer.batch([e.tokens for e in chunk])
        n_tokens = batch.mask.shape[1]
        aspect_tags = pad_tags([e.aspect_tags for e in chunk], n_tokens)
        opinion_tags = pad_tags([e.opinion_tags for e in chunk], n_tokens)
        word_ids, subword_ids, mask = to_tensors(batch)
        aspect_logits, opinion_logits, _ = model(word_ids, subword_ids, mask)
        loss = model.loss(aspect_logits, opinion_logits, aspect_tags, opinion_tags, mask)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        if average is not None:
            average.update_parameters(model)
        total += loss.item()
        n_batches += 1
    return total / max(n_batches, 1)


def raw_splits(config: TrainConfig, output: Path, log) -> dict[str, list[Example]]:
    """Train and dev splits (80/20, seeded) from raw SemEval files, through the raw-text pipeline.

    Gold terms that do not fall on token boundaries are written to
    `alignment_problems.txt` in the run folder and counted on the log.
    """
    from coextract.semeval import align, read_raw

    examples, problems = align(read_raw(*config.raw_files))
    output.mkdir(parents=True, exist_ok=True)
    (output / "alignment_problems.txt").write_text("".join(f"{p}\n" for p in problems))
    print(
        f"{config.raw_files[0]}: {len(examples)} reviews; {len(problems)} annotations could not be used "
        f"(listed in {output / 'alignment_problems.txt'})",
        file=log,
    )
    order = np.random.default_rng(config.seed).permutation(len(examples))
    n_dev = len(examples) // 5
    return {"train": [examples[i] for i in order[n_dev:]], "dev": [examples[i] for i in order[:n_dev]]}


def train(config: TrainConfig, data_dir: Path | str, output: Path | str, log=sys.stderr) -> dict:
    """Train, select on dev, score test, write the run folder; return metrics."""
    output = Path(output)
    splits = read_dataset(data_dir, config.dataset)
    if config.raw_files:
        splits.update(raw_splits(config, output, log))
    vocabulary = read_vocabulary(data_dir, config.dataset)
    vectors = read_word_vectors(data_dir, config.dataset, tuple(config.embeddings))
    model_config = CMLAConfig(vocab_size=len(vocabulary), word_dim=vectors.shape[1], **config.model)
    featurizer = Featurizer(vocabulary, model_config.n_buckets)
    train_examples = splits["train"][: config.max_train_sentences]

    seed_everything(config.seed)
    rng = np.random.default_rng(config.seed)
    model = CMLA(model_config)
    model.load_word_vectors(torch.from_numpy(vectors))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    print(
        f"training CMLA on {config.dataset} ({len(train_examples)} sentences, "
        f"{model.num_parameters(trainable_only=True):,} trainable parameters), seed {config.seed}",
        file=log,
    )

    average = (
        torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(config.ema_decay)
        )
        if config.ema_decay
        else None
    )
    scored = average.module if average is not None else model  # the weights that are evaluated and kept
    best_score, best_epoch, history = -1.0, 0, []
    top: list[tuple[float, int, dict]] = []  # (dev score, epoch, weights) of the best epochs so far
    started = time.perf_counter()
    for epoch in range(1, config.max_epochs + 1):
        epoch_start = time.perf_counter()
        loss = train_epoch(model, optimizer, featurizer, train_examples, config, rng, average)
        dev = evaluate_model(scored, featurizer, splits["dev"])
        seconds = time.perf_counter() - epoch_start
        score = dev["aspect"]["f1"] + dev["opinion"]["f1"]
        improved = score > best_score
        if improved:
            best_score, best_epoch = score, epoch
        state = {k: v.detach().clone() for k, v in scored.state_dict().items()}
        top = sorted([*top, (score, epoch, state)], key=lambda entry: entry[0], reverse=True)
        top = top[: max(config.average_top, 1)]
        history.append(
            {
                "epoch": epoch,
                "loss": loss,
                "dev_aspect_f1": dev["aspect"]["f1"],
                "dev_opinion_f1": dev["opinion"]["f1"],
                "seconds": seconds,
            }
        )
        print(
            f"epoch {epoch:3d}  loss {loss:.4f}  dev F1 aspect {100 * dev['aspect']['f1']:.2f}"
            f"  opinion {100 * dev['opinion']['f1']:.2f}  {seconds:.1f}s" + ("  *" if improved else ""),
            file=log,
            flush=True,
        )
        if epoch - best_epoch >= config.patience:
            break
    train_seconds = time.perf_counter() - started

    kept_epochs = keep_best_or_average(model, top, featurizer, splits["dev"], log)
    metrics = {
        "dataset": config.dataset,
        "seed": config.seed,
        "best_epoch": best_epoch,
        "kept_epochs": kept_epochs,
        "train_seconds": train_seconds,
        "seconds_per_epoch": train_seconds / len(history),
        "dev": evaluate_model(model, featurizer, splits["dev"]),
        "test": evaluate_model(model, featurizer, splits["test"]),
        "history": history,
    }
    run_config = {
        "coextract_version": __version__,
        "dataset": config.dataset,
        "data_fingerprint": fingerprint(data_dir, config.dataset, config.raw_files),
        "train": asdict(config),
        "model": asdict(model_config),
        "vocabulary": vocabulary,
    }
    output.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), output / "model.pt")
    (output / "config.json").write_text(json.dumps(run_config, indent=1) + "\n")
    (output / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return metrics


def keep_best_or_average(model: CMLA, top, featurizer: Featurizer, dev: Sequence[Example], log) -> list[int]:
    """Load the best epoch's weights, or the mean of the `top` epochs' if dev scores it higher.

    Returns the epochs whose weights the model now holds.
    """
    best_score, best_epoch, best_state = top[0]
    if len(top) > 1:
        model.load_state_dict(average_weights([state for _, _, state in top]))
        scores = evaluate_model(model, featurizer, dev)
        score = scores["aspect"]["f1"] + scores["opinion"]["f1"]
        epochs = sorted(epoch for _, epoch, _ in top)
        print(
            f"mean of epochs {epochs}: dev F1 aspect {100 * scores['aspect']['f1']:.2f}"
            f"  opinion {100 * scores['opinion']['f1']:.2f}"
            + ("  kept" if score > best_score else f"; keeping epoch {best_epoch}"),
            file=log,
        )
        if score > best_score:
            return epochs
    model.load_state_dict(best_state)
    return [best_epoch]


def load_run(run_dir: Path | str) -> tuple[CMLA, Featurizer, dict]:
    """The model, featurizer and config of a run folder written by `train`."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CoextractError(f"model folder {run_dir} does not exist")
    config_path, weights_path = run_dir / "config.json", run_dir / "model.pt"
    for path in (config_path, weights_path):
        if not path.is_file():
            raise CoextractError(f"{path}: not found; is {run_dir} a folder written by 'coextract train'?")
    try:
        run_config = json.loads(config_path.read_text())
        model_config = CMLAConfig(**run_config["model"])
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise CoextractError(f"{config_path}: not a coextract run config ({err})") from None
    try:
        state = torch.load(weights_path, weights_only=True, map_location="cpu")
        model = CMLA(model_config)
        model.load_state_dict(state)
    except Exception as err:  # torch raises many types for a corrupt or mismatched file
        reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise CoextractError(
            f"{weights_path}: unreadable checkpoint ({type(err).__name__}: {reason}); retrain with 'coextract train'"
        ) from None
    model.eval()
    return model, Featurizer(run_config["vocabulary"], model_config.n_buckets), run_config
