"""Logins through the HTTP app in-process: backoff with a controlled clock, hostile credentials, changed users.

The app is the real Starlette app with real password hashes; only the
backoff's clock is a fake, so lockouts can be crossed without waiting.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest

from engine.auth import passwords
from engine.auth.backoff import LoginBackoff
from engine.auth.users import Users
from engine.engine import Engine
from engine.http import build_app

ADMIN_PASSWORD = "admin-password-1"
GENERIC = "authentication failed: send USER_ID and PASSWORD"


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def encode(password: str) -> str:
    return base64.b64encode(password.encode("utf-8")).decode("ascii")


class Installer:
    """An engine with an admin user, its app, and a fake clock for the backoff."""

    def __init__(self, state_dir) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = Engine(state_dir)
        self.users = Users(self.engine.layout.database)
        self.users.add("admin", "admin", ADMIN_PASSWORD)
        self.clock = FakeClock()
        self.app = build_app(self.engine, backoff=LoginBackoff(clock=self.clock))

    def post(self, request: dict[str, Any], source: str = "127.0.0.1") -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=(source, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8750") as client:
                return await client.post("/", json=request)

        return self.loop.run_until_complete(send())

    def describe(self, user_id: Any, password: Any, source: str = "127.0.0.1") -> httpx.Response:
        request = {"action": "DescribeQingCloud", "request_type": "QingCloud", "USER_ID": user_id, "PASSWORD": password}
        return self.post(request, source)

    def close(self) -> None:
        self.loop.run_until_complete(self.engine.stop())
        self.loop.close()


@pytest.fixture
def installer(tmp_path, monkeypatch):
    # Each hash stores its own cost, so a cheaper one exercises the same checks in less time.
    monkeypatch.setattr(passwords, "SCRYPT_N", 2**10)
    made = Installer(tmp_path / "state")
    yield made
    made.close()


def test_repeated_failures_lock_out_even_right_password(installer):
    wrong = [installer.describe("admin", encode(f"guess-{index}")).json() for index in range(4)]

    locked = installer.describe("admin", encode(ADMIN_PASSWORD))

    assert all(answer["ret_code"] == 1200 for answer in wrong)
    assert all(answer["message"].startswith(GENERIC) for answer in wrong)
    assert locked.status_code == 401
    assert locked.json()["message"] == "authentication failed: too many failed attempts; try again in 1 s"
    assert locked.headers["Retry-After"] == "1"


def test_lockout_ends_and_success_resets_user(installer):
    for index in range(4):
        installer.describe("admin", encode(f"guess-{index}"))

    installer.clock.now += 2
    success = installer.describe("admin", encode(ADMIN_PASSWORD)).json()
    after_reset = [installer.describe("admin", encode(f"again-{index}")).json() for index in range(3)]

    assert success["ret_code"] == 0
    assert all(answer["message"].startswith(GENERIC) for answer in after_reset), "success must reset the count"


def test_lockout_doubles_with_each_further_failure(installer):
    for index in range(3):
        installer.describe("admin", encode(f"free-{index}"))

    waits = []
    for index in range(4):
        installer.describe("admin", encode(f"guess-{index}"))
        message = installer.describe("admin", encode(ADMIN_PASSWORD)).json()["message"]
        wait = int(message.rsplit("try again in ", 1)[1].removesuffix(" s"))
        waits.append(wait)
        installer.clock.now += wait

    assert waits == [1, 2, 4, 8]


def test_locked_user_does_not_lock_others(installer):
    installer.users.add("viewer", "viewer", "viewer-password")
    for index in range(4):
        installer.describe("admin", encode(f"guess-{index}"), source="127.0.0.7")

    other = installer.describe("viewer", encode("viewer-password"), source="127.0.0.8").json()

    assert other["ret_code"] == 0


def test_failing_address_is_locked_for_every_user(installer):
    for index in range(11):
        installer.describe(f"made-up-{index}", encode("whatever"), source="127.0.0.9")

    locked = installer.describe("admin", encode(ADMIN_PASSWORD), source="127.0.0.9").json()
    elsewhere = installer.describe("admin", encode(ADMIN_PASSWORD), source="127.0.0.10").json()

    assert "try again in" in locked["message"]
    assert elsewhere["ret_code"] == 0


@pytest.mark.parametrize("user_id, password", [
    ("admin", 12345),
    ("admin", ["cGFzcw=="]),
    ("admin", {"b64": "cGFzcw=="}),
    ("admin", ""),
    ("admin", "="),
    ("admin", "/w=="),
    ("admin", "A" * 100_000),
    ("admin", encode(ADMIN_PASSWORD) + "\n"),
    (["admin"], encode(ADMIN_PASSWORD)),
    (7, encode(ADMIN_PASSWORD)),
    ("Admin", encode(ADMIN_PASSWORD)),
    ("admin\u0000", encode(ADMIN_PASSWORD)),
    ("a" * 10_000, encode(ADMIN_PASSWORD)),
    ("管理员", encode(ADMIN_PASSWORD)),
    (None, None),
])
def test_hostile_credentials_get_same_1200(installer, user_id, password):
    answer = installer.describe(user_id, password, source="127.0.0.20")

    assert answer.status_code == 401
    assert answer.json()["ret_code"] == 1200
    assert answer.json()["message"].startswith(GENERIC)


def test_changed_password_takes_effect_at_once(installer):
    first = installer.describe("admin", encode(ADMIN_PASSWORD)).json()

    installer.users.set_password("admin", "admin-password-2")
    old = installer.describe("admin", encode(ADMIN_PASSWORD)).json()
    new = installer.describe("admin", encode("admin-password-2")).json()

    assert first["ret_code"] == 0
    assert old["ret_code"] == 1200
    assert new["ret_code"] == 0


def test_deleted_user_cannot_log_in(installer):
    installer.describe("admin", encode(ADMIN_PASSWORD))
    installer.users.add("other", "admin", "other-password")

    installer.users.delete("admin")
    answer = installer.describe("admin", encode(ADMIN_PASSWORD)).json()

    assert answer["ret_code"] == 1200


def test_viewer_denial_and_admin_change_are_audited(installer):
    installer.users.add("viewer", "viewer", "viewer-password")
    change = {"action": "DeleteNodes", "request_type": "Node", "node_ids": ["n-abcd1234"]}

    denied = installer.post({**change, "USER_ID": "viewer", "PASSWORD": encode("viewer-password")}).json()
    allowed = installer.post({**change, "USER_ID": "admin", "PASSWORD": encode(ADMIN_PASSWORD)}).json()
    lines = [json.loads(line) for line in (installer.engine.layout.root / "audit.log").read_text().splitlines()]

    assert denied["ret_code"] == 1400
    assert allowed["ret_code"] == 2100
    assert [(line["user"], line["ret_code"]) for line in lines] == [("viewer", 1400), ("admin", 2100)]
    assert all(line["parameters"] == {"node_ids": ["n-abcd1234"]} for line in lines)
    assert "PASSWORD" not in json.dumps(lines)


def test_without_local_operator_empty_database_refuses(tmp_path):
    engine = Engine(tmp_path / "state")
    app = build_app(engine, local_operator=False)

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8750") as client:
            try:
                return await client.post("/", json={"action": "DescribeQingCloud", "request_type": "QingCloud"})
            finally:
                await engine.stop()

    answer = asyncio.run(send())

    assert answer.json()["ret_code"] == 1200
