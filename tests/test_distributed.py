"""Tagging on Dask (LocalClusters, and a scheduler and workers started as separate processes):
same results as `coextract tag`, worker loss and client loss survived."""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # every test here starts a Dask cluster

pytest.importorskip("distributed")
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

from coextract.corpus import dask_engine as engine  # noqa: E402
from coextract.corpus import dask_parts as parts  # noqa: E402
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
    summary = parts.tag_files_on_dask(corpus, tmp_path / "out", OPTIONS, scheduler=cluster.scheduler_address)
    assert parts_text(tmp_path / "out") == local_output
    assert (summary.records, summary.errors, len(summary.parts)) == (4800, 2, 12)
    assert json.loads((tmp_path / "out" / parts.SUCCESS).read_text())["records"] == 4800
    names = sorted(p.name for p in (tmp_path / "out").iterdir())  # no partial or state files left
    assert names == [parts.SUCCESS, parts.PARTS_STATE] + [f"part-{n:05d}.jsonl" for n in range(12)]


def test_each_worker_loads_the_model_once(corpus, cluster, tmp_path):
    parts.tag_files_on_dask(corpus, tmp_path / "out", OPTIONS, scheduler=cluster.scheduler_address)
    with Client(cluster) as client:
        loaded = client.run(lambda: list(engine._taggers))
    digest = engine.ModelFiles.read("restaurant").digest
    assert list(loaded.values()) == [[digest], [digest]]  # 12 parts, 2 processes, one load each


def test_dataframe_in_dataframe_out(corpus, local_output, cluster):
    frame = pd.concat([pd.read_json(p, lines=True, dtype=False) for p in corpus[4:6]], ignore_index=True)
    frame.loc[5, "body"] = None
    with Client(cluster):
        tagged = engine.tag_dataframe(dd.from_pandas(frame, npartitions=3), "body", "rid").compute()
    assert list(tagged.columns) == ["id", "error", "aspects", "opinions", "pairs"]  # restaurant links them
    expected = [json.loads(line) for line in local_output[1600:2400]]
    for row, want in zip(tagged.to_dict("records"), expected, strict=True):
        assert row["id"] == want["id"]
        if row["id"] == frame.loc[5, "rid"]:
            assert "field 'body' is null" in row["error"]
            continue
        assert (row["aspects"], row["opinions"], row["pairs"]) == (
            want["aspects"],
            want["opinions"],
            want["pairs"],
        )


def test_the_minilm_tier_travels_to_the_workers_with_its_tokenizer(cluster):
    import coextract

    texts = ["The battery life is excellent.", "The keyboard feels cheap but the screen is bright."] * 5
    frame = pd.DataFrame({"rid": [str(i) for i in range(10)], "body": texts})
    with Client(cluster):
        ddf = dd.from_pandas(frame, npartitions=2)
        tagged = engine.tag_dataframe(ddf, "body", "rid", model="laptop-minilm").compute()
    local = coextract.load("laptop-minilm")
    for row, text in zip(tagged.to_dict("records"), texts, strict=True):
        assert [a["text"] for a in row["aspects"]] == [s.text for s in local(text).aspects]
    assert any(row["aspects"] for row in tagged.to_dict("records"))


def test_a_killed_worker_loses_no_record(corpus, local_output, tmp_path, monkeypatch):
    # The first worker to write a chunk kills itself (SIGKILL) right after it, mid-part: Dask
    # must run that part again on a fresh worker, and the part must appear exactly once.
    marker = tmp_path / "crashed"
    monkeypatch.setenv(CRASH_ENV, f"1:{marker}")  # the cluster's worker processes inherit it
    out = tmp_path / "out"
    with new_cluster() as cluster:
        summary = parts.tag_files_on_dask(corpus, out, OPTIONS, scheduler=cluster.scheduler_address)
    assert marker.exists()  # a worker did die mid-part
    assert summary.records == 4800
    assert parts_text(out) == local_output
    assert not list(out.glob("*.partial*"))


def test_unreachable_scheduler_is_a_clear_error(corpus, tmp_path):
    with pytest.raises(
        CoextractError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 2 s"
    ):
        parts.tag_files_on_dask(corpus, tmp_path / "out", OPTIONS, scheduler="tcp://127.0.0.1:9", timeout=2)


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
    assert again.returncode == 2 and "is not empty; pass --resume" in again.stderr


