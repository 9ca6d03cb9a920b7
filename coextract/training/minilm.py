"""The MiniLM tier's network: CMLA's coupled attention over a pretrained BERT encoder's word states.

For a sentence of T words cut into P word pieces (a [CLS] first, a [SEP] last):

    s = Encoder(pieces)                                   (P, H)   fine-tuned MiniLM
    w_t = s[first piece of word t], or the mean of its pieces (config.word_pooling)
    x_t = w_t, or [w_t ; e_t] with the dataset's word vector e_t (config.word_dim > 0)
    h = tanh(W x)                                         (T, d)
      or h = BiGRU(x)                                     (T, d)   (config.recurrent)
    then the coupled layers of `model.CoupledLayers`, as in the fast tier.

Inputs are padded batches: piece_ids (B, P), piece_mask (B, P), word_starts
(B, T) (the position of each word's first piece; 0 at padding) and mask (B, T);
word_ids (B, T) where the model reads word vectors too.
"""

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from coextract.training.encoder import Encoder, EncoderConfig
from coextract.training.model import CoupledLayers, SentenceGRU, init_weights


@dataclass
class MiniLMConfig:
    encoder: dict = field(default_factory=dict)  # EncoderConfig fields
    hidden_dim: int = 128  # d: width each word's state is projected to for the coupled attention
    inner_dim: int = 50  # size per direction of the GRU over compositions
    bidirectional: bool = True
    n_slices: int = 20  # K
    n_layers: int = 2  # L
    dropout: float = 0.1
    n_tags: int = 3
    word_pooling: str = "first"  # a word's state: its "first" piece's, or the "mean" of its pieces'
    relations: bool = False  # the sentiment and pair heads, as in the fast tier (`model.CMLAConfig`)
    relation_states: str = "coupled"
    pair_dim: int = 64
    max_distance: int = 8
    relation_gradients: bool = True
    vocab_size: int = 0  # with word_dim: the dataset's vocabulary, whose vectors sit beside the encoder's
    word_dim: int = 0  # width of those word vectors; 0 = the encoder's states alone
    recurrent: bool = False  # a BiGRU (d / 2 per direction) makes h instead of one linear layer

    def __post_init__(self) -> None:
        if self.word_pooling not in ("first", "mean"):
            raise ValueError(f"word_pooling is 'first' or 'mean', not {self.word_pooling!r}")


class MiniLMCMLA(CoupledLayers):
    """CMLA over a BERT encoder; `from_pretrained` starts it from a Hugging Face folder."""

    def __init__(self, config: MiniLMConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(EncoderConfig(**config.encoder))
        if config.word_dim:
            self.word_embedding = nn.Embedding(config.vocab_size, config.word_dim, padding_idx=0)
        x_dim = self.encoder.config.hidden_size + config.word_dim
        if config.recurrent:
            self.project = SentenceGRU(x_dim, config.hidden_dim // 2, bidirectional=True)
        else:
            self.project = nn.Linear(x_dim, config.hidden_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.add_coupled_layers(config, config.hidden_dim)
        for name, module in self.named_children():
            if name != "encoder":  # the encoder keeps BERT's own initialisation or its weights
                module.apply(init_weights)
        self.init_coupled_layers(config.hidden_dim)

    @classmethod
    def from_pretrained(cls, folder: Path, **overrides) -> "MiniLMCMLA":
        """A model whose encoder holds the weights of a local Hugging Face BERT folder."""
        encoder = EncoderConfig.from_folder(folder)
        model = cls(MiniLMConfig(encoder=vars(encoder) | overrides.pop("encoder", {}), **overrides))
        model.encoder.load_pretrained(folder)
        return model

    def forward(self, piece_ids, piece_mask, word_starts, mask, word_ids=None):
        """Returns the `model.Outputs` of the batch."""
        pieces = self.encoder(piece_ids, piece_mask)  # (B, P, H)
        if self.config.word_pooling == "mean":
            words = mean_of_pieces(pieces, piece_mask, word_starts, mask)  # (B, T, H)
        else:
            index = word_starts.unsqueeze(-1).expand(-1, -1, pieces.size(-1))  # (B, T, H)
            words = pieces.gather(1, index)  # (B, T, H): each word's first piece
        if self.config.word_dim:
            words = torch.cat([words, self.word_embedding(word_ids)], dim=-1)  # (B, T, H + E)
        lengths = mask.sum(dim=1)
        if self.config.recurrent:
            h = self.dropout(self.project(self.dropout(words), lengths))  # (B, T, d)
        else:
            h = self.dropout(torch.tanh(self.project(words)))  # (B, T, d)
        return self.attend(h, mask, lengths)


def mean_of_pieces(pieces, piece_mask, word_starts, mask):
    """Each word's mean piece state (B, T, H). A word's pieces run from its start to the next word's
    start; the last word's, to the [SEP] (pieces are contiguous: see `runtime.pieces`)."""
    sep = piece_mask.sum(dim=1, keepdim=True) - 1  # (B, 1)
    next_is_word = torch.cat([mask[:, 1:], torch.zeros_like(mask[:, :1])], dim=1)  # (B, T)
    ends = torch.where(next_is_word, torch.cat([word_starts[:, 1:], sep], dim=1), sep)  # (B, T)
    positions = torch.arange(pieces.size(1), device=pieces.device)  # (P,)
    inside = (positions >= word_starts.unsqueeze(-1)) & (positions < ends.unsqueeze(-1))  # (B, T, P)
    weights = (inside & mask.unsqueeze(-1)).to(pieces.dtype)
    weights = weights / weights.sum(dim=-1, keepdim=True).clamp(min=1)
    return weights @ pieces  # (B, T, P) @ (B, P, H)
