"""The HTTP app of `coextract serve`: FastAPI on uvicorn.

FastAPI for the OpenAPI schema it writes from the request model and for its
place in the ecosystem; Starlette (underneath) and uvicorn are the common ASGI
toolkit and server, and uvicorn shuts down gracefully on SIGTERM: it stops
accepting, lets every accepted request finish, then runs the app's shutdown,
which answers whatever is still queued.

    POST /v1/extract  {"texts": [...]} or {"text": "..."}, optional "model"   (`protocol`)
    GET  /v1/models   GET /healthz   GET /readyz   GET /metrics   GET /openapi.json
"""

import asyncio
import logging
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from coextract.runtime.model_folder import tier
from coextract.runtime.tagger import Tagger
from coextract.serve.batcher import MicroBatcher, QueueFull
from coextract.serve.metrics import Metrics
from coextract.serve.protocol import (
    ExtractRequest,
    Problem,
    ServeSettings,
    answer,
    authorized,
    parse_request,
    problem_response,
    read_body,
)
from coextract.version import __version__

log = logging.getLogger("coextract.serve")
ENDPOINTS = {"/v1/extract", "/v1/models", "/healthz", "/readyz", "/metrics", "/openapi.json"}


def model_facts(name: str, tagger: Tagger) -> dict:
    """What GET /v1/models says of a model: its tier, dataset, outputs and its card's test F1."""
    scores = tagger.meta.get("onnx_scores", {}).get("test", {})
    return {
        "name": name,
        "tier": tier(tagger.meta),
        "dataset": tagger.meta.get("dataset"),
        "relations": tagger.relations,
        "test_f1": {side: scores[side]["f1"] for side in ("aspect", "opinion") if side in scores},
    }


def create_app(taggers: dict[str, Tagger], settings: ServeSettings = ServeSettings()) -> FastAPI:
    """The app serving `taggers` (name -> Tagger; the first is the default model)."""
    metrics, batchers, ready = Metrics(), {}, asyncio.Event()
    extracts = {"accepted": 0, "answered": 0}  # /v1/extract requests the app began and finished

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for name, tagger in taggers.items():
            batcher = MicroBatcher(tagger.tag_batch, settings.max_batch, settings.max_wait_ms / 1000,
                                   settings.max_queue, metrics.batch.labels(name).observe)  # fmt: skip
            await batcher.start()
            metrics.queue.labels(name).set_function(lambda batcher=batcher: batcher.depth)
            batchers[name] = batcher
        ready.set()
        yield
        ready.clear()
        await asyncio.gather(*(batcher.stop() for batcher in batchers.values()))
        log.info("stopped: %(accepted)d extract requests accepted, %(answered)d answered", extracts)

    app = FastAPI(title="coextract", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def measured(request: Request, call_next):
        """Metrics and one log line per request: method, path, status, time; never the review text."""
        start, path = time.perf_counter(), request.url.path if request.url.path in ENDPOINTS else "other"
        extracts["accepted"] += path == "/v1/extract"
        response = await call_next(request)
        seconds = time.perf_counter() - start
        extracts["answered"] += path == "/v1/extract"
        metrics.observe(path, response.status_code, seconds)
        log.info("%s %s %d %.1f ms", request.method, path, response.status_code, 1000 * seconds)
        return response

    schema = {"requestBody": {"required": True, "content": {"application/json": {"schema": ExtractRequest.model_json_schema()}}}}  # fmt: skip

    @app.post("/v1/extract", openapi_extra=schema)
    async def extract(request: Request) -> Response:
        """Tag one text or a list: the records `coextract tag` writes, one per text, in order."""
        try:
            authorized(request, settings)
            name, texts = parse_request(await read_body(request, settings.max_body_bytes), settings, taggers)
            futures = batchers[name].submit(texts)
        except QueueFull:
            return problem_response(Problem(503, "the server is busy: try again", {"Retry-After": "1"}))
        except Problem as problem:
            return problem_response(problem)
        try:
            extractions = await asyncio.wait_for(asyncio.gather(*futures), settings.timeout_s)
        except TimeoutError:
            return problem_response(Problem(504, f"not answered within {settings.timeout_s:g} s"))
        return Response(
            answer(name, texts, extractions, taggers[name].relations), media_type="application/json"
        )

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        try:
            authorized(request, settings)
        except Problem as problem:
            return problem_response(problem)
        return JSONResponse({"models": [model_facts(name, tagger) for name, tagger in taggers.items()]})

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        if ready.is_set():
            return JSONResponse({"status": "ready", "models": list(taggers)})
        return JSONResponse({"status": "not ready"}, 503)

    @app.get("/metrics")
    async def prometheus(request: Request) -> Response:
        try:
            authorized(request, settings)
        except Problem as problem:
            return problem_response(problem)
        return Response(metrics.text(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app
