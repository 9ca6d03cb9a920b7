"""CMLA: Coupled Multi-Layer Attentions (Wang et al., AAAI 2017), in one module.

Read `../shared/design/cmla.md` beside this file's repository for the maths.
In short, for a sentence of T tokens:

    h      = GRU(word vectors + sub-word vectors)               encoder, (T, d)
    beta^a = tanh([h G^a u^a ; h D^a u^p])                      coupled tensor attention, (T, 2K)
    r^a    = GRU(beta^a)                                        context over compositions
    alpha^a = softmax(r^a v^a),  o^a = alpha^a h                attention and summary
    u^a    <- tanh(Q^a u^a) + o^a                               prototype update, next layer
    logits^a = W^a (sum over layers of r^a)                     per-token B/I/O scores

and the same for opinions (superscript p) with the prototypes swapped, for L
layers. With `relations` on, two heads read the word states s = [h ; r^a ; r^p]
(`RelationHeads`): who thinks what of which aspect.

    grid_ij   = a_i^T U o_j + V [a_i ; o_j] + dist(j - i)        (T, T, 4) pair of words i, j:
                a = relu(A s), o = relu(P s)                     none / positive / negative / neutral
    c_i       = sum_j softmax_j(link_ij) s_j                     what word i's opinions say
    sentiment = W_s [s_i ; c_i]                                  (T, 3) positive / negative / neutral Changes from the paper, each kept because dev F1 said so (see
`benchmarks/README.md`): bidirectional GRUs, hashed sub-word embeddings beside
the word vectors, n-gram convolutions before the encoder, fine-tuned pre-trained
word vectors, mini-batches with Adam.

Padding is masked out everywhere (packed GRUs, attention softmax, loss), so a
sentence's output never depends on the rest of its batch.

Over 250 lines because the whole network stays in one module, read top to
bottom as the maths above (in the spirit of nanoGPT's model.py).
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from coextract.runtime.relations import SENTIMENTS  # the sentiment head's classes; the grid's: none + these


@dataclass
class CMLAConfig:
    vocab_size: int = 5331
    word_dim: int = 100  # width of the pre-trained word vectors
    freeze_embeddings: bool = True  # keep pre-trained vectors (test-only words stay in place)
    n_buckets: int = 1 << 15  # sub-word hash table size; 0 = no sub-word features
    n_subword_features: int = 6  # prefixes, suffixes, shape (see features.py)
    subword_dim: int = 20  # width of each sub-word embedding
    hidden_dim: int = 50  # encoder GRU size per direction
    inner_dim: int = 50  # size per direction of the GRU over compositions
    bidirectional: bool = True
    conv_kernels: tuple[int, ...] = ()  # widths of convolutions over the inputs before the encoder
    conv_dim: int = 100  # filters per convolution width
    n_slices: int = 20  # K, slices of each attention tensor
    n_layers: int = 2  # L, attention layers (prototype updates)
    dropout: float = 0.5
    n_tags: int = 3  # O, B, I
    relations: bool = False  # the sentiment and pair heads (`RelationHeads`)
    relation_states: str = "coupled"  # what they read: "coupled" [h ; r^a ; r^p], or "encoder" h alone
    pair_dim: int = 16  # k, width of the pair grid's projections (64 costs 16-28 % of throughput)
    max_distance: int = 8  # word distances j - i beyond +-this share one learned bias
    relation_gradients: bool = True  # the relation losses also train the states the heads read


RELATION_STATES = ("coupled", "encoder")


class Outputs(NamedTuple):
    """What the network computes for a padded batch of B sentences of T words."""

    aspect_logits: torch.Tensor  # (B, T, 3) over O, B, I
    opinion_logits: torch.Tensor  # (B, T, 3)
    attentions: torch.Tensor  # (B, 2, L, T): side 0 aspects, side 1 opinions
    sentiment_logits: torch.Tensor | None = None  # (B, T, 3) over SENTIMENTS; with `relations`
    pair_logits: torch.Tensor | None = None  # (B, T, T, 4): aspect word i, opinion word j; none + SENTIMENTS


class SentenceGRU(nn.Module):
    """A GRU over right-padded sentences, optionally bidirectional and batch-invariant.

    Packing the batch by sentence length makes the backward direction start at
    each sentence's own last token, so padding never leaks into real positions.
    It exports to one ONNX GRU operator with `sequence_lens`, which takes the
    rows in any order: export traces the packing without torch's sort and
    unsort of the batch around the GRU (about 2 % of onnxruntime's time).
    """

    def __init__(self, input_dim: int, hidden_dim: int, bidirectional: bool) -> None:
        super().__init__()
        self.gru = nn.GRU(input_dim, hidden_dim, batch_first=True, bidirectional=bidirectional)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.cpu() if lengths.is_cuda else lengths  # packing reads lengths on the CPU
        packed = pack_padded_sequence(
            x, lengths, batch_first=True, enforce_sorted=torch.onnx.is_in_onnx_export()
        )
        out, _ = self.gru(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
        return out  # (B, T, H * directions), zero at padding


class NgramConvolution(nn.Module):
    """Convolutions of several widths over the token inputs, concatenated with them.

    Gives the encoder local n-gram evidence ("battery life", "not good"). Padding
    inputs are zero vectors, so a sentence's outputs are the same in any batch.
    Export traces `one_product`: the same numbers as one matrix product for the
    whole batch, where onnxruntime would run each convolution as one small
    product per sentence (benchmarks/README.md, inference speed).
    """

    def __init__(self, input_dim: int, conv_dim: int, kernels: tuple[int, ...]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(input_dim, conv_dim, k, padding=k // 2) for k in kernels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x * mask.unsqueeze(-1)  # (B, T, C), zero at padding
        exporting = torch.onnx.is_in_onnx_export()
        ngrams = self.one_product(x) if exporting else self.convolutions(x)  # (B, T, n_kernels * F)
        return torch.cat([x, F.relu(ngrams)], dim=-1)  # (B, T, C + n_kernels * F)

    def convolutions(self, x: torch.Tensor) -> torch.Tensor:
        channels_first = x.transpose(1, 2)  # (B, C, T)
        return torch.cat([conv(channels_first) for conv in self.convs], dim=1).transpose(1, 2)

    def one_product(self, x: torch.Tensor) -> torch.Tensor:
        width = max(conv.kernel_size[0] for conv in self.convs)  # widths are odd: padding k // 2 keeps T
        reach, n_tokens = width // 2, x.size(1)
        padded = F.pad(x, (0, 0, reach, reach))  # (B, T + 2 reach, C)
        offsets = [padded[:, j : j + n_tokens] for j in range(width)]  # one slice per offset, not per token
        windows = torch.cat(offsets, dim=-1)  # (B, T, width * C): tokens i - reach .. i + reach
        taps = [F.pad(conv.weight, [(width - conv.kernel_size[0]) // 2] * 2) for conv in self.convs]
        # (width * C, n_kernels * F), the narrower filters zero at the outer offsets
        filters = torch.cat(taps).permute(2, 1, 0).flatten(0, 1)
        return windows @ filters + torch.cat([conv.bias for conv in self.convs])


class CoupledAttention(nn.Module):
    """beta^a = tanh([h G^a u^a ; h D^a u^p]) and beta^p = tanh([h G^p u^p ; h D^p u^a]).

    The four tensors are stored as one (4, K, d, d) parameter so that both sides
    are two matrix products: first every tensor times its prototype, then h
    times all of them at once.
    """

    def __init__(self, dim: int, n_slices: int) -> None:
        super().__init__()
        self.tensors = nn.Parameter(torch.empty(4, n_slices, dim, dim))  # G^a, D^a, G^p, D^p

    def forward(self, h: torch.Tensor, u_a: torch.Tensor, u_p: torch.Tensor):
        """h (B, T, d); prototypes u_a, u_p (B, d), or (1, d) when every sentence shares them."""
        n_tensors, n_slices, dim, _ = self.tensors.shape
        prototypes = torch.stack([u_a, u_p, u_p, u_a])  # (4, B, d), the one each tensor is applied to
        slices = self.tensors.reshape(n_tensors, n_slices * dim, dim)  # (4, K*d, d)
        tensor_u = prototypes @ slices.transpose(1, 2)  # (4, B, K*d): every slice times its prototype
        tensor_u = tensor_u.reshape(n_tensors, -1, n_slices, dim)  # (4, B, K, d)
        scores = h.unsqueeze(0) @ tensor_u.transpose(2, 3)  # (4, B, T, K): h_i^T G u for every slice
        beta = torch.tanh(scores.permute(1, 2, 0, 3).flatten(2))  # (B, T, 4K)
        beta_a, beta_p = beta.split(2 * n_slices, dim=-1)  # (B, T, 2K) each
        return beta_a, beta_p


class AttentionSide(nn.Module):
    """One side (aspect or opinion): context GRU, attention, prototype update."""

    def __init__(self, config: CMLAConfig, dim: int) -> None:
        super().__init__()
        directions = 2 if config.bidirectional else 1
        self.context = SentenceGRU(2 * config.n_slices, config.inner_dim, config.bidirectional)
        self.score = nn.Linear(directions * config.inner_dim, 1, bias=False)  # v
        self.update = nn.Linear(dim, dim, bias=False)  # Q

    def forward(self, beta, h, u, mask, lengths):
        r = self.context(beta, lengths)  # (B, T, dr)
        e = self.score(r).flatten(1)  # (B, T); flatten, not squeeze: no runtime shape test in ONNX
        alpha = F.softmax(e.masked_fill(~mask, -1e9), dim=-1)  # (B, T), zero at padding
        o = (alpha.unsqueeze(1) @ h).flatten(1)  # (B, d): sum_i alpha_i h_i
        u_next = torch.tanh(self.update(u)) + o  # (B, d); u may be the shared (1, d)
        return r, alpha, u_next


class RelationHeads(nn.Module):
    """Who thinks what of which aspect, from the word states s (B, T, D): a biaffine grid over every
    (aspect word i, opinion word j) pair, and a sentiment per word that also reads the states of the
    words the grid links it to (sentiment is mostly carried by opinion words, as RACL found).

    An aspect's sentiment is read over its words, a pair's over the block of grid cells between
    its two spans (`runtime.relations`). Each cell depends only on its two words and their
    distance, so a sentence's grid never depends on its batch.
    """

    def __init__(self, state_dim: int, config) -> None:
        super().__init__()
        k, n_classes = config.pair_dim, 1 + len(SENTIMENTS)
        self.max_distance = config.max_distance
        self.aspect_projection = nn.Linear(state_dim, k)  # A
        self.opinion_projection = nn.Linear(state_dim, k)  # P
        self.biaffine = nn.Parameter(torch.zeros(k, n_classes * k))  # U, one (k, k) matrix per class
        self.linear = nn.Linear(2 * k, n_classes)  # V
        self.distance = nn.Embedding(2 * config.max_distance + 1, n_classes)  # dist
        self.sentiment = nn.Linear(2 * state_dim, len(SENTIMENTS))  # W_s

    def forward(self, s: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """s (B, T, D), mask (B, T) -> sentiment_logits (B, T, 3), pair_logits (B, T, T, 4)."""
        a = F.relu(self.aspect_projection(s))  # (B, T, k)
        o = F.relu(self.opinion_projection(s))  # (B, T, k)
        batch, n_words, k = a.shape
        a_u = (a @ self.biaffine).reshape(batch, n_words, -1, k).transpose(1, 2)  # (B, C, T, k): a_i^T U_c
        grid = (a_u @ o.transpose(1, 2).unsqueeze(1)).permute(0, 2, 3, 1)  # (B, T, T, C): a_i^T U_c o_j
        v_a, v_o = self.linear.weight.split(k, dim=1)  # (C, k) each
        grid = grid + (a @ v_a.T).unsqueeze(2) + (o @ v_o.T + self.linear.bias).unsqueeze(1)
        words = torch.arange(n_words, device=s.device)  # (T,)
        offset = (words.unsqueeze(0) - words.unsqueeze(1)).clamp(-self.max_distance, self.max_distance)
        grid = grid + self.distance(offset + self.max_distance)  # (B, T, T, C) + (T, T, C): j - i
        link = torch.logsumexp(grid[..., 1:], dim=-1) - grid[..., 0]  # (B, T, T): log odds of any pair
        weights = F.softmax(link.masked_fill(~mask.unsqueeze(1), -1e9), dim=-1)  # (B, T, T), rows sum to 1
        context = weights @ s  # (B, T, D): c_i
        return self.sentiment(torch.cat([s, context], dim=-1)), grid


class CoupledLayers(nn.Module):
    """Everything above the encoder, shared by both tiers: the prototypes, L layers of coupled
    attention on both sides, and a BIO head per side. A subclass builds its encoder, then calls
    `add_coupled_layers`; its forward computes word states h and returns `attend(h, mask, lengths)`."""

    def add_coupled_layers(self, config, dim: int) -> None:
        """`config` has n_slices, inner_dim, bidirectional, n_tags; d = `dim`."""
        directions = 2 if config.bidirectional else 1
        self.prototype_a = nn.Parameter(torch.empty(dim))  # u^a
        self.prototype_p = nn.Parameter(torch.empty(dim))  # u^p
        self.coupled = CoupledAttention(dim, config.n_slices)
        self.aspect_side = AttentionSide(config, dim)
        self.opinion_side = AttentionSide(config, dim)
        self.aspect_head = nn.Linear(directions * config.inner_dim, config.n_tags)
        self.opinion_head = nn.Linear(directions * config.inner_dim, config.n_tags)
        if getattr(config, "relations", False):
            if config.relation_states not in RELATION_STATES:
                raise ValueError(
                    f"relation_states is one of {RELATION_STATES}, not {config.relation_states!r}"
                )
            coupled = config.relation_states == "coupled"
            self.relations = RelationHeads(
                dim + (2 * directions * config.inner_dim if coupled else 0), config
            )

    def load_word_vectors(self, vectors: torch.Tensor) -> None:
        """Initialise the word embedding (the fast tier's, or the MiniLM tier's beside its encoder)
        with pre-trained vectors (vocab_size, word_dim)."""
        with torch.no_grad():
            self.word_embedding.weight.copy_(vectors)

    def init_coupled_layers(self, dim: int) -> None:
        nn.init.xavier_uniform_(self.coupled.tensors.view(-1, dim, dim))
        nn.init.uniform_(self.prototype_a, -1 / math.sqrt(dim), 1 / math.sqrt(dim))
        nn.init.uniform_(self.prototype_p, -1 / math.sqrt(dim), 1 / math.sqrt(dim))

    def attend(self, h: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor) -> Outputs:
        """h (B, T, d), mask (B, T), lengths (B,) -> `Outputs`."""
        u_a = self.prototype_a.unsqueeze(0)  # (1, d): shared by all sentences, so layer 1's
        u_p = self.prototype_p.unsqueeze(0)  # tensor products are computed once, not per sentence
        r_a_sum, r_p_sum, attentions = 0, 0, []
        for _ in range(self.config.n_layers):  # unrolled at export: L is fixed
            beta_a, beta_p = self.coupled(h, u_a, u_p)  # (B, T, 2K) each
            r_a, alpha_a, u_a_next = self.aspect_side(beta_a, h, u_a, mask, lengths)
            r_p, alpha_p, u_p_next = self.opinion_side(beta_p, h, u_p, mask, lengths)
            u_a, u_p = u_a_next, u_p_next
            r_a_sum = r_a_sum + r_a  # (B, T, dr)
            r_p_sum = r_p_sum + r_p
            attentions.append(torch.stack([alpha_a, alpha_p], dim=1))  # (B, 2, T)

        aspect_logits = self.aspect_head(self.dropout(r_a_sum))  # (B, T, 3)
        opinion_logits = self.opinion_head(self.dropout(r_p_sum))  # (B, T, 3)
        outputs = Outputs(aspect_logits, opinion_logits, torch.stack(attentions, dim=2))  # (B, 2, L, T)
        if not hasattr(self, "relations"):
            return outputs
        coupled = self.config.relation_states == "coupled"  # h is dropped out already, by the caller
        s = (
            torch.cat([h, self.dropout(r_a_sum), self.dropout(r_p_sum)], dim=-1) if coupled else h
        )  # (B, T, D)
        if not self.config.relation_gradients:
            s = s.detach()  # the heads read the states without changing what the tagger learns
        sentiment_logits, pair_logits = self.relations(s, mask)  # (B, T, 3), (B, T, T, 4)
        return outputs._replace(sentiment_logits=sentiment_logits, pair_logits=pair_logits)

    @staticmethod
    def loss(
        outputs: Outputs, aspect_tags, opinion_tags, mask, sentiments=None, pairs=None, relation_weight=1.0
    ) -> torch.Tensor:
        """Cross-entropy of aspects plus cross-entropy of opinions, over real tokens; with relations,
        plus `relation_weight` times the cross-entropies of the aspect words' sentiments (B, T) and
        of the grid's cells (B, T, T), where their targets are not -100 (`training.targets`)."""
        aspect = F.cross_entropy(outputs.aspect_logits[mask], aspect_tags[mask])
        opinion = F.cross_entropy(outputs.opinion_logits[mask], opinion_tags[mask])
        if sentiments is None:
            return aspect + opinion
        sentiment = labelled_cross_entropy(outputs.sentiment_logits.flatten(0, 1), sentiments.flatten())
        pair = labelled_cross_entropy(outputs.pair_logits.flatten(0, 2), pairs.flatten())
        return aspect + opinion + relation_weight * (sentiment + pair)

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)


