"""The MiniLM tier's network, on a tiny random encoder (no weights, no GPU), and on the real MiniLM."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from coextract.errors import CoextractError  # noqa: E402
from coextract.evaluation.benchmark import read_vocabulary  # noqa: E402
from coextract.evaluation.evaluate import Benchmark  # noqa: E402
from coextract.runtime.predict import predict_sentences  # noqa: E402
from coextract.runtime.tagger import load  # noqa: E402
from coextract.training.checkpoint import load_run, torch_backend  # noqa: E402
from coextract.training.config import TrainConfig  # noqa: E402
from coextract.training.encoder import Encoder  # noqa: E402
from coextract.training.minilm import MiniLMCMLA, MiniLMConfig, mean_of_pieces  # noqa: E402
from coextract.training.model import CMLA  # noqa: E402
from coextract.training.tiers import optimizer_and_schedule  # noqa: E402
from coextract.training.train import evaluate_model, train  # noqa: E402
from coextract.training.weights import round_to_half  # noqa: E402
from tests.conftest import coextract  # noqa: E402
from tests.test_encoder import MINILM, TINY  # noqa: E402

SMALL = MiniLMConfig(encoder=vars(TINY), hidden_dim=8, inner_dim=4, n_slices=3)


def batch():
    """Two sentences: 3 words in 5 pieces ([CLS] a b## c [SEP]) and 2 words in 4; padded."""
    piece_ids = torch.tensor([[2, 11, 12, 13, 3], [2, 21, 22, 3, 0]])
    word_starts = torch.tensor([[1, 3, 4], [1, 2, 0]])
    return piece_ids, piece_ids != 0, word_starts, word_starts != 0


WORD_IDS = torch.tensor([[5, 7, 1], [9, 2, 0]])  # vocabulary ids of the words of `batch`, 0 at padding


@pytest.mark.parametrize(
    "settings",
    [
        {"word_pooling": "first"},
        {"word_pooling": "mean"},
        {"vocab_size": 10, "word_dim": 4, "recurrent": True},
    ],
)
def test_shapes_and_padding_change_nothing_at_real_words(settings):
    torch.manual_seed(0)
    model = MiniLMCMLA(MiniLMConfig(**{**vars(SMALL), **settings})).eval()
    inputs = (*batch(), WORD_IDS) if "word_dim" in settings else batch()
    aspects, opinions, attentions, _, _ = model(*inputs)
    assert aspects.shape == opinions.shape == (2, 3, 3) and attentions.shape == (2, 2, 2, 3)
    alone = model(*(x[1:, : x.size(1) - 1] for x in inputs))  # the second sentence, unpadded
    assert torch.allclose(aspects[1, :2], alone[0][0, :2], atol=1e-5)
    assert torch.allclose(attentions[1, ..., :2], alone[2][0, ..., :2], atol=1e-5)


def test_mean_pooling_reads_each_word_as_the_mean_of_its_own_pieces():
    pieces = torch.arange(8.0).view(1, 8, 1).repeat(2, 1, 1)  # each piece's state is its position
    # [CLS] a a## b c c## c## [SEP]  and  [CLS] d e e## [SEP] [PAD] [PAD] [PAD]
    piece_mask = torch.tensor([[True] * 8, [True] * 5 + [False] * 3])
    word_starts, mask = torch.tensor([[1, 3, 4], [1, 2, 0]]), torch.tensor([[True] * 3, [True, True, False]])
    words = mean_of_pieces(pieces, piece_mask, word_starts, mask).squeeze(-1)
    assert words.tolist() == [[1.5, 3.0, 5.0], [1.0, 2.5, 0.0]]


def test_word_pooling_is_first_or_mean():
    with pytest.raises(ValueError, match="'first' or 'mean', not 'max'"):
        MiniLMConfig(word_pooling="max")


@pytest.mark.slow  # trains
def test_it_learns_and_shares_the_coupled_layers_with_the_fast_tier():
    torch.manual_seed(0)
    model = MiniLMCMLA(SMALL)
    tags = torch.tensor([[1, 0, 0], [0, 1, 0]])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(80):
        loss = model.loss(model(*batch()), tags, tags, batch()[3])
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


@pytest.mark.slow  # seconds: kept out of the quick loop
def test_the_warm_up_rises_then_falls_and_the_encoder_learns_slower():
    model = MiniLMCMLA(SMALL)
    config = TrainConfig(encoder="x", learning_rate=1e-3, encoder_learning_rate=1e-4, warmup=0.25)
    optimizer, schedule = optimizer_and_schedule(model, config, steps=8)
    rates = []
    for _ in range(8):
        rates.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        schedule.step()
    assert [round(r[1], 6) for r in rates] == [
        0.0005,
        0.001,
        0.001,
        0.000833,
        0.000667,
        0.0005,
        0.000333,
        0.000167,
    ]
    assert all(abs(encoder * 10 - rest) < 1e-12 for encoder, rest in rates)


@pytest.mark.slow
def test_train_the_minilm_tier_and_evaluate_its_run_folder(tiny_encoder_dir, data_dir, tmp_path):
    config = TrainConfig(dataset="res14", encoder=str(tiny_encoder_dir), max_epochs=2, patience=2, average_top=0,
                         max_train_sentences=64, model={"hidden_dim": 8, "inner_dim": 4, "n_slices": 2})  # fmt: skip
    (tiny_encoder_dir / "tokenizer.json").chmod(0o444)  # as in a read-only model cache
    metrics = train(config, data_dir, tmp_path / "run")
    assert (tmp_path / "run" / "tokenizer.json").stat().st_mode & 0o200  # the run folder stays writable
    assert len(metrics["history"]) == 2 and metrics["history"][1]["loss"] < metrics["history"][0]["loss"]
    run_config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert run_config["tier"] == "minilm" and (tmp_path / "run" / "tokenizer.json").is_file()
    result = coextract("evaluate", "--model", str(tmp_path / "run"), "--dataset", "res14", "--json",
                       "--data-dir", str(data_dir))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["aspect"] == metrics["test"]["aspect"]  # the run folder is whole


@pytest.fixture(scope="module")
def vectors_gru_run(tiny_encoder_dir, data_dir, tmp_path_factory):
    """A tiny MiniLM-tier run with the tier's defaults: the res14 domain vectors beside the encoder,
    through a BiGRU (no flag asks for them)."""
    run = tmp_path_factory.mktemp("vectors-gru") / "run"
    args = ["train", "--dataset", "res14", "--encoder", str(tiny_encoder_dir), "--data-dir", str(data_dir),
            "--max-epochs", "1", "--max-train-sentences", "32", "--hidden-dim", "8", "--inner-dim", "4",
            "--n-slices", "2", "--output", str(run)]  # fmt: skip
    result = coextract(*args)
    assert result.returncode == 0, result.stderr
    return run


@pytest.mark.slow
def test_the_minilm_tier_reads_the_datasets_word_vectors_through_a_gru_by_default(vectors_gru_run, data_dir):
    model, featurizer, run_config = load_run(vectors_gru_run)
    assert run_config["train"]["model"]["word_vectors"] and run_config["model"]["recurrent"]
    assert run_config["vocabulary"] == read_vocabulary(data_dir, "res14")
    assert model.word_embedding.weight.shape == (len(run_config["vocabulary"]), 100)  # the domain vectors
    batch = featurizer.batch([["the", "pizza"], ["zzzunseen"]])
    assert batch.word_ids.tolist() == [
        [1, run_config["vocabulary"].index("pizza")],
        [len(run_config["vocabulary"]) - 1, 0],
    ]
    metrics = json.loads((vectors_gru_run / "metrics.json").read_text())
    assert evaluate_model(model, featurizer, Benchmark.read(data_dir, "res14"), "test") == metrics["test"]


@pytest.mark.slow
def test_a_run_with_word_vectors_exports_and_onnxruntime_agrees_with_torch(
    vectors_gru_run, data_dir, tmp_path
):
    folder = tmp_path / "model"
    exported = coextract("export", str(vectors_gru_run), "--output", str(folder), "--quantize", "--data-dir", str(data_dir))  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    meta = json.loads((folder / "meta.json").read_text())
    assert (
        meta["vocabulary"] == read_vocabulary(data_dir, "res14")
        and meta["verification"]["tag_mismatches"] == 0
    )
    assert "int8" in meta and meta["model"]["relations"]  # quantized too, with the relation heads
    model, featurizer, _ = load_run(vectors_gru_run)
    round_to_half(model)  # as export stores the weights
    sentences = [["the", "pizza", "was", "zzzunseen"], ["service", "slow"]]
    from_torch = predict_sentences(torch_backend(model), featurizer, sentences)
    tagger = load(folder)
    assert (
        tagger.featurizer.batch(sentences).word_ids.tolist() == featurizer.batch(sentences).word_ids.tolist()
    )
    for t, o in zip(from_torch, tagger.predict(sentences), strict=True):
        assert (
            np.abs(t.aspect_probs - o.aspect_probs).max() < 1e-4
            and np.abs(t.pair_probs - o.pair_probs).max() < 1e-4
        )
    card = " ".join((folder / "MODEL_CARD.md").read_text().split())
    assert (
        "beside its fine-tuned 100-d word vector (domain;" in card
        and "read by a BiGRU into 8-d states" in card
    )
    meta["vocabulary"][1] = "altered"
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CoextractError, match="vocabulary does not match its sha256"):
        load(folder)


def test_the_device_benchmark_brings_weights_back_small_and_whole(tiny_encoder_dir, tmp_path):
    from benchmarks.minilm_device import WORD_ROWS, pack, unpack

    model = MiniLMCMLA.from_pretrained(tiny_encoder_dir, hidden_dim=8, inner_dim=4, n_slices=2)
    state = model.state_dict()
    with torch.no_grad():
        state[WORD_ROWS][[5, 700]] += 0.5  # rows training changed; the others stay the encoder's
        state["project.weight"] += 0.25
    torch.save(state, tmp_path / "model.pt")
    data = pack(tmp_path, tiny_encoder_dir)
    back = unpack(data, tiny_encoder_dir)
    assert set(back) == set(state) and len(data) < state[WORD_ROWS].numel() * 2
    for name, tensor in state.items():  # float16 rounding, no more
        assert torch.allclose(back[name], tensor, rtol=1e-3, atol=1e-3), name
    assert torch.equal(back[WORD_ROWS][6], state[WORD_ROWS][6])
