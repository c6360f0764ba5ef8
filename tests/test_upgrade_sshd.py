"""Upgrading a deployed zone on real OpenSSH nodes, one node at a time.

Five sshd nodes stand in for the reference's pek3b: two vg nodes and three
hyper-repl nodes. The zone is configured and deployed through the engine's
API, then upgraded from the demo recipe's 4.3.0 to the lab's 4.3.1 package.
The three hyper-repl nodes are the role the rolling upgrade must take one at
a time. Every line the upgrade and health scripts print starts with the
node's time, and the overlap checks compare those times.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.lab.layout import PEK3B_NODES, LabNodeSpec
from engine.lab.nodedir import CONTROL_DIR, prepare_node_dir
from engine.lab.packages import LAB_PACKAGES, write_lab_packages
from engine.ssh import fingerprint
from tests.sshd import SshdCluster

pytestmark = pytest.mark.sshd

SEED_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"
PACKAGE = LAB_PACKAGES[0].file_name
VG_NODES = PEK3B_NODES[:2]
HYPER_NODES = PEK3B_NODES[2:]
DEADLINE_S = 60.0
#: Pause divisor of the demo scripts: a node's upgrade and health check take a few tenths of a second.
SPEED = 100
STAMPED = re.compile(r"^(?P<host>\S+) \| (?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ")


@dataclass
class Platform:
    """An engine with pek3b deployed on sshd nodes."""

    engine: Engine
    cluster: SshdCluster

    def home(self, spec: LabNodeSpec) -> Path:
        return self.cluster.node(spec.hostname).home

    def release(self, spec: LabNodeSpec) -> str | None:
        path = self.home(spec) / "var" / "lib" / "qingcloud-demo" / "release"
        return path.read_text(encoding="utf-8").strip() if path.exists() else None

    def node_packages(self, spec: LabNodeSpec) -> dict[str, str]:
        """Return the version of each QingCloud (pitrix-*) package the demo scripts installed on the node."""
        directory = self.home(spec) / "var" / "lib" / "qingcloud-demo" / "packages"
        return {path.name: path.read_text(encoding="utf-8").strip() for path in directory.glob("pitrix-*")}

    def inject_failure(self, spec: LabNodeSpec, step: str) -> None:
        # Written by hand because the lab's set_failure accepts deploy steps only.
        marker = self.home(spec) / CONTROL_DIR / "fail" / step
        marker.write_text("once\n", encoding="utf-8")

    async def call(self, action: str, request_type: str = "QingCloud", **params) -> dict:
        return await self.engine.call({"action": action, "request_type": request_type, **params})

    async def finish(self, job_action: str, job_id: str) -> tuple[dict, list[str]]:
        """Wait for a job to end; return its GetStatus response and its log lines."""
        await asyncio.wait_for(self.engine.jobs.wait(job_id), DEADLINE_S)
        status = await self.call("GetStatus", job_action=job_action, job_id=job_id)
        log = await self.call("GetLog", job_action=job_action, job_id=job_id)
        return status, list(log["log"].values())

    async def run_job(self, action: str, **params) -> tuple[dict, dict, list[str]]:
        started = await self.call(action, **params)
        assert started["ret_code"] == 0, started
        status, lines = await self.finish(action, started["job_id"])
        return started, status, lines


@pytest.fixture
async def deployed(tmp_path, sshd_cluster) -> AsyncIterator[Platform]:
    """pek3b configured from the seed and deployed on five sshd nodes; the lab's packages in place."""
    engine = Engine(tmp_path / "state")
    await engine.start()
    try:
        cluster = sshd_cluster([spec.hostname for spec in PEK3B_NODES], client_public_key=engine.client_public_key)
        for spec in PEK3B_NODES:
            prepare_node_dir(cluster.node(spec.hostname).home, hostname=spec.hostname, mgmt_ip=spec.mgmt_ip, speed=SPEED)
        platform = Platform(engine, cluster)

        added = await platform.call("AddNodes", "Node", nodes=[
            {"node_id": spec.node_id, "ssh_host": cluster.node(spec.hostname).host,
             "ssh_port": cluster.node(spec.hostname).port, "ssh_user": cluster.node(spec.hostname).user,
             "mgmt_ip": spec.mgmt_ip}
            for spec in PEK3B_NODES
        ], trusted_fingerprints=sorted({fingerprint(cluster.host_public_key(spec.hostname)) for spec in PEK3B_NODES}))
        assert added["ret_code"] == 0, added

        config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
        _, status, lines = await platform.run_job("ConfigQingCloud", config=config)
        assert status["status"] == "successful", lines
        _, status, lines = await platform.run_job("DeployQingCloud", node_ids=[spec.node_id for spec in PEK3B_NODES])
        assert status["status"] == "successful", lines[-10:]

        write_lab_packages(engine.layout.packages_dir)
        yield platform
    finally:
        await engine.stop()


def node_intervals(lines: list[str], hostnames: list[str]) -> dict[str, tuple[datetime, datetime]]:
    """Return each host's first and last timestamp among its timestamped log lines."""
    times: dict[str, list[datetime]] = {}
    for line in lines:
        match = STAMPED.match(line)
        if match and match["host"] in hostnames:
            times.setdefault(match["host"], []).append(datetime.strptime(match["time"], "%Y-%m-%d %H:%M:%S.%f"))
    return {host: (min(stamps), max(stamps)) for host, stamps in times.items()}


