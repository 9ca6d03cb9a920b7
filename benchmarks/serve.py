"""`coextract serve` under load on loopback, beside `Tagger.pipe` measured in the same run.

    python benchmarks/serve.py                       # both tiers: restaurant, restaurant-minilm
    python benchmarks/serve.py --models restaurant --seconds 5

Per model: `Tagger.pipe` throughput on the same reviews (this process, all cores), then
`coextract serve --model M` started as its own process on a free loopback port, and for
concurrency 1, 8 and 64 and requests of 1 and of 32 reviews, a load of `--seconds` seconds (after a
1-second warm-up) from a lean asyncio HTTP/1.1 client (one keep-alive connection per concurrent
client, so the client's own cost stays small beside the server's): reviews/s, and p50 / p99
latency per request. The server gets `--timeout 600`: at concurrency 64 with 32 reviews per
request, the MiniLM tier's queue holds minutes of work on 2 cores, past the default 30 s. The client runs on the same cores as the server: on a 2-core machine it
takes part of the CPU the server would have. Traffic goes only to 127.0.0.1; every load stops
by itself.
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

import httpx
from report import HERE, machine, markdown_table, publish, write_section

import coextract
from coextract.corpus.readers import read_records
from coextract.evaluation.benchmark import default_data_dir

CONCURRENCY = (1, 8, 64)
REQUEST_SIZES = (1, 32)


async def client(port: int, bodies: list[bytes], until: float, latencies: list[float]) -> int:
    """One keep-alive connection posting `bodies` in turn until `until`; returns requests answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    while time.perf_counter() < until:
        body = bodies[done % len(bodies)]
        start = time.perf_counter()
        writer.write(b"POST /v1/extract HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1])  # fmt: skip
        await reader.readexactly(length)
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"the server answered {head.splitlines()[0]!r}")
        latencies.append(time.perf_counter() - start)
        done += 1
    writer.close()
    return done


async def load(port: int, reviews: list[str], concurrency: int, size: int, seconds: float) -> dict:
    bodies = [
        json.dumps({"texts": reviews[i : i + size]}).encode() for i in range(0, len(reviews) - size, size)
    ]
    await asyncio.gather(
        *(client(port, bodies, time.perf_counter() + 1, []) for _ in range(concurrency))
    )  # warm-up
    latencies: list[float] = []
    start = time.perf_counter()
    requests = sum(await asyncio.gather(*(client(port, bodies, start + seconds, latencies) for _ in range(concurrency))))  # fmt: skip
    elapsed = time.perf_counter() - start
    cut = statistics.quantiles(latencies, n=100)
    return {"concurrency": concurrency, "reviews_per_request": size, "reviews_per_s": requests * size / elapsed,
            "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * cut[98]}  # fmt: skip


def direct_speed(model: str, reviews: list[str], rounds: int = 3) -> dict:
    """`Tagger.pipe` reviews/s over `reviews` (median of `rounds`), and p50 / p99 ms of one direct call
    per review (`tagger(text)`, each review once, in the order the loads send them)."""
    tagger = coextract.load(model)
    list(tagger.pipe(reviews[:64]))
    speeds = []
    for _ in range(rounds):
        start = time.perf_counter()
        list(tagger.pipe(reviews))
        speeds.append(len(reviews) / (time.perf_counter() - start))
    calls = []
    for text in reviews:
        start = time.perf_counter()
        tagger(text)
        calls.append(1000 * (time.perf_counter() - start))
    return {"pipe_reviews_per_s": statistics.median(speeds), "call_p50_ms": statistics.median(calls),
            "call_p99_ms": statistics.quantiles(calls, n=100)[98]}  # fmt: skip


def started(model: str, port: int, options: list[str]) -> subprocess.Popen:
    """`coextract serve --model MODEL OPTIONS` on `port`, once it answers /readyz."""
    command = [sys.executable, "-m", "coextract", "serve", "--model", model, "--port", str(port), "--timeout", "600", *options]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    for _ in range(240):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    server.kill()
    raise SystemExit(f"coextract serve --model {model} did not get ready")


def measure(model: str, reviews: list[str], seconds: float, port: int, options: list[str]) -> dict:
    direct = direct_speed(model, reviews)
    server = started(model, port, options)
    try:
        loads = [
            asyncio.run(load(port, reviews, c, size, seconds)) for size in REQUEST_SIZES for c in CONCURRENCY
        ]
    finally:
        server.terminate()
        server.wait(60)
    for row in loads:
        row["share_of_pipe"] = row["reviews_per_s"] / direct["pipe_reviews_per_s"]
    return {**direct, "loads": loads}


def table(results: dict) -> str:
    rows = []
    for model, r in results["models"].items():
        rows.append([model, "Tagger.pipe; tagger(text) latency", "", f"{r['pipe_reviews_per_s']:,.0f}", "100 %",
                     f"{r['call_p50_ms']:.1f}", f"{r['call_p99_ms']:.1f}"])  # fmt: skip
        for row in r["loads"]:
            rows.append([model, f"{row['reviews_per_request']} per request", str(row["concurrency"]),
                         f"{row['reviews_per_s']:,.0f}", f"{100 * row['share_of_pipe']:.0f} %",
                         f"{row['p50_ms']:.1f}", f"{row['p99_ms']:.1f}"])  # fmt: skip
    columns = ["model", "requests", "concurrency", "reviews/s", "of pipe", "p50 ms", "p99 ms"]
    return "\n".join(markdown_table(columns, rows)) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=["restaurant", "restaurant-minilm"])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--name", default="serve", help="results/NAME.json, and the README sections' name")
    parser.add_argument("options", nargs="*", help="after --: more `coextract serve` flags (default: none)")
    args = parser.parse_args()
    raw = default_data_dir().parent / "semeval-raw" / "semeval14" / "Restaurants_Test_Gold.xml"
    reviews = [record.text for record in read_records(str(raw))]
    results = {
        "machine": machine(),
        "models": {m: measure(m, reviews, args.seconds, args.port, args.options) for m in args.models},
    }
    command = " ".join(
        [
            "python benchmarks/serve.py",
            f"--seconds {args.seconds:g}",
            *([] if args.name == "serve" else [f"--name {args.name}"]),
            *(["--", *args.options] if args.options else []),
        ]
    )
    text = (f"`{command}` ({machine()}; the 800 SemEval-2014 restaurant "
            "test reviews; server and load generator on the same cores, loopback):\n\n" + table(results))  # fmt: skip
    publish(args.name, results, text)
    write_section(f"{args.name}-table", text, HERE.parent / "README.md")


if __name__ == "__main__":
    main()
