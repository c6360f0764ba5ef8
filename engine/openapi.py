"""The API's OpenAPI 3.1 description, generated from the routes' pydantic models.

Every action is a call to the same operation, `POST /` (or `POST /api`),
so the document has one operation whose request body is a `oneOf` of one
schema per action, told apart by the `action` property (an OpenAPI
discriminator); the success response is the matching `oneOf` keyed by
`<action>Response`. Each action's request schema carries:

- `action` and `request_type` as constants,
- `x-request-type`, `x-changes-state`, `x-roles` (who may call it) and
  `x-available` (false for actions this version answers with 5200),
- `writeOnly` and `format: password` on secret fields (repr=False).

An action whose module defines no `<Name>Response` model is described by
the generic `Response` schema with its `action` constant.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from engine import __version__
from engine.dispatch import ROUTES, Route
from engine.errors import HTTP_STATUS
from engine.models.common import ErrorResponse, Response

REF_PREFIX = "#/components/schemas/"

DESCRIPTION = """\
Every call is one JSON object sent with `POST /` (or `POST /api`) and
`Content-Type: application/json`. It names the `action` and its
`request_type`, and carries `USER_ID` and `PASSWORD`, the base64 of the
user's password. `ret_code` in the response is 0 on success, else an error
family: 1100 malformed request, 1200 authentication failed, 1400 permission
denied, 2100 not found, 2400 limit exceeded, 5000 internal error, 5100 busy,
5200 wrong state. Users are added on the server with
`qc-installer user add NAME --role admin|viewer`. A viewer may run only the
actions whose schema says `x-changes-state: false`. While the server has no
users and listens on loopback, calls from loopback need no credentials.
"""

_STATUS_MEANINGS = {
    400: "1100: malformed request (bad JSON, unknown action, missing or invalid parameter).",
    401: "1200: authentication failed, or too many failed attempts (Retry-After says how long to wait).",
    403: "1400: permission denied; the user's role may not run this action.",
    404: "2100: a job, zone, node, license, test case, file or segment was not found.",
    409: "2400 limit exceeded, 5100 busy, or 5200 wrong state.",
    500: "5000: internal error; the message has a trace id to find in the engine log.",
}


def response_model(route: Route) -> type[BaseModel] | None:
    """Return the `<Name>Response` model beside the route's `<Name>Request` model, if there is one."""
    name = route.model.__name__
    if not name.endswith("Request"):
        return None
    module = sys.modules.get(route.model.__module__)
    found = getattr(module, name[: -len("Request")] + "Response", None)
    if isinstance(found, type) and issubclass(found, BaseModel):
        return found
    return None


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF_PREFIX + name}


def _ref_name(reference: dict[str, Any]) -> str:
    return reference["$ref"][len(REF_PREFIX):]


def _mark_secrets(schema: dict[str, Any], model: type[BaseModel]) -> None:
    properties = schema.get("properties", {})
    for name, field in model.model_fields.items():
        key = field.alias or name
        if not field.repr and key in properties:
            properties[key]["writeOnly"] = True
            properties[key]["format"] = "password"


def _request_schema(base: dict[str, Any], route: Route) -> dict[str, Any]:
    schema = copy.deepcopy(base)
    properties = schema.setdefault("properties", {})
    properties["action"] = {"type": "string", "const": route.action, "description": "API action."}
    properties["request_type"] = {"type": "string", "const": route.request_type, "description": "Request type."}
    schema["required"] = sorted(set(schema.get("required", [])) | {"action", "request_type"})
    schema["title"] = f"{route.action}Request"
    schema["description"] = _route_description(route)
    _mark_secrets(schema, route.model)
    schema["x-request-type"] = route.request_type
    schema["x-changes-state"] = route.changes_state
    schema["x-roles"] = ["admin"] if route.changes_state else ["admin", "viewer"]
    return schema


