"""The MiniLM tier's network, on a tiny random encoder (no weights, no GPU), and on the real MiniLM."""

import pytest

torch = pytest.importorskip("torch")

from coextract.training.encoder import Encoder  # noqa: E402
from coextract.training.minilm import MiniLMCMLA, MiniLMConfig  # noqa: E402
from coextract.training.model import CMLA  # noqa: E402
from tests.test_encoder import MINILM, TINY  # noqa: E402

SMALL = MiniLMConfig(encoder=vars(TINY), hidden_dim=8, inner_dim=4, n_slices=3)


def batch():
    """Two sentences: 3 words in 5 pieces ([CLS] a b## c [SEP]) and 2 words in 4; padded."""
    piece_ids = torch.tensor([[2, 11, 12, 13, 3], [2, 21, 22, 3, 0]])
    word_starts = torch.tensor([[1, 3, 4], [1, 2, 0]])
    return piece_ids, piece_ids != 0, word_starts, word_starts != 0


def test_shapes_and_padding_change_nothing_at_real_words():
    torch.manual_seed(0)
    model = MiniLMCMLA(SMALL).eval()
    aspects, opinions, attentions = model(*batch())
    assert aspects.shape == opinions.shape == (2, 3, 3) and attentions.shape == (2, 2, 2, 3)
    alone = model(*(x[1:, : x.size(1) - 1] for x in batch()))  # the second sentence, unpadded
    assert torch.allclose(aspects[1, :2], alone[0][0, :2], atol=1e-5)
    assert torch.allclose(attentions[1, ..., :2], alone[2][0, ..., :2], atol=1e-5)


def test_it_learns_and_shares_the_coupled_layers_with_the_fast_tier():
    torch.manual_seed(0)
    model = MiniLMCMLA(SMALL)
    tags = torch.tensor([[1, 0, 0], [0, 1, 0]])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(80):
        aspects, opinions, _ = model(*batch())
        loss = model.loss(aspects, opinions, tags, tags, batch()[3])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0]
    assert {name.split(".")[0] for name, _ in model.named_parameters()} >= {
        "encoder",
        "coupled",
        "aspect_side",
    }
    assert type(model).attend is CMLA.attend  # one implementation of the coupled layers


def test_from_pretrained_holds_the_minilm_weights():
    model = MiniLMCMLA.from_pretrained(MINILM, hidden_dim=16, inner_dim=4, n_slices=2)
    reference = Encoder(model.encoder.config)
    reference.load_pretrained(MINILM)
    assert torch.equal(
        model.encoder.embeddings.word_embeddings.weight, reference.embeddings.word_embeddings.weight
    )
    assert model.encoder.config.hidden_size == 384 and model.project.in_features == 384
