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


# ---------------------------------------------------------------------------
# Growing and upgrading a deployed platform (tests/test_tui_scale.py, test_tui_new_zone.py,
# test_tui_upgrade.py, test_tui_components.py)
# ---------------------------------------------------------------------------

import copy  # noqa: E402

SCALE_STEPS = ["preflight", "distribute_config", "install", "configure_network", "refresh_zone",
               "start_services", "verify"]
UPGRADE_STEPS = ["backup_state", "distribute_package", "upgrade_nodes"]
COMPONENT_STEPS = ["preflight", "install_components", "verify_components"]
UPGRADE_ROLE_ORDER = ("ks-vm", "vg", "hyper-repl")

GOOD_PACKAGE = "qingcloud-installer-express_4.3.1-20190318_16.04.3_amd64.tar.gz"
OLD_PACKAGE = "qingcloud-installer-express_4.2.0-20181115_16.04.3_amd64.tar.gz"
DAMAGED_PACKAGE = "qingcloud-installer-express_4.3.2-20190426_16.04.3_amd64.tar.gz"
UNPARSED_PACKAGE = "notes.tar.gz"


def grow_packages() -> list[dict[str, Any]]:
    """Return DescribeQingCloudPackages entries like the lab's, plus a file whose name does not parse."""
    def entry(name: str, version: str, build_date: str, problem: str = "") -> dict[str, Any]:
        return {"package_name": name, "product": "qingcloud-installer-express" if version else "",
                "version": version, "build_date": build_date, "os": "16.04.3" if version else "",
                "arch": "amd64" if version else "", "size": 304, "upgradable": not problem, "problem": problem}

    return [
        entry(DAMAGED_PACKAGE, "4.3.2", "2019-04-26",
              f"checksum mismatch for '{DAMAGED_PACKAGE}': the file is damaged or incomplete, copy it again"),
        entry(GOOD_PACKAGE, "4.3.1", "2019-03-18"),
        entry(OLD_PACKAGE, "4.2.0", "2018-11-15",
              f"version 4.2.0 of '{OLD_PACKAGE}' is not newer than the installed version 4.3.0; "
              "only a newer version can be installed"),
        entry(UNPARSED_PACKAGE, "", "",
              "'notes.tar.gz' is not a package name; expected <product>_<version>-<build date>_<os>_<arch>.tar.gz"),
    ]


@dataclass
class GrowFakeJob(FakeJob):
    """A FakeJob whose failure ends with `final_line`, as the engine logs a failed step's reason last."""

    final_line: str = ""

    def set_status(self, status: str) -> None:
        if status == "failed" and self.final_line:
            self.write(self.final_line)
        super().set_status(status)


