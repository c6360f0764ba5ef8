"""The engine process itself failing under a deploy: killed with SIGKILL, or its state disk full.

The engine runs as `qc-installer serve` in a subprocess, as on an operator's machine, and the
thirteen sshd nodes of the deploy tests stand in for the reference's two zones.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from engine.lab.nodedir import prepare_node_dir, set_speed
from engine.ssh import generate_client_key
from tests.sshd import SshdCluster
from tests.test_deploy_sshd import SPEED, ZONE_NODES, Api, configure, free_port

pytestmark = pytest.mark.sshd

DEPLOY = "DeployQingCloud"
NODE_IDS = [spec.node_id for spec in ZONE_NODES]
#: A hyper node of the fusion zone: it installs the most packages of all nodes.
SLOW = ZONE_NODES[-1]
PACKAGES = Path("var/lib/qingcloud-demo/packages")
_UNPACKING = re.compile(r"^(\S+) \| Unpacking (\S+) ")

# Mounts a tmpfs of $1 on the state directory $2 in the new mount namespace, then runs the engine.
_SMALL_DISK = 'mount -t tmpfs -o "size=$1,mode=0700" tmpfs "$2" && shift 2 && exec "$@"'


class Engine:
    """One `qc-installer serve` process on a state directory, and its API."""

    def __init__(self, state: Path, errors: Path, *, disk_size: str | None = None) -> None:
        port = free_port()
        command = [sys.executable, "-m", "qc_cli.main", "serve", "--state-dir", str(state),
                   "--listen", f"127.0.0.1:{port}"]
        if disk_size is not None:
            # No fork: the engine keeps the pid of setpriv, so /proc/<pid>/root sees its tmpfs.
            command = ["setpriv", "--pdeathsig", "KILL", "--", "unshare", "--mount", "--",
                       "sh", "-c", _SMALL_DISK, "sh", disk_size, str(state), *command]
        self.errors = errors
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=errors.open("wb"),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.api = Api(f"http://127.0.0.1:{port}")
        self._wait_until_serving()

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.api.call("DescribeQingCloud")["ret_code"] == 0:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start: {self.errors.read_text()}")
            time.sleep(0.05)

    def view(self, path: Path) -> Path:
        """Return path as this process sees it, through its own mount namespace."""
        return Path(f"/proc/{self.process.pid}/root") / path.relative_to("/")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def engines():
    """Return start(state, **options), which starts an Engine; every one is stopped at teardown."""
    started: list[Engine] = []

    def start(state: Path, errors: Path, **options) -> Engine:
        engine = Engine(state, errors, **options)
        started.append(engine)
        return engine

    yield start
    for engine in started:
        engine.stop()


def start_nodes(sshd_cluster, public_key: str) -> SshdCluster:
    cluster = sshd_cluster([spec.hostname for spec in ZONE_NODES], client_public_key=public_key)
    for spec in ZONE_NODES:
        prepare_node_dir(cluster.node(spec.hostname).home, hostname=spec.hostname, mgmt_ip=spec.mgmt_ip, speed=SPEED)
    return cluster


def register(api: Api, cluster: SshdCluster) -> None:
    nodes = [
        {"node_id": spec.node_id, "ssh_host": cluster.node(spec.hostname).host,
         "ssh_port": cluster.node(spec.hostname).port, "ssh_user": cluster.node(spec.hostname).user,
         "mgmt_ip": spec.mgmt_ip}
        for spec in ZONE_NODES
    ]
    scanned = api.call("ScanNodeHostKeys", "Node", nodes=nodes)
    assert scanned["ret_code"] == 0, scanned
    seen = [fingerprint for entry in scanned["host_keys"] for fingerprint in entry["fingerprints"]]
    added = api.call("AddNodes", "Node", nodes=nodes, trusted_fingerprints=seen)
    assert added["ret_code"] == 0, added


def installed(cluster: SshdCluster, hostname: str) -> dict[str, int]:
    """Map each package the demo scripts installed on a node to its marker file's mtime in ns."""
    directory = cluster.node(hostname).home / PACKAGES
    if not directory.is_dir():
        return {}
    return {path.name: path.stat().st_mtime_ns for path in directory.iterdir()}


