"""`qc-installer report`: run as a subprocess against a recorded API on loopback, and on a state directory."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.test_reports_recorded import CHECK_ID, NEWEST_RUN, OLDER_RUN, FakeApi, error, recorded

# A POSIX TZ string, so the local time differs from UTC without needing the tz database.
LOCAL_TZ_ENV = "XST-8"

# The command runs from other directories too, so the checkout goes on its import path.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class RecordedServer:
    """An HTTP API on 127.0.0.1 that responds from a FakeApi, as `qc-installer serve` would."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        server_api = api

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
                length = int(self.headers.get("Content-Length", "0"))
                response = server_api.answer(json.loads(self.rfile.read(length)))
                body = json.dumps(response).encode("utf-8")
                self.send_response(200 if response["ret_code"] == 0 else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "RecordedServer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def server(api: FakeApi) -> Iterator[RecordedServer]:
    with RecordedServer(api) as running:
        yield running


def run_report(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    import_path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]))
    environment = {**os.environ, "TZ": LOCAL_TZ_ENV, "PYTHONPATH": import_path}
    environment.pop("QCI_STATE_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "qc_cli.main", "report", *args],
        capture_output=True, text=True, encoding="utf-8", timeout=60, env=environment, cwd=cwd,
    )


# ---------------------------------------------------------------------------
# Reports written
# ---------------------------------------------------------------------------


def test_markdown_to_stdout(server):
    result = run_report("test", "--server", server.url, "--format", "md")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"# QingCloud test report: run {NEWEST_RUN}\n")
    assert "| eip-bind | Bind an EIP to an instance | (!) failed |" in result.stdout
    assert "ERROR: eip 139.198.1.10 did not answer within 60s" in result.stdout
    assert "2024-05-02 07:59:58 UTC / 2024-05-02 15:59:58 XST (UTC+08:00) local" in result.stdout
    assert f"| Source | {server.url} |" in result.stdout
    assert result.stderr == ""


def test_output_file_replaced_atomically(server, tmp_path):
    target = tmp_path / "reports" / "run.html"
    target.parent.mkdir()
    target.write_text("previous report\n", encoding="utf-8")
    os.link(target, tmp_path / "previous.html")

    result = run_report("test", "--server", server.url, "--format", "html", "-o", str(target))
    text = target.read_text(encoding="utf-8")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"report written to {target}\n"
    assert text.startswith("<!DOCTYPE html>")
    assert "eip-bind" in text
    assert "&lt;script&gt;" in text
    assert (tmp_path / "previous.html").read_text(encoding="utf-8") == "previous report\n"
    assert [path.name for path in target.parent.iterdir()] == ["run.html"], "no temporary file may be left"


def test_relative_output_named_absolute(server, tmp_path):
    result = run_report("check", "--server", server.url, "--format", "json", "-o", "check.json", cwd=tmp_path)

    document = json.loads((tmp_path / "check.json").read_text(encoding="utf-8"))

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"report written to {tmp_path / 'check.json'}\n"
    assert document["check"]["job_id"] == CHECK_ID


def test_run_option_selects_run(server, api):
    result = run_report("test", "--server", server.url, "--format", "json", "--run", OLDER_RUN)

    document = json.loads(result.stdout)

    assert result.returncode == 0, result.stderr
    assert document["run"]["job_id"] == OLDER_RUN
    assert document["cases"][0]["log"] == ["older run: lb-vxnet passed"]
    assert ("GetQingCloudTestCasesStatus", {"job_id": OLDER_RUN}) in api.calls


def test_check_junit_parses(server):
    result = run_report("check", "--server", server.url, "--format", "junit")

    root = ET.fromstring(result.stdout.encode("utf-8"))

    assert result.returncode == 0, result.stderr
    assert [suite.get("name") for suite in root.findall("testsuite")] == ["pek3b", "pek3a"]
    assert root.get("failures") == "1"


# ---------------------------------------------------------------------------
# Bad input: exit status 2
# ---------------------------------------------------------------------------


def test_unknown_run_exits_2(server, tmp_path):
    target = tmp_path / "report.md"

    result = run_report("test", "--server", server.url, "--run", "j-missing0", "-o", str(target))

    assert result.returncode == 2
    assert "j-missing0 is not a recorded test run (job 'j-missing0' not found)" in result.stderr
    assert "DescribeJobs job_action=TestQingCloud" in result.stderr
    assert not target.exists()
    assert result.stdout == ""


def test_malformed_run_id_exits_2(server):
    result = run_report("test", "--server", server.url, "--run", "latest")

    assert result.returncode == 2
    assert "'latest' is not a job id" in result.stderr


def test_unknown_format_exits_2(server):
    result = run_report("test", "--server", server.url, "--format", "pdf")

    assert result.returncode == 2
    assert "invalid choice: 'pdf'" in result.stderr
    assert result.stdout == ""


def test_no_run_recorded_exits_2():
    data = recorded()
    data["runs"], data["newest_run"] = {}, None

    with RecordedServer(FakeApi(data)) as empty:
        result = run_report("test", "--server", empty.url)

    assert result.returncode == 2
    assert "no test run recorded yet" in result.stderr
    assert "TestQingCloud starts one" in result.stderr


def test_no_check_recorded_exits_2():
    data = recorded()
    data["checks"], data["newest_check"] = {}, None

    with RecordedServer(FakeApi(data)) as empty:
        result = run_report("check", "--server", empty.url)

    assert result.returncode == 2
    assert "no check recorded yet" in result.stderr


def test_empty_state_dir_exits_2_and_creates_nothing(tmp_path):
    state = tmp_path / "state"

    result = run_report("test", "--state-dir", str(state))

    assert result.returncode == 2
    assert f"no test run recorded yet: {state} contains no installer state" in result.stderr
    assert not state.exists()


def test_missing_output_directory_exits_2(server, tmp_path):
    result = run_report("test", "--server", server.url, "-o", str(tmp_path / "missing" / "report.md"))

    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_lab_with_server_exits_2(server):
    result = run_report("test", "--lab", "--server", server.url)

    assert result.returncode == 2
    assert "--lab and --server exclude each other" in result.stderr


# ---------------------------------------------------------------------------
# Failures of the API or the network: exit status 1
# ---------------------------------------------------------------------------


def test_refused_check_exits_1(server, api):
    api.overrides["GetQingCloudCheckResult"] = error(
        "GetQingCloudCheckResult", 5200, "check j-abcd1234 is still running; read its result when it ends")

    result = run_report("check", "--server", server.url)

    assert result.returncode == 1
    assert "ret_code 5200" in result.stderr
    assert "is still running" in result.stderr


def test_unreachable_server_exits_1():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port was free a moment ago and nothing listens on it now.

    result = run_report("test", "--server", f"http://127.0.0.1:{port}")

    assert result.returncode == 1
    assert f"cannot reach http://127.0.0.1:{port}" in result.stderr
