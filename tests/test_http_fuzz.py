"""Hostile request bodies against the HTTP app in-process: every one gets a family answer, none a 5000.

The app runs on an engine with no nodes and no users (loopback requests act
as the local operator), so the fuzzed requests reach the dispatcher and the
handlers. AddNodes and ScanNodeHostKeys are sent only with an unusable
`nodes`, because a valid one would make the engine open SSH connections.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.dispatch import ROUTES
from engine.engine import Engine
from engine.http import MAX_BODY_BYTES, build_app

#: ret_codes the fuzzed requests may get; 1200 and 1400 cannot happen without users.
FAMILIES = {0, 1100, 2100, 2400, 5100, 5200}
REACHES_NETWORK = {"AddNodes", "ScanNodeHostKeys"}
ACTIONS = sorted({action for (_, action) in ROUTES} - REACHES_NETWORK)
FIELD_NAMES = sorted({name for route in ROUTES.values() for name in route.model.model_fields})

HOSTILE_BODIES = [
    b"",
    b"   ",
    b"null",
    b"[]",
    b'"DescribeQingCloud"',
    b"\xef\xbb\xbf{}",
    b"\xff\xfe{\x00}\x00",
    b'{"action": "DescribeQingCloud", "request_type": "QingCloud"',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b'{"action": "GetLog", "request_type": "QingCloud", "job_action": "x", "offset": ' + b"9" * 5_000 + b"}",
    b'{"action": "GetLog", "request_type": "QingCloud", "job_action": "x", "offset": 9223372036854775808}',
    b'{"action": "GetLog", "request_type": "QingCloud", "job_action": "x", "offset": 9223372036854775807}',
    b'{"action": "GetLog", "request_type": "QingCloud", "job_action": "x", "limit": 1e400}',
    b'{"action": "DescribeQingCloud", "request_type": "QingCloud", "x": NaN}',
    b'{"action": "DescribeQingCloud", "request_type": "QingCloud", "x": -Infinity}',
    b'{"action": "\\ud800", "request_type": "QingCloud"}',
    b'{"action": "DescribeNodes", "request_type": "Node", "zone_id": "\\udfff\\ud800"}',
    b'{"action": "DescribeNodes", "request_type": "Node", "node_ids": ["\\u0000"]}',
    b'{"action": "GetStatus", "request_type": "QingCloud", "job_action": "' + b"A" * 1_000_000 + b'"}',
    b'{"action": "' + b"A" * 100_000 + b'", "request_type": "QingCloud"}',
    b'{"action": {"nested": true}, "request_type": ["QingCloud"]}',
    b'{"action": "DescribeQingCloud", "request_type": "QingCloud", "action": "ConfigQingCloud"}',
    b'{"action": "AddNodes", "request_type": "Node", "nodes": "127.0.0.1"}',
    b'{"action": "AddNodes", "request_type": "Node", "nodes": [], "ssh_password": 7}',
    b'{"action": "ConfigQingCloud", "request_type": "QingCloud", "config": {"pek3a": {"variables": 1}}}',
    b'{"action": "ConfigQingCloud", "request_type": "QingCloud", "config": {"\\u4e2d\\u6587": {}}}',
    b'{"action": "DescribeJobs", "request_type": "Job", "job_ids": [' + b'"j-00000000",' * 10_000 + b'"j-1"]}',
]

json_leaves = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=16,
)


@st.composite
def api_requests(draw) -> dict[str, Any]:
    """A request object with a real or made-up action and random parameters of the real field names."""
    action = draw(st.sampled_from(ACTIONS) | st.sampled_from(["", "describeqingcloud", "Nope"]) | st.text(max_size=20))
    request: dict[str, Any] = {"action": action}
    if draw(st.booleans()):
        request["request_type"] = draw(st.sampled_from(["QingCloud", "Node", "Job", "Bogus", ""]) | json_values)
    params = draw(st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=12), json_values, max_size=6))
    request.update({key: value for key, value in params.items() if key not in ("action", "request_type")})
    return request


@st.composite
def hostile_bodies(draw) -> tuple[bytes, str | None]:
    """A body and its Content-Type header (None: no header)."""
    kind = draw(st.sampled_from(["request", "request", "request", "json", "bytes", "crafted"]))
    if kind == "request":
        body = json.dumps(draw(api_requests())).encode("utf-8")
    elif kind == "json":
        body = json.dumps(draw(json_values)).encode("utf-8")
    elif kind == "bytes":
        body = draw(st.binary(max_size=200))
    else:
        body = draw(st.sampled_from(HOSTILE_BODIES))
    content_type = draw(st.sampled_from(
        ["application/json"] * 6 + ["application/json; charset=utf-8", "text/plain", "multipart/form-data", None]
    ))
    return body, content_type


class InProcessApi:
    """The ASGI app on its own event loop, called synchronously from the test."""

    def __init__(self, state_dir) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = Engine(state_dir)
        app = build_app(self.engine)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8750", timeout=60)
        self.loop.run_until_complete(self.engine.start())

    def post(self, body: bytes, content_type: str | None) -> httpx.Response:
        headers = {"Content-Type": content_type} if content_type else {}
        return self.loop.run_until_complete(self.http.post("/", content=body, headers=headers))

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.run_until_complete(self.engine.stop())
        self.loop.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[InProcessApi]:
    served = InProcessApi(tmp_path_factory.mktemp("fuzz") / "state")
    yield served
    served.close()


def check_family_answer(response: httpx.Response, body: bytes) -> dict[str, Any]:
    assert response.status_code != 500, response.text[:300]
    answer = response.json()
    assert isinstance(answer["action"], str)
    assert answer["ret_code"] in FAMILIES, (body[:200], answer)
    if answer["ret_code"] != 0:
        assert answer["message"], answer
    return answer


@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=range(len(HOSTILE_BODIES)))
def test_crafted_hostile_body_gets_family_answer(api, body):
    check_family_answer(api.post(body, "application/json"), body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(sample=hostile_bodies())
def test_fuzzed_body_gets_family_answer(api, sample):
    body, content_type = sample

    answer = check_family_answer(api.post(body, content_type), body)

    # The HTTP layer responds with action "Response" to bodies it rejects before reading the action.
    if answer["action"] != "Response":
        assert answer["action"] == json.loads(body)["action"] + "Response"
    else:
        assert answer["ret_code"] in (1100, 2400), answer


def test_app_keeps_serving_after_hostile_bodies(api):
    for body in HOSTILE_BODIES:
        api.post(body, "application/json")

    described = api.post(b'{"action": "DescribeQingCloud", "request_type": "QingCloud"}', "application/json")

    assert described.status_code == 200
    assert described.json()["ret_code"] == 0


def test_oversized_body_gets_2400(api):
    body = b'{"action": "DescribeQingCloud", "request_type": "QingCloud", "x": "' + b"a" * MAX_BODY_BYTES + b'"}'

    answer = check_family_answer(api.post(body, "application/json"), body[:100])

    assert answer["ret_code"] == 2400
    assert str(MAX_BODY_BYTES) in answer["message"]


def test_wrong_content_type_gets_1100(api):
    body = b'{"action": "DescribeQingCloud", "request_type": "QingCloud"}'

    plain = api.post(body, "text/plain").json()
    missing = api.post(body, None).json()

    assert plain["ret_code"] == 1100
    assert "text/plain" in plain["message"]
    assert missing["ret_code"] == 1100
    assert "application/json" in missing["message"]


def test_malformed_json_names_line_and_column(api):
    answer = api.post(b'{\n  "action": "DescribeQingCloud",\n  "request_type" "QingCloud"\n}', "application/json")

    assert answer.json()["ret_code"] == 1100
    assert "line 3 column 18" in answer.json()["message"]
