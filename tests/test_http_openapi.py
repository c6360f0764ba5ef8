"""GET /openapi.json: a valid OpenAPI 3.1 document that describes every routed action."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import httpx
import jsonschema
import pytest

from engine.dispatch import ROUTES
from engine.engine import Engine
from engine.http import build_app
from engine.openapi import build_openapi

REF_PREFIX = "#/components/schemas/"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_openapi()


def references(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("$ref"), str):
                yield item["$ref"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def test_document_is_served_without_credentials(tmp_path):
    async def fetch() -> httpx.Response:
        engine = Engine(tmp_path / "state")
        transport = httpx.ASGITransport(app=build_app(engine, local_operator=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://installer.example") as client:
            return await client.get("/openapi.json")

    response = asyncio.run(fetch())

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["openapi"] == "3.1.0"


def test_every_route_has_request_and_response_schema(document):
    schemas = document["components"]["schemas"]
    request_mapping = schemas["ApiRequest"]["discriminator"]["mapping"]
    response_mapping = schemas["ApiResponse"]["discriminator"]["mapping"]

    for (request_type, action), route in ROUTES.items():
        request = schemas[f"{action}Request"]
        assert request_mapping[action] == f"{REF_PREFIX}{action}Request"
        assert response_mapping[f"{action}Response"] == f"{REF_PREFIX}{action}Response"
        assert request["properties"]["action"]["const"] == action
        assert request["properties"]["request_type"]["const"] == request_type
        assert request["x-changes-state"] is route.changes_state
        assert request["x-roles"] == (["admin"] if route.changes_state else ["admin", "viewer"])
        assert schemas[f"{action}Response"]["properties"]["action"]["const"] == f"{action}Response"
    assert len(schemas["ApiRequest"]["oneOf"]) == len(ROUTES)


def test_every_reference_resolves(document):
    schemas = document["components"]["schemas"]

    found = set(references(document))

    assert found, "the document has no references at all"
    for reference in found:
        assert reference.startswith(REF_PREFIX), reference
        assert reference[len(REF_PREFIX):] in schemas, reference


def test_every_schema_is_valid_json_schema(document):
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_document_passes_openapi_validator(document):
    validator = pytest.importorskip("openapi_spec_validator")

    validator.validate(document)


def test_secret_fields_are_write_only(document):
    schemas = document["components"]["schemas"]

    assert schemas["AddNodesRequest"]["properties"]["ssh_password"]["writeOnly"] is True
    assert schemas["ActivateQingCloudLicenseRequest"]["properties"]["license_code"]["format"] == "password"
    assert schemas["DescribeQingCloudRequest"]["properties"]["PASSWORD"]["writeOnly"] is True


def test_request_validates_against_document(document):
    request = {"action": "GetLog", "request_type": "QingCloud", "job_action": "DeployQingCloud", "offset": 3}
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/ApiRequest", "components": document["components"]}
    )

    assert validator.is_valid(request)
    assert not validator.is_valid({**request, "offset": -1})
    assert not validator.is_valid({**request, "request_type": "Node"})
    assert not validator.is_valid({**request, "action": "NoSuchAction"})
