"""Readers for the tokenized ABSA benchmark (res14, lap14, res15).

The benchmark folder (see `../shared/data/README.md`) holds one folder per
dataset, each with `train/`, `dev/` and `test/` splits of four line-aligned
files, a `word2id.txt` vocabulary and pre-trained word vectors. Everything here
turns those files into `Example`s and fails with the file and line of the first
thing that is wrong, because a silently misaligned tag line ruins a whole run.
"""

import ast
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coextract.errors import CoextractError
from coextract.runtime.features import PAD, UNK

DATASETS = ("res14", "lap14", "res15")
SPLITS = ("train", "dev", "test")
DATA_ENV = "COEXTRACT_DATA"
ENCODER_ENV = "COEXTRACT_ENCODER"


@dataclass(frozen=True)
class Example:
    """One tokenized sentence with its gold aspect and opinion BIO tags."""

    tokens: tuple[str, ...]
    aspect_tags: tuple[int, ...]
    opinion_tags: tuple[int, ...]


def default_data_dir() -> Path:
    """`$COEXTRACT_DATA`, else `shared/data/absa` beside the repository or the cwd.

    The benchmark data is never copied into the repository; a checkout sits next
    to the shared data folder, so the default finds it from a clean clone.
    """
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    repo_root = Path(__file__).resolve().parents[2]  # coextract/evaluation/benchmark.py -> the repository
    for base in (repo_root, Path.cwd()):
        candidate = base.parent / "shared" / "data" / "absa"
        if candidate.is_dir():
            return candidate
    return repo_root.parent / "shared" / "data" / "absa"


def default_encoder_dir() -> Path:
    """`$COEXTRACT_ENCODER`, else the shared all-MiniLM-L6-v2 folder beside the repository (as the data)."""
    if os.environ.get(ENCODER_ENV):
        return Path(os.environ[ENCODER_ENV])
    return default_data_dir().parents[1] / "models" / "all-MiniLM-L6-v2"


def dataset_dir(data_dir: Path | str, dataset: str) -> Path:
    """The folder of `dataset`, checked to exist, with an error that says what to do."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CoextractError(
            f"data folder {data_dir} does not exist: pass --data-dir or set ${DATA_ENV} "
            "to the benchmark folder (the one holding res14/, lap14/, res15/)"
        )
    path = data_dir / dataset
    if not path.is_dir():
        found = sorted(p.name for p in data_dir.iterdir() if (p / "train").is_dir())
        raise CoextractError(
            f"unknown dataset {dataset!r}: {path} does not exist "
            f"(datasets in {data_dir}: {', '.join(found) or 'none'})"
        )
    return path


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CoextractError(f"{path}: file not found") from None
    except UnicodeDecodeError as err:
        raise CoextractError(f"{path}: not UTF-8 text ({err})") from None


def _parse_tags(path: Path, line_no: int, line: str, n_tokens: int) -> tuple[int, ...]:
    fields = line.split()
    if len(fields) != n_tokens:
        raise CoextractError(
            f"{path}:{line_no}: {len(fields)} tags for a sentence of {n_tokens} tokens "
            "(each tag line must have one tag per token of the same line of sentence.txt)"
        )
    if any(field not in ("0", "1", "2") for field in fields):
        raise CoextractError(f"{path}:{line_no}: tags must be 0 (O), 1 (B) or 2 (I), got {line!r}")
    return tuple(int(field) for field in fields)


def read_split(split_dir: Path | str) -> list[Example]:
    """Read `sentence.txt`, `target.txt` and `opinion.txt` of one split folder."""
    split_dir = Path(split_dir)
    sentence_path = split_dir / "sentence.txt"
    sentences = _read_lines(sentence_path)
    tag_files = {name: split_dir / f"{name}.txt" for name in ("target", "opinion")}
    tag_lines = {name: _read_lines(path) for name, path in tag_files.items()}
    for name, lines in tag_lines.items():
        if len(lines) != len(sentences):
            raise CoextractError(
                f"{tag_files[name]}: {len(lines)} lines, but {sentence_path} has "
                f"{len(sentences)}; the files must be line-aligned"
            )
    examples = []
    for i, sentence in enumerate(sentences):
        tokens = tuple(sentence.split())
        if not tokens:
            raise CoextractError(f"{sentence_path}:{i + 1}: empty sentence")
        tags = {
            name: _parse_tags(tag_files[name], i + 1, tag_lines[name][i], len(tokens)) for name in tag_files
        }
        examples.append(Example(tokens, tags["target"], tags["opinion"]))
    return examples


def read_dataset(data_dir: Path | str, dataset: str) -> dict[str, list[Example]]:
    """All three splits of `dataset`, keyed by split name."""
    root = dataset_dir(data_dir, dataset)
    return {split: read_split(root / split) for split in SPLITS}


def read_vocabulary(data_dir: Path | str, dataset: str) -> list[str]:
    """The dataset's words in id order (`<pad>` first), with `<unk>` appended."""
    path = dataset_dir(data_dir, dataset) / "word2id.txt"
    try:
        word2id = ast.literal_eval(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CoextractError(f"{path}: file not found") from None
    except (ValueError, SyntaxError) as err:
        raise CoextractError(f"{path}: not a Python dict literal ({err})") from None
    words = sorted(word2id, key=word2id.get)
    if [word2id[w] for w in words] != list(range(len(words))) or words[0] != PAD:
        raise CoextractError(f"{path}: ids must be 0..n-1 with {PAD!r} as 0")
    return [*words, UNK]


def read_word_vectors(data_dir: Path | str, dataset: str, names: tuple[str, ...]) -> np.ndarray:
    """Pre-trained vectors for `read_vocabulary`'s words, side by side.

    `names` picks the files (`domain` for `domain_embedding.npy`, `glove` for
    `glove_embedding.npy`); their rows are concatenated, and a zero row is added
    for `<unk>`.
    """
    root = dataset_dir(data_dir, dataset)
    tables = []
    for name in names:
        path = root / f"{name}_embedding.npy"
        if not path.is_file():
            raise CoextractError(f"{path}: file not found (embedding {name!r} of {dataset})")
        tables.append(np.load(path).astype(np.float32))
    if len({t.shape[0] for t in tables}) != 1:
        raise CoextractError(f"{root}: embedding files {names} have different row counts")
    vectors = np.concatenate(tables, axis=1)
    return np.concatenate([vectors, np.zeros((1, vectors.shape[1]), np.float32)])


def fingerprint(
    data_dir: Path | str, dataset: str, extra: tuple[Path | str, ...] = (), also: tuple[Path, ...] = ()
) -> str:
    """sha256 over what a model saw: the vocabulary, and the training and dev files.

    `extra` files (raw SemEval files a model was trained on) are hashed too; with
    them, the benchmark's train and dev files are not, since they were not used.
    `also`: more files it learned from beside them (the sentiments and pairs of relation heads).
    """
    root = dataset_dir(data_dir, dataset)
    benchmark = [
        root / split / f"{name}.txt"
        for split in ("train", "dev")
        for name in ("sentence", "target", "opinion")
    ]
    digest = hashlib.sha256()
    for path in [root / "word2id.txt", *(map(Path, extra) if extra else benchmark), *also]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
