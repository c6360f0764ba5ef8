"""Deploying the reference's two zones to real OpenSSH nodes through `qc-installer serve`.

Thirteen sshd nodes on loopback stand in for pek3a (8 nodes) and pek3b (5
nodes); the engine runs as a separate `serve` process and every call goes
over HTTP, as a field engineer's laptop would send it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from engine.lab.layout import PEK3A_NODES, PEK3B_NODES
from engine.lab.nodedir import prepare_node_dir, set_failure
from engine.ssh import generate_client_key

pytestmark = pytest.mark.sshd

SEED_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"
ZONE_NODES = [*PEK3A_NODES, *PEK3B_NODES]
STEP_NAMES = ["preflight", "distribute_config", "install", "configure_network", "start_services", "verify"]
#: Pause divisor for the demo scripts: quick, yet slow enough for polling to see most steps.
SPEED = 40


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Api:
    """A tiny HTTP client for the tests: one call, one response object."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)

    def call(self, action: str, request_type: str = "QingCloud", **params) -> dict:
        response = self.http.post("/", json={"action": action, "request_type": request_type, **params})
        return response.json()

    def wait_for_job(self, job_action: str, job_id: str, deadline_s: float = 120) -> list[str]:
        """Poll GetStatus until the job ends; returns the statuses seen, in order, without repeats."""
        seen: list[str] = []
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            status = self.call("GetStatus", job_action=job_action, job_id=job_id)["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status in ("successful", "failed"):
                return seen
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not end within {deadline_s} s; statuses seen: {seen}")

    def log_lines(self, job_action: str, job_id: str, **filters) -> list[str]:
        return list(self.call("GetLog", job_action=job_action, job_id=job_id, **filters)["log"].values())


@pytest.fixture
def platform(sshd_cluster, tmp_path):
    """Thirteen sshd nodes made to look like the lab's pek3a and pek3b nodes, and a serve process."""
    state = tmp_path / "state"
    public_key = generate_client_key(state / "ssh" / "id_ed25519")
    cluster = sshd_cluster([spec.hostname for spec in ZONE_NODES], client_public_key=public_key)
    for spec in ZONE_NODES:
        prepare_node_dir(cluster.node(spec.hostname).home, hostname=spec.hostname, mgmt_ip=spec.mgmt_ip, speed=SPEED)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "qc_cli.main", "serve", "--state-dir", str(state), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "serve.err", "wb"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    api = Api(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while True:
        try:
            if api.call("DescribeQingCloud")["ret_code"] == 0:
                break
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"serve did not start: {(tmp_path / 'serve.err').read_text()}")
        time.sleep(0.1)

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

    yield api, cluster
    server.terminate()
    server.wait(timeout=20)


def configure(api: Api) -> None:
    config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
    started = api.call("ConfigQingCloud", config=config)
    assert started["ret_code"] == 0, started
    seen = api.wait_for_job("ConfigQingCloud", started["job_id"])
    assert seen[-1] == "successful", api.log_lines("ConfigQingCloud", started["job_id"])


def test_seed_platform_deploys_end_to_end(platform):
    api, cluster = platform
    configure(api)

    started = api.call("DeployQingCloud", node_ids=[spec.node_id for spec in ZONE_NODES])
    assert started["ret_code"] == 0, started
    job_id = started["job_id"]
    polled = api.wait_for_job("DeployQingCloud", job_id)
    status = api.call("GetStatus", job_action="DeployQingCloud", job_id=job_id)
    lines = api.log_lines("DeployQingCloud", job_id)
    described = api.call("DescribeQingCloud")["qingcloud"]

    # Every status of the sequence has its own log lines, in order, and polling saw them in order.
    expected = ["pending"] + [f"step{index}" for index in range(len(STEP_NAMES))]
    for job_status in expected:
        assert api.log_lines("DeployQingCloud", job_id, job_status=job_status), f"no log lines in {job_status}"
    order = expected + ["successful"]
    assert polled[-1] == "successful", lines[-20:]
    assert [order.index(s) for s in polled] == sorted(order.index(s) for s in polled)
    assert [step["name"] for step in status["steps"]] == STEP_NAMES
    assert all(step["state"] == "done" for step in status["steps"])

    for spec in ZONE_NODES:
        assert any(line.startswith(f"{spec.hostname} | ") for line in lines), f"no log line from {spec.hostname}"

    zones = described["zone_info"]
    assert described["is_deployed"] == 1
    assert (zones["pek3a"]["deploy_mode"], zones["pek3a"]["ks_node_num"], zones["pek3a"]["vg_node_num"],
            zones["pek3a"]["hyper_node_num"], zones["pek3a"]["role_node_num"]) == ("standard", 2, 2, 4, 8)
    assert (zones["pek3b"]["deploy_mode"], zones["pek3b"]["ks_node_num"], zones["pek3b"]["vg_node_num"],
            zones["pek3b"]["hyper_node_num"], zones["pek3b"]["role_node_num"]) == ("fusion", 0, 2, 3, 5)

    # The scripts really ran on the nodes: the verify step left the services' state in each home.
    for spec in ZONE_NODES:
        services = cluster.node(spec.hostname).home / "var" / "lib" / "qingcloud-demo" / "services"
        assert any(services.glob("*.started")), f"no service started on {spec.hostname}"


def test_failed_step_names_node_and_rerun_resumes(platform):
    api, cluster = platform
    configure(api)
    failing = "pek3br01n04"
    # configure_network has no retries in the demo recipe, so one failure fails the step.
    set_failure(cluster.node(failing).home, "configure_network", once=True)
    node_ids = [spec.node_id for spec in ZONE_NODES]

    first = api.call("DeployQingCloud", node_ids=node_ids)
    first_seen = api.wait_for_job("DeployQingCloud", first["job_id"])
    first_status = api.call("GetStatus", job_action="DeployQingCloud", job_id=first["job_id"])
    first_lines = api.log_lines("DeployQingCloud", first["job_id"])

    assert first_seen[-1] == "failed"
    assert first_status["pre_status"] == "step3"
    assert first_status["steps"][3] == {"status": "step3", "name": "configure_network", "state": "failed"}
    assert first_status["nodes"]["n-pek3b01r04"]["state"] == "failed"
    assert any(failing in line and "configure_network" in line for line in first_lines[-3:]), first_lines[-5:]

    second = api.call("DeployQingCloud", node_ids=node_ids)
    second_seen = api.wait_for_job("DeployQingCloud", second["job_id"])
    second_status = api.call("GetStatus", job_action="DeployQingCloud", job_id=second["job_id"])
    preflight_lines = api.log_lines("DeployQingCloud", second["job_id"], job_status="step0")

    assert second_seen[-1] == "successful"
    assert [step["state"] for step in second_status["steps"]] == ["skipped", "skipped", "skipped", "done", "done", "done"]
    assert any(first["job_id"] in line for line in preflight_lines)
    assert not any(" | " in line for line in preflight_lines), "preflight ran again on a node"


def test_second_deploy_while_one_runs_is_busy(platform):
    api, cluster = platform
    configure(api)
    node_ids = [spec.node_id for spec in ZONE_NODES]

    first = api.call("DeployQingCloud", node_ids=node_ids)
    second = api.call("DeployQingCloud", node_ids=node_ids)
    api.wait_for_job("DeployQingCloud", first["job_id"])

    assert second["ret_code"] == 5100
    assert first["job_id"] in second["message"]


def test_unknown_node_is_not_found_and_named(platform):
    api, _ = platform
    configure(api)

    response = api.call("DeployQingCloud", node_ids=["n-pek3a01r01", "n-nosuchnode"])

    assert response["ret_code"] == 2100
    assert "n-nosuchnode" in response["message"]
