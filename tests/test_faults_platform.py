"""An in-process engine over thirteen real sshd nodes, for the fault tests.

The nodes stand in for the reference's pek3a and pek3b zones, as in the deploy tests, but the
engine runs in the test's event loop, so a test can stop a node at an exact point of a step and
read the job log as it grows. The recipe is the demo recipe with one change: a node whose home
contains the file `.hold` waits at the start of its configure_network command until the file is
removed, after printing HOLD_LINE. That gives each test a node that is busy in step3 for as long
as the test needs.

This module holds fixtures and helpers only; pytest collects no test from it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from engine.engine import Engine
from engine.lab.layout import PEK3A_NODES, PEK3B_NODES
from engine.lab.nodedir import prepare_node_dir
from engine.recipe import Recipe, load_recipe
from engine.ssh import fingerprint, generate_client_key
from tests.sshd import SshdCluster

SEED_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"
ZONE_NODES = [*PEK3A_NODES, *PEK3B_NODES]
NODE_IDS = [spec.node_id for spec in ZONE_NODES]
DEPLOY = "DeployQingCloud"
#: Pause divisor for the demo scripts, as in the deploy tests.
SPEED = 40

HOLD_FILE = ".hold"
HOLD_LINE = "holding at the gate until .hold is removed"
CONFIGURE_NETWORK = 3
#: Seconds the configure_network command may take on a node in these tests.
CONFIGURE_NETWORK_TIMEOUT = 4.0

_HOLD_SCRIPT = (
    f'if [ -e {HOLD_FILE} ]; then echo "{HOLD_LINE}"; '
    f"while [ -e {HOLD_FILE} ]; do sleep 0.02; done; fi; "
    'exec "$@"'
)


def holding_recipe() -> Recipe:
    """Return the demo recipe whose configure_network waits on nodes that have a .hold file."""
    recipe = load_recipe()
    step = recipe.actions[DEPLOY].steps[CONFIGURE_NETWORK]
    assert step.name == "configure_network"

    task = step.tasks[0]
    task.run = ["sh", "-c", _HOLD_SCRIPT, "hold", *task.run]
    task.timeout = CONFIGURE_NETWORK_TIMEOUT
    return recipe


@dataclass
class Platform:
    """The engine, its state directory and the sshd nodes behind it."""

    engine: Engine
    cluster: SshdCluster
    state: Path

    async def call(self, action: str, request_type: str = "QingCloud", **params: Any) -> dict[str, Any]:
        return await self.engine.call({"action": action, "request_type": request_type, **params})

    async def configure(self) -> None:
        config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
        started = await self.call("ConfigQingCloud", config=config)
        assert started["ret_code"] == 0, started
        status = await self.wait_for_job("ConfigQingCloud", started["job_id"])
        assert status["status"] == "successful", await self.log_lines("ConfigQingCloud", started["job_id"])

    async def deploy(self, node_ids: list[str] | None = None) -> str:
        started = await self.call(DEPLOY, node_ids=node_ids or NODE_IDS)
        assert started["ret_code"] == 0, started
        return started["job_id"]

    async def wait_for_job(self, action: str, job_id: str, deadline_s: float = 120) -> dict[str, Any]:
        """Wait until the job ends and return its GetStatus response."""
        deadline = time.monotonic() + deadline_s
        while True:
            status = await self.call("GetStatus", job_action=action, job_id=job_id)
            if status["status"] in ("successful", "failed"):
                return status
            assert time.monotonic() < deadline, f"job {job_id} did not end within {deadline_s} s: {status}"
            await asyncio.sleep(0.05)

    async def log_lines(self, action: str, job_id: str, **filters: Any) -> list[str]:
        response = await self.call("GetLog", job_action=action, job_id=job_id, **filters)
        return list(response["log"].values())

    async def wait_for_line(self, job_id: str, matches: Callable[[str], bool], deadline_s: float = 60) -> str:
        """Wait until a line of the deploy job's log matches and return it."""
        deadline = time.monotonic() + deadline_s
        while True:
            for line in await self.log_lines(DEPLOY, job_id):
                if matches(line):
                    return line
            status = await self.call("GetStatus", job_action=DEPLOY, job_id=job_id)
            assert status["status"] not in ("successful", "failed"), f"job {job_id} ended before the line showed"
            assert time.monotonic() < deadline, f"no matching line in job {job_id} within {deadline_s} s"
            await asyncio.sleep(0.02)

    def hold(self, hostname: str) -> Path:
        """Make a node wait at the start of configure_network; returns the file to remove to release it."""
        hold_file = self.cluster.node(hostname).home / HOLD_FILE
        hold_file.touch()
        return hold_file

    def integrity(self) -> str:
        """Return SQLite's integrity_check verdict for the state database, read by a connection of its own."""
        with sqlite3.connect(self.state / "state.db") as database:
            return database.execute("PRAGMA integrity_check").fetchone()[0]


async def start_platform(
    sshd_cluster: Callable[..., SshdCluster], state: Path, *, recipe: Recipe | None = None, **cluster_options: Any
) -> Platform:
    """Start thirteen sshd nodes and an engine that has registered them with their scanned host keys."""
    public_key = generate_client_key(state / "ssh" / "id_ed25519")
    cluster = sshd_cluster([spec.hostname for spec in ZONE_NODES], client_public_key=public_key, **cluster_options)
    for spec in ZONE_NODES:
        prepare_node_dir(cluster.node(spec.hostname).home, hostname=spec.hostname, mgmt_ip=spec.mgmt_ip, speed=SPEED)

    engine = Engine(state, recipe=recipe or holding_recipe())
    await engine.start()
    platform = Platform(engine=engine, cluster=cluster, state=state)

    nodes = [
        {"node_id": spec.node_id, "ssh_host": cluster.node(spec.hostname).host,
         "ssh_port": cluster.node(spec.hostname).port, "ssh_user": cluster.node(spec.hostname).user,
         "mgmt_ip": spec.mgmt_ip}
        for spec in ZONE_NODES
    ]
    # The test knows the nodes' host keys, so it confirms them without a ScanNodeHostKeys round.
    seen = sorted({fingerprint(cluster.host_public_key(spec.hostname)) for spec in ZONE_NODES})
    added = await platform.call("AddNodes", "Node", nodes=nodes, trusted_fingerprints=seen)
    assert added["ret_code"] == 0, added
    return platform


@pytest.fixture
async def make_platform(sshd_cluster, tmp_path):
    """Return start(**cluster_options), which starts a Platform; every engine stops at teardown."""
    platforms: list[Platform] = []

    async def start(*, recipe: Recipe | None = None, **cluster_options: Any) -> Platform:
        state = tmp_path / f"state-{len(platforms)}"
        platform = await start_platform(sshd_cluster, state, recipe=recipe, **cluster_options)
        platforms.append(platform)
        return platform

    yield start

    for platform in platforms:
        await platform.engine.stop()
