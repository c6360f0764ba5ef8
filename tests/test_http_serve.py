"""`qc-installer serve` with users: logins, roles, the audit log, secrets, and what it refuses to start with.

The server runs as a real subprocess on loopback. Tests that provoke failed
logins send them from source addresses of their own (127.0.0.x), so the
per-address backoff of one test never locks out another.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.auth import passwords
from engine.auth.listen import plan_listen
from engine.auth.users import Users
from engine.paths import StateLayout
from qc_cli.main import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED_EXAMPLES = json.loads((FIXTURES / "seed-examples.json").read_text(encoding="utf-8"))
#: ret_codes of API calls that hit neither a bug nor a login problem.
CALL_FAMILIES = {0, 1100, 2100, 2400, 5100, 5200}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def add_user(state_dir: Path, name: str, role: str, password: str) -> None:
    """Add a user with a cheap scrypt cost; each hash stores its cost, so the server checks it the same way."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "SCRYPT_N", 2**10)
        Users(StateLayout(state_dir).database).add(name, role, password)


def login(user_id: str, password: str) -> dict[str, str]:
    return {"USER_ID": user_id, "PASSWORD": base64.b64encode(password.encode("utf-8")).decode("ascii")}


@dataclass
class ServeProcess:
    """A `qc-installer serve` subprocess and the files it writes."""

    state_dir: Path
    host: str = "127.0.0.1"
    extra_args: list[str] = field(default_factory=list)
    scheme: str = "http"
    verify: Any = True
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def stderr_path(self) -> Path:
        return self.state_dir.parent / f"serve-{self.port}.err"

    def start(self) -> "ServeProcess":
        self.port = free_port(self.host)
        command = [sys.executable, "-m", "qc_cli.main", "serve", "--state-dir", str(self.state_dir),
                   "--listen", f"{self.host}:{self.port}", *self.extra_args]
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr,
                                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/openapi.json", verify=self.verify, timeout=5).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"serve did not start: {self.stderr_path.read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def client(self, source: str = "127.0.0.1") -> httpx.Client:
        """An HTTP client whose requests come from the loopback address `source`."""
        transport = httpx.HTTPTransport(local_address=source, verify=self.verify)
        return httpx.Client(base_url=self.url, transport=transport, timeout=30)

    def written_text(self) -> str:
        """Everything the server wrote: engine.log, audit.log and its standard error."""
        parts = [self.stderr_path]
        parts += [self.state_dir / name for name in ("engine.log", "audit.log")]
        return "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in parts if path.exists())

    def audit_lines(self) -> list[dict[str, Any]]:
        path = self.state_dir / "audit.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines()]


def post(client: httpx.Client, action: str, request_type: str = "QingCloud", **params: Any) -> httpx.Response:
    return client.post("/", json={"action": action, "request_type": request_type, **params})


@dataclass
class Served:
    server: ServeProcess
    admin_password: str
    viewer_password: str

    @property
    def admin(self) -> dict[str, str]:
        return login("admin", self.admin_password)

    @property
    def viewer(self) -> dict[str, str]:
        return login("viewer", self.viewer_password)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    state = tmp_path_factory.mktemp("serve") / "state"
    admin_password = f"planted-admin-{secrets.token_hex(8)}"
    viewer_password = f"planted-viewer-{secrets.token_hex(8)}"
    add_user(state, "admin", "admin", admin_password)
    add_user(state, "viewer", "viewer", viewer_password)
    add_user(state, "target", "admin", f"planted-target-{secrets.token_hex(8)}")
    server = ServeProcess(state).start()
    yield Served(server, admin_password, viewer_password)
    server.stop()


def test_missing_or_wrong_credentials_get_1200(served):
    cases = {
        "no credentials": {},
        "user only": {"USER_ID": "admin"},
        "password only": {"PASSWORD": served.admin["PASSWORD"]},
        "wrong password": login("target", "not-the-password"),
        "unknown user": login("nobody", served.admin_password),
        "password not base64": {"USER_ID": "admin", "PASSWORD": "%%%"},
        "password not a string": {"USER_ID": "admin", "PASSWORD": 12345},
    }
    with served.server.client(source="127.0.0.11") as client:
        answers = {case: post(client, "DescribeQingCloud", **fields) for case, fields in cases.items()}

    messages = {answer.json()["message"] for answer in answers.values()}
    for case, answer in answers.items():
        assert answer.status_code == 401, case
        assert answer.json()["ret_code"] == 1200, case
        assert answer.json()["action"] == "DescribeQingCloudResponse", case
    assert len(messages) == 1, messages
    assert "USER_ID" in messages.pop()


def test_viewer_reads_but_cannot_change(served):
    with served.server.client() as client:
        described = post(client, "DescribeQingCloud", **served.viewer)
        nodes = post(client, "DescribeNodes", "Node", **served.viewer)
        config = post(client, "ConfigQingCloud", config={}, **served.viewer)
        add_nodes = post(client, "AddNodes", "Node", nodes=[{"ssh_host": "127.0.0.1", "ssh_port": 1}], **served.viewer)

    assert described.status_code == 200
    assert described.json()["ret_code"] == 0
    assert nodes.json()["ret_code"] == 0
    assert config.status_code == 403
    assert config.json()["ret_code"] == 1400
    assert "ConfigQingCloud" in config.json()["message"]
    assert "viewer" in config.json()["message"]
    assert add_nodes.json()["ret_code"] == 1400
    denied = [line for line in served.server.audit_lines() if line["ret_code"] == 1400]
    assert {line["action"] for line in denied} >= {"ConfigQingCloud", "AddNodes"}
    assert all(line["user"] == "viewer" for line in denied)


def test_admin_change_is_audited_with_job_id(served):
    config = json.loads((FIXTURES / "config-qingcloud.seed.json").read_text(encoding="utf-8"))["config"]

    with served.server.client() as client:
        started = post(client, "ConfigQingCloud", config=config, **served.admin).json()
        post(client, "DescribeQingCloud", **served.admin)

    assert started["ret_code"] == 0, started
    entries = [line for line in served.server.audit_lines() if line.get("job_id") == started["job_id"]]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["user"] == "admin"
    assert entry["source"] == "127.0.0.1"
    assert entry["action"] == "ConfigQingCloud"
    assert entry["ret_code"] == 0
    assert entry["time"].endswith("Z")
    assert entry["parameters"] == {"config": {"keys": ["pek3a", "pek3b"]}}
    assert not any(line["action"] == "DescribeQingCloud" and line["ret_code"] == 0
                   for line in served.server.audit_lines()), "reads are not audited"


def test_secrets_never_reach_logs_or_responses(served):
    license_code = f"planted-license-{secrets.token_hex(8)}"
    ssh_password = f"planted-ssh-{secrets.token_hex(8)}"
    wrong_password = f"planted-wrong-{secrets.token_hex(8)}"
    closed_port = free_port()
    bodies: list[str] = []

    with served.server.client(source="127.0.0.12") as client:
        requests = [
            ("ActivateQingCloudLicense", "QingCloud", {"license_code": license_code, **served.admin}),
            ("ActivateQingCloudLicense", "QingCloud", {"license_code": [license_code], **served.admin}),
            # The invalid node id stops the call before any SSH connection is made.
            ("AddNodes", "Node", {"nodes": [{"ssh_host": "127.0.0.1", "ssh_port": closed_port, "node_id": "n-!"}],
                                  "ssh_password": ssh_password, **served.admin}),
            ("AddNodes", "Node", {"nodes": "none", "ssh_password": [ssh_password], **served.admin}),
            ("DescribeQingCloud", "QingCloud", login("admin", wrong_password)),
            ("DescribeQingCloud", "QingCloud", {"USER_ID": wrong_password, "PASSWORD": wrong_password}),
        ]
        for action, request_type, params in requests:
            answer = post(client, action, request_type, **params)
            assert answer.json()["ret_code"] != 0, (action, answer.text)
            bodies.append(answer.text)

    planted = [license_code, ssh_password, wrong_password, served.admin_password, served.viewer_password]
    encoded = [base64.b64encode(secret.encode()).decode() for secret in planted]
    written = served.server.written_text()
    for secret in planted + encoded:
        assert secret not in written, f"a secret reached the server's logs: {secret}"
        for body in bodies:
            assert secret not in body, f"a secret came back in a response: {secret}"
    assert (served.server.state_dir / "audit.log").stat().st_mode & 0o077 == 0
    assert secrets_absent_from_database(served.server.state_dir, planted)


def secrets_absent_from_database(state_dir: Path, planted: list[str]) -> bool:
    raw = b"".join(path.read_bytes() for path in state_dir.glob("state.db*"))
    return not any(secret.encode() in raw for secret in planted)


def test_seed_examples_get_family_answers(served):
    answers = []
    with served.server.client() as client:
        for example in SEED_EXAMPLES:
            request = {**example["request"], **served.admin}
            answers.append((example["action"], client.post("/", json=request)))

    for action, answer in answers:
        body = answer.json()
        assert body["action"] == f"{action}Response", body
        assert body["ret_code"] in CALL_FAMILIES, body
        assert answer.status_code != 500, body


def test_loopback_without_users_acts_as_local_operator(tmp_path):
    state = tmp_path / "state"
    server = ServeProcess(state).start()
    try:
        with server.client() as client:
            anonymous = post(client, "DescribeQingCloud").json()
            rebound = client.post("/", json={"action": "DescribeQingCloud", "request_type": "QingCloud"},
                                  headers={"Host": f"installer.example:{server.port}"}).json()
            add_user(state, "first", "admin", "first-password")
            after_first_user = post(client, "DescribeQingCloud").json()
            logged_in = post(client, "DescribeQingCloud", **login("first", "first-password")).json()
    finally:
        server.stop()

    assert anonymous["ret_code"] == 0
    assert rebound["ret_code"] == 1200, "a request naming a non-loopback Host must log in"
    assert after_first_user["ret_code"] == 1200
    assert logged_in["ret_code"] == 0
    assert "no users yet" in server.stderr_path.read_text()


def run_serve(capsys, state: Path, *args: str) -> tuple[int, str]:
    """Run `qc-installer serve` in-process; every case here must be refused before serve binds."""
    status = main(["serve", "--state-dir", str(state), *args])
    return status, capsys.readouterr().err


# 192.0.2.0/24 is reserved for documentation: no interface here has such an
# address, so even a serve that failed to refuse could not bind it.
def test_non_loopback_listen_needs_tls_or_insecure(tmp_path, capsys):
    status, stderr = run_serve(capsys, tmp_path / "state", "--listen", "192.0.2.10:8750")

    assert status == 2
    assert "not a loopback address" in stderr
    assert "--tls-cert" in stderr
    assert "--insecure" in stderr


def test_non_loopback_listen_needs_a_user(tmp_path, capsys):
    status, stderr = run_serve(capsys, tmp_path / "state", "--listen", "192.0.2.10:8750", "--insecure")

    assert status == 2
    assert "no users" in stderr
    assert "qc-installer user add NAME --role admin" in stderr
    assert not (tmp_path / "state").exists(), "a refused serve must not create state"


def test_tls_cert_without_key_is_refused(tmp_path, capsys):
    status, stderr = run_serve(capsys, tmp_path / "state", "--listen", "192.0.2.10:8750",
                               "--tls-cert", str(tmp_path / "cert.pem"))

    assert status == 2
    assert "--tls-cert and --tls-key go together" in stderr


def test_unreadable_tls_files_are_refused(tmp_path, capsys):
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")

    status, stderr = run_serve(capsys, tmp_path / "state", "--listen", "192.0.2.10:8750",
                               "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem"))

    assert status == 2
    assert "cannot be loaded" in stderr


def test_insecure_non_loopback_plan_warns(tmp_path):
    state = tmp_path / "state"
    add_user(state, "alice", "admin", "alice-password")

    plan = plan_listen("192.0.2.10", state, loopback=False, tls_cert=None, tls_key=None, insecure=True)

    assert plan.scheme == "http"
    assert len(plan.warnings) == 1
    assert "without TLS (--insecure)" in plan.warnings[0]
    assert plan.notices == [], "with a user there is no local-operator notice"


def test_loopback_plan_needs_nothing(tmp_path):
    plan = plan_listen("127.0.0.1", tmp_path / "state", loopback=True, tls_cert=None, tls_key=None, insecure=False)

    assert plan.warnings == []
    assert "no users yet" in plan.notices[0]
    assert not (tmp_path / "state").exists(), "planning must not create state"
