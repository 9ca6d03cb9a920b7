"""Distillation: train a model on another model's tag probabilities as well as on the gold tags.

The teacher is any exported model folder or bundled name (`--soft-targets
restaurant-minilm`): its probabilities for the training sentences come from the
torch-free runtime once, before the first epoch. The loss of a batch becomes

    (1 - w) * cross-entropy(gold tags) + w * cross-entropy(teacher probabilities)

with w = `distill_weight`, both over real tokens, aspects plus opinions.
"""

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from coextract.runtime.tagger import load


def teacher_targets(teacher: str, examples: Sequence) -> list[np.ndarray]:
    """The teacher's probabilities per training sentence: (2, T, 3), aspects then opinions."""
    predictions = load(teacher).predict([e.tokens for e in examples])
    return [np.stack([p.aspect_probs, p.opinion_probs]).astype(np.float32) for p in predictions]


def batch_targets(targets: Sequence[np.ndarray], n_tokens: int, device: str) -> torch.Tensor:
    """Pad a batch's teacher probabilities to (B, 2, T, 3); padding rows are never read."""
    padded = np.zeros((len(targets), 2, n_tokens, 3), np.float32)
    for b, target in enumerate(targets):
        padded[b, :, : target.shape[1]] = target
    return torch.from_numpy(padded).to(device)


def soft_loss(aspect_logits, opinion_logits, targets: torch.Tensor, mask) -> torch.Tensor:
    """Cross-entropy against the teacher's probabilities, aspects plus opinions, over real tokens."""
    aspect = F.cross_entropy(aspect_logits[mask], targets[:, 0][mask])
    opinion = F.cross_entropy(opinion_logits[mask], targets[:, 1][mask])
    return aspect + opinion
