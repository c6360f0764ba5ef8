"""Growing a deployed platform on real OpenSSH nodes: ScaleQingCloud, ScaleQingCloudZone, GetQingCloudVBCRoute.

Sixteen sshd nodes on loopback play pek3a's eight nodes, the two spare
nodes n-test1234 and n-test2345, and the six nodes of pek3c. The engine runs
in the test's process and every step goes to the nodes over SSH, to their
loopback addresses only. The management addresses are data.
The configurations are the lab's files for growing pek3a and adding pek3c.
"""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any

import pytest

from engine.engine import Engine
from engine.lab.layout import PEK3A_NODES, SPARE_NODES
from engine.lab.nodedir import prepare_node_dir, set_failure
from engine.lab.session import SCALE_PEK3A_CONFIG, ZONE_PEK3C_CONFIG
from engine.recipe import load_recipe
from tests.sshd import SshdCluster

pytestmark = pytest.mark.sshd

NEW_NODES = [spec for spec in SPARE_NODES if spec.zone_id == "pek3a"]
PEK3C_NODES = [spec for spec in SPARE_NODES if spec.zone_id == "pek3c"]
ALL_NODES = [*PEK3A_NODES, *NEW_NODES, *PEK3C_NODES]
PEK3A_IDS = [spec.node_id for spec in PEK3A_NODES]
NEW_IDS = [spec.node_id for spec in NEW_NODES]
PEK3C_IDS = [spec.node_id for spec in PEK3C_NODES]
SCALE_STEPS = [step.name for step in load_recipe().actions["ScaleQingCloud"].steps]
DEPLOY_STEPS = [step.name for step in load_recipe().actions["DeployQingCloud"].steps]
#: Pause divisor for the demo scripts, as in the deploy tests.
SPEED = 40
JOB_DEADLINE_S = 120


@dataclass
class Platform:
    engine: Engine
    cluster: SshdCluster

    async def call(self, action: str, request_type: str = "QingCloud", **params: Any) -> dict[str, Any]:
        return await self.engine.call({"action": action, "request_type": request_type, **params})

    async def finish(self, response: dict[str, Any]) -> dict[str, Any]:
        """Wait for the job a call started; return its GetStatus."""
        assert response["ret_code"] == 0, response
        job_id = response["job_id"]
        await asyncio.wait_for(self.engine.jobs.wait(job_id), JOB_DEADLINE_S)
        job = self.engine.store.get_job(job_id)
        return await self.call("GetStatus", job_action=job.job_action, job_id=job_id)

    async def log_lines(self, job_action: str, job_id: str, **filters: Any) -> list[str]:
        return list((await self.call("GetLog", job_action=job_action, job_id=job_id, **filters))["log"].values())

    async def configure(self, config: dict[str, Any]) -> None:
        status = await self.finish(await self.call("ConfigQingCloud", config=config))
        assert status["status"] == "successful", await self.log_lines("ConfigQingCloud", status["job_id"])

    async def routes(self, job_id: str) -> list[str]:
        response = await self.call("GetQingCloudVBCRoute", job_id=job_id)
        assert response["ret_code"] == 0, response
        return response["vbc_route"]

    def home(self, hostname: str):
        return self.cluster.node(hostname).home


@pytest.fixture
async def platform(sshd_cluster, tmp_path):
    engine = Engine(tmp_path / "state")
    await engine.start()
    cluster = sshd_cluster([spec.hostname for spec in ALL_NODES], client_public_key=engine.client_public_key)
    for spec in ALL_NODES:
        prepare_node_dir(cluster.node(spec.hostname).home, hostname=spec.hostname, mgmt_ip=spec.mgmt_ip, speed=SPEED)
    platform = Platform(engine, cluster)

    nodes = [
        {"node_id": spec.node_id, "ssh_host": cluster.node(spec.hostname).host,
         "ssh_port": cluster.node(spec.hostname).port, "ssh_user": cluster.node(spec.hostname).user,
         "mgmt_ip": spec.mgmt_ip}
        for spec in ALL_NODES
    ]
    scanned = await platform.call("ScanNodeHostKeys", "Node", nodes=nodes)
    assert scanned["ret_code"] == 0, scanned
    seen = [fingerprint for entry in scanned["host_keys"] for fingerprint in entry["fingerprints"]]
    added = await platform.call("AddNodes", "Node", nodes=nodes, trusted_fingerprints=seen)
    assert added["ret_code"] == 0, added

    yield platform
    await engine.stop()


