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


# ---------------------------------------------------------------------------
# Node actions for the nodes screen's tests: host key scans, add, trust, delete
# ---------------------------------------------------------------------------

import base64  # noqa: E402
import hashlib  # noqa: E402
import re  # noqa: E402

FAKE_HOSTNAME_CONVENTION = re.compile(r"^[a-z][a-z0-9]*?r\d+n\d+$")


def fake_fingerprint(host: str, port: int, generation: int = 0) -> str:
    """Return a stable SHA256 fingerprint for a fake node's host key; a new generation is a new key."""
    digest = hashlib.sha256(f"{host}:{port}:{generation}".encode()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class NodeFakeClient(FakeClient):
    """A FakeClient that also handles ScanNodeHostKeys, AddNodes, TrustNodeHostKey and DeleteNodes.

    A registered node offers the keys it was registered with unless `offered` says
    otherwise; an unregistered address offers `fake_fingerprint(host, port)`.
    `unreachable` maps (host, port) to the error its scan reports, and `hostnames`
    maps (host, port) to the hostname AddNodes probes there.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.offered: dict[tuple[str, int], list[str]] = {}
        self.unreachable: dict[tuple[str, int], str] = {}
        self.hostnames: dict[tuple[str, int], str] = {}

    def node_at(self, host: str, port: int) -> dict[str, Any] | None:
        return next((node for node in self.nodes if (node["ssh_host"], node["ssh_port"]) == (host, port)), None)

    def offered_fingerprints(self, host: str, port: int) -> list[str]:
        if (host, port) in self.offered:
            return list(self.offered[(host, port)])
        node = self.node_at(host, port)
        if node is not None:
            return list(node.get("host_key_fingerprints") or [])
        return [fake_fingerprint(host, port)]

    def scan_entry(self, host: str, port: int) -> dict[str, Any]:
        node = self.node_at(host, port)
        entry: dict[str, Any] = {"ssh_host": host, "ssh_port": port, "node_id": node["node_id"] if node else "",
                                 "fingerprints": [], "trusted_fingerprints": [], "state": "new", "error": ""}
        if (host, port) in self.unreachable:
            entry["state"] = "unreachable"
            entry["error"] = self.unreachable[(host, port)]
            return entry

        offered = self.offered_fingerprints(host, port)
        trusted = list(node.get("host_key_fingerprints") or []) if node else []
        entry["fingerprints"] = offered
        entry["trusted_fingerprints"] = trusted
        if node is not None:
            entry["state"] = "trusted" if set(offered) & set(trusted) else "changed"
        return entry

    def _ScanNodeHostKeys(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"host_keys": [self.scan_entry(address["ssh_host"], address.get("ssh_port", 22))
                              for address in params.get("nodes") or []]}

    def _AddNodes(self, params: dict[str, Any]) -> dict[str, Any]:
        addresses = params.get("nodes") or []
        if not addresses:
            return error_response("AddNodes", 1100, "nodes: at least one node is required")

        confirmed = set(params.get("trusted_fingerprints") or [])
        for address in addresses:
            entry = self.scan_entry(address["ssh_host"], address.get("ssh_port", 22))
            where = f"{address['ssh_host']}:{address.get('ssh_port', 22)}"
            if entry.get("error"):
                return error_response("AddNodes", 5200, f"AddNodes registered no node: {where}: {entry['error']}")
            if entry["state"] == "changed":
                return error_response("AddNodes", 5200, (
                    f"AddNodes registered no node: {where}: host key changed; trusted "
                    f"{', '.join(entry['trusted_fingerprints'])}, offered now {', '.join(entry['fingerprints'])}"))
            unconfirmed = [fingerprint for fingerprint in entry["fingerprints"] if fingerprint not in confirmed]
            if entry["state"] == "new" and unconfirmed and not params.get("trust_new_host_keys"):
                return error_response("AddNodes", 5200, (
                    f"AddNodes registered no node: {where}: host key {', '.join(unconfirmed)} "
                    "is not in trusted_fingerprints"))

        added = []
        for address in addresses:
            host, port = address["ssh_host"], address.get("ssh_port", 22)
            number = len(self.nodes) + 1
            hostname = self.hostnames.get((host, port), f"node{number}")
            warnings = [] if FAKE_HOSTNAME_CONVENTION.match(hostname) else [
                f"hostname '{hostname}' does not follow the convention <zone_id>r<rack>n<slot>, e.g. pek3ar01n01"]
            node = {
                "node_id": f"n-added{number:03d}", "hostname": hostname, "ssh_host": host, "ssh_port": port,
                "ssh_user": address.get("ssh_user", "root"), "mgmt_ip": host, "zone_id": "", "role": "",
                "sub_roles": "", "status": "registered", "cpus": 8, "mem_mb": 16384,
                "host_key_fingerprints": self.offered_fingerprints(host, port), "warnings": warnings,
            }
            self.nodes.append(node)
            added.append({key: node[key] for key in
                          ("node_id", "hostname", "ssh_host", "ssh_port", "host_key_fingerprints", "warnings")})

        return {"node_ids": [node["node_id"] for node in added], "node_set": added}

    def _TrustNodeHostKey(self, params: dict[str, Any]) -> dict[str, Any]:
        node = next((node for node in self.nodes if node["node_id"] == params.get("node_id")), None)
        if node is None:
            return error_response("TrustNodeHostKey", 2100, f"node_id: {params.get('node_id')} not registered")

        offered = self.offered_fingerprints(node["ssh_host"], node["ssh_port"])
        if params.get("fingerprint") not in offered:
            return error_response("TrustNodeHostKey", 5200, (
                f"node {node['node_id']} does not offer {params.get('fingerprint')}; it offers {', '.join(offered)}"))

        node["host_key_fingerprints"] = [params["fingerprint"]]
        return {"node_id": node["node_id"], "host_key_fingerprints": node["host_key_fingerprints"]}

    def _DeleteNodes(self, params: dict[str, Any]) -> dict[str, Any]:
        node_ids = params.get("node_ids") or []
        known = {node["node_id"]: node for node in self.nodes}
        missing = [node_id for node_id in node_ids if node_id not in known]
        if missing:
            return error_response("DeleteNodes", 2100, f"node_ids: {', '.join(missing)} not registered")

        deployed = [node_id for node_id in node_ids if known[node_id].get("status") == "deployed"]
        if deployed:
            return error_response("DeleteNodes", 5200,
                                  f"node_ids: {', '.join(deployed)} deployed; a deployed node cannot be deleted")

        self.nodes = [node for node in self.nodes if node["node_id"] not in node_ids]
        return {"node_ids": list(node_ids)}


# ---------------------------------------------------------------------------
# Licenses (tests/test_tui_licenses.py)
# ---------------------------------------------------------------------------

# As long as a two-zone platform's code: 13 lines on the screen.
FAKE_APPLICATION_CODE = "QUNBMQ" + "Ab3+/xYz09" * 95 + "=="
FAKE_LICENSE_CODE = "UUNMMQ" + "Lc7/+kPq21" * 50


class LicensedFakeClient(FakeClient):
    """A FakeClient that also answers the license actions.

    `license_set` holds DescribeQingCloudLicenses entries. Activation accepts
    FAKE_LICENSE_CODE once, adding an enabled license for `hypernode_count` nodes;
    any other code gets the engine's 1100 for a signature that does not verify.
    """

    def __init__(self, *, license_set: list[dict[str, Any]] | None = None, deployed_hypernode_count: int = 0,
                 licensed_hypernode_count: int | None = None, vendor_key: str = "50f4f407fd196460",
                 lab_vendor_key: str = "", **options: Any) -> None:
        super().__init__(**options)
        self.license_set = list(license_set or [])
        self.deployed_hypernode_count = deployed_hypernode_count
        self.licensed_hypernode_count = licensed_hypernode_count
        self.vendor_key = vendor_key
        self.lab_vendor_key = lab_vendor_key

    def _DescribeQingCloudLicenses(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("license_ids")
        entries = [entry for entry in self.license_set if not wanted or entry["license_id"] in wanted]
        response: dict[str, Any] = {
            "license_set": entries, "total_count": len(entries),
            "deployed_hypernode_count": self.deployed_hypernode_count, "vendor_key": self.vendor_key,
        }
        if self.licensed_hypernode_count is not None:
            response["licensed_hypernode_count"] = self.licensed_hypernode_count
        if self.lab_vendor_key:
            response["lab_vendor_key"] = self.lab_vendor_key
        return response

    def _GenerateQingCloudCode(self, params: dict[str, Any]) -> dict[str, Any]:
        if not str(params.get("applicant", "")).endswith("@yunify.com"):
            return error_response("GenerateQingCloudCode", 1100,
                                  "GenerateQingCloudCode: parameter 'applicant' is invalid: not @yunify.com")
        return {"application_code": FAKE_APPLICATION_CODE}

    def _ActivateQingCloudLicense(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("license_code") != FAKE_LICENSE_CODE:
            return error_response(
                "ActivateQingCloudLicense", 1100,
                "license_code: the signature does not verify with vendor key 50f4f407fd196460: the code was "
                "changed after it was issued, or was issued with another vendor key")
        self.license_set.insert(0, {
            "license_id": "lc-Fake0001", "status": "enabled", "start_time": "2020-01-01T00:00:00Z",
            "end_time": "2099-01-01T00:00:00Z", "create_time": "2024-05-01T10:00:00Z",
            "status_time": "2024-05-01T10:00:00Z", "hypernode_count": 7,
        })
        self.licensed_hypernode_count = 7
        return {"license_id": "lc-Fake0001"}


# ---------------------------------------------------------------------------
# The configuration wizard (tests/test_tui_wizard*.py)
# ---------------------------------------------------------------------------


def wizard_lab_nodes() -> list[dict[str, Any]]:
    """Return node records with the real lab's ids, hostnames, zones and management addresses."""
    import base64
    import hashlib

    from engine.lab.layout import ALL_LAB_NODES

    nodes = []
    for number, spec in enumerate(ALL_LAB_NODES):
        digest = hashlib.sha256(spec.node_id.encode()).digest()
        nodes.append({
            "node_id": spec.node_id, "hostname": spec.hostname, "ssh_host": "127.0.0.1",
            "ssh_port": 43001 + number, "ssh_user": "root", "mgmt_ip": spec.mgmt_ip, "zone_id": spec.zone_id,
            "role": "", "sub_roles": "", "status": "registered", "cpus": 4, "mem_mb": 8192,
            "host_key_fingerprints": ["SHA256:" + base64.b64encode(digest).decode().rstrip("=")],
        })
    return nodes


class WizardFakeClient(FakeClient):
    """A FakeClient over the lab's nodes whose ValidateQingCloudConfig runs the engine's own validator.

    The validator and the renderer are pure functions, so issues, zone counts,
    files and diffs are the engine's without SSH or a state directory. The
    applied configuration's files are kept for the next diff.
    """

    def __init__(self, **options: Any) -> None:
        options.setdefault("nodes", wizard_lab_nodes())
        super().__init__(**options)
        self.applied_files: dict[str, dict[str, str]] = {}

    def validation_report(self, config: Any) -> Any:
        from engine.config import DEFAULT_ROLE_CATALOG, NodeFacts, RoleCatalog, validate_config

        inventory = {node["node_id"]: NodeFacts(node_id=node["node_id"], hostname=node["hostname"],
                                                mgmt_ip=node["mgmt_ip"]) for node in self.nodes}
        return validate_config(config, catalog=RoleCatalog.from_dict(DEFAULT_ROLE_CATALOG), inventory=inventory)

    def _ValidateQingCloudConfig(self, params: dict[str, Any]) -> dict[str, Any]:
        import difflib

        from engine.actions.platform import issue_list, zone_summary
        from engine.config import render_zone_files

        report = self.validation_report(params["config"])
        response: dict[str, Any] = {"valid": report.ok, "issues": issue_list(report), "zones": zone_summary(report)}
        if report.ok:
            files = {zone_id: render_zone_files(zone) for zone_id, zone in report.zones.items()}
            diffs = {}
            for zone_id, rendered in files.items():
                applied = self.applied_files.get(zone_id, {})
                diffs[zone_id] = "".join(line for name, text in rendered.items() for line in difflib.unified_diff(
                    applied.get(name, "").splitlines(keepends=True), text.splitlines(keepends=True),
                    fromfile=f"applied/{name}", tofile=f"new/{name}"))
            response["files"], response["diff"] = files, diffs
        return response

    def _ConfigQingCloud(self, params: dict[str, Any]) -> dict[str, Any]:
        from engine.config import render_zone_files

        report = self.validation_report(params["config"])
        if not report.ok:
            return error_response("ConfigQingCloud", 1100, f"config: {report.first_error()}")
        for zone_id, zone in report.zones.items():
            self.applied_files[zone_id] = render_zone_files(zone)
        return super()._ConfigQingCloud(params)


async def type_text(pilot: Pilot, text: str) -> None:
    """Type text one key at a time, as an operator does."""
    await pilot.press(*text)


async def fill_pek3b_by_keys(pilot: Pilot) -> None:
    """Build the reference's pek3b in the configuration wizard with key presses only.

    Starts on the wizard's first step with no zones, and ends on the review step.
    The lab's (and `wizard_lab_nodes`') pek3b nodes must be registered: the vg
    nodes n-pek3b01r01/02 at 172.16.80.3/.4, the hyper nodes r03-r05 at 172.18.80.5-.7.
    """
    await pilot.press("f9")
    await type_text(pilot, "pek3b")
    await pilot.press("enter", "f9")

    # Variables, in the form's order: region_id, zone_id, is_region, deploy_mode, cloud_type, domain.
    for value in ("pek3", "pek3b", "1", "fusion", "private", "qingcloud.com"):
        await type_text(pilot, value)
        await pilot.press("enter")
    await pilot.press("f9")

    # Roles: the table lists pek3b's nodes first. The dialog's roles are
    # no role, ks-vm, vg, hyper-repl, hyper; enter takes the role's default sub-roles.
    for downs in (2, 2, 3, 3, 3):
        await pilot.press("enter", *["down"] * downs, "enter", "down")
    await pilot.press("f9")

    # VBC: tick the three hyper addresses, then the network, the VIP and its master .6.
    await pilot.press("tab", "space", "down", "space", "down", "space", "tab")
    await type_text(pilot, "10.20.50.0/24")
    await pilot.press("tab")
    await type_text(pilot, "172.18.80.100")
    await pilot.press("tab", "down", "down", "f9")

    # EIP: the first VG node is highlighted; tab twice reaches the cidr input.
    entries = {
        0: [("139.198.10.0/24", ".1", ""), ("139.198.20.0/24", ".1", "HA0")],
        1: [("139.198.10.0/24", ".1", "HA0"), ("139.198.20.0/24", ".1", "")],
    }
    for node_index, node_entries in entries.items():
        if node_index:
            await pilot.press("shift+tab", "shift+tab", "down")
        await pilot.press("tab", "tab")
        for cidr, gateway, ha_group in node_entries:
            await type_text(pilot, cidr)
            await pilot.press("tab")
            await type_text(pilot, gateway)
            if ha_group:
                await pilot.press("tab")
                await type_text(pilot, ha_group)
            await pilot.press("enter")
    await pilot.press("f9")


# ---------------------------------------------------------------------------
# Editable configuration files for the files screen's tests
# ---------------------------------------------------------------------------

import json  # noqa: E402
from pathlib import Path  # noqa: E402

from engine.nodeconfig import ChangeError, apply_change, parse_document, to_plain, unified_diff  # noqa: E402
from engine.nodeconfig.outline import outline  # noqa: E402
from engine.recipe import DEMO_RECIPE_DIR  # noqa: E402

MODIFY_STEPS = ["read", "backup", "write", "verify", "push", "reload"]
RESTORE_STEPS = ["check", "restore", "reload"]
SERVER_YAML_PATH = "etc/qingcloud/server.yaml"
FILE_ROLES = ("ks-vm", "hyper", "hyper-repl")
SEED_CONFIG_PATH = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"


class ConfigFilesFakeClient(FakeClient):
    """A FakeClient whose zones are deployed with the demo server.yaml on their ks-vm and hyper nodes.

    Changes go through the engine's own editor (apply_change), so the text, the
    outline and the diffs the screen gets are the ones the engine would send.
    `modify_fail_step` makes the next ModifyConfiguration job fail at that step
    and leave the file as it was.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.config = json.loads(SEED_CONFIG_PATH.read_text(encoding="utf-8"))["config"]
        self.deployed = True
        self.text = (DEMO_RECIPE_DIR / "files" / "server.yaml").read_text(encoding="utf-8")
        self.changes: list[dict[str, Any]] = []
        self.modify_fail_step: str | None = None

    def holders(self, zone_id: str) -> dict[str, str]:
        return {node["node_id"]: node["hostname"] for node in self.nodes
                if node.get("zone_id") == zone_id and node.get("role") in FILE_ROLES}

    def check_file(self, action: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if params.get("file_name") != "server.yaml":
            return error_response(action, 2100, f"file_name: '{params.get('file_name')}' is not an editable file")
        return None

    def diffs(self, zone_id: str, old: str, new: str) -> list[dict[str, Any]]:
        holders = self.holders(zone_id)
        return [{"node_ids": list(holders), "hostnames": list(holders.values()),
                 "diff": unified_diff(old, new, SERVER_YAML_PATH)}]

    def _DescribeConfigurationFiles(self, params: dict[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {"file_name": "server.yaml", "path": SERVER_YAML_PATH, "roles": list(FILE_ROLES),
                                 "reload": ["sh", "reload.sh"]}
        if params.get("zone_id"):
            entry["node_set"] = [{"node_id": node_id, "hostname": hostname}
                                 for node_id, hostname in self.holders(params["zone_id"]).items()]
        return {"file_set": [entry], "total_count": 1}

    def _DescribeConfigurationFile(self, params: dict[str, Any]) -> dict[str, Any]:
        refused = self.check_file("DescribeConfigurationFile", params)
        if refused:
            return refused
        holders = self.holders(params.get("zone_id", ""))
        document = parse_document(self.text, source="server.yaml")
        return {"zone_id": params["zone_id"], "file_name": "server.yaml", "path": SERVER_YAML_PATH,
                "node_id": next(iter(holders)), "hostname": next(iter(holders.values())), "sha256": "0" * 64,
                "content": document.text, "configuration": to_plain(document.data), "outline": outline(document)}

    def _PreviewConfiguration(self, params: dict[str, Any]) -> dict[str, Any]:
        refused = self.check_file("PreviewConfiguration", params)
        if refused:
            return refused
        try:
            new = apply_change(parse_document(self.text, source="server.yaml"), params["segment"])
        except ChangeError as error:
            return error_response("PreviewConfiguration", 1100, str(error))
        return {"zone_id": params["zone_id"], "file_name": "server.yaml", "path": SERVER_YAML_PATH,
                "changed": new != self.text, "diffs": self.diffs(params["zone_id"], self.text, new) if new != self.text else [],
                "unchanged_hostnames": []}

    def _ModifyConfiguration(self, params: dict[str, Any]) -> dict[str, Any]:
        refused = self.check_file("ModifyConfiguration", params)
        if refused:
            return refused
        new = apply_change(parse_document(self.text, source="server.yaml"), params["segment"])
        job = self.new_job("ModifyConfiguration", MODIFY_STEPS, self.holders(params["zone_id"]),
                           fail_step=self.modify_fail_step)
        self.modify_fail_step = None
        if job.fail_step is None:
            for change in self.changes:
                change["restorable"] = False
            self.changes.insert(0, {
                "job_id": job.job_id, "job_action": "ModifyConfiguration", "status": "successful", "owner": "local",
                "create_time": f"2024-05-01 10:{len(self.changes):02d}:00", "zone_id": params["zone_id"],
                "file_name": "server.yaml", "segment": params["segment"], "restorable": True,
                "diffs": self.diffs(params["zone_id"], self.text, new), "previous_text": self.text,
            })
            self.text = new
        return {"job_id": job.job_id}

    def _DescribeConfigurationChanges(self, params: dict[str, Any]) -> dict[str, Any]:
        shown = [{key: value for key, value in change.items() if key != "previous_text"} for change in self.changes]
        return {"change_set": shown, "total_count": len(shown)}

    def _RestoreConfiguration(self, params: dict[str, Any]) -> dict[str, Any]:
        change = next((entry for entry in self.changes if entry["job_id"] == params.get("job_id")), None)
        if change is None or not change.get("restorable"):
            return error_response("RestoreConfiguration", 5200, f"job {params.get('job_id')} cannot be restored")
        job = self.new_job("RestoreConfiguration", RESTORE_STEPS, self.holders(change["zone_id"]))
        change["restorable"] = False
        self.changes.insert(0, {
            "job_id": job.job_id, "job_action": "RestoreConfiguration", "status": "successful", "owner": "local",
            "create_time": "2024-05-01 11:00:00", "zone_id": change["zone_id"], "file_name": "server.yaml",
            "restores_job_id": change["job_id"], "restorable": False,
            "diffs": self.diffs(change["zone_id"], self.text, change["previous_text"]),
        })
        self.text = change["previous_text"]
        return {"job_id": job.job_id}


# ---------------------------------------------------------------------------
# A connection to a remote engine that drops and comes back
# ---------------------------------------------------------------------------

import httpx  # noqa: E402


class FlakyFakeClient(FakeClient):
    """A FakeClient whose connection the test can cut: while `connected` is False,
    every call raises httpx.ConnectError before it reaches the fake engine, as
    HttpClient does when the server cannot be reached.

    `cut_after_deploy_polls` cuts the connection by itself once the deploy job has
    been read that many times by GetStatus, so the outage falls inside the job.
    """

    def __init__(self, *, cut_after_deploy_polls: int | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.description = "http://127.0.0.1:9/"
        self.connected = True
        self.cut_after_deploy_polls = cut_after_deploy_polls
        self.failed_calls: list[str] = []

    async def call(self, action: str, params: dict[str, Any] | None = None,
                   request_type: str = "QingCloud") -> dict[str, Any]:
        if not self.connected:
            self.failed_calls.append(action)
            raise httpx.ConnectError("[Errno 111] Connection refused")

        response = await super().call(action, params, request_type)

        polls = [params for params in self.calls_of("GetStatus") if params.get("job_id")]
        if self.cut_after_deploy_polls is not None and len(polls) >= self.cut_after_deploy_polls:
            self.cut_after_deploy_polls = None
            self.connected = False
        return response
