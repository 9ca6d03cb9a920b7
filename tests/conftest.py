"""Shared fixtures and helpers: the real benchmark data, a bundled model, one tiny trained run.

Markers: `slow` is everything that trains (any test using `tiny_run` or
`tiny_model_dir` is marked automatically), executes the notebooks, starts Dask
clusters or builds a wheel. `pytest -m "not slow"` is the quick loop; the
README's `python -m pytest` runs everything.
"""

import fcntl
import json
import os
import pty
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

from coextract.evaluation.benchmark import default_data_dir, default_encoder_dir
from coextract.runtime.model_names import resolve_model

# No per-example time limit: a busy CI machine must not fail a property test that is only slow.
settings.register_profile("coextract", deadline=None)
settings.load_profile("coextract")

TRAINED = {"tiny_run", "tiny_model_dir"}

# Texts that broke, or could break, offsets: every tokenizer and tagger test feeds them.
UNICODE_CASES = [
    "",
    "   \n\t ",
    "Great pizza 🍕🍕!! 👍🏽 would come back",  # emoji, skin-tone modifier
    "Cafe\u0301 au lait was superb",  # combining accent
    "拉面很好吃，服务一般。",  # CJK
    "الخدمة ممتازة والطعام لذيذ",  # right-to-left
    "bad\x00service\x07here\u200b\u202e!",  # control and format characters
    "a" * 5000 + " is great",  # a very long word
    "\ud800 lone surrogate",
]


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if item.path.suffix == ".ipynb" or TRAINED & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def coextract(*args, **kwargs) -> subprocess.CompletedProcess:
    """Run the real `coextract` command (as `python -m coextract`), capturing its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "coextract", *args], capture_output=True, text=True, **kwargs
    )


def build_coextract_wheel(dest: Path) -> subprocess.CompletedProcess:
    """`pip wheel` of this repository into `dest`. setuptools builds in the repository's own build/
    folder, so two builds at once (tests on two xdist workers) collide there: one at a time."""
    root = Path(__file__).resolve().parents[1]
    with open(Path(tempfile.gettempdir()) / f"coextract-wheel-{os.getuid()}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "-q",
                "-w",
                str(dest),
                str(root),
            ],
            capture_output=True,
            text=True,
        )


def coextract_in_terminal(*args, cwd=None, timeout: float = 300) -> tuple[int, str]:
    """Run the real `coextract` with stdin, stdout and stderr on a pseudo-terminal: (exit status, what it showed)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(
        terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0)
    )  # a window, for progress bars
    command = [sys.executable, "-m", "coextract", *args]
    process = subprocess.Popen(command, stdin=terminal, stdout=terminal, stderr=terminal, cwd=cwd)
    os.close(terminal)
    shown = []
    while True:
        try:
            data = os.read(controller, 4096)
        except OSError:  # EIO: the command closed the terminal
            break
        if not data:
            break
        shown.append(data)
    os.close(controller)
    return process.wait(timeout), b"".join(shown).decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = default_data_dir()
    if not (path / "res14" / "train" / "sentence.txt").is_file():
        pytest.fail(f"benchmark data not found at {path}; set COEXTRACT_DATA")
    return path


@pytest.fixture(scope="session")
def bundled_model_dir() -> Path:
    """The bundled restaurant model: the torch-free runtime tested without training anything."""
    return resolve_model("restaurant")


# With relation heads (the default where aste-v2 holds the dataset), whose losses here train only
# the heads: in 6 epochs on 300 sentences, their gradients in the shared states would hold the
# tagger back (tests check what the heads give and how they travel, not how well they learn).
TINY_MODEL = {"hidden_dim": 16, "inner_dim": 8, "n_slices": 4, "n_buckets": 1024, "subword_dim": 8,
              "conv_kernels": (3,), "conv_dim": 8, "pair_dim": 8, "relation_gradients": False}  # fmt: skip


def tiny_config(**overrides):
    """A CMLA small enough to train in seconds on 300 res14 sentences."""
    from coextract.training.config import TrainConfig

    settings = {"dataset": "res14", "seed": 3, "max_epochs": 6, "patience": 6, "batch_size": 16,
                "learning_rate": 5e-3, "max_train_sentences": 300, "model": TINY_MODEL}  # fmt: skip
    return TrainConfig(**{**settings, **overrides})


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, data_dir):
    """A CMLA trained for a few epochs on 300 res14 sentences: (run_dir, metrics)."""
    pytest.importorskip("torch")
    from coextract.training.train import train

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    metrics = train(tiny_config(), data_dir, run_dir)
    return run_dir, metrics


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_run, data_dir):
    """The tiny run exported to ONNX: the model folder."""
    from coextract.training.export import export_run

    run_dir, _ = tiny_run
    model_dir = tmp_path_factory.mktemp("models") / "tiny"
    export_run(run_dir, model_dir, data_dir)
    return model_dir


@pytest.fixture(scope="session")
def tiny_plain_model_dir(tmp_path_factory, tiny_run, data_dir):
    """The tiny run without its relation heads, exported: a model folder as every one exported before
    the heads existed (the same tagger weights)."""
    from coextract.training.checkpoint import without_relations
    from coextract.training.export import export_run

    scratch = tmp_path_factory.mktemp("plain")
    model_dir = scratch / "model"
    export_run(without_relations(tiny_run[0], scratch / "run"), model_dir, data_dir)
    return model_dir


def write_safetensors(path, arrays: dict) -> None:
    """Arrays as a .safetensors file, stored as float16 like the shared MiniLM."""
    header, blobs, offset = {}, [], 0
    for name, array in arrays.items():
        data = np.ascontiguousarray(array, np.float16).tobytes()
        header[name] = {
            "dtype": "F16",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(blobs))


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory):
    """A Hugging Face-style folder of a tiny random BERT with MiniLM's word pieces: no real weights."""
    torch = pytest.importorskip("torch")
    from coextract.training.encoder import Encoder, EncoderConfig
    from tests.test_encoder import TINY

    folder = tmp_path_factory.mktemp("tiny-encoder")
    config = {**vars(TINY), "vocab_size": 30522, "max_position_embeddings": 512, "model_type": "bert",
              "hidden_act": "gelu"}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    shutil.copy(default_encoder_dir() / "tokenizer.json", folder)
    torch.manual_seed(0)
    encoder = Encoder(EncoderConfig.from_folder(folder))
    write_safetensors(folder / "model.safetensors", {k: v.numpy() for k, v in encoder.state_dict().items()})
    return folder


@pytest.fixture(scope="session")
def tiny_minilm_model_dir(tmp_path_factory, tiny_encoder_dir, data_dir):
    """A MiniLM-tier run on the tiny encoder (64 res14 sentences, mean pooling), exported: the model folder."""
    pytest.importorskip("torch")
    from coextract.training.config import TrainConfig
    from coextract.training.export import export_run
    from coextract.training.train import train

    root = tmp_path_factory.mktemp("minilm")
    config = TrainConfig(dataset="res14", encoder=str(tiny_encoder_dir), max_epochs=2, patience=2, average_top=0,
                         max_train_sentences=64, learning_rate=1e-2,
                         model={"hidden_dim": 8, "inner_dim": 4, "n_slices": 2, "word_pooling": "mean"})  # fmt: skip
    train(config, data_dir, root / "run")
    export_run(root / "run", root / "model", data_dir)
    return root / "model"
