"""`qc-installer apply`: replaying an answers file on the lab and on real sshd nodes."""

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

from engine.answers import Answers, NodeAnswer, answers_from_config_request, dump_answers
from engine.lab.layout import DEPLOY_STEPS
from engine.lab.nodedir import prepare_node_dir
from engine.lab.session import SAMPLE_CONFIG
from engine.ssh import fingerprint, generate_client_key

WRONG_FINGERPRINT = "SHA256:" + "Q" * 43


def run_command(*args: str, stdin=subprocess.DEVNULL, input: str | None = None) -> subprocess.CompletedProcess:
    """Run qc-installer with standard error merged into standard output, as a terminal shows them."""
    return subprocess.run(
        [sys.executable, "-m", "qc_cli.main", *args],
        stdin=None if input is not None else stdin,
        input=input,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=180,
    )


def call(state: Path, action: str, *params: str) -> dict:
    result = run_command("call", "--state-dir", str(state), action, *params)
    return json.loads(result.stdout[: result.stdout.rindex("}") + 1])


def write_answers(path: Path, answers: Answers) -> Path:
    path.write_text(dump_answers(answers), encoding="utf-8")
    return path


@pytest.fixture
def lab_answers(tmp_path: Path) -> Path:
    """An answers file with the lab's two-zone configuration and no nodes (the lab registers its own)."""
    config = json.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    return write_answers(tmp_path / "answers.yaml", answers_from_config_request(config))


# ---------------------------------------------------------------------------
# The lab
# ---------------------------------------------------------------------------


def test_lab_deploys_unattended(tmp_path, lab_answers):
    state = tmp_path / "state"

    result = run_command("apply", str(lab_answers), "--lab", "--deploy", "--yes", "--state-dir", str(state),
                         "--lab-speed", "100")
    described = call(state, "DescribeQingCloud")["qingcloud"]

    assert result.returncode == 0, result.stdout[-3000:]
    for index, step in enumerate(DEPLOY_STEPS):
        assert f"[step{index}] {step} ..." in result.stdout
    assert "DeployQingCloud job" in result.stdout
    assert "apply successful: 0 node(s) registered, 2 zone(s) configured, 13 node(s) deployed" in result.stdout
    assert described["is_deployed"] == 1
    assert described["zone_info"]["pek3a"]["is_zone_deployed"] == 1
    assert described["zone_info"]["pek3b"]["is_zone_deployed"] == 1


def test_deploy_keeps_to_the_answers_zones(tmp_path):
    state = tmp_path / "state"
    config = json.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    pek3a_only = {**config, "config": {"pek3a": config["config"]["pek3a"]}}
    pek3b_only = {**config, "config": {"pek3b": config["config"]["pek3b"]}}
    (tmp_path / "pek3a.json").write_text(json.dumps(pek3a_only), encoding="utf-8")
    answers = write_answers(tmp_path / "pek3b.yaml", answers_from_config_request(pek3b_only))
    configured = run_command("call", "--lab", "--state-dir", str(state), "ConfigQingCloud",
                             "--json", str(tmp_path / "pek3a.json"))
    assert configured.returncode == 0, configured.stdout[-2000:]

    result = run_command("apply", str(answers), "--lab", "--deploy", "--yes", "--state-dir", str(state),
                         "--lab-speed", "100")
    jobs = call(state, "DescribeJobs", "job_action=DeployQingCloud", "--request-type", "Job")

    assert result.returncode == 0, result.stdout[-3000:]
    assert "5 node(s) deployed" in result.stdout
    assert jobs["total_count"] == 1
    deployed = jobs["job_set"][0]["resources"]["node_ids"]
    assert sorted(deployed) == sorted(f"n-pek3b01r{slot:02d}" for slot in range(1, 6))


