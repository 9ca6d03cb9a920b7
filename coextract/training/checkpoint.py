"""A training run folder: write it, read it back, and run its model as a `predict.Backend`.

A run folder holds everything needed to use or audit the model:

- `model.pt`: the weights, a plain state dict (`torch.load(..., weights_only=True)`).
- `config.json`: the tier (fast, or minilm), model and training hyper-parameters,
  the vocabulary (fast tier) or the encoder folder (MiniLM tier), the seed, the
  dataset and a sha256 fingerprint of the training data.
- `tokenizer.json` and `LICENSE` (MiniLM tier): the encoder's word pieces and licence.
- `metrics.json`: dev and test scores of the selected epoch and per-epoch history.

Training writes it (`save_run`); evaluation, export and the benchmarks read it (`load_run`).
"""

import json
import os
import platform
import shutil
from pathlib import Path

import torch

from coextract.errors import CoextractError
from coextract.runtime.features import Batch, Featurizer
from coextract.runtime.model_folder import LICENSE, TOKENIZER, tier
from coextract.runtime.pieces import PieceBatch, PieceFeaturizer
from coextract.runtime.predict import Backend
from coextract.training.minilm import MiniLMCMLA, MiniLMConfig
from coextract.training.model import CMLA, CMLAConfig
from coextract.version import __version__

RUN_CONFIG, WEIGHTS, METRICS = "config.json", "model.pt", "metrics.json"


def to_tensors(batch: Batch | PieceBatch, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """A batch's arrays as tensors on `device`, by the names of the model's inputs."""
    return {name: torch.from_numpy(array).to(device) for name, array in batch.feeds().items()}


def torch_backend(model: CMLA) -> Backend:
    """Wrap a model as a `predict.Backend`: eval mode, no gradients, probabilities (as numpy arrays,
    wherever the model lives), the relation heads' too where it has them."""
    device = next(model.parameters()).device

    def run(batch: Batch):
        model.eval()
        with torch.inference_mode():
            outputs = model(**to_tensors(batch, device))
        probs = [outputs.aspect_logits.softmax(-1), outputs.opinion_logits.softmax(-1), outputs.attentions]
        if outputs.pair_logits is not None:
            probs += [outputs.sentiment_logits.softmax(-1), outputs.pair_logits.softmax(-1)]
        return tuple(p.cpu().numpy() for p in probs)

    return run


def save_run(output: Path, model: CMLA | MiniLMCMLA, run_config: dict, metrics: dict) -> None:
    """Write the run folder: weights, config (with the coextract version) and metrics; a MiniLM-tier
    run also keeps its encoder's tokenizer.json (so the folder is whole without the encoder folder)
    and its LICENSE (which must travel with the weights): their bytes, not their read-only mode, so
    that `--overwrite` can write the folder again."""
    output.mkdir(parents=True, exist_ok=True)
    if tier(run_config) == "minilm":
        encoder = Path(run_config["encoder"])
        shutil.copyfile(encoder / TOKENIZER, output / TOKENIZER)
        if (encoder / LICENSE).is_file():
            shutil.copyfile(encoder / LICENSE, output / LICENSE)
    torch.save({name: tensor.cpu() for name, tensor in model.state_dict().items()}, output / WEIGHTS)
    run_config = {"coextract_version": __version__, **run_config}
    (output / RUN_CONFIG).write_text(json.dumps(run_config, indent=1) + "\n")
    (output / METRICS).write_text(json.dumps(metrics, indent=1) + "\n")


def load_run(run_dir: Path | str) -> tuple[CMLA | MiniLMCMLA, Featurizer | PieceFeaturizer, dict]:
    """The model, featurizer and config of a run folder written by `save_run`."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CoextractError(f"model folder {run_dir} does not exist")
    config_path, weights_path = run_dir / RUN_CONFIG, run_dir / WEIGHTS
    for path in (config_path, weights_path):
        if not path.is_file():
            raise CoextractError(f"{path}: not found; is {run_dir} a folder written by 'coextract train'?")
    try:
        run_config = json.loads(config_path.read_text())
        minilm = tier(run_config) == "minilm"
        model_config = (MiniLMConfig if minilm else CMLAConfig)(**run_config["model"])
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise CoextractError(f"{config_path}: not a coextract run config ({err})") from None
    try:
        state = torch.load(weights_path, weights_only=True, map_location="cpu")
        model = MiniLMCMLA(model_config) if minilm else CMLA(model_config)
        model.load_state_dict(state)
    except Exception as err:  # torch raises many types for a corrupt or mismatched file
        reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise CoextractError(
            f"{weights_path}: unreadable checkpoint ({type(err).__name__}: {reason}); retrain with 'coextract train'"
        ) from None
    model.eval()
    if minilm:
        return model, PieceFeaturizer(run_dir / TOKENIZER, run_config.get("vocabulary")), run_config
    return model, Featurizer(run_config["vocabulary"], model_config.n_buckets), run_config


def start_from(model: CMLA | MiniLMCMLA, described: dict, run_dir: Path | str) -> list[str]:
    """Load a run's weights into a fresh `model` of the same tier, dataset vocabulary and sizes: a second
    stage (relation heads trained on a converged tagger, say). Whatever the run lacks (its model had no
    relation heads) keeps its fresh initialization; returns those names. Anything else that differs
    is an error, since silently mixed weights would train a model nobody asked for."""
    loaded, _, run_config = load_run(run_dir)
    if tier(run_config) != described["tier"] or run_config.get("vocabulary") != described.get("vocabulary"):
        raise CoextractError(
            f"--init-from {run_dir}: a {tier(run_config)}-tier run of {run_config['dataset']}, "
            f"not one of this tier and dataset (its vocabulary must be the same)"
        )
    state, own = loaded.state_dict(), model.state_dict()
    wrong = [name for name, tensor in state.items() if name not in own or own[name].shape != tensor.shape]
    if wrong:
        raise CoextractError(
            f"--init-from {run_dir}: its weights {', '.join(wrong[:3])} do not fit this model "
            "(other model settings?): train with the run's own settings"
        )
    fresh = [name for name in own if name not in state]
    model.load_state_dict({**own, **state})
    return fresh


def read_metrics(run_dir: Path | str) -> dict:
    return json.loads((Path(run_dir) / METRICS).read_text())


def machine() -> str:
    """One line that says what a run or a benchmark ran on: a run's metrics record it, as rows of
    one benchmark may come from several machines."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    vector = torch.backends.cpu.get_cpu_capability()  # AVX2, AVX512: what torch's CPU kernels use
    return (
        f"{cpu} ({vector}), {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    )


def without_relations(run_dir: Path, target: Path) -> Path:
    """A copy of `run_dir` whose model has no relation heads: the same weights, the heads' dropped (what
    a run trained before them would hold: to time the heads' cost, and to test such a model)."""
    shutil.copytree(run_dir, target)
    config = json.loads((run_dir / "config.json").read_text())
    config["model"]["relations"] = False
    (target / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    state = torch.load(run_dir / "model.pt", weights_only=True)
    torch.save({k: v for k, v in state.items() if not k.startswith("relations.")}, target / "model.pt")
    return target
