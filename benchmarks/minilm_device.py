"""The MiniLM tier's 5-seed benchmark on a lent GPU machine, and the weights it brings back.

    python -m benchmarks.minilm_device run SHARED OUT --train-args "--device cuda"   # on the GPU machine
    python -m benchmarks.minilm_device unpack OUT RUNS     # here, on what came back
    python -m benchmarks.minilm_device pooling RUNS        # the pooling table of the runs in RUNS

`run` trains the 5 seeds x 3 datasets twice, concurrently (f1.py, `--device cuda`):
a word read from its first word piece and from the mean of its pieces. Per dataset
it keeps the pooling with the higher mean dev F1 (aspect + opinion), and of that
pooling the seed whose test F1s are nearest their 5-seed means (the seed to bundle:
the bundle must score within 0.5 of the means). It leaves in OUT the results, logs
and run configs (`results.tar.gz`) and the weights of the res14 and lap14 seeds to
bundle, packed small enough for the device's way back (at most 16 MiB a file):
float16, and of the word-piece embedding only the rows training changed (the
encoder's weight decay is 0, so AdamW leaves every other row as it was).

`pooling` writes the dev choice between the poolings, with every seed's dev and
test F1, to results/minilm_pooling.json and benchmarks/README.md.

`unpack` rebuilds those run folders (model.pt, config.json, metrics.json,
tokenizer.json) from the packs and the encoder folder the runs started from.
"""

import argparse
import io
import json
import shlex
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import torch

from coextract.training.encoder import read_safetensors

WORD_ROWS = "encoder.embeddings.word_embeddings.weight"
PART_BYTES = 15 * 2**20
POOLINGS = ("first", "mean")
BUNDLED = ("res14", "lap14")
HERE = Path(__file__).resolve().parent


def train_both(shared: Path, runs: Path, jobs: list[str], deadline_s: float, extra: list[str]) -> None:
    """Both poolings' f1.py runs at once, 8 runs each; stops them at the deadline (finished runs stay)."""
    processes = []
    for pooling in POOLINGS:
        command = [sys.executable, "-m", "benchmarks.f1", "--encoder", str(shared / "models" / "all-MiniLM-L6-v2"),
                   "--data-dir", str(shared / "data" / "absa"), "--jobs", "8", "--runs-dir", str(runs / pooling),
                   "--name", f"f1_minilm_{pooling}", *jobs,
                   "--", "--word-pooling", pooling, *extra]  # fmt: skip
        processes.append(subprocess.Popen(command))
    started = time.monotonic()
    while any(p.poll() is None for p in processes) and time.monotonic() - started < deadline_s:
        time.sleep(5)
    for process in processes:
        if process.poll() is None:
            process.kill()
            print(f"stopped at the deadline: {process.args}", file=sys.stderr)


def finished_runs(folder: Path) -> dict[str, dict[int, dict]]:
    """{dataset: {seed: metrics}} of the runs in `folder` that finished."""
    runs: dict[str, dict[int, dict]] = {}
    for metrics in sorted(folder.glob("*-s*/metrics.json")):
        run = json.loads(metrics.read_text())
        runs.setdefault(run["dataset"], {})[run["seed"]] = run
    return runs


def f1s(run: dict, split: str) -> tuple[float, float]:
    return run[split]["aspect"]["f1"], run[split]["opinion"]["f1"]


def nearest_the_means(seeds: dict[int, dict]) -> tuple[int, list[float]]:
    """The seed whose test aspect and opinion F1 are nearest the seeds' means (the largest of its two
    distances is the smallest), and the means: the run that represents the benchmark in a bundle."""
    means = [statistics.mean(f1s(r, "test")[side] for r in seeds.values()) for side in (0, 1)]
    distance = {
        s: max(abs(f - m) for f, m in zip(f1s(run, "test"), means, strict=True)) for s, run in seeds.items()
    }
    return min(seeds, key=distance.get), means


def choose(runs: Path) -> dict:
    """Per dataset: the pooling dev prefers, and that pooling's seed nearest the test means."""
    by_pooling = {pooling: finished_runs(runs / pooling) for pooling in POOLINGS}
    choice = {}
    for dataset in sorted({d for found in by_pooling.values() for d in found}):
        dev = {p: statistics.mean(sum(f1s(r, "dev")) for r in by_pooling[p].get(dataset, {}).values())
               for p in POOLINGS if by_pooling[p].get(dataset)}  # fmt: skip
        pooling = max(dev, key=dev.get)
        seeds = by_pooling[pooling][dataset]
        seed, means = nearest_the_means(seeds)
        choice[dataset] = {"pooling": pooling, "dev_sum_by_pooling": dev, "seeds": sorted(seeds),
                           "test_means": means, "bundled_seed": seed}  # fmt: skip
    return choice


def pretrained_rows(encoder: Path) -> torch.Tensor:
    """The encoder's word-piece embedding as training started from it (float16 stored, float32 here)."""
    rows = read_safetensors(encoder / "model.safetensors")["embeddings.word_embeddings.weight"]
    return torch.from_numpy(rows.astype("float32"))


def pack(run_dir: Path, encoder: Path) -> bytes:
    """A run's weights in float16, with only the word-piece rows that differ from the encoder's."""
    state = torch.load(run_dir / "model.pt", weights_only=True, map_location="cpu")
    pretrained = pretrained_rows(encoder)
    changed = (state[WORD_ROWS] != pretrained).any(dim=1).nonzero().squeeze(1)
    packed = {name: tensor.half() for name, tensor in state.items() if name != WORD_ROWS}
    packed["changed_rows"], packed["changed_values"] = changed.int(), state[WORD_ROWS][changed].half()
    buffer = io.BytesIO()
    torch.save(packed, buffer)
    return buffer.getvalue()


