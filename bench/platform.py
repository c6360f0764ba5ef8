"""Many real sshd nodes on loopback, registered, configured and deployed by an in-process engine.

The benchmarks share this setup. The nodes are OpenSSH sshd processes (tests/sshd.py, 16
addresses per sshd, 127.0.0.11 upward), and each is a lab node for the demo recipe.
start_platform puts N nodes in one standard zone pek3a (two ks-vm nodes, two vg nodes and N-4
hyper nodes), and start_nodes takes any nodes and configuration. The management addresses are
data only. Needs root and /usr/sbin/sshd, as the sshd tests do.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.engine import Engine
from engine.lab.nodedir import prepare_node_dir
from engine.recipe import Recipe
from engine.ssh import fingerprint, generate_client_key
from tests.sshd import SshdCluster, missing_requirements

log = logging.getLogger("bench")

SEED_CONFIG = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "config-qingcloud.seed.json"
ZONE = "pek3a"
#: The seed's pek3a nodes that stay as they are: two ks-vm and two vg nodes.
FIXED_NODES = {
    "n-pek3a01r01": "172.16.80.11",
    "n-pek3a01r02": "172.16.80.12",
    "n-pek3a01r03": "172.16.80.5",
    "n-pek3a01r04": "172.16.80.6",
}
#: Nodes per rack in the generated hostnames pek3ar<rack>n<slot>.
RACK_SIZE = 40


@dataclass(frozen=True)
class BenchNode:
    node_id: str
    hostname: str
    mgmt_ip: str


def bench_nodes(count: int) -> list[BenchNode]:
    """Return count nodes: the seed's four fixed pek3a nodes, then hyper nodes."""
    if count < 5:
        raise ValueError(f"a benchmark zone needs at least 5 nodes, got {count}")

    nodes = []
    for index in range(count):
        rack, slot = divmod(index, RACK_SIZE)
        hostname = f"pek3ar{rack + 1:02d}n{slot + 1:02d}"
        if index < len(FIXED_NODES):
            node_id, mgmt_ip = list(FIXED_NODES.items())[index]
        else:
            node_id = f"n-pek3a{index + 1:04d}"
            # The seed's VBC names 172.16.80.7-10, so the first four hyper nodes take those.
            hyper = index - len(FIXED_NODES)
            mgmt_ip = f"172.16.80.{7 + hyper}" if hyper < 4 else f"172.16.{81 + hyper // 250}.{1 + hyper % 250}"
        nodes.append(BenchNode(node_id=node_id, hostname=hostname, mgmt_ip=mgmt_ip))
    return nodes


def zone_config(nodes: list[BenchNode]) -> dict[str, Any]:
    """Return a ConfigQingCloud `config` of one standard zone pek3a that contains every node."""
    seed = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
    zone = copy.deepcopy(seed[ZONE])
    seed_roles = zone["settings"]["roles"]
    roles = {node_id: seed_roles[node_id] for node_id in FIXED_NODES}
    for node in nodes[len(FIXED_NODES):]:
        roles[node.node_id] = {"role": "hyper-repl", "sub_roles": "hyper", "vms": ""}
    zone["settings"]["roles"] = roles
    return {ZONE: zone}


@dataclass
class BenchPlatform:
    """The engine, its nodes and the sshd cluster serving them."""

    engine: Engine
    cluster: SshdCluster
    nodes: list[BenchNode]
    timings: dict[str, float] = field(default_factory=dict)
    step_starts: dict[str, float] = field(default_factory=dict)
    """When each status of the deploy began, in seconds after the DeployQingCloud call."""

    async def call(self, action: str, request_type: str = "QingCloud", **params: Any) -> dict[str, Any]:
        response = await self.engine.call({"action": action, "request_type": request_type, **params})
        if response["ret_code"] != 0:
            raise RuntimeError(f"{action} failed: {response.get('message')}")
        return response

    async def run_job(self, action: str, **params: Any) -> tuple[str, dict[str, float]]:
        """Run a job to its end; return its id and when each status began, in seconds after the call."""
        started = time.perf_counter()
        job_id = (await self.call(action, **params))["job_id"]
        seen: dict[str, float] = {}
        waiter = asyncio.ensure_future(self.engine.jobs.wait(job_id))
        while not waiter.done():
            status = self.engine.store.get_job(job_id).status
            seen.setdefault(status, time.perf_counter() - started)
            await asyncio.wait([waiter], timeout=0.02)
        job = self.engine.store.get_job(job_id)
        seen.setdefault(job.status, time.perf_counter() - started)
        if job.status != "successful":
            lines, _ = self.engine.store.read_log(job_id)
            tail = "\n".join(line for _, line in lines[-10:])
            raise RuntimeError(f"{action} job {job_id} ended {job.status}:\n{tail}")
        return job_id, seen

    def home(self, node: BenchNode) -> Path:
        return self.cluster.node(node.hostname).home


async def start_platform(workdir: Path, count: int, *, speed: float, recipe: Recipe | None = None,
                         deploy: bool = True) -> BenchPlatform:
    """Start count sshd nodes in zone pek3a and an engine that registered, configured and deployed them."""
    nodes = bench_nodes(count)
    return await start_nodes(workdir, nodes, zone_config(nodes), speed=speed, recipe=recipe, deploy=deploy)


async def start_nodes(workdir: Path, nodes: list[BenchNode], config: dict[str, Any], *, speed: float,
                      recipe: Recipe | None = None, deploy: bool = True) -> BenchPlatform:
    """Start sshd nodes and an engine that registered them, applied config and (by default) deployed them."""
    reason = missing_requirements()
    if reason is not None:
        raise RuntimeError(f"real sshd nodes cannot run here: {reason}")

    state = workdir / "state"
    public_key = generate_client_key(state / "ssh" / "id_ed25519")
    cluster = SshdCluster(workdir / "cluster", [node.hostname for node in nodes], client_public_key=public_key)
    cluster.start()
    try:
        for node in nodes:
            prepare_node_dir(cluster.node(node.hostname).home, hostname=node.hostname, mgmt_ip=node.mgmt_ip, speed=speed)

        engine = Engine(state, recipe=recipe)
        await engine.start()
        platform = BenchPlatform(engine=engine, cluster=cluster, nodes=nodes)

        started = time.perf_counter()
        registered = [
            {"node_id": node.node_id, "ssh_host": cluster.node(node.hostname).host,
             "ssh_port": cluster.node(node.hostname).port, "ssh_user": cluster.node(node.hostname).user,
             "mgmt_ip": node.mgmt_ip}
            for node in nodes
        ]
        trusted = sorted({fingerprint(cluster.host_public_key(node.hostname)) for node in nodes})
        await platform.call("AddNodes", "Node", nodes=registered, trusted_fingerprints=trusted)
        platform.timings["AddNodes"] = time.perf_counter() - started

        _, seen = await platform.run_job("ConfigQingCloud", config=config)
        platform.timings["ConfigQingCloud"] = max(seen.values())
        if deploy:
            _, seen = await platform.run_job("DeployQingCloud", node_ids=[node.node_id for node in nodes])
            platform.timings["DeployQingCloud"] = max(seen.values())
            platform.step_starts = seen
        return platform
    except BaseException:
        cluster.stop()
        raise


async def stop_platform(platform: BenchPlatform) -> None:
    await platform.engine.stop()
    platform.cluster.stop()
