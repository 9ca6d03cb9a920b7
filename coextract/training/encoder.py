"""A BERT encoder in one module, read from a local Hugging Face folder: the MiniLM tier's encoder.

Our own small module rather than `transformers`: the tier needs one
architecture (BERT: post-LayerNorm, absolute positions, exact GELU), and ~100
lines that read `config.json` and `model.safetensors` (the format is a length,
a JSON header and raw arrays: no extra package) are a smaller and clearer
dependency than a library of hundreds of architectures, and export to ONNX as
plain matrix products. Sub-modules are named as in the checkpoint, so its
tensors load by name. For a sequence of P word pieces:

    x = LayerNorm(word[ids] + position[0..P) + token_type[0])      (B, P, H)
    per layer:  a = softmax(q k^T / sqrt(h) + mask) v               self-attention, heads of h = H / n
                x = LayerNorm(x + W_o a)
                x = LayerNorm(x + W_2 gelu(W_1 x))                   feed-forward
"""

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from coextract.errors import CoextractError

SAFETENSORS_TYPES = {"F16": np.float16, "F32": np.float32, "I64": np.int64}
UNUSED_WEIGHTS = ("embeddings.position_ids", "pooler.")  # in the checkpoint, not read by the encoder


@dataclass(frozen=True)
class EncoderConfig:
    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1

    @classmethod
    def from_folder(cls, folder: Path) -> "EncoderConfig":
        """The config of a Hugging Face BERT folder, checked to be the architecture built here."""
        path = Path(folder) / "config.json"
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise CoextractError(f"{path}: not a readable encoder config ({err})") from None
        built = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
        if any(config.get(key, value) != value for key, value in built.items()):
            raise CoextractError(f"{path}: not a BERT encoder with GELU and absolute positions ({built})")
        return cls(**{f.name: config[f.name] for f in fields(cls) if f.name in config})


class Embeddings(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=0)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.size(1), device=ids.device)
        x = (
            self.word_embeddings(ids)
            + self.position_embeddings(positions)
            + self.token_type_embeddings.weight[0]
        )
        return self.dropout(self.LayerNorm(x))  # (B, P, H)


class SelfAttention(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.n_heads = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, x: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
        """x (B, P, H); blocked (B, 1, 1, P): a large negative number at padding, else 0."""
        batch, pieces, hidden = x.shape
        heads = [
            f(x).view(batch, pieces, self.n_heads, -1).transpose(1, 2)
            for f in (self.query, self.key, self.value)
        ]
        q, k, v = heads  # (B, n, P, h) each
        scores = q @ k.transpose(-1, -2) / math.sqrt(hidden // self.n_heads) + blocked  # (B, n, P, P)
        attended = self.dropout(scores.softmax(-1)) @ v  # (B, n, P, h)
        return attended.transpose(1, 2).reshape(batch, pieces, hidden)


class Residual(nn.Module):
    """LayerNorm(x + dropout(dense(y))): the block that ends each half of a layer ("output" in BERT)."""

    def __init__(self, in_dim: int, config: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(in_dim, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(x + self.dropout(self.dense(y)))


class Attention(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.self = SelfAttention(config)
        self.output = Residual(config.hidden_size, config)


class Intermediate(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)


class Layer(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.attention = Attention(config)
        self.intermediate = Intermediate(config)
        self.output = Residual(config.intermediate_size, config)

    def forward(self, x: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
        x = self.attention.output(self.attention.self(x, blocked), x)  # (B, P, H)
        return self.output(F.gelu(self.intermediate.dense(x)), x)  # (B, P, H)


class Stack(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(config) for _ in range(config.num_hidden_layers))


class Encoder(nn.Module):
    """Word pieces (B, P) and their mask (B, P) -> contextual piece states (B, P, H)."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Stack(config)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        blocked = (~mask)[:, None, None, :].float() * -1e4  # (B, 1, 1, P), as BERT was trained
        x = self.embeddings(ids)
        for layer in self.encoder.layer:
            x = layer(x, blocked)
        return x

    def load_pretrained(self, folder: Path) -> None:
        """Load `model.safetensors` from a Hugging Face folder (float16 stored, float32 here), by name."""
        weights = read_safetensors(Path(folder) / "model.safetensors")
        used = {name: w for name, w in weights.items() if not name.startswith(UNUSED_WEIGHTS)}
        missing = sorted(set(self.state_dict()) - set(used))
        unexpected = sorted(set(used) - set(self.state_dict()))
        if missing or unexpected:
            raise CoextractError(
                f"{folder}: weights do not fit the encoder (missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
        self.load_state_dict({name: torch.from_numpy(w.astype(np.float32)) for name, w in used.items()})


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a .safetensors file: an 8-byte little-endian header length, a JSON header, raw data."""
    try:
        data = Path(path).read_bytes()
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + size])
    except (OSError, ValueError) as err:
        raise CoextractError(f"{path}: not a readable safetensors file ({err})") from None
    body, arrays = memoryview(data)[8 + size :], {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in SAFETENSORS_TYPES:
            raise CoextractError(f"{path}: {name} is {info['dtype']}, not one of {sorted(SAFETENSORS_TYPES)}")
        start, end = info["data_offsets"]
        if end > len(body):
            raise CoextractError(f"{path}: truncated ({name} ends past the end of the file); copy it again")
        arrays[name] = np.frombuffer(body[start:end], SAFETENSORS_TYPES[info["dtype"]]).reshape(info["shape"])
    return arrays
