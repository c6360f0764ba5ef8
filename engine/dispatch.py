"""Routing of API calls: (request_type, action) to a request model and a handler.

The dispatcher turns every outcome into a response object: the handler's
result, an ApiError's ret_code and message, a validation error naming the
field at fault (1100), or an internal error (5000) shown with a trace id
only, its details going to the engine log.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from pydantic import BaseModel, ValidationError

from engine.errors import BAD_REQUEST, INTERNAL_ERROR, ApiError

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("engine.dispatch")

Handler = Callable[["Engine", Any], Awaitable[dict[str, Any]]]

REQUEST_TYPES = ("QingCloud", "Node", "Job")


@dataclass(frozen=True)
class Route:
    request_type: str
    action: str
    model: type[BaseModel]
    handler: Handler
    changes_state: bool


ROUTES: dict[tuple[str, str], Route] = {}


def route(request_type: str, action: str, model: type[BaseModel], *, changes_state: bool) -> Callable[[Handler], Handler]:
    """Register a handler for an action."""

    def register(handler: Handler) -> Handler:
        ROUTES[(request_type, action)] = Route(request_type, action, model, handler, changes_state)
        return handler

    return register


def describe_validation_error(action: str, error: ValidationError, model: type[BaseModel] | None = None) -> str:
    """One sentence naming the first invalid parameter and what is accepted.

    The received value is left out when the parameter is a field of `model`
    marked repr=False (a password, a license code), so no secret is echoed.
    """
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "request"
    received = first.get("input")
    if first["type"] == "missing":
        return f"{action}: parameter '{where}' is missing"
    field = model.model_fields.get(str(first["loc"][0])) if model is not None and first["loc"] else None
    if field is not None and not field.repr:
        return f"{action}: parameter '{where}' is invalid ({first['msg']}); its value is secret and not shown"
    shown = repr(received)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"{action}: parameter '{where}' is invalid ({first['msg']}); received {shown}"


async def dispatch(engine: "Engine", request: Any, *, owner: str = "local") -> dict[str, Any]:
    """Carry out one call and return its response object."""
    action = request.get("action") if isinstance(request, dict) else None
    response_action = f"{action}Response" if isinstance(action, str) and action else "Response"

    try:
        found = _find_route(request)
        try:
            parsed = found.model.model_validate(request)
        except ValidationError as error:
            raise ApiError(BAD_REQUEST, describe_validation_error(found.action, error, found.model)) from None
        result = await found.handler(engine, parsed, owner=owner)
    except ApiError as error:
        return {"action": response_action, "ret_code": error.ret_code, "message": error.message}
    except Exception:
        trace_id = secrets.token_hex(6)
        log.exception("internal error in %s, trace id %s", action, trace_id)
        return {
            "action": response_action,
            "ret_code": INTERNAL_ERROR,
            "message": f"internal error while handling {action}; the engine log has trace id {trace_id}",
        }

    return {"action": response_action, **result, "ret_code": 0}


def _find_route(request: Any) -> Route:
    if not isinstance(request, dict):
        raise ApiError(BAD_REQUEST, "the request must be a JSON object with 'action' and 'request_type'")

    action = request.get("action")
    request_type = request.get("request_type")
    if not isinstance(action, str) or not action:
        raise ApiError(BAD_REQUEST, "parameter 'action' is missing; it names the API action, e.g. DescribeQingCloud")
    if not isinstance(request_type, str) or not request_type:
        raise ApiError(
            BAD_REQUEST,
            f"{action}: parameter 'request_type' is missing; use one of {', '.join(REQUEST_TYPES)}",
        )

    found = ROUTES.get((request_type, action))
    if found is not None:
        return found

    if request_type not in REQUEST_TYPES:
        raise ApiError(
            BAD_REQUEST, f"request_type '{request_type}' is unknown; use one of {', '.join(REQUEST_TYPES)}"
        )
    known = sorted(a for (t, a) in ROUTES if t == request_type)
    other = [t for (t, a) in ROUTES if a == action]
    if other:
        raise ApiError(BAD_REQUEST, f"action '{action}' belongs to request_type '{other[0]}', not '{request_type}'")
    raise ApiError(
        BAD_REQUEST, f"action '{action}' is unknown for request_type '{request_type}'; known: {', '.join(known)}"
    )