def pek3a_config(*, with_new_nodes: bool, allocate_vbc: bool) -> dict[str, Any]:
    """Return the lab's scale-out configuration of pek3a, without the new nodes or with VBC allocation if asked."""
    config = copy.deepcopy(json.loads(SCALE_PEK3A_CONFIG.read_text(encoding="utf-8")))
    zone = config["pek3a"]
    if not with_new_nodes:
        for node_id in NEW_IDS:
            del zone["settings"]["roles"][node_id]
        new_addresses = {spec.mgmt_ip for spec in NEW_NODES}
        vbc = zone["settings"]["vbc"]
        vbc["mgmt_ips"] = [address for address in vbc["mgmt_ips"] if address not in new_addresses]
    if allocate_vbc:
        zone["variables"]["advanced"].update(installer_allocate_vbc="1", vm_base_network_start="10.10.0.0/16")
        del zone["settings"]["vbc"]
    return config


def route_parts(route: str) -> tuple[IPv4Network, str]:
    """Split 'ip route add NETWORK via ADDRESS' into its network and address."""
    words = route.split()
    assert words[:3] == ["ip", "route", "add"], route
    assert words[4] == "via", route
    return IPv4Network(words[3]), words[5]


async def deploy_pek3a(platform: Platform) -> str:
    status = await platform.finish(await platform.call("DeployQingCloud", node_ids=PEK3A_IDS))
    assert status["status"] == "successful", (await platform.log_lines("DeployQingCloud", status["job_id"]))[-10:]
    return status["job_id"]


async def test_scale_adds_hyper_nodes_with_own_vbc_blocks(platform):
    await platform.configure(pek3a_config(with_new_nodes=False, allocate_vbc=True))
    deploy_job = await deploy_pek3a(platform)
    deploy_routes = await platform.routes(deploy_job)
    await platform.configure(pek3a_config(with_new_nodes=True, allocate_vbc=True))

    started = await platform.call("ScaleQingCloud", zone_id="pek3a", node_ids=list(reversed(NEW_IDS)))
    second = await platform.call("ScaleQingCloud", zone_id="pek3a", node_ids=NEW_IDS)
    status = await platform.finish(started)
    job_id = started["job_id"]
    lines = await platform.log_lines("ScaleQingCloud", job_id)
    preflight_lines = await platform.log_lines("ScaleQingCloud", job_id, job_status="step0")
    routes = await platform.routes(job_id)
    described = (await platform.call("DescribeQingCloud"))["qingcloud"]["zone_info"]["pek3a"]
    nodes = (await platform.call("DescribeNodes", "Node", node_ids=NEW_IDS))["node_set"]
    job_record = (await platform.call("DescribeJobs", "Job", job_ids=[job_id]))["job_set"][0]

    assert second["ret_code"] == 5100
    assert job_id in second["message"]

    assert status["status"] == "successful", lines[-10:]
    assert [step["name"] for step in status["steps"]] == SCALE_STEPS
    assert all(step["state"] == "done" for step in status["steps"])
    assert set(status["nodes"]) == set(PEK3A_IDS) | set(NEW_IDS), "GetStatus lists the new and the refreshed nodes"

    # The deploy placed pek3a's four hyper nodes, each with a block of its own.
    assert deploy_routes == [
        "ip route add 10.10.0.0/24 via 172.16.80.7",
        "ip route add 10.10.1.0/24 via 172.16.80.8",
        "ip route add 10.10.2.0/24 via 172.16.80.9",
        "ip route add 10.10.3.0/24 via 172.16.80.10",
    ]
    assert await platform.routes(deploy_job) == deploy_routes, "the deploy's blocks moved"

    new_parts = [route_parts(route) for route in routes]
    old_blocks = [route_parts(route)[0] for route in deploy_routes]
    assert sorted(address for _, address in new_parts) == ["172.16.80.13", "172.16.80.14"]
    for block, address in new_parts:
        assert block.subnet_of(IPv4Network("10.10.0.0/16")), f"{block} for {address} is outside vm_base_network_start"
        assert not any(block.overlaps(old) for old in old_blocks), f"{block} overlaps a block of the deploy"
    assert not new_parts[0][0].overlaps(new_parts[1][0])
    assert job_record["resources"]["vbc_route"] == routes

    assert described["is_zone_deployed"] == 1
    assert described["hyper_node_num"] == 6
    assert [node["status"] for node in nodes] == ["deployed", "deployed"]

    # Only the new nodes ran the preflight; the deployed ones were refreshed and know their new neighbours.
    new_hostnames = {spec.hostname for spec in NEW_NODES}
    assert {line.split(" | ")[0] for line in preflight_lines if " | " in line} == new_hostnames
    for spec in PEK3A_NODES:
        hosts = (platform.home(spec.hostname) / "etc" / "qingcloud" / "hosts").read_text()
        members = platform.home(spec.hostname) / "var" / "lib" / "qingcloud-demo" / "members.pek3a"
        assert "172.16.80.13 pek3ar01n09" in hosts, f"{spec.hostname} does not list the new node"
        assert "172.16.80.14 pek3ar01n10" in hosts, f"{spec.hostname} does not list the new node"
        assert members.is_file(), f"{spec.hostname} did not reload its member list"
    for spec in NEW_NODES:
        services = platform.home(spec.hostname) / "var" / "lib" / "qingcloud-demo" / "services"
        assert (services / "pitrix-hyper-agent.started").is_file(), f"hyper agent not started on {spec.hostname}"


