import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coextract.errors import CoextractError
from coextract.evaluation.benchmark import (
    UNK,
    Example,
    dataset_dir,
    fingerprint,
    read_dataset,
    read_split,
    read_vocabulary,
    read_word_vectors,
)
from coextract.evaluation.triplets import relation_files


def write_split(folder: Path, sentences, targets, opinions) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sentence.txt").write_text("\n".join(sentences) + "\n")
    (folder / "target.txt").write_text("\n".join(targets) + "\n")
    (folder / "opinion.txt").write_text("\n".join(opinions) + "\n")
    return folder


def test_read_split_parses_tokens_and_tags(tmp_path):
    folder = write_split(
        tmp_path / "train",
        ["the battery life is great", "nice"],
        ["0 1 2 0 0", "0"],
        ["0 0 0 0 1", "1"],
    )
    assert read_split(folder) == [
        Example(("the", "battery", "life", "is", "great"), (0, 1, 2, 0, 0), (0, 0, 0, 0, 1)),
        Example(("nice",), (0,), (1,)),
    ]


def test_tag_line_of_wrong_length_names_file_and_line(tmp_path):
    folder = write_split(tmp_path / "train", ["a b", "c d e"], ["0 0", "0 1"], ["0 0", "0 0 0"])
    with pytest.raises(CoextractError, match=r"target\.txt:2: 2 tags for a sentence of 3 tokens"):
        read_split(folder)


def test_bad_tag_value_and_misaligned_files(tmp_path):
    folder = write_split(tmp_path / "a", ["a b"], ["0 7"], ["0 0"])
    with pytest.raises(CoextractError, match=r"target\.txt:1: tags must be"):
        read_split(folder)
    folder = write_split(tmp_path / "b", ["a b", "c"], ["0 0"], ["0 0", "0"])
    with pytest.raises(CoextractError, match=r"target\.txt: 1 lines, but .*sentence\.txt has 2"):
        read_split(folder)


def test_missing_folder_and_unknown_dataset(tmp_path):
    with pytest.raises(CoextractError, match="does not exist: pass --data-dir"):
        dataset_dir(tmp_path / "nowhere", "res14")
    write_split(tmp_path / "res14" / "train", ["a"], ["0"], ["0"])
    with pytest.raises(CoextractError, match=r"unknown dataset 'res99'.*datasets in .*: res14"):
        dataset_dir(tmp_path, "res99")


def test_real_benchmark_sizes_match_the_data_readme(data_dir):
    expected = {"res14": (2436, 608, 800), "lap14": (2439, 609, 800), "res15": (1052, 263, 685)}
    for name, sizes in expected.items():
        splits = read_dataset(data_dir, name)
        assert tuple(len(splits[s]) for s in ("train", "dev", "test")) == sizes


def test_vocabulary_and_vectors_line_up(data_dir):
    vocabulary = read_vocabulary(data_dir, "res15")
    assert vocabulary[0] == "<pad>" and vocabulary[-1] == UNK
    vectors = read_word_vectors(data_dir, "res15", ("domain", "glove"))
    assert vectors.shape == (len(vocabulary), 400)
    assert not vectors[-1].any()
    assert np.abs(vectors[vocabulary.index("food")]).sum() > 0


def test_fingerprint_is_stable_and_per_dataset(data_dir):
    assert fingerprint(data_dir, "res14") == fingerprint(data_dir, "res14")
    assert fingerprint(data_dir, "res14") != fingerprint(data_dir, "lap14")


def test_a_model_that_learns_relations_fingerprints_their_files_too(data_dir):
    files = relation_files(data_dir, "res14")
    assert [f.name for f in files] == ["target_polarity.txt"] * 2 + ["train_triplets.txt", "dev_triplets.txt"]
    assert all(f.is_file() for f in files)
    assert fingerprint(data_dir, "res14", also=files) != fingerprint(data_dir, "res14")


def test_the_default_data_folder_is_found_beside_the_repository_from_any_folder(data_dir, tmp_path):
    # The notebooks run from notebooks/, the CLI from anywhere: the default must not depend on the cwd.
    env = {k: v for k, v in os.environ.items() if k != "COEXTRACT_DATA"}
    code = "from coextract.evaluation.benchmark import default_data_dir; print(default_data_dir())"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == Path(__file__).resolve().parents[2] / "shared" / "data" / "absa"
