"""A scripted stand-in for the engine's Client, and helpers for Pilot tests of the TUI.

`FakeClient` records every call and returns canned responses shaped like the
engine's. Its jobs move one step further each time GetStatus reads them, so a test
drives a job to its end by letting the TUI poll, without any clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual.pilot import Pilot

from tui.app import InstallerApp

DEPLOY_STEPS = ["preflight", "distribute_config", "install", "configure_network", "start_services", "verify"]
CONFIG_STEPS = ["validate", "render_files", "record"]

ROLE_KINDS = {"ks-vm": "ks", "vg": "vg", "hyper-repl": "hyper"}


def error_response(action: str, ret_code: int, message: str) -> dict[str, Any]:
    return {"action": f"{action}Response", "ret_code": ret_code, "message": message}


def lab_nodes() -> list[dict[str, Any]]:
    """Return node records like the lab's: pek3a's eight, pek3b's five and one spare without a role."""
    roles_a = ["ks-vm", "ks-vm", "vg", "vg", "hyper-repl", "hyper-repl", "hyper-repl", "hyper-repl"]
    roles_b = ["vg", "vg", "hyper-repl", "hyper-repl", "hyper-repl"]
    nodes = []
    port = 42201

    for zone, roles, network in (("pek3a", roles_a, "172.16.80"), ("pek3b", roles_b, "172.18.80")):
        for slot, role in enumerate(roles, start=1):
            nodes.append({
                "node_id": f"n-{zone}01r{slot:02d}", "hostname": f"{zone}r01n{slot:02d}",
                "ssh_host": "127.0.0.1", "ssh_port": port, "mgmt_ip": f"{network}.{slot + 2}",
                "zone_id": zone, "role": role, "sub_roles": "", "status": "ready",
                "cpus": 4, "mem_mb": 8192, "host_key_fingerprints": ["SHA256:fake"],
            })
            port += 1

    nodes.append({
        "node_id": "n-test1234", "hostname": "pek3ar02n01", "ssh_host": "127.0.0.1", "ssh_port": port,
        "mgmt_ip": "172.16.80.30", "zone_id": "", "role": "", "sub_roles": "", "status": "ready",
        "cpus": 4, "mem_mb": 8192, "host_key_fingerprints": ["SHA256:fake"],
    })
    return nodes


def zone_counts(zone_config: dict[str, Any]) -> dict[str, Any]:
    """Count a zone's nodes per role kind and take its deploy mode, as the engine summarises."""
    variables = zone_config.get("variables") or {}
    merged: dict[str, Any] = {}
    for group in ("common", "base", "advanced"):
        merged.update(variables.get(group) or {})
    merged.update({key: value for key, value in variables.items() if key not in ("common", "base", "advanced")})

    roles = (zone_config.get("settings") or {}).get("roles") or {}
    kinds = [ROLE_KINDS.get(entry.get("role"), "other") for entry in roles.values()]
    return {
        "deploy_mode": merged.get("deploy_mode", "standard"),
        "ks_node_num": kinds.count("ks"),
        "vg_node_num": kinds.count("vg"),
        "hyper_node_num": kinds.count("hyper"),
        "role_node_num": len(kinds),
    }


