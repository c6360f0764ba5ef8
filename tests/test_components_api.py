"""DeployQingCloudComponent's checks of the request, through the engine's API.

The seed's two zones are configured and no node is registered, so no job
could run: every rejection here happens before a job would start, and
DescribeJobs proves that none did.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.engine import Engine

SEED_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"


@pytest.fixture
async def engine(tmp_path):
    engine = Engine(tmp_path / "state")
    await engine.start()
    config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
    started = await call(engine, "ConfigQingCloud", config=config)
    await engine.jobs.wait(started["job_id"])
    yield engine
    await engine.stop()


async def call(engine: Engine, action: str, request_type: str = "QingCloud", **params) -> dict:
    return await engine.call({"action": action, "request_type": request_type, **params})


async def component_jobs(engine: Engine) -> int:
    jobs = await call(engine, "DescribeJobs", "Job", job_action="DeployQingCloudComponent")
    return jobs["total_count"]


async def test_configured_zones_describe_no_components(engine):
    described = await call(engine, "DescribeQingCloud")

    zones = described["qingcloud"]["zone_info"]
    assert {zone_id: info["components"] for zone_id, info in zones.items()} == {
        "pek3a": {"vdi": 0, "v2v": 0},
        "pek3b": {"vdi": 0, "v2v": 0},
    }


REJECTED = [
    ({"pek3z": {"variables": {"vdi": {"deploy_vdi": "1"}}}}, 2100,
     "config: zone pek3z not found; configured zones: pek3a, pek3b"),
    ({"pek3a": {"variables": {"vdi": {"deploy_vdi": "1"}}}}, 5200,
     "zone pek3a is not deployed; deploy it with DeployQingCloud before adding components"),
    ({"pek3b": {"variables": {"vdi": {"deploy_vdi": "0"}, "v2v": {"deploy_v2v": "0"}}}}, 1100,
     "config: no component is requested; set variables.vdi.deploy_vdi or variables.v2v.deploy_v2v to \"1\""),
    ({"pek3a": {"variables": {}}, "pek3b": {"variables": {"v2v": {}}}}, 1100, "config: no component is requested"),
    ({}, 1100, "config: no zone given"),
    ({"pek3b": {"variables": {"vdi": {"deploy_vdi": "yes"}}}}, 1100,
     "config.pek3b.variables.vdi.deploy_vdi: expected \"0\" or \"1\", got 'yes'"),
    ({"pek3b": {"variables": {"vdi": {"deploy_vdi": True}}}}, 1100, "got True"),
    ({"pek3b": {"variables": {"vdi": "1"}}}, 1100, "config.pek3b.variables.vdi: expected a mapping"),
    ({"pek3b": {"variables": {"hadoop": {"deploy_hadoop": "1"}}}}, 1100,
     "config.pek3b.variables.hadoop: unknown component; known components: vdi, v2v"),
    ({"pek3b": {"settings": {}}}, 1100, "config.pek3b.variables: missing or not a mapping"),
]


@pytest.mark.parametrize("config, ret_code, message", REJECTED)
async def test_bad_request_rejected_without_job(engine, config, ret_code, message):
    response = await call(engine, "DeployQingCloudComponent", config=config)

    assert response["ret_code"] == ret_code, response
    assert message in response["message"]
    assert await component_jobs(engine) == 0


async def test_zone_without_deployed_nodes_rejected(engine):
    # A zone marked deployed whose nodes are gone from the inventory has nowhere to run VDI.
    engine.store.set_zone_deployed("pek3b", True)

    response = await call(engine, "DeployQingCloudComponent", config={"pek3b": {"variables": {"vdi": {"deploy_vdi": 1}}}})

    assert response["ret_code"] == 5200
    assert "zone pek3b has no deployed node whose role runs component vdi" in response["message"]
    assert await component_jobs(engine) == 0
