"""The MiniLM tier's BERT encoder: the shared all-MiniLM-L6-v2 weights load by name and mean what they should."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
tokenizers = pytest.importorskip("tokenizers")

from coextract.errors import CoextractError  # noqa: E402
from coextract.training.encoder import Encoder, EncoderConfig  # noqa: E402

MINILM = Path(__file__).resolve().parents[2] / "shared" / "models" / "all-MiniLM-L6-v2"
TINY = EncoderConfig(vocab_size=100, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64)  # fmt: skip


def test_padding_changes_nothing_at_real_pieces():
    torch.manual_seed(0)
    encoder = Encoder(TINY).eval()
    ids = torch.tensor([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]])
    mask = ids != 0
    batched = encoder(ids, mask)
    alone = encoder(ids[:1, :3], mask[:1, :3])
    assert batched.shape == (2, 5, 16)
    assert torch.allclose(batched[0, :3], alone[0], atol=1e-5)


def test_a_config_of_another_architecture_is_refused(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert", "hidden_act": "relu"}')
    with pytest.raises(CoextractError, match="not a BERT encoder with GELU"):
        EncoderConfig.from_folder(tmp_path)


def embed(encoder, tokenizer, texts):
    """Mean-pooled, normalised sentence embeddings: how all-MiniLM-L6-v2 was trained to be used."""
    encodings = [tokenizer.encode(text) for text in texts]
    width = max(len(e.ids) for e in encodings)
    ids = torch.tensor([e.ids + [0] * (width - len(e.ids)) for e in encodings])
    mask = ids != 0
    with torch.no_grad():
        states = encoder(ids, mask)
    pooled = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    return torch.nn.functional.normalize(pooled, dim=-1)


def test_the_pretrained_minilm_weights_load_and_embed_meaning():
    config = EncoderConfig.from_folder(MINILM)
    assert (config.hidden_size, config.num_hidden_layers, config.vocab_size) == (384, 6, 30522)
    encoder = Encoder(config).eval()
    encoder.load_pretrained(MINILM)  # every parameter found by name, float16 read as float32
    tokenizer = tokenizers.Tokenizer.from_file(str(MINILM / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    a, b, c = embed(
        encoder, tokenizer, ["The food was great.", "The meal was delicious.", "My laptop battery died."]
    )
    # a random or misloaded encoder puts unrelated sentences as close as related ones
    assert float(a @ b) > 0.6 and float(a @ c) < 0.3