@dataclass
class FakeJob:
    """A job that moves one step per GetStatus: pending, each step running then done, then the end."""

    job_id: str
    job_action: str
    step_names: list[str]
    nodes: dict[str, str]
    fail_step: str | None = None
    start_index: int = 0
    status: str = "pending"
    pre_status: str = ""
    states: list[str] = field(default_factory=list)
    node_states: dict[str, str] = field(default_factory=dict)
    lines: list[tuple[str, str]] = field(default_factory=list)
    current: int = -1

    def __post_init__(self) -> None:
        self.states = ["done" if index < self.start_index else "pending" for index in range(len(self.step_names))]
        self.node_states = {node_id: "pending" for node_id in self.nodes}
        self.write(f"{self.job_action} {self.job_id} accepted for {len(self.nodes)} nodes")

    def write(self, text: str) -> None:
        self.lines.append((self.status, text))

    def set_status(self, status: str) -> None:
        self.pre_status, self.status = self.status, status

    @property
    def finished(self) -> bool:
        return self.status in ("successful", "failed")

    def advance(self) -> None:
        if self.finished:
            return

        if self.current < 0:
            self.start_step(self.start_index)
            return

        name = self.step_names[self.current]
        if name == self.fail_step:
            self.fail_current()
            return

        self.states[self.current] = "done"
        for node_id, hostname in self.nodes.items():
            self.node_states[node_id] = "done"
            self.write(f"[{hostname}] {name}: ok")

        if self.current + 1 < len(self.step_names):
            self.start_step(self.current + 1)
        else:
            self.set_status("successful")
            self.write(f"{self.job_action} {self.job_id} successful")

    def start_step(self, index: int) -> None:
        self.current = index
        self.states[index] = "running"
        self.set_status(f"step{index}")
        self.node_states = {node_id: "running" for node_id in self.nodes}
        for hostname in self.nodes.values():
            self.write(f"[{hostname}] {self.step_names[index]}: started")

    def fail_current(self) -> None:
        name = self.step_names[self.current]
        failing_node = next(iter(self.nodes))
        hostname = self.nodes[failing_node]

        self.states[self.current] = "failed"
        self.node_states = {node_id: "done" for node_id in self.nodes}
        self.node_states[failing_node] = "failed"
        for number in range(1, 13):
            self.write(f"[{hostname}] {name}: detail line {number}")
        self.write(f"[{hostname}] {name}: ERROR package qingcloud-hyper failed to install (exit 100)")
        self.set_status("failed")

    def status_response(self) -> dict[str, Any]:
        current = self.step_names[self.current] if self.current >= 0 else ""
        return {
            "action": "GetStatusResponse", "ret_code": 0,
            "job_id": self.job_id, "job_action": self.job_action,
            "status": self.status, "pre_status": self.pre_status,
            "steps": [{"status": f"step{index}", "name": name, "state": self.states[index]}
                      for index, name in enumerate(self.step_names)],
            "nodes": {node_id: {"hostname": hostname, "state": self.node_states[node_id],
                                "step": f"step{self.current}" if current else ""}
                      for node_id, hostname in self.nodes.items()},
            "create_time": "2024-05-01 10:00:00", "update_time": "2024-05-01 10:00:01",
        }