@pytest.fixture(scope="module")
def real_cluster(tmp_path_factory):
    """A `dask scheduler` and a `dask worker` (two processes) started as on a cluster: separate
    processes, each in a folder of its own, on loopback. Yields the scheduler's address."""
    scheduler_home, worker_home = tmp_path_factory.mktemp("scheduler"), tmp_path_factory.mktemp("worker")
    address_file = scheduler_home / "scheduler.json"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    started = [
        subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                          "--scheduler-file", str(address_file)], cwd=scheduler_home, start_new_session=True),
    ]  # fmt: skip
    try:
        Client(scheduler_file=str(address_file), timeout=60).close()  # waits for the file and the scheduler
        worker = [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(address_file),
                  "--host", "127.0.0.1", "--nworkers", "2", "--nthreads", "1", "--no-dashboard"]  # fmt: skip
        started.append(subprocess.Popen(worker, cwd=worker_home, start_new_session=True))
        with Client(scheduler_file=str(address_file)) as client:
            client.wait_for_workers(2, timeout=120)
            yield client.scheduler.address
    finally:
        for process in reversed(started):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


def copy_corpus(corpus, folder):
    (folder / "in").mkdir()
    for path in corpus[:4]:
        shutil.copy(path, folder / "in")
    return sorted(str(p) for p in (folder / "in").glob("*.jsonl"))


def tag_on_cluster(folder, address, *extra, env=None):
    """`coextract tag` with relative paths, run from `folder`, on the real cluster."""
    return subprocess.run(
        [sys.executable, "-m", "coextract", "tag", "in/reviews-*.jsonl", "--engine", "dask", "--scheduler", address,
         "--text-field", "body", "--id-field", "rid", "--output", "out", "--quiet", *extra],
        cwd=folder, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def test_a_real_cluster_in_other_folders_reads_and_writes_relative_paths(corpus, real_cluster, tmp_path):
    # Workers started elsewhere used to open in/part-0.jsonl relative to their own folder.
    inputs = copy_corpus(corpus, tmp_path)
    result = tag_on_cluster(tmp_path, real_cluster)
    assert result.returncode == 0, result.stderr
    assert "1600 records, 2 errors" in result.stderr  # file 3 holds a bad line and a non-text field
    local = tmp_path / "local.jsonl"
    tag_files(inputs, str(local), OPTIONS)  # the same files by absolute path, on this machine
    assert parts_text(tmp_path / "out") == local.read_text().splitlines()
    assert not list((tmp_path / "out").glob("*.partial*"))


def test_resume_after_the_client_is_killed_keeps_the_complete_parts(corpus, real_cluster, tmp_path):
    copy_corpus(corpus, tmp_path)
    marker = tmp_path / "crashed"
    crash = {**os.environ, parts.CRASH_PARTS_ENV: f"2:{marker}"}  # the client dies after 2 parts
    killed = tag_on_cluster(tmp_path, real_cluster, env=crash)
    assert killed.returncode == -9 and marker.exists(), killed.stderr
    out = tmp_path / "out"
    assert not (out / parts.SUCCESS).exists()
    kept = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.jsonl")}
    assert len(kept) >= 2
    resumed = tag_on_cluster(tmp_path, real_cluster, "--resume", env=crash)
    assert resumed.returncode == 0, resumed.stderr
    assert all(out.joinpath(name).stat().st_mtime_ns == mtime for name, mtime in kept.items())  # not redone
    uninterrupted = tmp_path / "again"
    shutil.copytree(tmp_path / "in", uninterrupted / "in")
    assert tag_on_cluster(uninterrupted, real_cluster).returncode == 0
    assert len(parts_text(out)) == 1600
    assert [line.replace(str(tmp_path), "") for line in parts_text(out)] == [
        line.replace(str(uninterrupted), "") for line in parts_text(uninterrupted / "out")
    ]
    assert json.loads((out / parts.SUCCESS).read_text())["records"] == 1600
    (uninterrupted / "in" / "reviews-00.jsonl").write_text('{"rid": "x", "body": "changed"}\n')
    (uninterrupted / "out" / parts.SUCCESS).unlink()
    changed = tag_on_cluster(uninterrupted, real_cluster, "--resume")
    assert changed.returncode == 2 and "reviews-00.jsonl changed since the interrupted run" in changed.stderr