async def test_scale_refusals_name_the_cause(platform):
    both = {**pek3a_config(with_new_nodes=False, allocate_vbc=False),
            **json.loads(ZONE_PEK3C_CONFIG.read_text(encoding="utf-8"))}
    await platform.configure(both)

    undeployed = await platform.call("ScaleQingCloud", zone_id="pek3c", node_ids=PEK3C_IDS)
    no_region = await platform.call("ScaleQingCloudZone", zone_id="pek3c", node_ids=PEK3C_IDS)
    unknown_zone = await platform.call("ScaleQingCloud", zone_id="pek3x", node_ids=NEW_IDS)
    deploy_job = await deploy_pek3a(platform)
    await platform.configure(pek3a_config(with_new_nodes=True, allocate_vbc=False))

    unknown_node = await platform.call("ScaleQingCloud", zone_id="pek3a", node_ids=[NEW_IDS[0], "n-nosuchnode"])
    other_zone = await platform.call("ScaleQingCloud", zone_id="pek3a", node_ids=[NEW_IDS[0], PEK3C_IDS[0]])
    deployed = await platform.call("ScaleQingCloud", zone_id="pek3a", node_ids=[NEW_IDS[0], "n-pek3a01r05"])
    zone_deployed = await platform.call("ScaleQingCloudZone", zone_id="pek3a", node_ids=PEK3A_IDS)
    partial_zone = await platform.call("ScaleQingCloudZone", zone_id="pek3c", node_ids=PEK3C_IDS[:5])
    config_job = (await platform.call("DescribeJobs", "Job", job_action="ConfigQingCloud"))["job_set"][0]["job_id"]
    route_of_config = await platform.call("GetQingCloudVBCRoute", job_id=config_job)
    route_of_unknown = await platform.call("GetQingCloudVBCRoute", job_id="j-00000000")
    jobs = await platform.call("DescribeJobs", "Job", job_action="ScaleQingCloud")

    assert undeployed["ret_code"] == 5200
    assert "zone pek3c is not deployed" in undeployed["message"]
    assert no_region["ret_code"] == 5200
    assert "no zone of region pek3 is deployed" in no_region["message"]
    assert unknown_zone["ret_code"] == 2100
    assert "pek3x" in unknown_zone["message"]
    assert unknown_node["ret_code"] == 2100
    assert "n-nosuchnode" in unknown_node["message"]
    assert other_zone["ret_code"] == 5200
    assert f"{PEK3C_IDS[0]} (role in zone pek3c)" in other_zone["message"]
    assert deployed["ret_code"] == 5200
    assert "n-pek3a01r05 already deployed" in deployed["message"]
    assert zone_deployed["ret_code"] == 5200
    assert "deployed already" in zone_deployed["message"]
    assert partial_zone["ret_code"] == 5200
    assert PEK3C_IDS[5] in partial_zone["message"]
    assert route_of_config["ret_code"] == 5200
    assert "ConfigQingCloud job" in route_of_config["message"]
    assert route_of_unknown["ret_code"] == 2100
    assert jobs["total_count"] == 0, "a refused scale starts no job"
    # pek3a keeps the operator's settings.vbc: one route, to its VBC network via the VIP.
    assert await platform.routes(deploy_job) == ["ip route add 10.10.50.0/24 via 172.16.80.100"]