def _route_description(route: Route) -> str:
    doc = (route.model.__doc__ or "").strip()
    inherited = doc in {(parent.__doc__ or "").strip() for parent in route.model.__mro__[1:]}
    lines = [] if not doc or inherited else [doc]
    if route.changes_state:
        lines.append("Changes state: only admin users may call it, and the call is written to the audit log.")
    else:
        lines.append("Changes nothing: admin and viewer users may call it.")
    return " ".join(lines)


def _response_schema(base: dict[str, Any] | None, route: Route) -> dict[str, Any]:
    constant = {"type": "string", "const": f"{route.action}Response", "description": "The request's action plus 'Response'."}
    if base is None:
        return {
            "title": f"{route.action}Response",
            "allOf": [_ref("Response")],
            "properties": {"action": constant},
            "required": ["action", "ret_code"],
        }
    schema = copy.deepcopy(base)
    schema.setdefault("properties", {})["action"] = constant
    schema["title"] = f"{route.action}Response"
    return schema


def build_openapi(routes: dict[tuple[str, str], Route] | None = None) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of `routes` (default: every registered route)."""
    routes = ROUTES if routes is None else routes
    ordered = [routes[key] for key in sorted(routes, key=lambda key: (key[1], key[0]))]
    responses = {route.action: response_model(route) for route in ordered}

    inputs: list[tuple[type[BaseModel], Any]] = [(route.model, "validation") for route in ordered]
    outputs = [(model, "serialization") for model in responses.values() if model is not None]
    outputs += [(Response, "serialization"), (ErrorResponse, "serialization")]
    key_map, generated = models_json_schema(list(dict.fromkeys(inputs + outputs)), ref_template=REF_PREFIX + "{model}")
    schemas: dict[str, Any] = generated.get("$defs", {})

    request_refs: dict[str, dict[str, str]] = {}
    response_refs: dict[str, dict[str, str]] = {}
    for route in ordered:
        request_name = f"{route.action}Request"
        model_name = _ref_name(key_map[(route.model, "validation")])
        schemas[request_name] = _request_schema(schemas[model_name], route)
        request_refs[route.action] = _ref(request_name)

        response_name = f"{route.action}Response"
        model = responses[route.action]
        base = schemas[_ref_name(key_map[(model, "serialization")])] if model is not None else None
        schemas[response_name] = _response_schema(base, route)
        response_refs[response_name] = _ref(response_name)

    schemas["ApiRequest"] = {
        "title": "ApiRequest",
        "description": "One call: the schema is chosen by `action`.",
        "oneOf": list(request_refs.values()),
        "discriminator": {"propertyName": "action",
                          "mapping": {action: ref["$ref"] for action, ref in request_refs.items()}},
    }
    schemas["ApiResponse"] = {
        "title": "ApiResponse",
        "description": "A successful call's response (ret_code 0): the schema is chosen by `action`.",
        "oneOf": list(response_refs.values()),
        "discriminator": {"propertyName": "action",
                          "mapping": {name: ref["$ref"] for name, ref in response_refs.items()}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "qingcloud-installer API", "version": __version__, "description": DESCRIPTION},
        "paths": {
            "/": {"post": _call_operation("call")},
            "/api": {"post": _call_operation("callApi")},
            "/openapi.json": {"get": {
                "operationId": "getOpenApi",
                "summary": "This document. Needs no credentials.",
                "responses": {"200": {"description": "The OpenAPI document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
        },
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def _call_operation(operation_id: str) -> dict[str, Any]:
    error_statuses = sorted({status for code, status in HTTP_STATUS.items() if code != 0})
    responses: dict[str, Any] = {
        "200": {"description": "ret_code 0: the action's response.",
                "content": {"application/json": {"schema": _ref("ApiResponse")}}},
    }
    for status in error_statuses:
        responses[str(status)] = {
            "description": _STATUS_MEANINGS.get(status, "An error response."),
            "content": {"application/json": {"schema": _ref("ErrorResponse")}},
        }
    return {
        "operationId": operation_id,
        "summary": "Run one API action.",
        "description": "The body's `action` and `request_type` choose the action; see ApiRequest.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ApiRequest")}}},
        "responses": responses,
    }
