"""Checking the services of a deployed zone on real OpenSSH nodes, through the engine's API.

Five sshd nodes stand in for the reference's pek3b (two vg nodes, three
fusion hyper nodes). The zone is configured with ConfigQingCloud and deployed
with DeployQingCloud, whose start_services step leaves each node's services
running the way the demo recipe simulates them; the checks then run over SSH.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.lab.check_controls import hang_service, stop_service
from engine.lab.layout import PEK3B_NODES, LabNodeSpec
from engine.lab.nodedir import prepare_node_dir, set_speed
from engine.recipe import Recipe, load_recipe
from engine.recipe_digest import DIGEST_FILE, recipe_digest
from engine.ssh import fingerprint
from tests.sshd import SshdCluster

pytestmark = pytest.mark.sshd

SEED_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"
VG1, VG2, HYPER1, HYPER2, HYPER3 = PEK3B_NODES
#: Services the zone variable below makes Ignored: kdump on one hyper node only.
IGNORE_SERVICES = f"{HYPER3.hostname}:kdump"
DEPLOY_SPEED = 100
DEADLINE_S = 60.0


@dataclass
class Platform:
    """The deployed pek3b zone: its engine, its sshd nodes and the state directory."""

    engine: Engine
    cluster: SshdCluster
    state_dir: Path

    def home(self, spec: LabNodeSpec) -> Path:
        return self.cluster.node(spec.hostname).home

    async def call(self, action: str, request_type: str = "QingCloud", **params) -> dict:
        return await self.engine.call({"action": action, "request_type": request_type, **params})

    async def finish(self, job_action: str, job_id: str) -> tuple[dict, list[str]]:
        """Wait for a job to end; return its GetStatus response and its log lines."""
        await asyncio.wait_for(self.engine.jobs.wait(job_id), DEADLINE_S)
        status = await self.call("GetStatus", job_action=job_action, job_id=job_id)
        log = await self.call("GetLog", job_action=job_action, job_id=job_id)
        return status, list(log["log"].values())

    async def run_job(self, action: str, **params) -> tuple[str, dict, list[str]]:
        """Start a job, wait for it; return its id, GetStatus response and log lines."""
        started = await self.call(action, **params)
        assert started["ret_code"] == 0, started
        status, lines = await self.finish(action, started["job_id"])
        return started["job_id"], status, lines

    async def restart_engine(self) -> None:
        """Stop the engine and start a new one on the same state directory, as after a reboot."""
        await self.engine.stop()
        self.engine = Engine(self.state_dir, recipe=self.engine.recipe)
        await self.engine.start()


def recipe_with_service_timeout(seconds: float) -> Recipe:
    recipe = load_recipe()
    services = recipe.services.model_copy(update={"timeout": seconds})
    return recipe.model_copy(update={"services": services})


@pytest.fixture
async def start_platform(tmp_path, sshd_cluster) -> AsyncIterator[Callable[..., Awaitable[Platform]]]:
    """Return start(recipe=None), which deploys pek3b on five sshd nodes and returns the platform."""
    platforms: list[Platform] = []

    async def start(recipe: Recipe | None = None) -> Platform:
        state_dir = tmp_path / "state"
        engine = Engine(state_dir, recipe=recipe)
        await engine.start()
        cluster = sshd_cluster([spec.hostname for spec in PEK3B_NODES], client_public_key=engine.client_public_key)
        platform = Platform(engine, cluster, state_dir)
        platforms.append(platform)
        for spec in PEK3B_NODES:
            prepare_node_dir(platform.home(spec), hostname=spec.hostname, mgmt_ip=spec.mgmt_ip, speed=DEPLOY_SPEED)

        added = await platform.call("AddNodes", "Node", nodes=[
            {"node_id": spec.node_id, "ssh_host": cluster.node(spec.hostname).host,
             "ssh_port": cluster.node(spec.hostname).port, "ssh_user": cluster.node(spec.hostname).user,
             "mgmt_ip": spec.mgmt_ip}
            for spec in PEK3B_NODES
        ], trusted_fingerprints=sorted({fingerprint(cluster.host_public_key(spec.hostname)) for spec in PEK3B_NODES}))
        assert added["ret_code"] == 0, added

        config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
        config["pek3b"]["variables"]["check_ignore_services"] = IGNORE_SERVICES
        _, status, lines = await platform.run_job("ConfigQingCloud", config=config)
        assert status["status"] == "successful", lines

        _, status, lines = await platform.run_job("DeployQingCloud", node_ids=[spec.node_id for spec in PEK3B_NODES])
        assert status["status"] == "successful", lines[-20:]
        return platform

    yield start

    for platform in platforms:
        await platform.engine.stop()


@pytest.fixture
async def platform(start_platform) -> Platform:
    return await start_platform()


def services_of(result: list[dict], hostname: str) -> dict[str, tuple[str, str]]:
    """Map each service of a node in a check result to (status, detail)."""
    node = next(node for node in result if node["hostname"] == hostname)
    return {service["service"]: (service["status"], service["detail"]) for service in node["services"]}


# -- a healthy zone -----------------------------------------------------------------------


async def test_check_after_deploy_all_normal(platform):
    recipe = platform.engine.recipe
    roles = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]["pek3b"]["settings"]["roles"]
    job_id, status, lines = await platform.run_job("CheckQingCloud")
    response = await platform.call("GetQingCloudCheckResult")

    assert status["status"] == "successful", lines
    assert response["ret_code"] == 0, response
    assert response["job_id"] == job_id
    assert response["verbose"] == "1"
    assert response["qingcloud_status"] == "Normal"
    assert [node["hostname"] for node in response["result"]] == [spec.hostname for spec in PEK3B_NODES]
    for node in response["result"]:
        spec = next(spec for spec in PEK3B_NODES if spec.hostname == node["hostname"])
        role, sub_roles = roles[spec.node_id]["role"], roles[spec.node_id]["sub_roles"].split(",")
        assert (node["node_id"], node["zone_id"], node["role"]) == (spec.node_id, "pek3b", role)
        assert [service["service"] for service in node["services"]] == recipe.services.services_for(role, sub_roles)
    for spec in (VG1, VG2, HYPER1, HYPER2):
        assert {status for status, _ in services_of(response["result"], spec.hostname).values()} == {"Normal"}
    assert services_of(response["result"], HYPER3.hostname)["kdump"] == (
        "Ignored", "ignored by variable check_ignore_services of zone pek3b"
    )
    assert services_of(response["result"], HYPER3.hostname)["apache2"] == ("Normal", "active")
    assert services_of(response["result"], HYPER2.hostname)["kdump"] == ("Normal", "active")
    assert f"{HYPER3.hostname} | 11 services: 10 Normal, 1 Ignored" in lines

    # verbose 0 of a healthy zone lists only the ignored service.
    await platform.run_job("CheckQingCloud", verbose="0")
    brief = await platform.call("GetQingCloudCheckResult")

    assert brief["verbose"] == "0"
    assert brief["qingcloud_status"] == "Normal"
    assert brief["result"] == [{
        "hostname": HYPER3.hostname, "node_id": HYPER3.node_id, "zone_id": "pek3b", "role": "hyper-repl",
        "services": [{"service": "kdump", "status": "Ignored",
                      "detail": "ignored by variable check_ignore_services of zone pek3b"}],
    }]


# -- a zone in trouble ----------------------------------------------------------------------


async def test_stopped_services_and_unreachable_node(start_platform):
    platform = await start_platform(recipe_with_service_timeout(1))
    stop_service(platform.home(HYPER1), "pitrix-vbr")
    stop_service(platform.home(VG1), "haproxy")
    hang_service(platform.home(HYPER2), "lxcfs")
    platform.cluster.kill(VG2.hostname)

    full_id, full_status, full_lines = await platform.run_job("CheckQingCloud", verbose="1")
    full = await platform.call("GetQingCloudCheckResult", job_id=full_id)
    brief_id, _, _ = await platform.run_job("CheckQingCloud", verbose="0")
    brief = await platform.call("GetQingCloudCheckResult", job_id=brief_id)
    hang_service(platform.home(HYPER2), "lxcfs", hang=False)

    assert full_status["status"] == "successful", full_lines
    assert full["qingcloud_status"] == "Abnormal"
    assert services_of(full["result"], HYPER1.hostname)["pitrix-vbr"] == ("Abnormal", "failed (stopped by the lab)")
    assert services_of(full["result"], VG1.hostname) == {
        "keepalived": ("Normal", "active"),
        "haproxy": ("Abnormal", "failed (stopped by the lab)"),
        "pitrix-vgateway": ("Normal", "active"),
    }
    assert services_of(full["result"], HYPER2.hostname)["lxcfs"] == ("Unknown", "the check timed out after 1 s")
    assert services_of(full["result"], HYPER2.hostname)["libvirtd"] == ("Normal", "active")
    unreachable = services_of(full["result"], VG2.hostname)
    assert set(unreachable) == {"keepalived", "haproxy", "pitrix-vgateway"}
    for status, detail in unreachable.values():
        assert status == "Unknown"
        assert detail.startswith("node unreachable: ")
        assert "refused the connection" in detail
    assert {status for status, _ in services_of(full["result"], HYPER3.hostname).values()} == {"Normal", "Ignored"}
    assert any(line.startswith(f"{VG2.hostname} | could not be checked: node unreachable") for line in full_lines)
    assert any(line.startswith(f"{HYPER1.hostname} | 11 services: 10 Normal, 1 Abnormal") for line in full_lines)
    assert full_status["nodes"][VG2.node_id]["state"] == "failed"
    assert full_status["nodes"][VG1.node_id]["state"] == "done"

    # verbose 0 lists only what is not Normal, and leaves out nodes with nothing to show.
    assert brief["qingcloud_status"] == "Abnormal"
    assert [node["hostname"] for node in brief["result"]] == [
        VG1.hostname, VG2.hostname, HYPER1.hostname, HYPER2.hostname, HYPER3.hostname
    ]
    assert services_of(brief["result"], VG1.hostname) == {"haproxy": ("Abnormal", "failed (stopped by the lab)")}
    assert list(services_of(brief["result"], HYPER1.hostname)) == ["pitrix-vbr"]
    assert list(services_of(brief["result"], HYPER2.hostname)) == ["lxcfs"]
    assert list(services_of(brief["result"], HYPER3.hostname)) == ["kdump"]
    assert len(services_of(brief["result"], VG2.hostname)) == 3


async def test_chosen_node_back_up_checks_normal_again(platform):
    platform.cluster.kill(HYPER1.hostname)
    down_id, down_status, _ = await platform.run_job("CheckQingCloud", nodes=f" {VG1.hostname} , {HYPER1.hostname} ")
    platform.cluster.restart(HYPER1.hostname)
    up_id, _, _ = await platform.run_job("CheckQingCloud", nodes=HYPER1.hostname)

    down = await platform.call("GetQingCloudCheckResult", job_id=down_id)
    up = await platform.call("GetQingCloudCheckResult", job_id=up_id)

    assert [node["hostname"] for node in down["result"]] == [VG1.hostname, HYPER1.hostname]
    assert sorted(down_status["nodes"]) == sorted([VG1.node_id, HYPER1.node_id])
    assert down["qingcloud_status"] == "Abnormal"
    assert {status for status, _ in services_of(down["result"], HYPER1.hostname).values()} == {"Unknown"}
    assert {status for status, _ in services_of(down["result"], VG1.hostname).values()} == {"Normal"}
    assert [node["hostname"] for node in up["result"]] == [HYPER1.hostname]
    assert up["qingcloud_status"] == "Normal"
    assert {status for status, _ in services_of(up["result"], HYPER1.hostname).values()} == {"Normal"}


# -- history ---------------------------------------------------------------------------------------


async def test_checks_stay_readable_after_restart(platform):
    first_id, _, _ = await platform.run_job("CheckQingCloud")
    stop_service(platform.home(HYPER2), "ntp")
    hang_service(platform.home(HYPER2), "dns")
    started = await platform.call("CheckQingCloud", verbose="0")
    second_id = started["job_id"]
    while_running = await platform.call("GetQingCloudCheckResult", job_id=second_id)
    newest_while_running = await platform.call("GetQingCloudCheckResult")
    hang_service(platform.home(HYPER2), "dns", hang=False)
    await platform.finish("CheckQingCloud", second_id)

    await platform.restart_engine()
    newest = await platform.call("GetQingCloudCheckResult")
    first = await platform.call("GetQingCloudCheckResult", job_id=first_id)
    jobs = await platform.call("DescribeJobs", "Job", job_action="CheckQingCloud")

    assert while_running["ret_code"] == 5200
    assert f"check {second_id} is still running" in while_running["message"]
    assert newest_while_running["job_id"] == first_id
    assert newest["job_id"] == second_id
    assert newest["qingcloud_status"] == "Abnormal"
    assert newest["result"] == [{
        "hostname": HYPER2.hostname, "node_id": HYPER2.node_id, "zone_id": "pek3b", "role": "hyper-repl",
        "services": [{"service": "ntp", "status": "Abnormal", "detail": "failed (stopped by the lab)"}],
    }, {
        "hostname": HYPER3.hostname, "node_id": HYPER3.node_id, "zone_id": "pek3b", "role": "hyper-repl",
        "services": [{"service": "kdump", "status": "Ignored",
                      "detail": "ignored by variable check_ignore_services of zone pek3b"}],
    }]
    assert first["job_id"] == first_id
    assert first["qingcloud_status"] == "Normal"
    assert len(first["result"]) == 5
    assert [job["job_id"] for job in jobs["job_set"]] == [second_id, first_id]
    assert jobs["job_set"][0]["resources"]["qingcloud_status"] == "Abnormal"
    assert jobs["job_set"][1]["resources"]["counts"] == {"Normal": 38, "Abnormal": 0, "Unknown": 0, "Ignored": 1}


# -- the staged recipe ------------------------------------------------------------------------


def staged_file_ids(platform: Platform, relative: str) -> dict[str, tuple[int, int]]:
    """Map each node to the inode and change time of a file in its stage directory.

    Staging writes every file again, which changes its change time (tar keeps the archive's
    mtime) or, for the digest's rename, its inode, even when the contents stay the same.
    """
    stage = platform.engine.recipe.stage_dir
    ids = {}
    for spec in PEK3B_NODES:
        info = (platform.home(spec) / stage / relative).stat()
        ids[spec.hostname] = (info.st_ino, info.st_ctime_ns)
    return ids


async def test_first_check_after_deploy_keeps_staged_recipe(platform):
    recipe = platform.engine.recipe
    expected = recipe_digest(recipe.directory)
    digests = {spec.hostname: (platform.home(spec) / recipe.stage_dir / DIGEST_FILE).read_text(encoding="utf-8")
               for spec in PEK3B_NODES}
    digest_before = staged_file_ids(platform, DIGEST_FILE)
    script_before = staged_file_ids(platform, "scripts/service_status.sh")

    _, status, lines = await platform.run_job("CheckQingCloud")
    response = await platform.call("GetQingCloudCheckResult")

    assert digests == {spec.hostname: expected + "\n" for spec in PEK3B_NODES}, "the deploy wrote the digest"
    assert status["status"] == "successful", lines
    assert response["qingcloud_status"] == "Normal"
    assert staged_file_ids(platform, DIGEST_FILE) == digest_before, "the check wrote no digest"
    assert staged_file_ids(platform, "scripts/service_status.sh") == script_before, "the check copied no script"


async def test_check_restages_node_with_other_digest(platform):
    recipe = platform.engine.recipe
    stale = platform.home(HYPER1) / recipe.stage_dir / DIGEST_FILE
    stale.write_text("digest of an older recipe\n", encoding="utf-8")
    script = platform.home(HYPER1) / recipe.stage_dir / "scripts" / "service_status.sh"
    script_before = script.stat().st_ctime_ns

    _, status, lines = await platform.run_job("CheckQingCloud")
    response = await platform.call("GetQingCloudCheckResult")

    assert status["status"] == "successful", lines
    assert response["qingcloud_status"] == "Normal"
    assert stale.read_text(encoding="utf-8") == recipe_digest(recipe.directory) + "\n"
    assert script.stat().st_ctime_ns != script_before, "the recipe was copied again"