def test_failed_deploy_resumes_on_rerun(tmp_path, lab_answers):
    state = tmp_path / "state"
    command = ["apply", str(lab_answers), "--lab", "--deploy", "--yes", "--state-dir", str(state), "--lab-speed", "100"]

    failed = run_command(*command, "--lab-fail", "pek3br01n04:install")
    rerun = run_command(*command)
    described = call(state, "DescribeQingCloud")["qingcloud"]

    assert failed.returncode == 1
    assert "DeployQingCloud job" in failed.stdout
    assert "failed in step2 install" in failed.stdout
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert "keep zone(s) whose configuration is unchanged: pek3a, pek3b" in rerun.stdout
    assert "ConfigQingCloud: job" not in rerun.stdout
    assert "[step0] preflight: skipped" in rerun.stdout
    assert "[step2] install ..." in rerun.stdout
    assert described["is_deployed"] == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def lab_server(tmp_path):
    """A `qc-installer serve --lab` process on a free loopback port; returns (URL, state directory)."""
    state = tmp_path / "served"
    port = free_port()
    errors = open(tmp_path / "serve.err", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "qc_cli.main", "serve", "--lab", "--lab-speed", "100", "--state-dir", str(state),
         "--listen", f"127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.post(url, json={"action": "DescribeNodes", "request_type": "Node"}).json()["total_count"]:
                break
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise AssertionError(f"serve did not start: {(tmp_path / 'serve.err').read_text()}")
        time.sleep(0.1)

    yield url, state
    server.terminate()
    server.wait(timeout=30)
    errors.close()


def test_server_deploys_over_http(tmp_path, lab_server, lab_answers):
    url, state = lab_server

    result = run_command("apply", str(lab_answers), "--server", url, "--deploy", "--yes")
    described = httpx.post(url, json={"action": "DescribeQingCloud", "request_type": "QingCloud"}).json()

    assert result.returncode == 0, result.stdout[-3000:]
    assert "[step5] verify ..." in result.stdout
    assert described["qingcloud"]["is_deployed"] == 1
    assert not (tmp_path / "state").exists(), "with --server, apply must not start an engine of its own"


def test_no_terminal_without_yes_changes_nothing(tmp_path, lab_answers):
    state = tmp_path / "state"

    result = run_command("apply", str(lab_answers), "--lab", "--deploy", "--state-dir", str(state),
                         "--lab-speed", "100")
    jobs = call(state, "DescribeJobs")
    described = call(state, "DescribeQingCloud")["qingcloud"]

    assert result.returncode == 2
    assert "pass --yes" in result.stdout
    assert "Plan:" in result.stdout
    assert jobs["total_count"] == 0
    assert described["zone_ids"] == []


def test_validation_error_is_printed_and_starts_no_job(tmp_path):
    state = tmp_path / "state"
    config = {"pek3a": {"variables": {"zone_id": "pek3a", "deploy_mode": "standard"},
                        "settings": {"roles": {}, "vbc": {"ipv4_vip": "172.016.80.100|172.16.80.8"}}}}
    answers = write_answers(tmp_path / "answers.yaml", Answers(config=config))

    result = run_command("apply", str(answers), "--yes", "--state-dir", str(state))
    jobs = call(state, "DescribeJobs")

    assert result.returncode == 1
    assert "error: pek3a.settings.vbc.ipv4_vip: " in result.stdout
    assert "the configuration has errors" in result.stdout
    assert jobs["total_count"] == 0


def test_bad_file_names_line_and_column(tmp_path):
    state = tmp_path / "state"
    answers = tmp_path / "answers.yaml"
    answers.write_text("version: 1\nnodes:\n  - ssh_host: 192.0.2.10\n   ssh_port: 22\n", encoding="utf-8")

    result = run_command("apply", str(answers), "--yes", "--state-dir", str(state))

    assert result.returncode == 2
    assert f"{answers}, line 4, column 4: invalid YAML: " in result.stdout
    assert not state.exists(), "a file that cannot be read must not create state"


def test_bad_field_names_its_path(tmp_path):
    answers = tmp_path / "answers.yaml"
    answers.write_text("version: 1\nnodes:\n  - ssh_host: 192.0.2.10\n    ssh_port: 70000\n", encoding="utf-8")

    result = run_command("apply", str(answers), "--yes", "--state-dir", str(tmp_path / "state"))

    assert result.returncode == 2
    assert f"{answers}, line 4, column 15: nodes[0].ssh_port: 70000 is not a port (1-65535)" in result.stdout


# ---------------------------------------------------------------------------
# Real sshd nodes
# ---------------------------------------------------------------------------

NODES = {"qcapply01": ("n-pek3cr01n1", "pek3cr01n01", "172.16.100.11"),
         "qcapply02": ("n-pek3cr01n2", "pek3cr01n02", "172.16.100.12")}


@pytest.fixture
def site(sshd_cluster, tmp_path):
    """Two sshd nodes that accept the state directory's installer key; returns (state, cluster)."""
    state = tmp_path / "state"
    public_key = generate_client_key(state / "ssh" / "id_ed25519")
    cluster = sshd_cluster(list(NODES), client_public_key=public_key)
    for name, (_, hostname, mgmt_ip) in NODES.items():
        prepare_node_dir(cluster.node(name).home, hostname=hostname, mgmt_ip=mgmt_ip)
    return state, cluster


def node_answers(cluster, pins: dict[str, str]) -> list[NodeAnswer]:
    return [
        NodeAnswer(ssh_host=cluster.node(name).host, ssh_port=cluster.node(name).port, ssh_user=cluster.node(name).user,
                   node_id=node_id, mgmt_ip=mgmt_ip, host_key_fingerprints=[pins[name]])
        for name, (node_id, _, mgmt_ip) in NODES.items()
    ]


@pytest.mark.sshd
def test_nodes_with_pinned_fingerprints_are_registered(site, tmp_path):
    state, cluster = site
    pins = {name: fingerprint(cluster.host_public_key(name)) for name in NODES}
    answers = write_answers(tmp_path / "answers.yaml", Answers(nodes=node_answers(cluster, pins)))

    result = run_command("apply", str(answers), "--yes", "--state-dir", str(state))
    nodes = {node["node_id"]: node for node in call(state, "DescribeNodes")["node_set"]}

    assert result.returncode == 0, result.stdout
    assert "(pinned in the answers file)" in result.stdout
    assert "apply successful: 2 node(s) registered" in result.stdout
    assert sorted(nodes) == ["n-pek3cr01n1", "n-pek3cr01n2"]
    for name, (node_id, hostname, mgmt_ip) in NODES.items():
        assert nodes[node_id]["hostname"] == hostname
        assert nodes[node_id]["mgmt_ip"] == mgmt_ip
        assert nodes[node_id]["host_key_fingerprints"] == [pins[name]]


@pytest.mark.sshd
def test_mismatched_pin_is_refused_before_anything_is_stored(site, tmp_path):
    state, cluster = site
    pins = {name: fingerprint(cluster.host_public_key(name)) for name in NODES}
    pins["qcapply02"] = WRONG_FINGERPRINT
    answers = write_answers(tmp_path / "answers.yaml", Answers(nodes=node_answers(cluster, pins)))

    result = run_command("apply", str(answers), "--yes", "--state-dir", str(state))

    assert result.returncode == 1
    assert "rejected before any change" in result.stdout
    assert f"offers {fingerprint(cluster.host_public_key('qcapply02'))}" in result.stdout
    assert WRONG_FINGERPRINT in result.stdout
    assert call(state, "DescribeNodes")["total_count"] == 0
    assert call(state, "DescribeJobs")["total_count"] == 0


@pytest.mark.sshd
def test_password_from_stdin_installs_the_key_once(sshd_cluster, tmp_path):
    state = tmp_path / "state"
    password = "correct horse battery"
    public_key = generate_client_key(state / "ssh" / "id_ed25519")
    cluster = sshd_cluster(["qcapply03"], client_public_key=public_key, passwords={"qcapply03": password})
    node = cluster.node("qcapply03")
    prepare_node_dir(node.home, hostname="pek3cr01n03", mgmt_ip="172.16.100.13")
    answers = write_answers(tmp_path / "answers.yaml", Answers(nodes=[NodeAnswer(
        ssh_host=node.host, ssh_port=node.port, ssh_user=node.user, node_id="n-pek3cr01n3")]))

    without = run_command("apply", str(answers), "--yes", "--state-dir", str(state))
    nodes_after_refusal = call(state, "DescribeNodes")["total_count"]
    with_password = run_command("apply", str(answers), "--yes", "--password-stdin", "--state-dir", str(state),
                                input=password + "\n")
    nodes = call(state, "DescribeNodes")["node_set"]

    assert without.returncode == 1
    assert "--password-stdin" in without.stdout
    assert nodes_after_refusal == 0
    assert with_password.returncode == 0, with_password.stdout
    assert "trusted on first use" in with_password.stdout
    assert [entry["hostname"] for entry in nodes] == ["pek3cr01n03"]
    assert public_key.split()[1] in (node.home / ".ssh" / "authorized_keys").read_text()
    assert password not in with_password.stdout
    assert password not in (state / "engine.log").read_text()
