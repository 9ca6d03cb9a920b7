"""`--resume` continues only the run that was interrupted: same inputs, same model, same options."""

import json
import os

import pytest

from coextract.corpus.engine import CRASH_ENV
from tests.conftest import coextract


@pytest.fixture
def interrupted(tmp_path, data_dir):
    """A run of 1,100 real review lines killed (SIGKILL) after its first chunk of 512: (input, output, env)."""
    sentences = (data_dir / "res14" / "test" / "sentence.txt").read_text().splitlines()
    reviews = tmp_path / "in.txt"
    reviews.write_text("\n".join((sentences * 2)[:1100]) + "\n")
    out = tmp_path / "out.jsonl"
    env = {**os.environ, CRASH_ENV: f"1:{tmp_path / 'crashed'}"}
    killed = coextract("tag", str(reviews), "--output", str(out), "--workers", "1", "--include-text", env=env)
    assert (
        killed.returncode == -9
        and json.loads((tmp_path / "out.jsonl.partial.state").read_text())["records"] == 512
    )
    return reviews, out, env


def resume(reviews, out, env, *extra):
    return coextract("tag", str(reviews), "--output", str(out), "--workers", "1", "--resume", *extra, env=env)


@pytest.mark.slow
@pytest.mark.parametrize(
    "change, extra, message",
    [
        ("replace the input", ["--include-text"], "in.txt changed since the interrupted run"),
        ("shorten the input", ["--include-text"], "in.txt changed since the interrupted run"),
        (None, ["--include-text", "--model", "laptop"], "the model is not the one the interrupted run used"),
        (None, [], "--include-text was True, now False"),
        (None, ["--include-text", "--strict"], "--strict was False, now True"),
    ],
)
def test_resume_refuses_a_different_run_and_keeps_what_was_done(interrupted, change, extra, message):
    reviews, out, env = interrupted
    partial = out.with_name("out.jsonl.partial")
    done = partial.read_bytes()
    original, modified = reviews.read_text(), reviews.stat().st_mtime_ns
    if change == "replace the input":
        reviews.write_text("".join(f"a different review {i}\n" for i in range(3000)))
    elif change == "shorten the input":
        reviews.write_text("".join(original.splitlines(keepends=True)[:700]))
    refused = resume(reviews, out, env, *extra)
    assert refused.returncode == 2 and message in refused.stderr and "--overwrite" in refused.stderr
    assert "Traceback" not in refused.stderr and not out.exists()
    assert partial.read_bytes().startswith(done)  # nothing done so far is lost

    reviews.write_text(original)
    os.utime(reviews, ns=(modified, modified))  # the file exactly as the interrupted run read it
    same = resume(reviews, out, env, "--include-text")
    assert same.returncode == 0, same.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == list(range(1, 1101))
    assert [r["text"] for r in records] == original.splitlines()