def labelled_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the rows whose target is not -100; 0 where none is (a batch whose
    sentences have no aspect, or none that aste-v2 annotates)."""
    labelled = targets != -100
    return F.cross_entropy(logits[labelled], targets[labelled]) if labelled.any() else logits.sum() * 0


def init_weights(module: nn.Module) -> None:
    """Xavier for linear layers, small normal for embeddings (row 0, padding, at zero)."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.1)
        with torch.no_grad():
            module.weight[0].zero_()


class CMLA(CoupledLayers):
    """The fast tier: embeddings and n-gram convolutions, the GRU encoder, then the coupled
    layers (`CoupledLayers`): L layers of coupled attention on both sides, a BIO head per side.

    `forward` maps padded token ids to per-token logits and the attention weights
    of every layer (drawn in `notebooks/attention.ipynb`); `loss` is what training
    minimises. The module docstring gives the maths line by line.
    """

    def __init__(self, config: CMLAConfig) -> None:
        super().__init__()
        self.config = config
        directions = 2 if config.bidirectional else 1
        dim = directions * config.hidden_dim  # d
        subword_width = config.n_subword_features * config.subword_dim if config.n_buckets else 0
        input_dim = config.word_dim + subword_width
        self.ngrams = (
            NgramConvolution(input_dim, config.conv_dim, tuple(config.conv_kernels))
            if config.conv_kernels
            else None
        )
        if config.conv_kernels:
            input_dim += len(config.conv_kernels) * config.conv_dim
        self.word_embedding = nn.Embedding(config.vocab_size, config.word_dim, padding_idx=0)
        self.word_embedding.weight.requires_grad = not config.freeze_embeddings
        self.subword_embedding = (
            nn.Embedding(config.n_buckets, config.subword_dim, padding_idx=0) if config.n_buckets else None
        )
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = SentenceGRU(input_dim, config.hidden_dim, config.bidirectional)
        self.add_coupled_layers(config, dim)
        self.apply(init_weights)
        self.init_coupled_layers(dim)

    def forward(self, word_ids, subword_ids, mask):
        """word_ids (B, T), subword_ids (B, T, S), mask (B, T) bool.

        Returns aspect_logits (B, T, 3), opinion_logits (B, T, 3) and the
        attention weights (B, 2, L, T): side 0 aspects, side 1 opinions.
        """
        x = self.word_embedding(word_ids)  # (B, T, E)
        if self.subword_embedding is not None:
            pieces = self.subword_embedding(subword_ids)  # (B, T, S, Es)
            x = torch.cat([x, pieces.flatten(2)], dim=-1)  # (B, T, E + S*Es)
        x = self.dropout(x)
        if self.ngrams is not None:
            x = self.ngrams(x, mask)  # (B, T, C + n_kernels * F)
        lengths = mask.sum(dim=1)  # (B,)
        h = self.encoder(x, lengths)  # (B, T, d)
        return self.attend(self.dropout(h), mask, lengths)
