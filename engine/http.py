"""The HTTP API: `POST /` (and `POST /api`) with one JSON request object.

The HTTP status follows the ret_code family (200 for 0, 400 for 1100, 404
for 2100, 409 for 5100 and 5200, and so on). The body is the same response
object the in-process client gets.
"""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine.engine import Engine
from engine.errors import BAD_REQUEST, HTTP_STATUS, LIMIT_EXCEEDED

log = logging.getLogger("engine.http")

#: Largest request body accepted, in bytes.
MAX_BODY_BYTES = 4 * 1024 * 1024


def error_body(action: str, ret_code: int, message: str) -> JSONResponse:
    body = {"action": action, "ret_code": ret_code, "message": message}
    return JSONResponse(body, status_code=HTTP_STATUS[ret_code])


def parse_body(raw: bytes) -> tuple[Any, str | None]:
    """Parse a request body into (object, None), or (None, message naming line and column)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, f"the request body is not UTF-8 (byte {error.start})"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as error:
        return None, f"the request body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"


def build_app(engine: Engine, *, on_startup: Callable[[], Awaitable[None]] | None = None,
              on_shutdown: Callable[[], Awaitable[None]] | None = None) -> Starlette:
    """Build the Starlette app serving `engine`. The hooks run inside the server's event loop."""

    async def api(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return error_body("Response", LIMIT_EXCEEDED, f"the request body is larger than {MAX_BODY_BYTES} bytes")
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY_BYTES:
                return error_body("Response", LIMIT_EXCEEDED, f"the request body is larger than {MAX_BODY_BYTES} bytes")

        payload, problem = parse_body(raw)
        if problem is not None:
            return error_body("Response", BAD_REQUEST, problem)

        client = request.client.host if request.client else "unknown"
        response = await engine.call(payload, owner=f"http:{client}")
        return JSONResponse(response, status_code=HTTP_STATUS.get(response["ret_code"], 500))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await engine.start()
        if on_startup is not None:
            await on_startup()
        try:
            yield
        finally:
            if on_shutdown is not None:
                await on_shutdown()
            await engine.stop()

    routes = [Route("/", api, methods=["POST"]), Route("/api", api, methods=["POST"])]
    return Starlette(routes=routes, lifespan=lifespan)
