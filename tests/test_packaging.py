"""The wheel ships the bundled models, and the base install needs no torch."""

import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import build_coextract_wheel

ROOT = Path(__file__).resolve().parents[1]


def test_base_dependencies_have_no_torch():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any("torch" in dep for dep in project["dependencies"])
    assert "torch==2.13.0" in project["optional-dependencies"]["train"]


@pytest.mark.slow
def test_wheel_contains_the_bundled_models(tmp_path):
    bundled = sorted(p.parent.name for p in (ROOT / "export" / "models").glob("*/meta.json"))
    assert {"res14", "lap14", "res15", "res14-minilm", "lap14-minilm"} <= set(bundled)
    result = build_coextract_wheel(tmp_path)
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("coextract-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in bundled:
        minilm = ("tokenizer.json", "LICENSE") if name.endswith("-minilm") else ()
        for file in ("model.onnx", "meta.json", "MODEL_CARD.md", *minilm):
            assert f"coextract/models/{name}/{file}" in names
    assert wheel.stat().st_size <= 100e6  # the MiniLM tier's bundles must leave the wheel under 100 MB
