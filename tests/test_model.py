import pytest

torch = pytest.importorskip("torch")

from coextract.runtime.features import Featurizer  # noqa: E402
from coextract.training.model import CMLA, CMLAConfig  # noqa: E402

VOCAB = ["<pad>", "the", "food", "was", "great", "service", "slow", "<unk>"]
SENTENCES = [
    ["the", "food", "was", "great"],
    ["service", "was", "slow"],
    ["the", "food", "was", "great", "but", "the", "service", "was", "painfully", "slow"],
    ["great"],
]


def tiny_model(**overrides) -> CMLA:
    torch.manual_seed(0)
    config = CMLAConfig(
        vocab_size=len(VOCAB),
        word_dim=6,
        hidden_dim=5,
        inner_dim=4,
        n_slices=3,
        n_buckets=64,
        subword_dim=3,
        **overrides,
    )
    return CMLA(config).eval()


def run(model, sentences):
    batch = Featurizer(VOCAB, model.config.n_buckets).batch(sentences)
    with torch.no_grad():
        return model(
            torch.from_numpy(batch.word_ids),
            torch.from_numpy(batch.subword_ids),
            torch.from_numpy(batch.mask),
        )


def test_shapes_and_attention_sums_to_one():
    model = tiny_model(n_layers=3)
    aspect, opinion, attentions = run(model, SENTENCES)
    assert aspect.shape == opinion.shape == (4, 10, 3)
    assert attentions.shape == (4, 2, 3, 10)
    assert torch.allclose(attentions.sum(-1), torch.ones(4, 2, 3))
    assert attentions[1, :, :, 3:].abs().max() < 1e-6  # no attention on padding


@pytest.mark.parametrize("bidirectional", [True, False])
def test_prediction_does_not_depend_on_the_batch(bidirectional):
    model = tiny_model(bidirectional=bidirectional)
    batched = run(model, SENTENCES)
    for i, sentence in enumerate(SENTENCES):
        alone = run(model, [sentence])
        n = len(sentence)
        for together, single in zip(batched, alone, strict=True):
            together = together[i, ..., :n] if together.dim() == 4 else together[i, :n]
            assert torch.allclose(together, single[0], atol=1e-6)


def test_frozen_embeddings_are_not_trained():
    model = tiny_model()
    assert not model.word_embedding.weight.requires_grad
    assert model.num_parameters(trainable_only=True) < model.num_parameters()


def test_convolutions_as_one_product_give_the_same_outputs():
    ngrams = tiny_model(conv_kernels=(3, 5, 1), conv_dim=4).ngrams  # export traces `one_product`
    x = torch.randn(3, 7, ngrams.convs[0].in_channels)
    x[1, 4:] = 0  # padding, as `forward` zeroes it
    with torch.no_grad():
        assert torch.allclose(ngrams.convolutions(x), ngrams.one_product(x), atol=1e-6)
