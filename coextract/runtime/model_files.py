"""A model folder's files as bytes: the model's identity, and its copy into another process or folder.

A Dask worker or a saved spaCy pipeline gets the model as the files a tagger
reads, and a resumable run or a Dask part names the model by their sha256.
"""

import hashlib
from pathlib import Path

from coextract.errors import CoextractError
from coextract.runtime.model_folder import MODEL_FILES, OPTIONAL_FILES, TOKENIZER


def model_digest(folder: Path) -> str:
    """sha256 over the files a tagger reads from `folder`: the identity of the model."""
    names = [*MODEL_FILES, *([TOKENIZER] if (folder / TOKENIZER).is_file() else [])]
    files = {}
    for name in names:
        try:
            files[name] = (folder / name).read_bytes()
        except OSError as err:
            raise CoextractError(f"{folder / name}: cannot be read ({err.strerror})") from None
    return digest_of(files)


def digest_of(files: dict[str, bytes]) -> str:
    """The `model_digest` of a model folder's files already read."""
    names = [*MODEL_FILES, *([TOKENIZER] if TOKENIZER in files else [])]
    return hashlib.sha256(b"".join(files[name] for name in names)).hexdigest()


def read_model_files(folder: Path) -> dict[str, bytes]:
    """Every file of a model folder that travels with it (the int8 model, tokenizer and encoder licence
    too, where they ship), by name."""
    names = [*MODEL_FILES, *(name for name in OPTIONAL_FILES if (folder / name).is_file())]
    return {name: (folder / name).read_bytes() for name in names}


def write_model_files(folder: Path, files: dict[str, bytes]) -> Path:
    """Write what `read_model_files` read into `folder` (made if need be); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if name not in (*MODEL_FILES, *OPTIONAL_FILES):
            raise CoextractError(f"{name!r} is not a file of a coextract model folder")
        (folder / name).write_bytes(data)
    return folder
