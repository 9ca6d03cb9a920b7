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
    aspect, opinion, attentions, sentiments, pairs = run(model, SENTENCES)
    assert sentiments is None and pairs is None  # no relation heads unless asked for
    assert aspect.shape == opinion.shape == (4, 10, 3)
    assert attentions.shape == (4, 2, 3, 10)
    assert torch.allclose(attentions.sum(-1), torch.ones(4, 2, 3))
    assert attentions[1, :, :, 3:].abs().max() < 1e-6  # no attention on padding


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("relations", [True, False])
def test_prediction_does_not_depend_on_the_batch(bidirectional, relations):
    model = tiny_model(bidirectional=bidirectional, relations=relations, pair_dim=4, max_distance=2)
    batched = run(model, SENTENCES)
    for i, sentence in enumerate(SENTENCES):
        alone = run(model, [sentence])
        n = len(sentence)
        assert torch.allclose(batched.attentions[i, ..., :n], alone.attentions[0], atol=1e-6)
        assert torch.allclose(batched.aspect_logits[i, :n], alone.aspect_logits[0], atol=1e-6)
        assert torch.allclose(batched.opinion_logits[i, :n], alone.opinion_logits[0], atol=1e-6)
        if relations:
            assert torch.allclose(batched.sentiment_logits[i, :n], alone.sentiment_logits[0], atol=1e-6)
            assert torch.allclose(batched.pair_logits[i, :n, :n], alone.pair_logits[0], atol=1e-6)


@pytest.mark.parametrize("states", ["coupled", "encoder"])
def test_relation_heads_give_a_sentiment_per_word_and_a_grid_per_word_pair(states):
    model = tiny_model(relations=True, relation_states=states, pair_dim=4, max_distance=2)
    outputs = run(model, SENTENCES)
    assert outputs.sentiment_logits.shape == (4, 10, 3) and outputs.pair_logits.shape == (4, 10, 10, 4)
    read = model.relations.aspect_projection.in_features
    assert read == (10 + 2 * 8 if states == "coupled" else 10)  # [h ; r^a ; r^p] or h (d = 10, dr = 8)


def test_relation_states_are_named():
    with pytest.raises(ValueError, match="relation_states is one of"):
        tiny_model(relations=True, relation_states="attention")


def test_distant_words_share_one_distance_bias():
    model = tiny_model(relations=True, pair_dim=4, max_distance=2)
    with torch.no_grad():
        model.relations.distance.weight.copy_(
            torch.arange(5.0).unsqueeze(1).repeat(1, 4)
        )  # bias = offset + 2
        model.relations.biaffine.zero_()
        model.relations.aspect_projection.weight.zero_()
        model.relations.opinion_projection.weight.zero_()
        model.relations.aspect_projection.bias.zero_()
        model.relations.opinion_projection.bias.zero_()
        model.relations.linear.bias.zero_()
    grid = run(model, SENTENCES[2:3]).pair_logits[0, ..., 0]  # (T, T): the distance bias alone
    assert grid[0, 1] == 3 and grid[1, 0] == 1 and grid[0, 9] == 4 and grid[9, 0] == 0 and grid[4, 4] == 2


def test_the_loss_learns_relations_only_where_targets_are_known():
    model = tiny_model(relations=True, pair_dim=4, max_distance=2).train()
    batch = SENTENCES[:2]
    outputs = run(model, batch)
    mask = torch.tensor([[True] * 4, [True] * 3 + [False]])
    tags = torch.zeros(2, 4, dtype=torch.long)
    unknown = torch.full((2, 4), -100), torch.full((2, 4, 4), -100)
    plain = model.loss(outputs, tags, tags, mask)
    assert torch.equal(model.loss(outputs, tags, tags, mask, *unknown), plain)  # nothing known: tags only
    sentiments, pairs = unknown[0].clone(), unknown[1].clone()
    sentiments[0, 1], pairs[0, 1, 3] = 0, 1
    assert model.loss(outputs, tags, tags, mask, sentiments, pairs) > plain


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
