"""Which model folder a name means: a bundled model (by name or alias) or a folder on disk.

The bundled models ship as package data (`coextract.models`); a name that is
both a bundled model and a folder in the working directory is refused, so which
model tags never depends on where a command runs.
"""

from importlib import resources
from pathlib import Path

from coextract.errors import CoextractError

ALIASES = {
    "restaurant": "res14",
    "laptop": "lap14",
    "restaurant-minilm": "res14-minilm",
    "laptop-minilm": "lap14-minilm",
}


def is_bundled(folder: Path) -> bool:
    return bundled_models().get(folder.name) == folder


def is_bundled_name(name: str) -> bool:
    """Whether `name` is a bundled model's name or alias (not a path to its folder)."""
    return ALIASES.get(name, name) in bundled_models()


def bundled_models() -> dict[str, Path]:
    """Bundled model folders by name (`res14`, ...), shipped as package data."""
    root = Path(str(resources.files("coextract.models")))
    return {p.name: p for p in sorted(root.iterdir()) if (p / "meta.json").is_file()}


def resolve_model(name_or_path: str | Path) -> Path:
    """A bundled model name or alias, or a model folder, as a folder path.

    A name given as a string that is both (a folder `res14` in the working directory) is refused:
    which model tags must never depend on the folder a command runs in. A `Path` is a folder.
    """
    bundled = bundled_models()
    name = ALIASES.get(str(name_or_path), str(name_or_path))
    path = Path(name_or_path)
    if path.is_dir() and (isinstance(name_or_path, Path) or name not in bundled):
        return path
    if name in bundled:
        if path.is_dir() and path.resolve() != bundled[name].resolve():
            raise CoextractError(
                f"{name_or_path!r} names both the bundled model {name} and the folder {path.resolve()}: "
                f"write ./{name_or_path} for the folder, or rename the folder to use the bundled model"
            )
        return bundled[name]
    known = ", ".join([*ALIASES, *bundled])
    raise CoextractError(f"no model {str(name_or_path)!r}: not a bundled model ({known}) nor a folder")


def model_label(folder: Path) -> str:
    """How a command names the model it used: "bundled model res14", or "model folder /abs/path"."""
    return f"bundled model {folder.name}" if is_bundled(folder) else f"model folder {folder.resolve()}"
