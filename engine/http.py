"""The HTTP API: `POST /` (and `POST /api`) with one JSON request object, and `GET /openapi.json`.

A call goes through these checks before it reaches the dispatcher, each
answered with a response object (never an HTML page or a traceback):

1. body size: at most MAX_BODY_BYTES, else 2400;
2. Content-Type application/json, else 1100. Browsers cannot send that
   type across origins without a CORS preflight, which this server never
   grants, so a web page cannot drive a local installer;
3. JSON: UTF-8, a JSON object, no NaN or Infinity, integers within 64
   bits, nesting at most MAX_NESTING_DEPTH, no lone surrogates; else 1100
   naming the line and column where the parser gives one;
4. credentials (engine.auth.gate): 1200;
5. role: a viewer calling an action that changes state gets 1400.

Calls of actions that change state, and failed password checks, go to audit.log.
PASSWORD is removed from the request before the dispatcher sees it.
The HTTP status follows the ret_code family (200 for 0, 400 for 1100, 401
for 1200, and so on).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import secrets
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.auth.audit import AuditLog, audit_parameters
from engine.auth.backoff import LoginBackoff
from engine.auth.gate import Caller, Gate, LoginFailed, authorize
from engine.auth.users import Users
from engine.dispatch import ROUTES
from engine.engine import Engine
from engine.errors import BAD_REQUEST, HTTP_STATUS, INTERNAL_ERROR, LIMIT_EXCEEDED, ApiError

log = logging.getLogger("engine.http")

#: Largest request body accepted, in bytes.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Deepest nesting of arrays and objects accepted; the reference's configurations nest about 6 deep.
MAX_NESTING_DEPTH = 64

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_RESPONSE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class _NumberError(ValueError):
    """A JSON number this API does not accept."""


def _parse_int(text: str) -> int:
    # Checking the length first keeps int() from converting thousands of digits.
    if len(text.lstrip("-")) > 19 or not _INT64_MIN <= int(text) <= _INT64_MAX:
        shown = text if len(text) <= 30 else text[:27] + "..."
        raise _NumberError(f"the request body has the integer {shown}, outside the 64-bit range")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NumberError(f"the request body has the number {text[:30]}, too large for a 64-bit float")
    return value


def _parse_constant(name: str) -> Any:
    raise _NumberError(f"the request body has {name}, which is not valid JSON; send a number or null")


def _check_structure(payload: Any) -> None:
    """Raise a 1100 ApiError when the payload nests too deeply or holds a lone surrogate."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_NESTING_DEPTH:
            raise ApiError(BAD_REQUEST, f"the request body nests arrays and objects more than {MAX_NESTING_DEPTH} deep")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ApiError(
            BAD_REQUEST,
            f"the request body has a string with a lone surrogate (\\u{ord(text[error.start]):04x}); "
            "escape characters outside the BMP as surrogate pairs",
        ) from None


