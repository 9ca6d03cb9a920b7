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


EXTRACT_SCHEMA = {"requestBody": {"required": True, "content": {"application/json": {"schema": ExtractRequest.model_json_schema()}}}}  # fmt: skip


class Service:
    """The models, their batchers and the metrics behind the app's routes."""

    def __init__(self, taggers: dict[str, Tagger], settings: ServeSettings):
        self.taggers, self.settings = taggers, settings
        self.metrics, self.batchers, self.ready = Metrics(), {}, asyncio.Event()
        self.extracts = {"accepted": 0, "answered": 0}  # /v1/extract requests the app began and finished

    @asynccontextmanager
    async def lifespan(self, app: FastAPI):
        """Start a batcher per model (each warmed up) and become ready; at shutdown, answer what is queued."""
        for name, tagger in self.taggers.items():
            batcher = MicroBatcher(tagger.tag_batch, self.settings.max_batch, self.settings.max_wait_ms / 1000,
                                   self.settings.max_queue, self.metrics.batch.labels(name).observe)  # fmt: skip
            await batcher.start()
            self.metrics.queue.labels(name).set_function(lambda batcher=batcher: batcher.depth)
            self.batchers[name] = batcher
        self.ready.set()
        yield
        self.ready.clear()
        await asyncio.gather(*(batcher.stop() for batcher in self.batchers.values()))
        log.info("stopped: %(accepted)d extract requests accepted, %(answered)d answered", self.extracts)

    async def extract(self, request: Request) -> Response:
        """Tag one text or a list: the records `coextract tag` writes, one per text, in order."""
        try:
            authorized(request, self.settings)
            body = await read_body(request, self.settings.max_body_bytes)
            name, texts = parse_request(body, self.settings, self.taggers)
            futures = self.batchers[name].submit(texts)
        except QueueFull:
            return problem_response(Problem(503, "the server is busy: try again", {"Retry-After": "1"}))
        except Problem as problem:
            return problem_response(problem)
        try:
            extractions = await asyncio.wait_for(asyncio.gather(*futures), self.settings.timeout_s)
        except TimeoutError:
            return problem_response(Problem(504, f"not answered within {self.settings.timeout_s:g} s"))
        body = answer(name, texts, extractions, self.taggers[name].relations)
        return Response(body, media_type="application/json")

    async def models(self, request: Request) -> Response:
        """The models served: name, tier, dataset, whether they give pairs, their cards' test F1."""
        try:
            authorized(request, self.settings)
        except Problem as problem:
            return problem_response(problem)
        return JSONResponse({"models": [model_facts(name, tagger) for name, tagger in self.taggers.items()]})

    async def readyz(self) -> Response:
        """Ready once every model is loaded and warm; not while starting or stopping."""
        if self.ready.is_set():
            return JSONResponse({"status": "ready", "models": list(self.taggers)})
        return JSONResponse({"status": "not ready"}, 503)

    async def prometheus(self, request: Request) -> Response:
        try:
            authorized(request, self.settings)
        except Problem as problem:
            return problem_response(problem)
        return Response(self.metrics.text(), media_type="text/plain; version=0.0.4; charset=utf-8")


class Measured:
    """ASGI middleware: metrics and one log line per request (method, path, status, time; never the
    review text). Plain ASGI rather than Starlette's `BaseHTTPMiddleware`, which costs every request
    an extra task and stream."""

    def __init__(self, app, service: Service):
        self.app, self.service = app, service

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), 500
        path = scope["path"] if scope["path"] in ENDPOINTS else "other"
        extract = path == "/v1/extract"

        async def sending(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.service.extracts["accepted"] += extract
        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - start
            self.service.extracts["answered"] += extract
            self.service.metrics.observe(path, status, seconds)
            log.info("%s %s %d %.1f ms", scope["method"], path, status, 1000 * seconds)


async def healthz() -> dict:
    """The process is up (it may still be loading: see /readyz)."""
    return {"status": "ok"}


def create_app(taggers: dict[str, Tagger], settings: ServeSettings | None = None) -> FastAPI:
    """The app serving `taggers` (name -> Tagger; the first is the default model)."""
    service = Service(taggers, settings or ServeSettings())
    app = FastAPI(
        title="coextract", version=__version__, lifespan=service.lifespan, docs_url=None, redoc_url=None
    )
    app.add_middleware(Measured, service=service)
    app.post("/v1/extract", openapi_extra=EXTRACT_SCHEMA)(service.extract)
    app.get("/v1/models")(service.models)
    app.get("/healthz")(healthz)
    app.get("/readyz")(service.readyz)
    app.get("/metrics")(service.prometheus)
    return app
