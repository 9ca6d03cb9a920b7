"""Shared fixtures: the real benchmark data and one tiny trained run per session."""

from pathlib import Path

import pytest
from hypothesis import settings

from coextract.data import default_data_dir

# No per-example time limit: a busy CI machine must not fail a property test that is only slow.
settings.register_profile("coextract", deadline=None)
settings.load_profile("coextract")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = default_data_dir()
    if not (path / "res14" / "train" / "sentence.txt").is_file():
        pytest.fail(f"benchmark data not found at {path}; set COEXTRACT_DATA")
    return path


TINY_MODEL = {"hidden_dim": 16, "inner_dim": 8, "n_slices": 4, "n_buckets": 1024, "subword_dim": 8,
              "conv_kernels": (3,), "conv_dim": 8}  # fmt: skip


def tiny_config(**overrides):
    """A CMLA small enough to train in seconds on 300 res14 sentences."""
    from coextract.train import TrainConfig

    settings = {"dataset": "res14", "seed": 3, "max_epochs": 6, "patience": 6, "batch_size": 16,
                "learning_rate": 5e-3, "max_train_sentences": 300, "model": TINY_MODEL}  # fmt: skip
    return TrainConfig(**{**settings, **overrides})


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, data_dir):
    """A CMLA trained for a few epochs on 300 res14 sentences: (run_dir, metrics)."""
    pytest.importorskip("torch")
    from coextract.train import train

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    metrics = train(tiny_config(), data_dir, run_dir)
    return run_dir, metrics


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_run, data_dir):
    """The tiny run exported to ONNX (with an int8 attempt): the model folder."""
    from coextract.export import export_run

    run_dir, _ = tiny_run
    model_dir = tmp_path_factory.mktemp("models") / "tiny"
    export_run(run_dir, model_dir, data_dir, quantized=True)
    return model_dir