def platform_view(api: Api, state: Path) -> dict:
    """What the operator sees of the platform: DescribeQingCloud, DescribeNodes and the rendered files."""
    files = {
        str(path.relative_to(state)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((state / "config").rglob("*")) if path.is_file()
    }
    # status and pre_status are those of the newest job, which the test changes on purpose.
    platform = api.call("DescribeQingCloud")["qingcloud"]
    return {
        "qingcloud": {key: value for key, value in platform.items() if key not in ("status", "pre_status")},
        "nodes": api.call("DescribeNodes", "Node")["node_set"],
        "files": files,
    }


def integrity(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def wait_for(condition, what: str, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {deadline_s} s"
        time.sleep(0.02)


def test_engine_killed_mid_step_resumes_there(sshd_cluster, engines, tmp_path):
    state = tmp_path / "state"
    cluster = start_nodes(sshd_cluster, generate_client_key(state / "ssh" / "id_ed25519"))
    # The slow node is still installing when every other node has finished the install step.
    set_speed(cluster.node(SLOW.hostname).home, 2)
    first = engines(state, tmp_path / "serve-1.err")
    register(first.api, cluster)
    configure(first.api)
    before = platform_view(first.api, state)
    job_id = first.api.call(DEPLOY, node_ids=NODE_IDS)["job_id"]

    def only_slow_node_installing() -> bool:
        status = first.api.call("GetStatus", job_action=DEPLOY, job_id=job_id)
        others_done = all(
            status["nodes"].get(spec.node_id, {}).get("step") == "step2"
            and status["nodes"][spec.node_id]["state"] == "done"
            for spec in ZONE_NODES if spec is not SLOW
        )
        return status["status"] == "step2" and others_done and len(installed(cluster, SLOW.hostname)) >= 2

    wait_for(only_slow_node_installing, "the install step finishing on every node but the slow one")
    first.kill()
    database_verdict = integrity(state / "state.db")
    before_rerun = {spec.hostname: installed(cluster, spec.hostname) for spec in ZONE_NODES}

    second = engines(state, tmp_path / "serve-2.err")
    status = second.api.call("GetStatus", job_action=DEPLOY, job_id=job_id)
    last_line = second.api.log_lines(DEPLOY, job_id)[-1]
    after = platform_view(second.api, state)

    assert database_verdict == "ok"
    assert status["status"] == "failed"
    assert status["pre_status"] == "step2"
    assert [step["state"] for step in status["steps"]] == ["done", "done", "failed", "pending", "pending", "pending"]
    assert status["nodes"][SLOW.node_id]["state"] == "failed"
    assert "job interrupted: the engine stopped while the job was in step2 install" in last_line
    assert "12 of 13 nodes had finished it" in last_line
    assert "run DeployQingCloud again to resume from that step" in last_line
    assert after == before

    set_speed(cluster.node(SLOW.hostname).home, SPEED)
    rerun_id = second.api.call(DEPLOY, node_ids=NODE_IDS)["job_id"]
    rerun_seen = second.api.wait_for_job(DEPLOY, rerun_id)
    rerun = second.api.call("GetStatus", job_action=DEPLOY, job_id=rerun_id)
    install_lines = second.api.log_lines(DEPLOY, rerun_id, job_status="step2")

    assert rerun_seen[-1] == "successful"
    assert [step["state"] for step in rerun["steps"]] == ["skipped", "skipped", "done", "done", "done", "done"]
    unpacked = [match.groups() for line in install_lines if (match := _UNPACKING.match(line))]
    # Only the slow node unpacked anything, and only what it had not installed before the kill.
    assert {hostname for hostname, _ in unpacked} == {SLOW.hostname}
    assert not {package for _, package in unpacked} & set(before_rerun[SLOW.hostname])
    for spec in ZONE_NODES:
        now = installed(cluster, spec.hostname)
        kept = {package: now[package] for package in before_rerun[spec.hostname]}
        assert kept == before_rerun[spec.hostname], f"{spec.hostname} installed packages again"


def test_full_state_disk_stops_job_and_keeps_state(sshd_cluster, engines, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    engine = engines(state, tmp_path / "serve.err", disk_size="16m")
    public_key = engine.view(state / "ssh" / "id_ed25519.pub").read_text()
    cluster = start_nodes(sshd_cluster, public_key)
    register(engine.api, cluster)
    configure(engine.api)
    before = platform_view(engine.api, engine.view(state))

    # Leave 32 KiB free: the deploy's first log lines and job records use that up.
    disk = engine.view(state)
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with filler.open("wb") as handle:
        handle.truncate(0)
        handle.write(b"\0" * (free - 32 * 1024))
    job_id = engine.api.call(DEPLOY, node_ids=NODE_IDS)["job_id"]
    seen = engine.api.wait_for_job(DEPLOY, job_id)
    status = engine.api.call("GetStatus", job_action=DEPLOY, job_id=job_id)
    lines = engine.api.log_lines(DEPLOY, job_id)
    refused = engine.api.call(DEPLOY, node_ids=NODE_IDS)
    after = platform_view(engine.api, engine.view(state))

    assert seen[-1] == "failed"
    failed_steps = [step for step in status["steps"] if step["state"] == "failed"]
    assert len(failed_steps) == 1, status["steps"]
    assert "running" not in {progress["state"] for progress in status["nodes"].values()}
    assert f"the disk of the state directory {state} is full" in lines[-1]
    assert "free space there and run DeployQingCloud again" in lines[-1]
    assert integrity(disk / "state.db") == "ok"
    assert after == before
    assert refused["ret_code"] == 5200
    assert "free space there" in refused["message"]

    filler.unlink()
    rerun_id = engine.api.call(DEPLOY, node_ids=NODE_IDS)["job_id"]
    rerun_seen = engine.api.wait_for_job(DEPLOY, rerun_id)
    rerun = engine.api.call("GetStatus", job_action=DEPLOY, job_id=rerun_id)

    assert rerun_seen[-1] == "successful", engine.api.log_lines(DEPLOY, rerun_id)[-5:]
    assert rerun["steps"][int(failed_steps[0]["status"].removeprefix("step"))]["state"] == "done"
    assert engine.api.call("DescribeQingCloud")["qingcloud"]["is_deployed"] == 1
