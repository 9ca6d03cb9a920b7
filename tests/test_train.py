"""Integration: train a tiny model on a slice of res14, then use it like a user would."""

import json
import sys
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from coextract.evaluation.benchmark import read_dataset  # noqa: E402
from coextract.evaluation.evaluate import Benchmark  # noqa: E402
from coextract.training.checkpoint import load_run, machine  # noqa: E402
from coextract.training.train import evaluate_model  # noqa: E402
from tests.conftest import coextract, tiny_config  # noqa: E402


def test_loss_falls_and_training_f1_rises(tiny_run, data_dir):
    run_dir, metrics = tiny_run
    losses = [epoch["loss"] for epoch in metrics["history"]]
    assert losses[-1] < 0.8 * losses[0]  # tags, sentiments and pairs together (the heads learn slower)
    model, featurizer, _ = load_run(run_dir)
    benchmark = Benchmark.read(data_dir, "res14")
    benchmark = replace(benchmark, examples={"train": benchmark.examples["train"][:300]},
                        relations={"train": benchmark.relations["train"][:300]})  # fmt: skip
    scores = evaluate_model(model, featurizer, benchmark, "train")
    # Chance (random B/I/O) scores near 0 on exact spans; a learning model does far better.
    assert scores["aspect"]["f1"] > 0.4 and scores["opinion"]["f1"] > 0.4


def test_run_folder_contents(tiny_run, data_dir):
    run_dir, metrics = tiny_run
    state = torch.load(run_dir / "model.pt", weights_only=True)
    assert "coupled.tensors" in state
    config = json.loads((run_dir / "config.json").read_text())
    assert config["train"]["seed"] == 3 and config["dataset"] == "res14"
    assert len(config["data_fingerprint"]) == 64 and config["vocabulary"][0] == "<pad>"
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert set(saved) >= {"dev", "test", "best_epoch", "train_seconds", "history"}
    # Rows of one benchmark may come from several machines: each run says which, and its vector units.
    assert saved["machine"] == machine() and "cores" in saved["machine"]
    # The saved weights are the best epoch on dev, or the mean of the 5 best if dev scores that higher.
    by_dev = sorted(metrics["history"], key=lambda e: e["dev_aspect_f1"] + e["dev_opinion_f1"], reverse=True)
    best = by_dev[0]
    assert saved["best_epoch"] == best["epoch"]
    saved_dev = saved["dev"]["aspect"]["f1"] + saved["dev"]["opinion"]["f1"]
    if saved["kept_epochs"] == [best["epoch"]]:
        assert saved["dev"]["aspect"]["f1"] == pytest.approx(best["dev_aspect_f1"])
    else:
        assert saved["kept_epochs"] == sorted(e["epoch"] for e in by_dev[:5])
        assert saved_dev > best["dev_aspect_f1"] + best["dev_opinion_f1"]


def test_average_of_weights_is_the_elementwise_mean():
    from coextract.training.train import average_weights

    states = [
        {"w": torch.tensor([1.0, 2.0])},
        {"w": torch.tensor([3.0, 6.0])},
        {"w": torch.tensor([2.0, 1.0])},
    ]
    assert torch.equal(average_weights(states)["w"], torch.tensor([2.0, 3.0]))


def test_averaged_weights_are_kept_only_when_dev_prefers_them(data_dir):
    from coextract.evaluation.benchmark import read_vocabulary
    from coextract.runtime.features import Featurizer
    from coextract.training.model import CMLA, CMLAConfig
    from coextract.training.train import keep_best_or_average
    from tests.conftest import TINY_MODEL

    benchmark = Benchmark.read(data_dir, "res14")
    benchmark = replace(benchmark, examples={"dev": benchmark.examples["dev"][:50]})
    vocabulary = read_vocabulary(data_dir, "res14")
    featurizer = Featurizer(vocabulary, TINY_MODEL["n_buckets"])
    model = CMLA(CMLAConfig(vocab_size=len(vocabulary), **TINY_MODEL))
    states = [{k: v.clone() for k, v in CMLA(model.config).state_dict().items()} for _ in range(3)]
    # Claimed dev scores no model can reach (2.0 = F1 1 + 1): the average cannot beat epoch 7.
    kept = keep_best_or_average(model, [(2.0, 7, states[0]), (1.9, 3, states[1]), (1.8, 9, states[2])],
                                featurizer, benchmark, log=sys.stderr)  # fmt: skip
    assert kept == [7]
    assert all(torch.equal(v, states[0][k]) for k, v in model.state_dict().items())
    # Claimed scores below anything (-1): the average is kept.
    kept = keep_best_or_average(
        model, [(-1.0, 7, states[0]), (-1.0, 3, states[1])], featurizer, benchmark, log=sys.stderr
    )
    assert kept == [3, 7]
    mean = (states[0]["coupled.tensors"] + states[1]["coupled.tensors"]) / 2
    assert torch.allclose(model.state_dict()["coupled.tensors"], mean)


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory, data_dir):
    """The tiny run's configuration trained again, for one epoch: (run_dir, metrics), beside which
    the tests below train one variation each."""
    from coextract.training.train import train

    run_dir = tmp_path_factory.mktemp("one-epoch") / "plain"
    return run_dir, train(tiny_config(max_epochs=1), data_dir, run_dir)


