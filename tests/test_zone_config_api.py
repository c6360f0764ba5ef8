"""DescribeQingCloudConfig returns what ConfigQingCloud stored, zone by zone."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from engine.engine import Engine

SEED_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"


@pytest.fixture
async def engine(tmp_path):
    engine = Engine(tmp_path / "state")
    await engine.start()
    yield engine
    await engine.stop()


async def configure(engine: Engine, config: dict) -> None:
    started = await engine.call({"action": "ConfigQingCloud", "request_type": "QingCloud", "config": config})
    assert started["ret_code"] == 0, started
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = await engine.call({"action": "GetStatus", "request_type": "QingCloud",
                                    "job_action": "ConfigQingCloud", "job_id": started["job_id"]})
        if status["status"] in ("successful", "failed"):
            assert status["status"] == "successful"
            return
        await asyncio.sleep(0.05)
    raise AssertionError("ConfigQingCloud did not end within 30 s")


async def test_returns_the_stored_configuration_of_each_zone(engine):
    config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
    await configure(engine, config)

    response = await engine.call({"action": "DescribeQingCloudConfig", "request_type": "QingCloud"})

    assert response["ret_code"] == 0
    assert sorted(response["config"]) == ["pek3a", "pek3b"]
    assert response["config"]["pek3b"] == {"variables": config["pek3b"]["variables"],
                                           "settings": config["pek3b"]["settings"]}
    assert response["config_versions"] == {"pek3a": 1, "pek3b": 1}

    one = await engine.call({"action": "DescribeQingCloudConfig", "request_type": "QingCloud", "zone_ids": ["pek3a"]})
    assert list(one["config"]) == ["pek3a"]
    assert one["config"]["pek3a"]["variables"] == config["pek3a"]["variables"]


async def test_unknown_zone_is_named(engine):
    response = await engine.call({"action": "DescribeQingCloudConfig", "request_type": "QingCloud", "zone_ids": ["pek9z"]})

    assert response["ret_code"] == 2100
    assert "pek9z" in response["message"]
