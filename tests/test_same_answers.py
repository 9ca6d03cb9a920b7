"""One answer per review: a review's spans never depend on its batch, `batch_size`, the thread or
worker count, the engine, a resume or the CPU; its scores move by at most one in the last digit.

Every bundled model is checked: the property test on random batches (the fast tier in the quick
loop, the MiniLM tier with the slow tests), the 1,600 test sentences alone and in batches of 256,
and the command line with a MiniLM model (workers, kill -9 and --resume, Dask).
"""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coextract.corpus.engine import CRASH_ENV
from coextract.evaluation.benchmark import read_dataset
from coextract.runtime.model_folder import read_meta
from coextract.runtime.model_names import bundled_models, resolve_model
from coextract.runtime.tagger import load
from tests.conftest import coextract

FAST = ["restaurant", "laptop", "res15"]
MINILM = ["restaurant-minilm", "laptop-minilm"]
BUNDLES = [*FAST, *(pytest.param(name, marks=pytest.mark.slow) for name in MINILM)]
# Scores are rounded to 4 decimals. Floats summed in another order (other padding, other CPU) move
# a float model's last digit by one at most; in the int8 graph such a difference can round one of
# a token's activations to the next int8 step: 0.0003 at most over the 1,600 sentences below.
SCORE_BOUND = {"float": 1e-4, "int8": 1e-3}
XML = "semeval-raw/semeval14/Restaurants_Test_Gold.xml"


def test_every_bundled_model_is_checked():
    assert {resolve_model(name).name for name in [*FAST, *MINILM]} == set(bundled_models())


def spans(extraction) -> list[tuple]:
    return [(side, s.start, s.end) for side in ("aspects", "opinions") for s in getattr(extraction, side)]


def score_bound(name: str) -> float:
    return SCORE_BOUND["int8" if "int8" in read_meta(resolve_model(name))["weights"] else "float"]


def assert_same_answers(alone, batched, bound: float) -> None:
    for one, other in zip(alone, batched, strict=True):
        assert spans(one) == spans(other), (one.text, spans(one), spans(other))
        for a, b in zip(one.aspects + one.opinions, other.aspects + other.opinions, strict=True):
            assert abs(a.score - b.score) <= bound + 1e-9


@pytest.fixture(scope="module")
def sentences(data_dir) -> list[list[str]]:
    """Real test sentences of both domains, short and long (the longest pad every batch they join)."""
    examples = [e.tokens for d in ("res14", "lap14") for e in read_dataset(data_dir, d)["test"]]
    by_length = sorted(examples, key=len)
    return [list(s) for s in [*examples[:40], *by_length[-8:]]]


@pytest.mark.parametrize("name", BUNDLES)
def test_any_batch_and_thread_count_gives_each_review_its_own_answer(name, sentences):
    taggers = {threads: load(name, threads=threads) for threads in (1, 2)}
    alone = [taggers[1].tag_batch([s], batch_size=1)[0] for s in sentences]

    @settings(max_examples=12 if name in FAST else 6, suppress_health_check=[HealthCheck.too_slow])
    @given(
        picks=st.lists(st.integers(0, len(sentences) - 1), min_size=1, max_size=24),
        batch_size=st.integers(1, 64),
        threads=st.sampled_from([1, 2]),
    )
    def check(picks, batch_size, threads):
        batched = taggers[threads].tag_batch([sentences[i] for i in picks], batch_size=batch_size)
        assert_same_answers([alone[i] for i in picks], batched, score_bound(name))

    check()


@pytest.mark.slow
@pytest.mark.parametrize("name", [*FAST, *MINILM])
def test_the_1600_test_sentences_alone_and_in_batches_of_256(name, data_dir):
    """The comparison that found restaurant-minilm's per-call int8 scales: 162 of 1600 sentences changed."""
    datasets = ("res14", "lap14") if name in FAST else ("res14",)  # MiniLM: 800, for CI's 20 minutes
    texts = [list(e.tokens) for d in datasets for e in read_dataset(data_dir, d)["test"]]
    tagger = load(name, threads=2)  # a batch's parts on two threads
    with ThreadPoolExecutor(2) as pool:  # one sentence per call, two calls at a time
        halves = pool.map(lambda part: tagger.tag_batch(part, batch_size=1), (texts[::2], texts[1::2]))
        alone = [e for pair in zip(*halves, strict=True) for e in pair]
    assert_same_answers(alone, tagger.tag_batch(texts, batch_size=256), score_bound(name))


@pytest.mark.slow
@pytest.mark.parametrize("name", [*FAST, *MINILM])
@pytest.mark.parametrize("split", ["dev", "test"])
def test_coextract_evaluate_reproduces_the_card_exactly(name, split, data_dir):
    meta = json.loads((resolve_model(name) / "meta.json").read_text())
    args = ["evaluate", "--model", name, "--dataset", meta["dataset"], "--split", split, "--json"]
    result = coextract(*args, "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    card = meta["onnx_scores"][split]  # terms, and ABSA, pairs and triplets where the model has the heads
    assert {name: report[name] for name in card} == card


def tag_xml(data_dir, output, *options, env=None):
    xml = str(data_dir.parent / XML)
    return coextract("tag", xml, "--model", "restaurant-minilm", "--output", str(output), *options, env=env)


@pytest.fixture(scope="module")
def minilm_output(data_dir, tmp_path_factory):
    """The README's XML (800 reviews) tagged by restaurant-minilm on one worker: the reference bytes."""
    output = tmp_path_factory.mktemp("minilm") / "one.jsonl"
    result = tag_xml(data_dir, output, "--workers", "1")
    assert result.returncode == 0, result.stderr
    return output.read_bytes()


@pytest.mark.slow
def test_two_workers_write_the_same_bytes_as_one(data_dir, tmp_path, minilm_output):
    result = tag_xml(data_dir, tmp_path / "two.jsonl", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "two.jsonl").read_bytes() == minilm_output


@pytest.mark.slow
def test_kill_9_and_resume_on_other_workers_write_the_same_bytes(data_dir, tmp_path, minilm_output):
    output = tmp_path / "resumed.jsonl"
    crash = {**os.environ, CRASH_ENV: f"1:{tmp_path / 'crashed'}"}  # SIGKILL right after the 1st chunk
    assert tag_xml(data_dir, output, "--workers", "2", env=crash).returncode != 0
    assert (tmp_path / "resumed.jsonl.partial").exists() and not output.exists()
    result = tag_xml(data_dir, output, "--workers", "1", "--resume")
    assert result.returncode == 0, result.stderr
    assert "(512 from the interrupted run)" in result.stderr
    assert output.read_bytes() == minilm_output


@pytest.mark.slow
def test_dask_parts_hold_the_same_bytes_as_local_tagging(data_dir, tmp_path, minilm_output):
    pytest.importorskip("distributed")
    result = tag_xml(data_dir, tmp_path / "parts", "--engine", "dask", "--workers", "2")
    assert result.returncode == 0, result.stderr
    parts = sorted((tmp_path / "parts").glob("part-*.jsonl"))
    assert b"".join(p.read_bytes() for p in parts) == minilm_output