class GrowFakeClient(FakeClient):
    """A FakeClient whose zones pek3a and pek3b are deployed, with the spare node n-test1234 free.

    It answers DescribeQingCloudConfig, ConfigQingCloud of one zone (the other zones
    stay), ScaleQingCloud, ScaleQingCloudZone, GetQingCloudVBCRoute,
    DescribeQingCloudPackages, UpgradeQingCloud and DeployQingCloudComponent.
    `licensed_hyper_nodes` makes a job beyond that count fail with 2400, and
    `scale_fail_step` / `upgrade_fail_step` make the first such job fail there.
    """

    def __init__(self, *, licensed_hyper_nodes: int | None = None, scale_fail_step: str | None = None,
                 upgrade_fail_step: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.config = json.loads(SEED_CONFIG_PATH.read_text(encoding="utf-8"))["config"]
        self.deployed = True
        self.deployed_zones = {"pek3a", "pek3b"}
        self.components = {zone_id: {"vdi": 0, "v2v": 0} for zone_id in self.config}
        self.licensed_hyper_nodes = licensed_hyper_nodes
        self.scale_fail_step = scale_fail_step
        self.upgrade_fail_step = upgrade_fail_step
        self.installed_version = "4.3.0"
        self.package_set = grow_packages()
        self.routes: dict[str, list[str]] = {}
        self.effects: dict[str, Callable[[], None]] = {}
        for node in self.nodes:
            node.update(role="", sub_roles="", status="registered")
        for zone_id in self.config:
            for node_id, entry in self.zone_roles(zone_id).items():
                node = self.node(node_id)
                if node is not None:
                    node.update(role=entry["role"], sub_roles=entry["sub_roles"], zone_id=zone_id, status="deployed")

    def new_job(self, action: str, steps: list[str], nodes: dict[str, str], **options: Any) -> FakeJob:
        job = GrowFakeJob(job_id=f"j-fake{len(self.jobs) + 1:04d}", job_action=action, step_names=steps,
                          nodes=nodes, **options)
        self.jobs.append(job)
        return job

    def node(self, node_id: str) -> dict[str, Any] | None:
        return next((node for node in self.nodes if node["node_id"] == node_id), None)

    def zone_roles(self, zone_id: str) -> dict[str, dict[str, Any]]:
        return ((self.config or {}).get(zone_id) or {}).get("settings", {}).get("roles") or {}

    def hyper_count(self, node_ids: list[str]) -> int:
        deployed = {node["node_id"] for node in self.nodes if node["status"] == "deployed"
                    and node.get("role", "").startswith("hyper")}
        adding = {node_id for zone_id in self.config or {} for node_id, entry in self.zone_roles(zone_id).items()
                  if node_id in node_ids and entry.get("role", "").startswith("hyper")}
        return len(deployed | adding)

    def reject_beyond_license(self, action: str, node_ids: list[str]) -> dict[str, Any] | None:
        total = self.hyper_count(node_ids)
        if self.licensed_hyper_nodes is None or total <= self.licensed_hyper_nodes:
            return None
        return error_response(action, 2400, (
            f"licensed hyper nodes exceeded: {total} hyper node(s) with this request, but license lc-Fake0001 "
            f"allows {self.licensed_hyper_nodes}; activate a license for at least {total} hyper nodes"))

    # Reading.

    def _DescribeQingCloud(self, params: dict[str, Any]) -> dict[str, Any]:
        response = super()._DescribeQingCloud(params)
        free = sum(1 for node in self.nodes if not node["role"])
        for zone_id, zone in response["qingcloud"]["zone_info"].items():
            zone["is_zone_deployed"] = int(zone_id in self.deployed_zones)
            zone["free_node_num"] = free
            zone["components"] = dict(self.components.setdefault(zone_id, {"vdi": 0, "v2v": 0}))
        return response

    def _DescribeQingCloudConfig(self, params: dict[str, Any]) -> dict[str, Any]:
        zone_ids = params.get("zone_ids") or list(self.config or {})
        unknown = [zone_id for zone_id in zone_ids if zone_id not in (self.config or {})]
        if unknown:
            return error_response("DescribeQingCloudConfig", 2100, f"zone_ids: {', '.join(unknown)} not configured")
        return {"config": {zone_id: copy.deepcopy(self.config[zone_id]) for zone_id in zone_ids},
                "config_versions": {zone_id: 1 for zone_id in zone_ids}}

    # Configuring one zone.

    def _ConfigQingCloud(self, params: dict[str, Any]) -> dict[str, Any]:
        for zone_id, zone in params["config"].items():
            self.config[zone_id] = copy.deepcopy(zone)
            for node_id, entry in (zone.get("settings", {}).get("roles") or {}).items():
                node = self.node(node_id)
                if node is not None and node["status"] != "deployed":
                    node.update(role=entry.get("role", ""), sub_roles=entry.get("sub_roles", ""),
                                zone_id=zone_id, status="configured")
        job = self.new_job("ConfigQingCloud", CONFIG_STEPS, {"n-installer": "installer"})
        return {"job_id": job.job_id}

    # Placing nodes.

    def place(self, action: str, zone_id: str, node_ids: list[str], fail_step: str | None,
              refreshed: list[str], routes: list[str]) -> dict[str, Any]:
        previous = next((job for job in reversed(self.jobs) if job.job_action == action), None)
        start_index = previous.current if previous is not None and previous.status == "failed" else 0
        hostnames = {node_id: self.node(node_id)["hostname"] for node_id in [*node_ids, *refreshed]}
        job = self.new_job(action, SCALE_STEPS, hostnames, fail_step=fail_step, start_index=start_index,
                           final_line=f"{action} stopped: a node failed; run {action} again to resume")
        self.routes[job.job_id] = routes

        def deployed() -> None:
            self.deployed_zones.add(zone_id)
            for node_id in node_ids:
                self.node(node_id)["status"] = "deployed"

        self.effects[job.job_id] = deployed
        return {"job_id": job.job_id}

    def check_placement(self, action: str, zone_id: str, node_ids: list[str]) -> dict[str, Any] | None:
        unknown = [node_id for node_id in node_ids if self.node(node_id) is None]
        if unknown:
            return error_response(action, 2100, f"node_ids: {', '.join(unknown)} not registered")
        outside = [node_id for node_id in node_ids if node_id not in self.zone_roles(zone_id)]
        if outside:
            return error_response(action, 5200, f"node_ids: {', '.join(outside)} hold no role in zone {zone_id}; "
                                                "name them in settings.roles with ConfigQingCloud first")
        return self.reject_beyond_license(action, node_ids)

    def _ScaleQingCloud(self, params: dict[str, Any]) -> dict[str, Any]:
        zone_id, node_ids = params.get("zone_id", ""), list(params.get("node_ids") or [])
        if zone_id not in self.deployed_zones:
            return error_response("ScaleQingCloud", 5200, f"zone {zone_id} is not deployed")
        rejection = self.check_placement("ScaleQingCloud", zone_id, node_ids)
        if rejection:
            return rejection
        refreshed = [node_id for node_id in self.zone_roles(zone_id)
                     if node_id not in node_ids and self.node(node_id) and self.node(node_id)["status"] == "deployed"]
        fail_step, self.scale_fail_step = self.scale_fail_step, None
        routes = ["ip route add 10.10.50.0/24 via 172.16.80.100", "ip route add 10.10.51.0/24 via 172.16.80.100"]
        return self.place("ScaleQingCloud", zone_id, node_ids, fail_step, refreshed[:2], routes)

    def _ScaleQingCloudZone(self, params: dict[str, Any]) -> dict[str, Any]:
        zone_id, node_ids = params.get("zone_id", ""), list(params.get("node_ids") or [])
        if zone_id in self.deployed_zones:
            return error_response("ScaleQingCloudZone", 5200, f"zone {zone_id} is deployed already")
        if zone_id not in (self.config or {}):
            return error_response("ScaleQingCloudZone", 2100, f"zone_id: zone {zone_id} is not configured")
        rejection = self.check_placement("ScaleQingCloudZone", zone_id, node_ids)
        if rejection:
            return rejection
        routes = [f"ip route add 10.30.{index}.0/24 via 172.16.100.{13 + index}" for index in range(len(node_ids))]
        return self.place("ScaleQingCloudZone", zone_id, node_ids, None, [], routes)

    def _GetQingCloudVBCRoute(self, params: dict[str, Any]) -> dict[str, Any]:
        job = next((job for job in self.jobs if job.job_id == params.get("job_id")), None)
        if job is None:
            return error_response("GetQingCloudVBCRoute", 2100, f"job '{params.get('job_id')}' not found")
        if job.job_id not in self.routes:
            return error_response("GetQingCloudVBCRoute", 5200, f"job {job.job_id} is a {job.job_action} job")
        return {"vbc_route": list(self.routes[job.job_id]) if job.status == "successful" else []}

    def _GetStatus(self, params: dict[str, Any]) -> dict[str, Any]:
        response = super()._GetStatus(params)
        job_id = response.get("job_id", "")
        if response.get("status") == "successful" and job_id in self.effects:
            self.effects.pop(job_id)()
        return response

    # Upgrading.

    def upgrade_plan(self) -> list[dict[str, Any]]:
        plan = []
        for role in UPGRADE_ROLE_ORDER:
            hostnames = sorted(node["hostname"] for node in self.nodes
                               if node["role"] == role and node["status"] == "deployed")
            if hostnames:
                plan.append({"role": role, "hostnames": hostnames})
        return plan

    def _DescribeQingCloudPackages(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"installed_version": self.installed_version, "packages_dir": "/var/lib/qc-installer/packages",
                "package_set": copy.deepcopy(self.package_set), "upgrade_plan": self.upgrade_plan()}

    def _UpgradeQingCloud(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("package_name", "")
        package = next((entry for entry in self.package_set if entry["package_name"] == name), None)
        if package is None:
            return error_response("UpgradeQingCloud", 2100, f"package_name: '{name}' not found")
        if package["problem"]:
            return error_response("UpgradeQingCloud", 1100, f"package_name: {package['problem']}")

        plan = self.upgrade_plan()
        hostnames = {node["node_id"]: node["hostname"] for node in self.nodes if node["status"] == "deployed"}
        fail_step, self.upgrade_fail_step = self.upgrade_fail_step, None
        hint = (f"upgrade stopped at {plan[0]['hostnames'][0]} (role {plan[0]['role']}); no node after it was "
                f"upgraded. Fix the cause, then run UpgradeQingCloud with package_name {name} again to resume")
        job = self.new_job("UpgradeQingCloud", UPGRADE_STEPS, hostnames, fail_step=fail_step, final_line=hint)

        def upgraded() -> None:
            self.installed_version = package["version"]

        self.effects[job.job_id] = upgraded
        return {"job_id": job.job_id}

    # Components.

    def _DeployQingCloudComponent(self, params: dict[str, Any]) -> dict[str, Any]:
        config = params.get("config") or {}
        requested: dict[str, list[str]] = {}
        for zone_id, zone in config.items():
            if zone_id not in self.deployed_zones:
                return error_response("DeployQingCloudComponent", 5200, f"zone {zone_id} is not deployed")
            for name, flags in (zone.get("variables") or {}).items():
                if name not in ("vdi", "v2v"):
                    return error_response("DeployQingCloudComponent", 1100,
                                          f"config.{zone_id}.variables.{name}: unknown component")
                if flags.get(f"deploy_{name}") == "1":
                    requested.setdefault(zone_id, []).append(name)
        if not requested:
            return error_response("DeployQingCloudComponent", 1100, "config: no component is requested")

        hostnames = {node["node_id"]: node["hostname"] for node in self.nodes
                     if node["zone_id"] in requested and node["role"] == "ks-vm"}
        job = self.new_job("DeployQingCloudComponent", COMPONENT_STEPS, hostnames or {"n-installer": "installer"})

        def deployed() -> None:
            for zone_id, names in requested.items():
                for name in names:
                    self.components.setdefault(zone_id, {})[name] = 1

        self.effects[job.job_id] = deployed
        return {"job_id": job.job_id}


# ---------------------------------------------------------------------------
# Test runs and health checks (tests/test_tui_platform_tests.py, tests/test_tui_health.py)
# ---------------------------------------------------------------------------

from datetime import datetime as _datetime  # noqa: E402
from datetime import timedelta as _timedelta  # noqa: E402

TEST_CATALOG = [
    {"test": "vm-instance-lifecycle", "description": "测试虚拟型主机的创建,启动,关闭,重启和删除",
     "description_en": "Create, start, stop, restart and delete a VM instance"},
    {"test": "lb-vxnet", "description": "测试vxnet负载均衡功能", "description_en": "Load balancer on a VxNet"},
    {"test": "eip-associate", "description": "测试公网IP的申请,绑定,解绑和释放",
     "description_en": "Allocate, associate, dissociate and release an EIP"},
    {"test": "security-group", "description": "测试安全组规则对主机流量的控制",
     "description_en": "Security group rules filter the traffic of instances"},
]

TEST_PREPARE_STEPS = {"all": ["prepare_user", "prepare_resources"], "user": ["prepare_user"],
                      "res": ["prepare_resources"], "skip": [], "clean": ["clean_resources"]}

SERVICES_BY_ROLE = {"ks-vm": ["mysql", "qingcloud-ks-api", "rabbitmq"], "vg": ["keepalived", "vgateway"],
                    "hyper-repl": ["libvirtd", "qingcloud-hyper-agent"]}

TEST_RUNNER = {"n-pek3a01r01": "pek3ar01n01"}


class JobHistoryFakeClient(FakeClient):
    """A FakeClient that lists its jobs with DescribeJobs (request_type Job), newest first, and keeps a clock.

    Job number n was created at 10:n minutes; `tick` gives the times that results carry.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.deployed = True
        self.now = _datetime(2024, 5, 1, 11, 0, 0)
        self.paused = False
        """While True, GetStatus reads jobs without moving them on, so that a test can look at a running job."""
        self.hold_at_status: str | None = None
        """Pause once a job reaches this status (e.g. "step1")."""

    def tick(self, seconds: int = 7) -> str:
        self.now += _timedelta(seconds=seconds)
        return self.now.strftime("%Y-%m-%d %H:%M:%S")

    def job_record(self, job: FakeJob) -> dict[str, Any]:
        index = self.jobs.index(job)
        return {"job_id": job.job_id, "job_action": job.job_action, "job_type": "async", "owner": "local",
                "status": job.status, "pre_status": job.pre_status,
                "create_time": f"2024-05-01 10:{index:02d}:00", "update_time": f"2024-05-01 10:{index:02d}:30",
                "resources": self.job_resources(job)}

    def job_resources(self, job: FakeJob) -> dict[str, Any]:
        """What the engine records in a finished job's resources; subclasses add theirs."""
        return {}

    def _DescribeJobs(self, params: dict[str, Any]) -> dict[str, Any]:
        jobs = list(reversed(self.jobs))
        if params.get("job_action"):
            jobs = [job for job in jobs if job.job_action == params["job_action"]]
        if params.get("job_ids"):
            jobs = [job for job in jobs if job.job_id in params["job_ids"]]
        limit = int(params.get("limit", 100))
        return {"job_set": [self.job_record(job) for job in jobs[:limit]], "total_count": len(jobs)}

    def _GetStatus(self, params: dict[str, Any]) -> dict[str, Any]:
        job = self.find_job(params)
        if self.paused and job is not None:
            return job.status_response()
        response = super()._GetStatus(params)
        if job is not None and self.hold_at_status is not None and job.status == self.hold_at_status:
            self.hold_at_status = None
            self.paused = True
        return response

    def finish_job(self, job: FakeJob, status: str = "successful") -> None:
        """End a job at once, as if it had run before the test."""
        job.states = ["done"] * len(job.step_names)
        job.current = len(job.step_names) - 1
        job.set_status(status)


class PlatformTestsFakeClient(JobHistoryFakeClient):
    """A FakeClient that runs test cases: each GetStatus of a test job starts or ends one step, a case being a step.

    Cases named in `failing` fail their first try and pass when rerun. Runs keep
    their rows, so earlier runs stay readable, and a rerun updates the newest run.
    """

    def __init__(self, *, failing: tuple[str, ...] = (), **options: Any) -> None:
        super().__init__(**options)
        self.catalog = [dict(case) for case in TEST_CATALOG]
        self.failing = set(failing)
        self.runs: dict[str, dict[str, Any]] = {}
        self.run_order: list[str] = []
        self.job_cases: dict[str, tuple[str, list[str]]] = {}
        self.started: set[tuple[str, str]] = set()
        self.cleaned = 0
        self.hold_case: str | None = None
        """Pause once this case runs, so that a test can look at a run in progress."""

    def new_run(self, job: FakeJob, mode: str, cases: list[str]) -> None:
        rows = {case["test"]: {"test": case["test"], "description": case["description"],
                               "description_en": case["description_en"], "status": "pending",
                               "start_time": "", "end_time": "", "attempts": 0}
                for case in self.catalog if case["test"] in cases}
        self.runs[job.job_id] = {"mode": mode, "rows": rows, "logs": {name: [] for name in rows}}
        self.run_order.append(job.job_id)
        self.job_cases[job.job_id] = (job.job_id, cases)

    def record_run(self, mode: str, outcomes: dict[str, str]) -> str:
        """Record a finished run whose cases ended with the statuses in `outcomes`; return its id."""
        job = self.new_job("TestQingCloud", list(outcomes), TEST_RUNNER)
        self.new_run(job, mode, list(outcomes))
        for name, status in outcomes.items():
            row = self.runs[job.job_id]["rows"][name]
            row.update(status=status, start_time=self.tick(), end_time=self.tick(65), attempts=1)
            self.runs[job.job_id]["logs"][name] = [f"{name}: recorded run, {status}"]
        self.finish_job(job, "failed" if "failed" in outcomes.values() else "successful")
        return job.job_id

    def sync_cases(self, job: FakeJob) -> None:
        run_id, cases = self.job_cases[job.job_id]
        run = self.runs[run_id]
        for index, name in enumerate(job.step_names):
            if name not in cases:
                continue
            row, state = run["rows"][name], job.states[index]
            if state == "running" and (job.job_id, name) not in self.started:
                self.started.add((job.job_id, name))
                row.update(status="running", start_time=self.tick(), end_time="", attempts=row["attempts"] + 1)
                run["logs"][name] = [f"{name}: try {row['attempts']} started on pek3ar01n01",
                                     f"{name}: creating resources"]
            elif state == "done" and row["status"] == "running":
                fails = name in self.failing and row["attempts"] == 1
                row.update(status="failed" if fails else "successful", end_time=self.tick(95))
                if fails:
                    run["logs"][name] += [f"{name}: ERROR listener did not answer on port 80 within 60 s"]
                else:
                    run["logs"][name] += [f"{name}: passed"]

        finished_cases = [run["rows"][name]["status"] for name in cases]
        if job.status == "successful" and "failed" in finished_cases:
            job.set_status("failed")

    def job_resources(self, job: FakeJob) -> dict[str, Any]:
        if job.job_action != "TestQingCloud" or job.job_id not in self.runs or not job.finished:
            return {}
        run = self.runs[job.job_id]
        counts: dict[str, int] = {}
        for row in run["rows"].values():
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        return {"mode": run["mode"], "counts": counts}

    def _DescribeQingCloudTestCases(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"test_set": [dict(case) for case in self.catalog], "total_count": len(self.catalog),
                "runner_hostname": "pek3ar01n01"}

    def _TestQingCloud(self, params: dict[str, Any]) -> dict[str, Any]:
        mode = params.get("mode")
        if mode not in TEST_PREPARE_STEPS:
            return error_response("TestQingCloud", 1100, f"mode: '{mode}' is not one of all, user, res, skip, clean")
        names = [case["test"] for case in self.catalog]
        chosen = params["tasks"].split(",") if params.get("tasks") else names
        unknown = [name for name in chosen if name not in names]
        if unknown:
            return error_response("TestQingCloud", 1100, f"tasks: unknown test cases: {', '.join(unknown)}")
        if mode == "clean":
            chosen = []

        job = self.new_job("TestQingCloud", TEST_PREPARE_STEPS[mode] + chosen, TEST_RUNNER)
        self.new_run(job, mode, chosen)
        return {"job_id": job.job_id}

    def _RerunQingCloudTestCase(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self.run_order:
            return error_response("RerunQingCloudTestCase", 2100, "no test run recorded yet")
        run_id = self.run_order[-1]
        rows = self.runs[run_id]["rows"]
        tasks = [name for name in str(params.get("tasks", "")).split(",") if name]
        never_ran = [name for name in tasks if name not in rows or not rows[name]["attempts"]]
        if never_ran:
            return error_response("RerunQingCloudTestCase", 1100,
                                  f"tasks: never ran in test run {run_id}: {', '.join(never_ran)}")
        job = self.new_job("RerunQingCloudTestCase", tasks, TEST_RUNNER)
        self.job_cases[job.job_id] = (run_id, tasks)
        for name in tasks:
            rows[name].update(status="pending", start_time="", end_time="")
        return {"job_id": job.job_id}

    def _CleanQingCloudTest(self, params: dict[str, Any]) -> dict[str, Any]:
        self.cleaned += 1
        job = self.new_job("CleanQingCloudTest", ["clean_resources"], TEST_RUNNER)
        return {"job_id": job.job_id}

    def _GetStatus(self, params: dict[str, Any]) -> dict[str, Any]:
        response = super()._GetStatus(params)
        job = self.find_job(params)
        if job is None or job.job_id not in self.job_cases:
            return response
        self.sync_cases(job)
        if self.hold_case is not None and self.runs[self.job_cases[job.job_id][0]]["rows"].get(
                self.hold_case, {}).get("status") == "running":
            self.hold_case = None
            self.paused = True
        return job.status_response()

    def find_run(self, action: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]] | dict[str, Any]:
        run_id = params.get("job_id") or (self.run_order[-1] if self.run_order else None)
        if run_id is None:
            return error_response(action, 2100, "no test run recorded yet")
        if run_id not in self.runs:
            return error_response(action, 2100, f"test run {run_id} not found")
        return run_id, self.runs[run_id]

    def _GetQingCloudTestCasesStatus(self, params: dict[str, Any]) -> dict[str, Any]:
        found = self.find_run("GetQingCloudTestCasesStatus", params)
        if isinstance(found, dict):
            return found
        run_id, run = found
        return {"job_id": run_id, "mode": run["mode"], "result": [dict(row) for row in run["rows"].values()]}

    def _GetQingCloudTestCasesLog(self, params: dict[str, Any]) -> dict[str, Any]:
        found = self.find_run("GetQingCloudTestCasesLog", params)
        if isinstance(found, dict):
            return found
        run_id, run = found
        task = params.get("task")
        if task not in run["rows"]:
            return error_response("GetQingCloudTestCasesLog", 1100, f"task: {task} is not a case of run {run_id}")
        lines = run["logs"][task]
        return {"job_id": run_id, "task": task, "attempt": max(1, run["rows"][task]["attempts"]),
                "log": {f"{number:03d}": line for number, line in enumerate(lines)}}


class HealthCheckFakeClient(JobHistoryFakeClient):
    """A FakeClient that checks the services of the nodes with a role, as SERVICES_BY_ROLE lists them.

    `findings` maps (hostname, service) to (status, detail) for services that are
    not Normal; the result of a check is recorded when its job ends.
    """

    def __init__(self, *, findings: dict[tuple[str, str], tuple[str, str]] | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.findings = dict(findings or {})
        self.check_params: dict[str, dict[str, Any]] = {}
        self.results: dict[str, dict[str, Any]] = {}

    def role_nodes(self) -> list[dict[str, Any]]:
        return [node for node in self.nodes if node.get("role")]

    def check_result(self, job_id: str) -> dict[str, Any]:
        params = self.check_params[job_id]
        verbose = params.get("verbose", "1")
        result = []
        for node in self.role_nodes():
            if params["nodes"] != "all" and node["hostname"] not in params["nodes"].split(","):
                continue
            services = []
            for service in SERVICES_BY_ROLE.get(node["role"], []):
                status, detail = self.findings.get((node["hostname"], service), ("Normal", "active"))
                if verbose == "1" or status != "Normal":
                    services.append({"service": service, "status": status, "detail": detail})
            if services or verbose == "1":
                result.append({"hostname": node["hostname"], "node_id": node["node_id"],
                               "zone_id": node["zone_id"], "role": node["role"], "services": services})
        attention = any(service["status"] in ("Abnormal", "Unknown") for node in result for service in node["services"])
        return {"job_id": job_id, "check_time": self.tick(), "verbose": verbose,
                "qingcloud_status": "Abnormal" if attention else "Normal", "result": result}

    def record_check(self, findings: dict[tuple[str, str], tuple[str, str]], verbose: str = "1") -> str:
        """Record a finished check of every node with these findings; return its job id."""
        job = self.new_job("CheckQingCloud", ["check_services"], {"n-installer": "installer"})
        self.check_params[job.job_id] = {"nodes": "all", "verbose": verbose}
        saved, self.findings = self.findings, dict(findings)
        self.results[job.job_id] = self.check_result(job.job_id)
        self.findings = saved
        self.finish_job(job)
        return job.job_id

    def job_resources(self, job: FakeJob) -> dict[str, Any]:
        result = self.results.get(job.job_id)
        if result is None:
            return {}
        counts = {"Normal": 0, "Abnormal": 0, "Unknown": 0, "Ignored": 0}
        for node in result["result"]:
            for service in node["services"]:
                counts[service["status"]] += 1
        return {"qingcloud_status": result["qingcloud_status"], "counts": counts}

    def _CheckQingCloud(self, params: dict[str, Any]) -> dict[str, Any]:
        nodes = params.get("nodes", "all")
        known = {node["hostname"]: node for node in self.role_nodes()}
        if nodes != "all":
            unknown = [name for name in nodes.split(",") if name not in known]
            if unknown:
                return error_response("CheckQingCloud", 2100, f"nodes: {', '.join(unknown)} not found")
        checked = known if nodes == "all" else {name: known[name] for name in nodes.split(",")}
        job = self.new_job("CheckQingCloud", ["connect", "check_services"],
                           {node["node_id"]: name for name, node in checked.items()})
        self.check_params[job.job_id] = {"nodes": nodes, "verbose": params.get("verbose", "1")}
        return {"job_id": job.job_id}

    def _GetStatus(self, params: dict[str, Any]) -> dict[str, Any]:
        response = super()._GetStatus(params)
        job = self.find_job(params)
        if job is not None and job.job_id in self.check_params and job.finished and job.job_id not in self.results:
            self.results[job.job_id] = self.check_result(job.job_id)
        return response

    def _GetQingCloudCheckResult(self, params: dict[str, Any]) -> dict[str, Any]:
        job_id = params.get("job_id") or (list(self.results)[-1] if self.results else None)
        if job_id is None:
            return error_response("GetQingCloudCheckResult", 2100, "no check recorded yet")
        if job_id not in self.results:
            return error_response("GetQingCloudCheckResult", 2100, f"check {job_id} not found")
        return dict(self.results[job_id])


# ---------------------------------------------------------------------------
# Every screen at once, for the console, help and snapshot tests
# (tests/test_console.py, tests/test_tui_help.py, tests/test_snapshots.py)
# ---------------------------------------------------------------------------

import re as _re  # noqa: E402
from xml.etree import ElementTree  # noqa: E402

from rich.cells import cell_len  # noqa: E402

# Rich's SVG export places each cell at x = column * 12.2 px (a 20 px font, 0.61 em wide).
SVG_CELL_WIDTH = 12.2

TOUR_CONFIG_PATH = "tests/fixtures/config-qingcloud.seed.json"
"""The configuration offered on the configuration screen, relative to the repository, so that
snapshots do not show where the repository happens to be checked out."""


class TourFakeClient:
    """A client for every screen's actions: it hands each call to the fake that handles that action.

    The fakes of the screens' own tests are kept as they are; an action goes to the
    first of them whose class (not FakeClient) defines a handler for it, and
    anything else to the files fake, whose zones are configured and deployed.
    Each fake keeps its own state, which is enough for screens looked at once.
    """

    def __init__(self) -> None:
        self.description = "fake engine"
        self.base = ConfigFilesFakeClient(nodes=lab_nodes())
        self.delegates: list[FakeClient] = [
            self.base,
            NodeFakeClient(nodes=lab_nodes()),
            LicensedFakeClient(license_set=[{
                "license_id": "lc-Fake0001", "status": "enabled", "start_time": "2024-01-01T00:00:00Z",
                "end_time": "2099-01-01T00:00:00Z", "create_time": "2024-01-01T00:00:00Z",
                "status_time": "2024-01-01T00:00:00Z", "hypernode_count": 7}],
                licensed_hypernode_count=7, deployed_hypernode_count=7),
        ]
        for name in ("GrowFakeClient", "PlatformTestsFakeClient", "HealthCheckFakeClient"):
            fake_class = globals().get(name)
            if fake_class is not None:
                self.delegates.append(fake_class())
        self.calls: list[tuple[str, dict[str, Any], str]] = []

    def handler_of(self, action: str) -> FakeClient:
        for fake in self.delegates:
            for cls in type(fake).__mro__:
                if cls is FakeClient:
                    break
                if f"_{action}" in cls.__dict__:
                    return fake
        return self.base

    async def call(self, action: str, params: dict[str, Any] | None = None,
                   request_type: str = "QingCloud") -> dict[str, Any]:
        self.calls.append((action, dict(params or {}), request_type))
        return await self.handler_of(action).call(action, params, request_type)

    async def close(self) -> None:
        for fake in self.delegates:
            await fake.close()


def tour_app(*, lang: str = "en", console: bool = False, no_color: bool = False, theme: str | None = None,
             client: Any = None, steady: bool = True) -> InstallerApp:
    """Build the app over a TourFakeClient without animations; `steady` also stops cursors blinking."""
    from tui.console import Display

    fake = client or TourFakeClient()

    async def connect() -> Any:
        return fake

    app = InstallerApp(connect, lang=lang, poll_interval=0.005, config_path=TOUR_CONFIG_PATH,
                       display_mode=Display(console=console, no_color=no_color), theme=theme)
    app.animation_level = "none"
    if steady:
        app.cursor_blink = False
    return app


def screen_lines(app: InstallerApp) -> list[str]:
    """Return the lines of the terminal as the app draws them now, read from its SVG screenshot."""
    width = app.size.width
    root = ElementTree.fromstring(app.export_screenshot())
    rows: dict[int, list[str]] = {}
    for text in root.iter("{http://www.w3.org/2000/svg}text"):
        line = _re.search(r"line-(\d+)\)", text.get("clip-path", ""))
        if line is None:
            continue
        row = rows.setdefault(int(line.group(1)), [" "] * width)
        column = round(float(text.get("x", "0")) / SVG_CELL_WIDTH)
        for character in (text.text or "").replace("\xa0", " "):
            if column >= width:
                break
            row[column] = character
            if cell_len(character) == 2 and column + 1 < width:
                row[column + 1] = ""
            column += max(1, cell_len(character))
    return ["".join(rows.get(number, [])) for number in range(app.size.height)]


# ---------------------------------------------------------------------------
# The lab deployed through the API, for the lab tests of the tests and health check screens
# ---------------------------------------------------------------------------


async def wait_for_job(client: Any, job_action: str, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll GetStatus until the job ends; fail after `timeout` seconds."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        status = await client.call("GetStatus", {"job_action": job_action, "job_id": job_id}, "QingCloud")
        if status.get("status") in ("successful", "failed"):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"{job_action} job {job_id} did not end within {timeout} s: {status}")
        await asyncio.sleep(0.1)


async def deploy_lab_platform(client: Any, config_path: Path) -> None:
    """Apply the lab's sample configuration and deploy every node with a role, through the API."""
    document = json.loads(config_path.read_text(encoding="utf-8"))
    applied = await client.call("ConfigQingCloud", {"config": document.get("config", document)}, "QingCloud")
    assert applied.get("ret_code") == 0, applied
    assert (await wait_for_job(client, "ConfigQingCloud", applied["job_id"]))["status"] == "successful"

    nodes = await client.call("DescribeNodes", {}, "Node")
    node_ids = [node["node_id"] for node in nodes["node_set"] if node.get("role")]
    deployed = await client.call("DeployQingCloud", {"node_ids": node_ids}, "QingCloud")
    assert deployed.get("ret_code") == 0, deployed
    assert (await wait_for_job(client, "DeployQingCloud", deployed["job_id"]))["status"] == "successful"
