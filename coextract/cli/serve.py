"""`coextract serve`: the models over HTTP (`pip install 'coextract[serve]'`)."""

import argparse
import json
import logging
import os
import signal
import socket
import sys
from dataclasses import asdict
from pathlib import Path

from coextract.cli.common import BUNDLED_HELP
from coextract.errors import CoextractError

CONFIG_ENV = "COEXTRACT_SERVE_CONFIG"  # how `--workers N` processes learn the models and settings


def require_serve():
    try:
        import fastapi  # noqa: F401
        import prometheus_client  # noqa: F401
        import uvicorn
    except ImportError:
        raise CoextractError("coextract serve needs its extra: pip install 'coextract[serve]'") from None
    return uvicorn


def model_names(models: list[str]) -> dict[str, str]:
    """API name -> model: a bundled name as it is, a folder by its own name; two of one name are refused."""
    from coextract.runtime.model_names import is_bundled_name

    named = {}
    for model in models:
        name = model if is_bundled_name(model) else Path(model).name
        if name in named:
            raise CoextractError(f"two models are called {name!r} ({named[name]}, {model}): rename a folder")
        named[name] = model
    return named


def read_api_key(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        key = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise CoextractError(f"--api-key-file {path}: cannot read it ({err})") from None
    if not key or any(c.isspace() for c in key):
        raise CoextractError(f"--api-key-file {path}: holds no key, or one with spaces in it")
    return key


def check_port_free(host: str, port: int) -> None:
    """Refuse, before any model loads, an address another program holds (uvicorn would only log it)."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as err:
        raise CoextractError(
            f"cannot listen on {host}:{port} ({err.strerror}): pick another --port or --host"
        ) from None


def app_from_environment():
    """The app of one `--workers` process, from the configuration its parent put in the environment."""
    from coextract.runtime.tagger import load
    from coextract.serve.app import create_app
    from coextract.serve.protocol import ServeSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    config = json.loads(os.environ[CONFIG_ENV])
    taggers = {name: load(model, threads=config["threads"]) for name, model in config["models"].items()}
    return create_app(taggers, ServeSettings(**config["settings"]))


def cmd_serve(args: argparse.Namespace) -> None:
    uvicorn = require_serve()
    from coextract.runtime.model_names import resolve_model
    from coextract.serve.protocol import ServeSettings

    args.workers = (os.cpu_count() or 1) if args.workers is None else args.workers
    if args.workers < 1:
        raise CoextractError("--workers must be 1 or more")
    check_port_free(args.host, args.port)
    models = model_names(args.model or ["restaurant"])
    for model in models.values():
        resolve_model(model)  # a wrong name fails here, before any process starts
    settings = ServeSettings(max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, max_queue=args.max_queue,
                             max_texts=args.max_texts, max_chars=args.max_chars, max_body_bytes=args.max_body_bytes,
                             timeout_s=args.timeout, api_key=read_api_key(args.api_key_file))  # fmt: skip
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    os.environ[CONFIG_ENV] = json.dumps({"models": models, "settings": asdict(settings), "threads": threads})
    print(f"coextract serve: {', '.join(models)} on http://{args.host}:{args.port} ({args.workers} worker "
          f"process{'es' if args.workers > 1 else ''}, {threads} threads each); Ctrl-C or SIGTERM stops it", file=sys.stderr)  # fmt: skip
    # uvicorn handles SIGTERM while it serves, and raises it again once it has stopped gracefully;
    # with this handler in place by then, that ends in `coextract serve` returning: exit status 0.
    signal.signal(signal.SIGTERM, lambda number, frame: None)
    uvicorn.run("coextract.cli.serve:app_from_environment", factory=True, host=args.host, port=args.port,
                workers=args.workers, access_log=False, log_level="warning",
                timeout_graceful_shutdown=int(args.timeout) + 2)  # fmt: skip


def add_parser(commands) -> None:
    """The `coextract serve` command."""
    serve = commands.add_parser(
        "serve",
        help="serve models over HTTP (micro-batched onnxruntime)",
        description='Serve models over HTTP: POST /v1/extract {"texts": [...]} (or "text"; "model" picks one, '
        "default the first --model) answers one record per text, in order, exactly as `coextract tag` writes "
        "it (id = position in the request). GET /v1/models, /healthz, /readyz, /metrics (Prometheus), "
        "/openapi.json. Texts of concurrent requests are tagged in one batch. Refusals: 400 (not JSON), 401 "
        "(API key), 404 (model), 413 (body, texts per request, characters per text), 422 (a field's type; "
        "names it), 503 + Retry-After (queue full), 504 (--timeout). SIGTERM: stops accepting, answers every "
        "accepted request, exits 0 within --timeout + 2 s. Needs pip install 'coextract[serve]'.",
    )
    serve.add_argument("--model", action="append", help=f"a model to serve, repeatable (default: restaurant): {BUNDLED_HELP}, or a model folder")  # fmt: skip
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes, each with every model and cores / N threads (default: one per core)",
    )
    limits = serve.add_argument_group("batching and limits")
    limits.add_argument("--max-batch", type=int, default=64, help="texts per model batch (default 64)")
    limits.add_argument("--max-wait-ms", type=float, default=0.0, help="how long a free model waits to fill a batch (default 0: under load, texts gather while the model works)")  # fmt: skip
    limits.add_argument("--max-queue", type=int, default=4096, help="texts waiting per model before 503 (default 4096)")  # fmt: skip
    limits.add_argument(
        "--max-texts", type=int, default=256, help="texts per request before 413 (default 256)"
    )
    limits.add_argument("--max-chars", type=int, default=50_000, help="characters per text before 413 (default 50000)")  # fmt: skip
    limits.add_argument("--max-body-bytes", type=int, default=4 << 20, help="request body before 413 (default 4 MiB)")  # fmt: skip
    limits.add_argument("--timeout", type=float, default=30.0, help="seconds a request may wait, queue and model, before 504 (default 30)")  # fmt: skip
    serve.add_argument("--api-key-file", help="a file holding one key: /v1/* and /metrics then need Authorization: Bearer KEY")  # fmt: skip
    serve.set_defaults(func=cmd_serve)