async def test_failed_scale_resumes_with_same_blocks(platform):
    await platform.configure(pek3a_config(with_new_nodes=False, allocate_vbc=True))
    await deploy_pek3a(platform)
    await platform.configure(pek3a_config(with_new_nodes=True, allocate_vbc=True))
    # configure_network has no retries in the demo recipe, so one failure fails the step.
    set_failure(platform.home(NEW_NODES[1].hostname), "configure_network", once=True)

    first = await platform.finish(await platform.call("ScaleQingCloud", zone_id="pek3a", node_ids=NEW_IDS))
    first_routes = await platform.call("GetQingCloudVBCRoute", job_id=first["job_id"])
    second = await platform.finish(await platform.call("ScaleQingCloud", zone_id="pek3a", node_ids=NEW_IDS))
    resumed_lines = await platform.log_lines("ScaleQingCloud", second["job_id"], job_status="step0")
    routes = await platform.routes(second["job_id"])

    assert first["status"] == "failed"
    assert first["steps"][3] == {"status": "step3", "name": "configure_network", "state": "failed"}
    assert first["nodes"][NEW_NODES[1].node_id]["state"] == "failed"
    assert first_routes["ret_code"] == 5200
    assert "failed" in first_routes["message"]

    assert second["status"] == "successful"
    assert [step["state"] for step in second["steps"]] == ["skipped"] * 3 + ["done"] * (len(SCALE_STEPS) - 3)
    assert any(first["job_id"] in line for line in resumed_lines)
    assert routes == ["ip route add 10.10.4.0/24 via 172.16.80.13", "ip route add 10.10.5.0/24 via 172.16.80.14"]


async def test_scale_zone_adds_pek3c(platform):
    await platform.configure(pek3a_config(with_new_nodes=False, allocate_vbc=False))
    await deploy_pek3a(platform)
    await platform.configure(json.loads(ZONE_PEK3C_CONFIG.read_text(encoding="utf-8")))

    status = await platform.finish(await platform.call("ScaleQingCloudZone", zone_id="pek3c", node_ids=PEK3C_IDS))
    lines = await platform.log_lines("ScaleQingCloudZone", status["job_id"])
    routes = await platform.routes(status["job_id"])
    described = (await platform.call("DescribeQingCloud"))["qingcloud"]
    pek3c = described["zone_info"]["pek3c"]

    assert status["status"] == "successful", lines[-10:]
    assert [step["name"] for step in status["steps"]] == DEPLOY_STEPS
    assert set(status["nodes"]) == set(PEK3C_IDS)
    assert described["zone_ids"] == ["pek3a", "pek3c"]
    assert described["is_deployed"] == 1
    assert (pek3c["is_zone_deployed"], pek3c["deploy_mode"], pek3c["vg_node_num"], pek3c["hyper_node_num"],
            pek3c["installer_allocate_vbc"]) == (1, "fusion", 2, 4, 1)
    assert routes == [
        "ip route add 10.30.0.0/24 via 172.16.100.13",
        "ip route add 10.30.1.0/24 via 172.16.100.14",
        "ip route add 10.30.2.0/24 via 172.16.100.15",
        "ip route add 10.30.3.0/24 via 172.16.100.16",
    ]
    for spec in PEK3C_NODES:
        services = platform.home(spec.hostname) / "var" / "lib" / "qingcloud-demo" / "services"
        assert any(services.glob("*.started")), f"no service started on {spec.hostname}"