def parse_body(raw: bytes) -> Any:
    """Return the JSON value of a request body; raises a 1100 ApiError that names line and column."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(BAD_REQUEST, f"the request body is not UTF-8 (byte {error.start})") from None

    try:
        payload = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except json.JSONDecodeError as error:
        raise ApiError(
            BAD_REQUEST,
            f"the request body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
        ) from None
    except _NumberError as error:
        raise ApiError(BAD_REQUEST, str(error)) from None
    except RecursionError:
        raise ApiError(
            BAD_REQUEST, f"the request body nests arrays and objects more than {MAX_NESTING_DEPTH} deep"
        ) from None

    _check_structure(payload)
    return payload


def check_content_type(header: str | None) -> None:
    media_type = (header or "").split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return
    received = f"'{header[:60]}'" if header else "missing"
    raise ApiError(
        BAD_REQUEST, f"the request's Content-Type is {received}; send the JSON object with Content-Type: application/json"
    )


def is_loopback_host(host: str) -> bool:
    """Return whether a host (address or name, IPv6 with or without brackets) is loopback."""
    host = host.strip().strip("[]")
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_header_is_loopback(header: str | None) -> bool:
    """Return whether the Host header names a loopback host, which a DNS rebinding page cannot send."""
    if not header:
        return False
    if header.startswith("["):
        return is_loopback_host(header[1:header.find("]")] if "]" in header else header)
    name, _, port = header.rpartition(":")
    if name and port.isdigit():
        header = name
    return is_loopback_host(header)


def response_action(payload: Any) -> str:
    action = payload.get("action") if isinstance(payload, dict) else None
    return f"{action}Response" if isinstance(action, str) and action else "Response"


def render(body: dict[str, Any], *, headers: dict[str, str] | None = None) -> Response:
    """Return the JSON response for a response object, its HTTP status from the ret_code family."""
    status = HTTP_STATUS.get(body.get("ret_code"), 500)
    try:
        content = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate from a node's output cannot be UTF-8; \u escapes keep the JSON valid.
        content = json.dumps(body, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")
    return Response(content, status_code=status, media_type="application/json",
                     headers={**_RESPONSE_HEADERS, **(headers or {})})


def error_body(action: str, ret_code: int, message: str) -> Response:
    return render({"action": action, "ret_code": ret_code, "message": message})


def internal_error(action: str, error: BaseException) -> Response:
    """Log an unexpected exception with a trace id and return a 5000 response that shows only the id."""
    trace_id = secrets.token_hex(6)
    log.error("internal error in the HTTP layer for %s, trace id %s", action, trace_id, exc_info=error)
    return error_body(action, INTERNAL_ERROR,
                      f"internal error while handling {action}; the engine log has trace id {trace_id}")


async def read_body(request: Request) -> bytes:
    too_large = ApiError(LIMIT_EXCEEDED, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def build_app(engine: Engine, *, local_operator: bool = True, backoff: LoginBackoff | None = None,
              on_startup: Callable[[], Awaitable[None]] | None = None,
              on_shutdown: Callable[[], Awaitable[None]] | None = None) -> Starlette:
    """Build the Starlette app serving `engine`. The hooks run inside the server's event loop.

    local_operator lets loopback requests through without credentials while
    the database has no users; `serve` sets it only when it listens on loopback.
    """
    audit = AuditLog(engine.layout.root / "audit.log")
    gate = Gate(Users(engine.layout.database), audit, local_operator=local_operator, backoff=backoff)
    openapi_document: dict[str, Any] = {}

    async def call(request: Request, source: str) -> Response:
        try:
            raw = await read_body(request)
            check_content_type(request.headers.get("content-type"))
            payload = parse_body(raw)
        except ApiError as error:
            return error_body("Response", error.ret_code, error.message)
        action = response_action(payload)
        if not isinstance(payload, dict):
            return error_body(action, BAD_REQUEST, "the request must be a JSON object with 'action' and 'request_type'")

        local_request = is_loopback_host(source) and host_header_is_loopback(request.headers.get("host"))
        try:
            caller = await gate.identify(payload, source, local_request=local_request)
        except LoginFailed as failed:
            headers = {"Retry-After": str(failed.retry_after)} if failed.retry_after else None
            return render({"action": action, "ret_code": failed.ret_code, "message": failed.message}, headers=headers)

        found = None
        if isinstance(payload.get("request_type"), str) and isinstance(payload.get("action"), str):
            found = ROUTES.get((payload["request_type"], payload["action"]))
        payload.pop("PASSWORD", None)
        try:
            if found is not None:
                authorize(caller, found.action, found.changes_state)
            response = await engine.call(payload, owner=caller.owner)
        except ApiError as denied:
            response = {"action": action, "ret_code": denied.ret_code, "message": denied.message}

        if found is not None and found.changes_state:
            write_audit(caller, payload, found.model, response)
        return render(response)

    def write_audit(caller: Caller, payload: dict[str, Any], model: Any, response: dict[str, Any]) -> None:
        audit.write(user=caller.user_id, source=caller.source, action=payload.get("action"),
                    request_type=payload.get("request_type"), ret_code=response.get("ret_code", INTERNAL_ERROR),
                    job_id=response.get("job_id"), parameters=audit_parameters(payload, model))

    async def api(request: Request) -> Response:
        source = request.client.host if request.client else "unknown"
        try:
            return await call(request, source)
        except Exception as error:
            return internal_error("Response", error)

    async def openapi(request: Request) -> Response:
        if not openapi_document:
            from engine.openapi import build_openapi

            openapi_document.update(build_openapi())
        return Response(json.dumps(openapi_document, ensure_ascii=False).encode("utf-8"),
                        media_type="application/json", headers={"X-Content-Type-Options": "nosniff"})

    async def http_error(request: Request, error: Exception) -> Response:
        status = error.status_code if isinstance(error, HTTPException) else 500
        message = (f"{request.method} {request.url.path} is not served; send POST / with a JSON request object, "
                   "and see GET /openapi.json for the actions")
        response = error_body("Response", BAD_REQUEST, message)
        response.status_code = status
        if isinstance(error, HTTPException) and error.headers:
            response.headers.update(error.headers)
        return response

    async def unexpected_error(request: Request, error: Exception) -> Response:
        return internal_error("Response", error)

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

    routes = [
        Route("/", api, methods=["POST"]),
        Route("/api", api, methods=["POST"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, Exception: unexpected_error})
    app.state.gate = gate
    return app
