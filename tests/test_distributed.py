"""Tagging on a real dask.distributed LocalCluster: same results as `coextract tag`, worker loss survived."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # every test here starts a Dask cluster

pytest.importorskip("distributed")
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

from coextract.corpus import dask_engine as engine  # noqa: E402
from coextract.corpus.engine import CRASH_ENV, TagOptions, tag_files  # noqa: E402
from coextract.errors import CoextractError  # noqa: E402

OPTIONS = TagOptions(text_field="body", id_field="rid", workers=1)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, data_dir):
    """12 JSONL files of 400 real test sentences each; file 3 has a bad line and a non-text field."""
    sentences = (data_dir / "res14" / "test" / "sentence.txt").read_text().splitlines()
    folder = tmp_path_factory.mktemp("dask-corpus")
    paths = []
    for n in range(12):
        lines = [
            json.dumps({"rid": f"{n}-{i}", "body": sentences[(n * 400 + i) % len(sentences)]})
            for i in range(400)
        ]
        if n == 3:
            lines[10], lines[20] = "{not json", json.dumps({"rid": "3-20", "body": 7})
        path = folder / f"reviews-{n:02d}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def local_output(corpus, tmp_path_factory):
    """What single-machine `coextract tag` writes for the corpus."""
    out = tmp_path_factory.mktemp("local") / "tagged.jsonl"
    tag_files(corpus, str(out), OPTIONS)
    return out.read_text().splitlines()


def new_cluster():
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)


@pytest.fixture(scope="module")
def cluster():
    with new_cluster() as started:
        yield started


def parts_text(folder):
    return "".join(p.read_text() for p in sorted(folder.glob("part-*.jsonl"))).splitlines()


def test_files_match_single_machine_tagging(corpus, local_output, cluster, tmp_path):
    summary = engine.tag_files_on_dask(corpus, tmp_path / "out", OPTIONS, scheduler=cluster.scheduler_address)
    assert parts_text(tmp_path / "out") == local_output
    assert (summary.records, summary.errors, len(summary.parts)) == (4800, 2, 12)
    assert json.loads((tmp_path / "out" / engine.SUCCESS).read_text())["records"] == 4800
    names = sorted(p.name for p in (tmp_path / "out").iterdir())  # no partial or state files left
    assert names == [engine.SUCCESS] + [f"part-{n:05d}.jsonl" for n in range(12)]


def test_each_worker_loads_the_model_once(corpus, cluster, tmp_path):
    engine.tag_files_on_dask(corpus, tmp_path / "out", OPTIONS, scheduler=cluster.scheduler_address)
    with Client(cluster) as client:
        loaded = client.run(lambda: list(engine._taggers))
    digest = engine.ModelFiles.read("restaurant").digest
    assert list(loaded.values()) == [[digest], [digest]]  # 12 parts, 2 processes, one load each


def test_dataframe_in_dataframe_out(corpus, local_output, cluster):
    frame = pd.concat([pd.read_json(p, lines=True, dtype=False) for p in corpus[4:6]], ignore_index=True)
    frame.loc[5, "body"] = None
    with Client(cluster):
        tagged = engine.tag_dataframe(dd.from_pandas(frame, npartitions=3), "body", "rid").compute()
    assert list(tagged.columns) == ["id", "error", "aspects", "opinions"]
    expected = [json.loads(line) for line in local_output[1600:2400]]
    for row, want in zip(tagged.to_dict("records"), expected, strict=True):
        assert row["id"] == want["id"]
        if row["id"] == frame.loc[5, "rid"]:
            assert "field 'body' is null" in row["error"]
            continue
        assert (row["aspects"], row["opinions"]) == (want["aspects"], want["opinions"])


def test_a_killed_worker_loses_no_record(corpus, local_output, tmp_path, monkeypatch):
    # The first worker to write a chunk kills itself (SIGKILL) right after it, mid-part: Dask
    # must run that part again on a fresh worker, and the part must appear exactly once.
    marker = tmp_path / "crashed"
    monkeypatch.setenv(CRASH_ENV, f"1:{marker}")  # the cluster's worker processes inherit it
    out = tmp_path / "out"
    with new_cluster() as cluster:
        summary = engine.tag_files_on_dask(corpus, out, OPTIONS, scheduler=cluster.scheduler_address)
    assert marker.exists()  # a worker did die mid-part
    assert summary.records == 4800
    assert parts_text(out) == local_output
    assert not list(out.glob("*.partial*"))


def test_unreachable_scheduler_is_a_clear_error(corpus, tmp_path):
    with pytest.raises(
        CoextractError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 2 s"
    ):
        engine.tag_files_on_dask(corpus, tmp_path / "out", OPTIONS, scheduler="tcp://127.0.0.1:9", timeout=2)


def test_cli_starts_a_local_cluster_and_writes_parquet_parts(corpus, local_output, tmp_path):
    pytest.importorskip("pyarrow")
    pattern = str(corpus[0]).replace("00", "0[01]")  # a quoted glob: files 00 and 01
    result = subprocess.run(
        [sys.executable, "-m", "coextract", "tag", pattern, "--engine", "dask", "--workers", "2",
         "--text-field", "body", "--id-field", "rid", "--format", "parquet", "--output", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "800 records, 0 errors" in result.stderr
    tagged = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "out").glob("part-*.parquet")))
    expected = [json.loads(line) for line in local_output[:800]]
    assert tagged["id"].tolist() == [r["id"] for r in expected]
    assert [len(a) for a in tagged["aspects"]] == [len(r["aspects"]) for r in expected]
    again = subprocess.run(
        [sys.executable, "-m", "coextract", "tag", pattern, "--engine", "dask", "--output", str(tmp_path / "out")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert again.returncode == 2 and "is not empty; pass --overwrite" in again.stderr
