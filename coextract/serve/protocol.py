"""What `coextract serve` reads and writes: its settings, the extract request and its checks, the
answer's bytes, and the `Problem` every refusal is.

An answer's results are the records `coextract tag` writes (`corpus.writers.output_record`),
one per text in order, `id` its position in the request; each record's bytes are what `tag`
would write for that text. Every refusal is a 4xx/5xx with a JSON {"error": ...} that says
what to change.
"""

import hmac
import json
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from coextract.corpus.readers import Record, has_surrogates
from coextract.corpus.writers import OutputFields, output_record


@dataclass(frozen=True)
class ServeSettings:
    """The server's limits and batching; `coextract serve --help` documents each."""

    max_batch: int = 64  # texts per onnxruntime batch
    max_wait_ms: float = 0.0  # how long a free model waits for a fuller batch (0: under load, batches
    # fill while the model works on the previous one; a wait only delays a lone request)
    max_queue: int = 4096  # texts waiting per model; beyond it, 503
    max_texts: int = 256  # texts per request; beyond it, 413
    max_chars: int = 50_000  # characters per text; beyond it, 413
    max_body_bytes: int = 4 << 20  # request body; beyond it, 413
    timeout_s: float = 30.0  # per request, queue and model; beyond it, 504
    api_key: str | None = None  # when set, /v1/* and /metrics need `Authorization: Bearer <key>`


class ExtractRequest(BaseModel):
    """One text or a list of texts, for one model (default: the first the server loaded)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    text: str | None = None
    texts: list[str] | None = None
    model: str | None = None


class Problem(Exception):
    """An answer other than 200: its status, message and headers."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse({"error": problem.message}, problem.status, headers=problem.headers)


def authorized(request: Request, settings: ServeSettings) -> None:
    if settings.api_key is None:
        return
    given = request.headers.get("authorization", "")
    expected = f"Bearer {settings.api_key}"
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
        raise Problem(
            401, "missing or wrong API key: send Authorization: Bearer <key>", {"WWW-Authenticate": "Bearer"}
        )


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is longer than `limit` (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Problem(413, f"request body of {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Problem(413, f"request body over {limit} bytes")
    return bytes(body)


def parse_request(body: bytes, settings: ServeSettings, models) -> tuple[str, list[str]]:
    """(model name, texts) of an extract request, or the Problem that says what is wrong with it."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise Problem(400, f"the body is not JSON ({err})") from None
    try:
        request = ExtractRequest.model_validate(payload)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise Problem(422, f"{field}: {first['msg']}") from None
    if (request.text is None) == (request.texts is None):
        raise Problem(422, 'give exactly one of "text" (a string) or "texts" (a list of strings)')
    texts = [request.text] if request.texts is None else request.texts
    name = request.model or next(iter(models))
    if name not in models:
        raise Problem(404, f"no model {name!r} here; loaded: {', '.join(models)}")
    if len(texts) > settings.max_texts:
        raise Problem(413, f"{len(texts)} texts; the limit is {settings.max_texts} per request")
    for i, text in enumerate(texts):
        if len(text) > settings.max_chars:
            raise Problem(413, f"texts.{i}: {len(text)} characters; the limit is {settings.max_chars}")
        if has_surrogates(text):
            raise Problem(422, f"texts.{i}: holds a lone surrogate (\\ud800-\\udfff), which is not text")
    return name, texts


def answer(name: str, texts: list[str], extractions, relations: bool) -> bytes:
    """The 200 body: each record serialized exactly as `coextract tag` writes it."""
    fields = OutputFields(relations=relations)
    records = [
        json.dumps(output_record(Record("request", i, i, text), extraction, fields), ensure_ascii=False)
        for i, (text, extraction) in enumerate(zip(texts, extractions, strict=True))
    ]
    return f'{{"model": {json.dumps(name)}, "results": [{", ".join(records)}]}}'.encode()