class FakeClient:
    """A Client that responds from memory and records each call as (action, params, request_type).

    `script(action, response)` queues a one-off response to the next call of that action.
    `deploy_fail_step` makes the first deploy job fail at that step; a re-run resumes
    there and succeeds, as the engine does.
    """

    def __init__(self, *, configured: bool = True, deploy_fail_step: str | None = None,
                 nodes: list[dict[str, Any]] | None = None) -> None:
        self.description = "fake engine"
        self.calls: list[tuple[str, dict[str, Any], str]] = []
        self.scripted: dict[str, list[dict[str, Any]]] = {}
        self.jobs: list[FakeJob] = []
        self.nodes = lab_nodes() if nodes is None else nodes
        self.config: dict[str, Any] | None = None
        self.configured = configured
        self.deployed = False
        self.deploy_fail_step = deploy_fail_step
        self.closed = False

    # Test side.

    def script(self, action: str, response: dict[str, Any]) -> None:
        self.scripted.setdefault(action, []).append(response)

    def calls_of(self, action: str) -> list[dict[str, Any]]:
        return [params for called, params, _type in self.calls if called == action]

    # Client side.

    async def call(self, action: str, params: dict[str, Any] | None = None,
                   request_type: str = "QingCloud") -> dict[str, Any]:
        params = dict(params or {})
        self.calls.append((action, params, request_type))

        if self.scripted.get(action):
            return self.scripted[action].pop(0)

        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(self, f"_{action}", None)
        if handler is None:
            return error_response(action, 1100, f"action {action!r} is not known to the fake client")
        response = handler(params)
        response.setdefault("action", f"{action}Response")
        response.setdefault("ret_code", 0)
        return response

    async def close(self) -> None:
        self.closed = True

    # Actions.

    def _DescribeQingCloud(self, params: dict[str, Any]) -> dict[str, Any]:
        zones = {zone_id: {"zone_id": zone_id, **zone_counts(zone), "free_node_num": 0,
                           "is_zone_deployed": int(self.deployed)}
                 for zone_id, zone in (self.config or {}).items()}

        status = "pending"
        if self.deployed:
            status = "successful"
        elif self.configured:
            status = "configured"

        return {"qingcloud": {
            "platform_name": "qingcloud", "is_deployed": int(self.deployed),
            "status": status,
            "region_id": "pek3", "zone_ids": list(zones), "zone_info": zones,
        }}

    def _DescribeNodes(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"node_set": list(self.nodes), "total_count": len(self.nodes)}

    def _ValidateQingCloudConfig(self, params: dict[str, Any]) -> dict[str, Any]:
        config = params["config"]
        return {
            "valid": True,
            "issues": [{"severity": "warning", "zone": zone_id, "path": f"{zone_id}.variables.domain",
                        "message": "qingcloud.com is the example domain; check it is the site's"}
                       for zone_id in config],
            "zones": {zone_id: zone_counts(zone) for zone_id, zone in config.items()},
        }

    def _ConfigQingCloud(self, params: dict[str, Any]) -> dict[str, Any]:
        self.config = params["config"]
        job = self.new_job("ConfigQingCloud", CONFIG_STEPS, {"n-installer": "installer"})
        return {"job_id": job.job_id}

    def _DeployQingCloud(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self.configured:
            return error_response("DeployQingCloud", 5200,
                                  "DeployQingCloud is not possible before ConfigQingCloud has succeeded")

        known = {node["node_id"]: node for node in self.nodes}
        node_ids = params.get("node_ids") or []
        unknown = [node_id for node_id in node_ids if node_id not in known]
        if unknown:
            return error_response("DeployQingCloud", 2100, f"node_ids: {', '.join(unknown)} not registered")

        previous = next((job for job in reversed(self.jobs) if job.job_action == "DeployQingCloud"), None)
        start_index = previous.current if previous is not None and previous.status == "failed" else 0
        fail_step = self.deploy_fail_step if previous is None else None

        job = self.new_job("DeployQingCloud", DEPLOY_STEPS,
                           {node_id: known[node_id]["hostname"] for node_id in node_ids},
                           fail_step=fail_step, start_index=start_index)
        return {"job_id": job.job_id}

    def _GetStatus(self, params: dict[str, Any]) -> dict[str, Any]:
        job = self.find_job(params)
        if job is None:
            return error_response("GetStatus", 2100, f"no {params.get('job_action')} job found")

        job.advance()
        if job.finished and job.status == "successful":
            if job.job_action == "ConfigQingCloud":
                self.configured = True
            if job.job_action == "DeployQingCloud":
                self.deployed = True
        return job.status_response()

    def _GetLog(self, params: dict[str, Any]) -> dict[str, Any]:
        job = self.find_job(params)
        if job is None:
            return error_response("GetLog", 2100, f"no {params.get('job_action')} job found")

        lines = [text for status, text in job.lines
                 if "job_status" not in params or status == params["job_status"]]
        offset = int(params.get("offset", 0))
        limit = params.get("limit")
        page = lines[offset:] if limit is None else lines[offset:offset + int(limit)]
        return {
            "log": {f"{offset + number:03d}": text for number, text in enumerate(page, start=1)},
            "job_id": job.job_id, "job_action": job.job_action,
            "next_offset": offset + len(page), "total_count": len(lines),
        }

    # Jobs.

    def new_job(self, action: str, steps: list[str], nodes: dict[str, str], **options: Any) -> FakeJob:
        job = FakeJob(job_id=f"j-fake{len(self.jobs) + 1:04d}", job_action=action, step_names=steps,
                      nodes=nodes, **options)
        self.jobs.append(job)
        return job

    def find_job(self, params: dict[str, Any]) -> FakeJob | None:
        matching = [job for job in self.jobs if job.job_action == params.get("job_action")]
        if params.get("job_id"):
            matching = [job for job in matching if job.job_id == params["job_id"]]
        return matching[-1] if matching else None


def make_app(client: FakeClient, *, lang: str = "en") -> InstallerApp:
    """Build the app over a fake client, polling jobs without delay and with animations off."""

    async def connect() -> FakeClient:
        return client

    app = InstallerApp(connect, lang=lang, poll_interval=0.005)
    app.animation_level = "none"
    return app


async def wait_until(pilot: Pilot, condition: Callable[[], bool], description: str, timeout: float = 10.0) -> None:
    """Let the app run until `condition()` holds; fail with `description` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting until {description}")
        await pilot.pause(0.01)
    await pilot.pause()