def assert_one_at_a_time(intervals: dict[str, tuple[datetime, datetime]]) -> None:
    ordered = sorted(intervals.items(), key=lambda item: item[1][0])
    for (host, (_, end)), (next_host, (next_start, _)) in zip(ordered, ordered[1:]):
        assert end <= next_start, f"{host} was still upgrading at {end} when {next_host} started at {next_start}"


async def test_rolling_upgrade_one_node_at_a_time(deployed):
    vg_hosts = [spec.hostname for spec in VG_NODES]
    hyper_hosts = [spec.hostname for spec in HYPER_NODES]

    planned = await deployed.call("DescribeQingCloudPackages")
    started, status, lines = await deployed.run_job("UpgradeQingCloud", package_name=PACKAGE)
    described = await deployed.call("DescribeQingCloudPackages")

    assert planned["upgrade_plan"] == [
        {"role": "vg", "hostnames": vg_hosts},
        {"role": "hyper-repl", "hostnames": hyper_hosts},
    ]
    assert status["status"] == "successful", lines[-10:]
    assert [step["name"] for step in status["steps"]] == ["backup_state", "distribute_package", "upgrade_nodes"]

    hyper = node_intervals(lines, hyper_hosts)
    vg = node_intervals(lines, vg_hosts)
    assert sorted(hyper) == sorted(hyper_hosts), "a hyper-repl node printed no timestamped line"
    assert sorted(vg) == sorted(vg_hosts), "a vg node printed no timestamped line"
    assert_one_at_a_time(hyper)
    assert_one_at_a_time(vg)
    assert max(end for _, end in vg.values()) <= min(start for start, _ in hyper.values()), "roles overlapped"
    assert [host for host, _ in sorted(hyper.items(), key=lambda item: item[1][0])] == hyper_hosts

    for spec in PEK3B_NODES:
        assert deployed.release(spec) == "4.3.1", spec.hostname
        assert deployed.node_packages(spec), spec.hostname
        assert set(deployed.node_packages(spec).values()) == {"4.3.1"}, spec.hostname
    assert described["installed_version"] == "4.3.1"
    assert not any(package["upgradable"] for package in described["package_set"])

    # The state was backed up before any node changed.
    jobs = await deployed.call("DescribeJobs", "Job", job_ids=[started["job_id"]])
    backup = Path(jobs["job_set"][0]["resources"]["backup_dir"])
    assert backup == deployed.engine.layout.backups_dir / started["job_id"]
    backed_up = [index for index, line in enumerate(lines) if "backed up" in line and str(backup) in line]
    first_node_line = min(index for index, line in enumerate(lines) if STAMPED.match(line))
    assert backed_up, "no log line names the backup directory"
    assert backed_up[0] < first_node_line
    copy = sqlite3.connect(backup / "state.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        actions = {row[0] for row in copy.execute("SELECT job_action FROM jobs")}
    finally:
        copy.close()
    assert {"ConfigQingCloud", "DeployQingCloud", "UpgradeQingCloud"} <= actions
    assert (backup / "config" / "pek3b").is_dir()


async def test_failed_node_stops_upgrade_and_rerun_resumes(deployed):
    first_hyper, failing, untouched = HYPER_NODES
    deployed.inject_failure(failing, "upgrade")
    packages_before = deployed.node_packages(untouched)
    assert set(packages_before.values()) == {"20181001-1"}

    first, first_status, first_lines = await deployed.run_job("UpgradeQingCloud", package_name=PACKAGE)
    after_failure = await deployed.call("DescribeQingCloudPackages")

    assert first_status["status"] == "failed"
    assert first_status["steps"][2] == {"status": "step2", "name": "upgrade_nodes", "state": "failed"}
    assert first_status["nodes"][failing.node_id]["state"] == "failed"
    assert deployed.release(first_hyper) == "4.3.1"
    assert deployed.release(untouched) is None
    assert deployed.node_packages(untouched) == packages_before
    assert not any(STAMPED.match(line) and line.startswith(f"{untouched.hostname} | ") for line in first_lines)
    assert f"upgrade stopped at {failing.hostname}" in first_lines[-1]
    assert f"run UpgradeQingCloud with package_name {PACKAGE} again to resume" in first_lines[-1]
    assert after_failure["installed_version"] == "4.3.0"

    second, second_status, second_lines = await deployed.run_job("UpgradeQingCloud", package_name=PACKAGE)

    assert second_status["status"] == "successful", second_lines[-10:]
    for spec in [*VG_NODES, first_hyper]:
        assert f"{spec.hostname} | already upgraded to 4.3.1 by an earlier job, skipping" in second_lines
    assert_one_at_a_time(node_intervals(second_lines, [failing.hostname, untouched.hostname]))
    for spec in PEK3B_NODES:
        assert deployed.release(spec) == "4.3.1", spec.hostname
    described = await deployed.call("DescribeQingCloudPackages")
    assert described["installed_version"] == "4.3.1"


async def test_failed_health_check_stops_before_next_node(deployed):
    first_hyper, second_hyper, third_hyper = HYPER_NODES
    # Three failures outlast the health check's two retries.
    marker = deployed.home(first_hyper) / CONTROL_DIR / "fail" / "health_check"
    marker.write_text("3\n", encoding="utf-8")

    _, status, lines = await deployed.run_job("UpgradeQingCloud", package_name=PACKAGE)

    assert status["status"] == "failed"
    assert f"upgrade stopped at {first_hyper.hostname}" in lines[-1]
    assert deployed.release(second_hyper) is None
    assert deployed.release(third_hyper) is None
    assert any("retrying (attempt 3 of 3)" in line for line in lines if line.startswith(first_hyper.hostname))