def test_training_is_deterministic(tiny_run, one_epoch_run):
    _, first = tiny_run
    _, again = one_epoch_run
    assert again["history"][0]["loss"] == first["history"][0]["loss"]


def test_evaluate_json_matches_the_documented_shape(tiny_run, data_dir):
    run_dir, metrics = tiny_run
    result = coextract(
        "evaluate",
        "--model",
        str(run_dir),
        "--dataset",
        "res14",
        "--split",
        "test",
        "--json",
        "--data-dir",
        str(data_dir),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["dataset"] == "res14" and report["split"] == "test" and report["n_sentences"] == 800
    for side in ("aspect", "opinion"):
        assert set(report[side]) == {"precision", "recall", "f1", "n_gold", "n_pred", "n_correct"}
        assert 0 <= report[side]["f1"] <= 1
        assert report[side] == metrics["test"][side]
    assert report["aspect"]["n_gold"] == 1134 and report["opinion"]["n_gold"] == 1008
    table = coextract("evaluate", "--model", str(run_dir), "--dataset", "res14", "--data-dir", str(data_dir))
    assert "precision" in table.stdout and "aspect" in table.stdout


@pytest.mark.slow
def test_train_command_end_to_end(data_dir, tmp_path):
    out = tmp_path / "run"
    args = [
        "train",
        "--dataset",
        "res15",
        "--output",
        str(out),
        "--data-dir",
        str(data_dir),
        "--max-epochs",
        "1",
        "--max-train-sentences",
        "64",
        "--hidden-dim",
        "8",
        "--n-slices",
        "2",
    ]
    result = coextract(*args)
    assert result.returncode == 0, result.stderr
    assert "epoch   1" in result.stderr and "test F1" in result.stderr
    assert (out / "model.pt").is_file()
    again = coextract(*args)
    assert again.returncode == 2 and "--overwrite" in again.stderr


@pytest.mark.slow  # runs the real command or many inputs: seconds, kept out of the quick loop
@pytest.mark.parametrize(
    "args, message",
    [
        (["evaluate", "--model", "MISSING", "--dataset", "res14"], "no model"),
        (["train", "--dataset", "res99", "--output", "OUT"], "unknown dataset 'res99'"),
        (
            ["train", "--dataset", "res14", "--output", "OUT", "--device", "gpu0"],
            "--device gpu0: not a torch",
        ),
        (["evaluate", "--model", "X", "--dataset", "res14", "--data-dir", "/nonexistent"], "does not exist"),
    ],
)
def test_bad_input_is_one_clear_line(args, message, tmp_path, data_dir):
    env_args = [
        a.replace("MISSING", str(tmp_path / "none")).replace("OUT", str(tmp_path / "o")) for a in args
    ]
    if "--data-dir" not in env_args:
        env_args += ["--data-dir", str(data_dir)]
    result = coextract(*env_args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_corrupt_checkpoint_is_a_clear_error(tiny_run, tmp_path, data_dir):
    run_dir, _ = tiny_run
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((run_dir / "config.json").read_text())
    (broken / "model.pt").write_bytes(b"not a checkpoint")
    result = coextract("evaluate", "--model", str(broken), "--dataset", "res14", "--data-dir", str(data_dir))
    assert result.returncode == 2 and "unreadable checkpoint" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_moving_average_of_weights_is_what_gets_saved(one_epoch_run, data_dir, tmp_path):
    from coextract.training.train import train

    plain_dir, plain = one_epoch_run
    averaged = train(tiny_config(max_epochs=1, ema_decay=0.9), data_dir, tmp_path / "ema")
    assert plain["history"][0]["loss"] == averaged["history"][0]["loss"]  # the same training steps
    raw = torch.load(plain_dir / "model.pt", weights_only=True)
    ema = torch.load(tmp_path / "ema" / "model.pt", weights_only=True)
    assert not torch.equal(raw["coupled.tensors"], ema["coupled.tensors"])  # but the average is kept
    assert torch.equal(raw["word_embedding.weight"], ema["word_embedding.weight"])  # frozen: no drift


@pytest.mark.slow  # runs the real command or many inputs: seconds, kept out of the quick loop
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal where torch sees no GPU")
def test_training_on_a_gpu_that_is_not_there_is_refused_up_front(data_dir, tmp_path):
    result = coextract("train", "--dataset", "res14", "--output", str(tmp_path / "o"), "--device", "cuda",
                       "--data-dir", str(data_dir))  # fmt: skip
    assert result.returncode == 2 and "sees no GPU here; use --device cpu" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "o").exists()


def test_soft_targets_that_are_one_hot_give_the_gold_loss():
    from coextract.training.distill import soft_loss
    from coextract.training.model import CMLA, Outputs

    torch.manual_seed(0)
    aspect_logits, opinion_logits = torch.randn(2, 4, 3), torch.randn(2, 4, 3)
    aspect_tags, opinion_tags = (
        torch.tensor([[1, 2, 0, 0], [0, 1, 0, 0]]),
        torch.tensor([[0, 0, 1, 0], [1, 0, 0, 0]]),
    )
    mask = torch.tensor([[True] * 4, [True, True, True, False]])
    one_hot = torch.stack([torch.eye(3)[aspect_tags], torch.eye(3)[opinion_tags]], dim=1)  # (B, 2, T, 3)
    gold = CMLA.loss(Outputs(aspect_logits, opinion_logits, None), aspect_tags, opinion_tags, mask)
    assert torch.allclose(soft_loss(aspect_logits, opinion_logits, one_hot, mask), gold)


@pytest.mark.slow
def test_distillation_trains_on_a_teacher_models_probabilities(one_epoch_run, data_dir, tmp_path):
    from coextract.training.distill import teacher_targets
    from coextract.training.train import train

    examples = read_dataset(data_dir, "res14")["train"][:3]
    targets = teacher_targets("restaurant", examples)
    assert [t.shape for t in targets] == [(2, len(e.tokens), 3) for e in examples]
    assert all(np.allclose(t.sum(-1), 1, atol=1e-5) for t in targets)
    _, plain = one_epoch_run
    distilled = train(
        tiny_config(max_epochs=1, soft_targets="restaurant", distill_weight=0.5), data_dir, tmp_path / "d"
    )
    assert distilled["history"][0]["loss"] != plain["history"][0]["loss"]  # the teacher's term is in the loss
    assert json.loads((tmp_path / "d" / "config.json").read_text())["train"]["soft_targets"] == "restaurant"


def test_a_second_stage_starts_from_a_runs_tagger_with_fresh_heads(tiny_run, data_dir, tmp_path):
    from coextract.training.checkpoint import start_from, without_relations
    from coextract.training.tiers import fast_tier

    tagger = without_relations(tiny_run[0], tmp_path / "tagger")  # as a --no-relations run leaves it
    config = tiny_config()
    config.model = {**config.model, "relations": True}  # what `train` builds where aste-v2 is there
    model, _, described = fast_tier(config, data_dir)
    initial = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    fresh = start_from(model, described, tagger)
    start, now = torch.load(tagger / "model.pt", weights_only=True), model.state_dict()
    assert fresh and fresh == [name for name in now if name.startswith("relations.")]
    assert all(torch.equal(now[name], start[name]) for name in start)  # the tagger: the run's
    assert all(torch.equal(now[name], initial[name]) for name in fresh)  # the heads: fresh


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model": {**tiny_config().model, "hidden_dim": 12}}, "do not fit this model"),
        ({"dataset": "lap14"}, "not one of this tier and dataset"),
    ],
)
def test_a_second_stage_refuses_a_run_that_does_not_fit(tiny_run, data_dir, tmp_path, overrides, message):
    from coextract.errors import CoextractError
    from coextract.training.train import train

    with pytest.raises(CoextractError, match=message):
        train(tiny_config(init_from=str(tiny_run[0]), **overrides), data_dir, tmp_path / "o")
    assert not (tmp_path / "o").exists()
