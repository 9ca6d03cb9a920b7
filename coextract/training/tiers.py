"""What differs between the two tiers in training: the model, its featurizer, its optimizer.

The fast tier is CMLA over the dataset's word vectors, trained with Adam; the
MiniLM tier is CMLA's coupled layers over a pretrained BERT encoder, trained
with AdamW, the encoder at its own lower learning rate, with a linear warm-up.
"""

import random
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from coextract.evaluation.benchmark import read_vocabulary, read_word_vectors
from coextract.runtime.features import Featurizer
from coextract.runtime.pieces import PieceFeaturizer
from coextract.training.config import TrainConfig
from coextract.training.minilm import MiniLMCMLA
from coextract.training.model import CMLA, CMLAConfig


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fast_tier(config: TrainConfig, data_dir: Path | str) -> tuple[CMLA, Featurizer, dict]:
    """CMLA over the dataset's word vectors, with its featurizer and what the run folder records of it."""
    vocabulary = read_vocabulary(data_dir, config.dataset)
    vectors = read_word_vectors(data_dir, config.dataset, tuple(config.embeddings))
    model_config = CMLAConfig(vocab_size=len(vocabulary), word_dim=vectors.shape[1], **config.model)
    seed_everything(config.seed)
    model = CMLA(model_config)
    model.load_word_vectors(torch.from_numpy(vectors))
    featurizer = Featurizer(vocabulary, model_config.n_buckets)
    return model, featurizer, {"tier": "fast", "model": asdict(model_config), "vocabulary": vocabulary}


def minilm_tier(config: TrainConfig, data_dir: Path | str) -> tuple[MiniLMCMLA, PieceFeaturizer, dict]:
    """CMLA over the pretrained encoder in `config.encoder`, with its word-piece featurizer; with
    `word_vectors` in `config.model`, the dataset's word vectors (`config.embeddings`) beside it."""
    folder, settings = Path(config.encoder), dict(config.model)
    vocabulary = vectors = None
    if settings.pop("word_vectors", False):
        vocabulary = read_vocabulary(data_dir, config.dataset)
        vectors = read_word_vectors(data_dir, config.dataset, tuple(config.embeddings))
        settings |= {"vocab_size": len(vocabulary), "word_dim": vectors.shape[1]}
    seed_everything(config.seed)
    model = MiniLMCMLA.from_pretrained(folder, **settings)
    if vectors is not None:
        model.load_word_vectors(torch.from_numpy(vectors))
    described = {"tier": "minilm", "model": asdict(model.config), "encoder": str(folder.resolve())}
    if vocabulary is not None:
        described["vocabulary"] = vocabulary
    return model, PieceFeaturizer(folder / "tokenizer.json", vocabulary), described


def optimizer_and_schedule(model, config: TrainConfig, steps: int, fused: bool = True):
    """Adam for the fast tier. The MiniLM tier: AdamW with the encoder at its own lower learning rate,
    both rising linearly over the first `warmup` share of the `steps`, then falling linearly to zero.

    Both fused: one kernel over all parameters per step instead of a loop over tensors, the same
    update (`fused=False`: the loop, for `benchmarks/training_speed.py` to compare)."""
    if not config.encoder:
        params = [p for p in model.parameters() if p.requires_grad]
        return torch.optim.Adam(
            params, lr=config.learning_rate, weight_decay=config.weight_decay, fused=fused
        ), None
    encoder = [p for name, p in model.named_parameters() if name.startswith("encoder.")]
    rest = [p for name, p in model.named_parameters() if not name.startswith("encoder.")]
    groups = [
        {"params": encoder, "lr": config.encoder_learning_rate},
        {"params": rest, "lr": config.learning_rate},
    ]
    optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay, fused=fused)
    warm = max(1, int(config.warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (step + 1) / warm if step < warm else max(0.0, (steps - step) / max(1, steps - warm)),
    )
    return optimizer, schedule
