"""The ONNX graph of a trained model: trace it, and seal it to the meta.json beside it.

One graph per model, from the tier's inputs to tag probabilities and attention:
the fast tier reads word_ids (B, T), subword_ids (B, T, S) and mask (B, T); the
MiniLM tier reads piece_ids (B, P), piece_mask (B, P), word_starts (B, T) and
mask (B, T), the encoder inside the graph, and word_ids (B, T) where it reads word vectors too. Both give aspect_probs and
opinion_probs (B, T, 3) and each layer's attention, aspect_attention and
opinion_attention (B, L, T); a model with relation heads also sentiment_probs
(B, T, 3) and pair_probs (B, T, T, 4).
"""

import json
import os
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from coextract.runtime.model_folder import (
    OUTPUTS,
    RELATION_OUTPUTS,
    SEAL,
    file_sha256,
    graph_facts,
    graph_inputs,
)
from coextract.training.minilm import MiniLMCMLA
from coextract.training.model import CMLA

OPSET = 17
HELD_BACK = ("shape inference of prim::PackPadded", "shape inference of prim::PadPacked")  # exporter notes


class Deployed(nn.Module):
    """CMLA with probabilities instead of logits and one output per attention side."""

    def __init__(self, model: CMLA | MiniLMCMLA) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs):
        out = self.model(*inputs)
        probs = (
            out.aspect_logits.softmax(-1),
            out.opinion_logits.softmax(-1),
            out.attentions[:, 0],
            out.attentions[:, 1],
        )
        if out.pair_logits is None:
            return probs
        return *probs, out.sentiment_logits.softmax(-1), out.pair_logits.softmax(-1)


def example_inputs(model: CMLA | MiniLMCMLA) -> tuple[torch.Tensor, ...]:
    """Inputs to trace the graph with: two sentences of 5 words (in 7 pieces, for the MiniLM tier)."""
    mask = torch.ones(2, 5, dtype=torch.bool)
    if isinstance(model, MiniLMCMLA):
        pieces = torch.tensor([[101, 2200, 2204, 2833, 2326, 999, 102]] * 2)
        inputs = pieces, pieces != 0, torch.tensor([[1, 2, 3, 4, 5]] * 2), mask
        return (*inputs, torch.ones(2, 5, dtype=torch.long)) if model.config.word_dim else inputs
    n_subword = model.config.n_subword_features if model.config.n_buckets else 0
    return torch.ones(2, 5, dtype=torch.long), torch.ones(2, 5, n_subword, dtype=torch.long), mask


def export_onnx(model: CMLA | MiniLMCMLA, path: Path) -> None:
    """Trace `model` into an ONNX file at `path`, batch and lengths left free."""
    minilm = isinstance(model, MiniLMCMLA)
    inputs = graph_inputs("minilm" if minilm else "fast", word_vectors=minilm and bool(model.config.word_dim))
    outputs = (*OUTPUTS, *(RELATION_OUTPUTS if hasattr(model, "relations") else ()))
    axes = {name: {0: "batch", 1: "pieces" if name.startswith("piece") else "tokens"} for name in inputs}
    axes.update({name: {0: "batch", 1: "tokens"} for name in (*OUTPUTS[:2], "sentiment_probs")})
    axes.update({name: {0: "batch", 2: "tokens"} for name in OUTPUTS[2:]})
    axes["pair_probs"] = {0: "batch", 1: "tokens", 2: "tokens"}
    axes = {name: axes[name] for name in (*inputs, *outputs)}
    with warnings.catch_warnings(), without_shape_inference_notes():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(
            Deployed(model.eval()),
            example_inputs(model),
            str(path),
            input_names=list(inputs),
            output_names=list(outputs),
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


@contextmanager
def without_shape_inference_notes():
    """Hold back the C++ exporter's notes that it cannot infer PackPadded/PadPacked shapes (15 lines per
    export, written to the process's stderr): export verifies the graph on all of dev instead
    (`export.verify`). Every other line written to stderr meanwhile is passed on."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines = caught.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not any(note in line for note in HELD_BACK)))


def seal(path: Path, meta: dict) -> None:
    """Bind an ONNX file and the meta.json beside it: the graph carries the facts of the inputs it was
    built for (`model_folder.graph_facts`), and meta.json the file's sha256 (written now)."""
    import onnx

    graph = onnx.load(str(path))
    facts = graph_facts(meta)
    onnx.helper.set_model_props(graph, facts)
    meta["meta_sha256"] = facts[SEAL]  # a sealed meta.json takes no unsealed graph (`check_facts`)
    onnx.save(graph, str(path))
    meta.setdefault("files_sha256", {})[path.name] = file_sha256(path)
    (path.parent / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
