"""Growing the lab the way a newcomer does: its configuration files for pek3a's spares and for pek3c.

The lab serves its 21 simulated nodes over SSH on loopback. After pek3a is
deployed from the lab's sample configuration, the lab's copies of the
growth configurations scale pek3a by n-test1234 and n-test2345 and add pek3c,
within the licensed hyper node count.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from engine.engine import Engine
from engine.lab.layout import PEK3A_NODES
from engine.lab.session import SCALE_PEK3A_CONFIG, ZONE_PEK3C_CONFIG, LabSession
from engine.license.trust import trust_lab_vendor_key
from tests.test_license_limit import Clock, licensed

NEW_IDS = ["n-test1234", "n-test2345"]
PEK3C_IDS = [f"n-pek3cr01n{slot}" for slot in range(1, 7)]


@pytest.fixture
async def lab(tmp_path: Path):
    engine = Engine(tmp_path / "lab-state")
    engine.clock = Clock(datetime.now(timezone.utc).replace(microsecond=0))
    session = LabSession(engine, speed=200)
    await session.start()
    trust_lab_vendor_key(engine)
    yield session
    await session.stop()
    await engine.stop()


async def call(engine: Engine, action: str, request_type: str = "QingCloud", **params: Any) -> dict[str, Any]:
    return await engine.call({"action": action, "request_type": request_type, **params})


async def finish(engine: Engine, response: dict[str, Any]) -> str:
    """Wait for the job a call started; return its final status."""
    assert response["ret_code"] == 0, response
    await engine.jobs.wait(response["job_id"])
    return engine.store.get_job(response["job_id"]).status


def read_config(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return document.get("config", document)


async def test_lab_growth_files_scale_pek3a_and_add_pek3c(lab: LabSession):
    engine = lab.engine
    paths = lab.growth_config_paths
    sample = read_config(lab.sample_config_path)

    assert paths == LabSession.growth_config_locations(engine)
    assert read_config(paths["ScaleQingCloud"]) == json.loads(SCALE_PEK3A_CONFIG.read_text(encoding="utf-8"))
    assert read_config(paths["ScaleQingCloudZone"]) == json.loads(ZONE_PEK3C_CONFIG.read_text(encoding="utf-8"))

    assert await finish(engine, await call(engine, "ConfigQingCloud", config=sample)) == "successful"
    pek3a = [node.node_id for node in PEK3A_NODES]
    assert await finish(engine, await call(engine, "DeployQingCloud", node_ids=pek3a)) == "successful"
    grown = read_config(paths["ScaleQingCloud"])
    assert await finish(engine, await call(engine, "ConfigQingCloud", config=grown)) == "successful"

    await licensed(engine, 4, engine.clock.now)
    beyond = await call(engine, "ScaleQingCloud", zone_id="pek3a", node_ids=NEW_IDS)
    await licensed(engine, 10, engine.clock.now + timedelta(seconds=1))
    scaled = await call(engine, "ScaleQingCloud", zone_id="pek3a", node_ids=NEW_IDS)
    scale_status = await finish(engine, scaled)
    scale_routes = await call(engine, "GetQingCloudVBCRoute", job_id=scaled["job_id"])

    assert beyond["ret_code"] == 2400
    assert "4 deployed + 2 in this request = 6 hyper node(s)" in beyond["message"]
    assert scale_status == "successful"
    # The lab's pek3a keeps the operator's settings.vbc, and the new nodes carry it too.
    assert scale_routes["vbc_route"] == ["ip route add 10.10.50.0/24 via 172.16.80.100"]

    zone = read_config(paths["ScaleQingCloudZone"])
    assert await finish(engine, await call(engine, "ConfigQingCloud", config=zone)) == "successful"
    added = await call(engine, "ScaleQingCloudZone", zone_id="pek3c", node_ids=PEK3C_IDS)
    zone_status = await finish(engine, added)
    zone_routes = await call(engine, "GetQingCloudVBCRoute", job_id=added["job_id"])
    described = (await call(engine, "DescribeQingCloud"))["qingcloud"]["zone_info"]

    assert zone_status == "successful"
    assert len(zone_routes["vbc_route"]) == 4
    assert described["pek3a"]["hyper_node_num"] == 6
    assert described["pek3c"]["is_zone_deployed"] == 1
    assert described["pek3b"]["is_zone_deployed"] == 0, "pek3b was configured but never deployed"

    # The two-zone file from before the scale-out would take the new nodes' roles away.
    jobs_before = (await call(engine, "DescribeJobs", "Job"))["total_count"]
    stale = await call(engine, "ConfigQingCloud", config=sample)
    jobs_after = (await call(engine, "DescribeJobs", "Job"))["total_count"]

    assert stale["ret_code"] == 5200
    assert "n-test1234 (hyper-repl), n-test2345 (hyper-repl) would lose or change their role" in stale["message"]
    assert jobs_after == jobs_before