def unpack(data: bytes, encoder: Path) -> dict[str, torch.Tensor]:
    """The float32 state dict `pack` packed (its float16 rounding stays)."""
    packed = torch.load(io.BytesIO(data), weights_only=True)
    rows = pretrained_rows(encoder)
    rows[packed.pop("changed_rows").long()] = packed.pop("changed_values").float()
    return {WORD_ROWS: rows, **{name: tensor.float() for name, tensor in packed.items()}}


def run(shared: Path, out: Path, jobs: list[str], deadline_s: float, extra: list[str]) -> None:
    """`jobs`: f1.py's --datasets and --seeds."""
    runs = HERE / "runs" / "minilm-device"
    train_both(shared, runs, jobs, deadline_s, extra)
    choice = choose(runs)
    (runs / "choice.json").write_text(json.dumps(choice, indent=1) + "\n")
    with tarfile.open(out / "results.tar.gz", "w:gz") as tar:
        tar.add(runs / "choice.json", "choice.json")
        for path in sorted(HERE.glob("results/f1_minilm_*.json")):
            tar.add(path, f"results/{path.name}")
        for path in sorted(runs.glob("*/*")):
            if path.suffix == ".log" or path.is_dir():
                tar.add(path, str(path.relative_to(runs)), filter=lambda info: None if info.name.endswith((".pt", "tokenizer.json")) else info)  # fmt: skip
    for dataset in BUNDLED:
        if dataset in choice:
            pick = choice[dataset]
            data = pack(runs / pick["pooling"] / f"{dataset}-s{pick['bundled_seed']}", shared / "models" / "all-MiniLM-L6-v2")  # fmt: skip
            for i in range(0, len(data), PART_BYTES):
                (out / f"{dataset}.pack{i // PART_BYTES}").write_bytes(data[i : i + PART_BYTES])
    print(json.dumps(choice, indent=1))


def rebuild(out: Path, runs: Path, encoder: Path) -> None:
    """Unpack results.tar.gz into `runs`, and the packed weights into the chosen runs' folders."""
    with tarfile.open(out / "results.tar.gz") as tar:
        tar.extractall(runs, filter="data")
    choice = json.loads((runs / "choice.json").read_text())
    for dataset in BUNDLED:
        parts = sorted(out.glob(f"{dataset}.pack*"), key=lambda p: int(p.suffix.removeprefix(".pack")))
        if parts:
            pick = choice[dataset]
            run_dir = runs / pick["pooling"] / f"{dataset}-s{pick['bundled_seed']}"
            torch.save(unpack(b"".join(p.read_bytes() for p in parts), encoder), run_dir / "model.pt")
            for name in ("tokenizer.json", "LICENSE"):
                (run_dir / name).write_bytes((encoder / name).read_bytes())
            print(f"{dataset}: {run_dir}", file=sys.stderr)


def pooling_table(runs: Path) -> None:
    """Both poolings' mean dev and test F1 per dataset, and which one dev chose."""
    from report import write_section

    choice, by_pooling = choose(runs), {pooling: finished_runs(runs / pooling) for pooling in POOLINGS}
    results, lines = {}, ["| dataset | pooling | seeds | dev AE | dev OE | test AE | test OE | dev chose |",
                          "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for dataset, pick in choice.items():
        for pooling in POOLINGS:
            seeds = by_pooling[pooling].get(dataset, {})
            row = {f"{split}_{side}_f1": statistics.mean(f1s(r, split)[i] for r in seeds.values())
                   for split in ("dev", "test") for i, side in enumerate(("aspect", "opinion"))}  # fmt: skip
            results.setdefault(dataset, {})[pooling] = {"seeds": sorted(seeds), **row}
            lines.append(f"| {dataset} | {pooling} | {len(seeds)} | " + " | ".join(f"{100 * v:.2f}" for v in row.values())
                         + f" | {'yes' if pick['pooling'] == pooling else ''} |")  # fmt: skip
        results[dataset]["chosen"] = pick["pooling"]
    (HERE / "results" / "minilm_pooling.json").write_text(json.dumps(results, indent=1) + "\n")
    write_section("minilm_pooling", "\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    on_device = commands.add_parser("run")
    on_device.add_argument("shared", type=Path, help="a copy of ../shared (data/absa and the encoder)")
    on_device.add_argument("out", type=Path)
    on_device.add_argument("--seeds", nargs="+", default=["1", "2", "3", "4", "5"])
    on_device.add_argument("--datasets", nargs="+", default=["res14", "lap14", "res15"])
    on_device.add_argument("--deadline", type=float, default=480, help="seconds before training stops")
    on_device.add_argument("--train-args", default="", help="more `coextract train` flags, quoted as one")
    back = commands.add_parser("unpack")
    back.add_argument("out", type=Path)
    back.add_argument("runs", type=Path)
    back.add_argument("--encoder", type=Path, default=HERE.parent.parent / "shared/models/all-MiniLM-L6-v2")
    commands.add_parser("pooling").add_argument("runs", type=Path)
    args = parser.parse_args()
    if args.command == "pooling":
        pooling_table(args.runs)
    elif args.command == "run":
        jobs = ["--datasets", *args.datasets, "--seeds", *args.seeds]
        run(args.shared, args.out, jobs, args.deadline, shlex.split(args.train_args))
    else:
        rebuild(args.out, args.runs, args.encoder)


if __name__ == "__main__":
    main()
