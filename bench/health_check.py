"""Health check over 50, 100 and 200 sshd nodes: the engine, ansible ad-hoc, and a bare asyncssh floor.

One run starts 200 real sshd nodes, deploys them with the demo recipe (recording the deploy's
time per step and the peak memory), then checks the services of the first 50, 100 and 200 nodes
three ways, on the same nodes, with the same per-node check script:

- the engine: CheckQingCloud from the call to the end of the job, result stored;
- ansible: `ansible -m command -f 50`, one command per host running the engine's check script;
- the floor: asyncssh connects to each node (50 at a time) and runs the same script, nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import yaml

from bench.memory import peak_resident_mb, reset_peak_resident
from bench.platform import BenchNode, BenchPlatform, start_platform, stop_platform
from engine.deployed_nodes import deployed_nodes
from engine.service_check import SERVICE_MARKER, check_script, plan_check, service_catalog

log = logging.getLogger("bench.health_check")

SIZES = (50, 100, 200)
FORKS = 50
DEPLOY_SPEED = 100


@dataclass
class Figures:
    nodes: int
    engine_s: float
    floor_s: float
    ansible_s: float | None

    def lines(self) -> list[str]:
        shown = [
            f"{self.nodes} nodes: engine {self.engine_s:.2f} s, bare asyncssh {self.floor_s:.2f} s "
            f"(engine/floor {self.engine_s / self.floor_s:.2f}x)"
        ]
        if self.ansible_s is None:
            shown.append("  ansible: not installed, skipped (pip install ansible-core)")
        else:
            shown.append(f"  ansible -m command -f {FORKS} {self.ansible_s:.2f} s "
                         f"(ansible/engine {self.ansible_s / self.engine_s:.1f}x)")
        return shown


def node_scripts(platform: BenchPlatform, hostnames: list[str]) -> dict[str, str]:
    """Return the engine's check script for each of the named deployed nodes."""
    engine = platform.engine
    catalog = service_catalog(engine)
    chosen = [node for node in deployed_nodes(engine) if node.hostname in hostnames]
    plans, _ = plan_check(engine, catalog, chosen)
    return {plan.node.hostname: check_script(catalog, plan, engine.recipe.stage_dir, None) for plan in plans}


async def engine_check(platform: BenchPlatform, hostnames: list[str]) -> float:
    started = time.perf_counter()
    job_id, _ = await platform.run_job("CheckQingCloud", verbose="0", nodes=",".join(hostnames))
    elapsed = time.perf_counter() - started

    result = await platform.call("GetQingCloudCheckResult", job_id=job_id)
    if result["qingcloud_status"] != "Normal":
        raise RuntimeError(f"check {job_id} found problems: {result['result'][:3]}")
    return elapsed


async def floor_check(platform: BenchPlatform, nodes: list[BenchNode], scripts: dict[str, str]) -> float:
    """Connect to each node and run its check script, FORKS at a time; the least any tool can do."""
    key = asyncssh.read_private_key(str(platform.engine.layout.client_key))
    slots = asyncio.Semaphore(FORKS)

    async def one(node: BenchNode) -> int:
        address = platform.cluster.node(node.hostname)
        async with slots:
            async with asyncssh.connect(
                address.host, address.port, username=address.user, client_keys=[key], known_hosts=None,
                config=None, agent_path=None,
            ) as connection:
                result = await connection.run(f"sh -c {shlex.quote(scripts[node.hostname])} 2>&1", check=True)
        return str(result.stdout).count(SERVICE_MARKER)

    started = time.perf_counter()
    reported = await asyncio.gather(*(one(node) for node in nodes))
    elapsed = time.perf_counter() - started
    if not all(reported):
        raise RuntimeError("the floor's check reported no service on some node")
    return elapsed


def ansible_check(platform: BenchPlatform, nodes: list[BenchNode], scripts: dict[str, str], workdir: Path) -> float:
    """Run the check scripts with `ansible -m command`; return the wall time of the ansible process."""
    workdir.mkdir(parents=True, exist_ok=True)
    hosts = {}
    for node in nodes:
        address = platform.cluster.node(node.hostname)
        hosts[node.hostname] = {
            "ansible_host": address.host, "ansible_port": address.port, "ansible_user": address.user,
            "ansible_python_interpreter": "/usr/bin/python3", "check_script": scripts[node.hostname],
        }
    inventory = workdir / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))

    # Everything ansible and ssh write goes under workdir, never to the user's home.
    environment = {
        **os.environ,
        "HOME": str(workdir),
        "ANSIBLE_HOME": str(workdir / "ansible"),
        "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_PRIVATE_KEY_FILE": str(platform.engine.layout.client_key),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(workdir / "cp"),
        # ansible's default ssh arguments, with a short ControlPersist so no master outlives the run long.
        "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=2s -F /dev/null "
                            "-o UserKnownHostsFile=/dev/null",
        "ANSIBLE_NOCOLOR": "1",
    }
    command = ["ansible", "all", "-i", str(inventory), "-m", "command", "-f", str(FORKS),
               "-a", "sh -c {{ check_script | quote }}"]

    started = time.perf_counter()
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started

    succeeded = finished.stdout.count("| CHANGED | rc=0")
    if finished.returncode != 0 or succeeded != len(nodes):
        raise RuntimeError(
            f"ansible checked {succeeded} of {len(nodes)} hosts (exit status {finished.returncode}): "
            f"{finished.stderr[-2000:] or finished.stdout[-2000:]}"
        )
    return elapsed


async def run(workdir: Path, sizes: tuple[int, ...] = SIZES) -> list[str]:
    """Run the benchmark on max(sizes) nodes under workdir and return its report lines."""
    report = []
    reset_peak_resident()
    platform = await start_platform(workdir, max(sizes), speed=DEPLOY_SPEED)
    try:
        report.append(
            f"setup of {max(sizes)} nodes: AddNodes {platform.timings['AddNodes']:.1f} s, "
            f"DeployQingCloud {platform.timings['DeployQingCloud']:.1f} s at lab speed {DEPLOY_SPEED}, "
            f"peak resident memory of the engine process {peak_resident_mb():.0f} MB"
        )
        all_hostnames = [node.hostname for node in platform.nodes]

        # A first check, not timed, warms the nodes' caches for the timed ones. The deploy wrote the
        # recipe digest, so this check stages nothing again.
        await engine_check(platform, all_hostnames)
        ansible = shutil.which("ansible")
        for size in sizes:
            nodes = platform.nodes[:size]
            hostnames = [node.hostname for node in nodes]
            scripts = node_scripts(platform, hostnames)

            reset_peak_resident()
            engine_s = await engine_check(platform, hostnames)
            engine_peak = peak_resident_mb()
            floor_s = await floor_check(platform, nodes, scripts)
            ansible_s = None
            if ansible is not None:
                ansible_s = await asyncio.to_thread(ansible_check, platform, nodes, scripts, workdir / f"ansible-{size}")
            figures = Figures(size, engine_s, floor_s, ansible_s)
            report += figures.lines()
            report.append(f"  peak resident memory during the engine's check {engine_peak:.0f} MB")
    finally:
        await stop_platform(platform)
    return report


def main(sizes: tuple[int, ...] = SIZES) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="qci-bench-") as directory:
        return asyncio.run(run(Path(directory), sizes))
