"""`qc-installer call`: what the command prints and how it exits."""

import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run_call(state: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qc_cli.main", "call", "--state-dir", str(state), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_broken_seed_json_names_line_and_column(tmp_path):
    state = tmp_path / "state"

    result = run_call(state, "ConfigQingCloud", "--json", str(FIXTURES / "config-qingcloud.seed-raw.txt"))
    response = json.loads(result.stdout)

    assert result.returncode == 1
    assert response["ret_code"] == 1100
    assert "line 7 column 26" in response["message"]
    assert not (state / "state.db").exists(), "a refused call must not create state"


def test_describe_prints_response_and_exits_zero(tmp_path):
    result = run_call(tmp_path / "state", "DescribeQingCloud")
    response = json.loads(result.stdout)

    assert result.returncode == 0
    assert response["action"] == "DescribeQingCloudResponse"
    assert response["qingcloud"]["is_deployed"] == 0


def test_error_response_exits_non_zero(tmp_path):
    result = run_call(tmp_path / "state", "DeployQingCloud", 'node_ids=["n-pek3a01r01"]')
    response = json.loads(result.stdout)

    assert result.returncode == 1
    assert response["ret_code"] == 5200


def test_invalid_config_starts_no_job(tmp_path):
    state = tmp_path / "state"
    config = {"pek3a": {"variables": {"zone_id": "pek3a", "deploy_mode": "standard"},
                        "settings": {"roles": {}, "vbc": {"ipv4_vip": "172.016.80.100|172.16.80.8"}}}}

    result = run_call(state, "ConfigQingCloud", f"config={json.dumps(config)}")
    jobs = json.loads(run_call(state, "DescribeJobs").stdout)

    assert result.returncode == 1
    assert json.loads(result.stdout)["ret_code"] == 1100
    assert jobs["total_count"] == 0


def test_seed_config_runs_job_in_process(tmp_path):
    result = run_call(tmp_path / "state", "ConfigQingCloud", "--json", str(FIXTURES / "config-qingcloud.seed.json"))
    described = json.loads(run_call(tmp_path / "state", "DescribeQingCloud").stdout)["qingcloud"]

    assert result.returncode == 0, result.stderr
    assert "successful" in result.stderr
    assert described["zone_ids"] == ["pek3a", "pek3b"]
    assert described["zone_info"]["pek3a"]["deploy_mode"] == "standard"
    assert described["zone_info"]["pek3b"]["role_node_num"] == 5


def test_bad_key_value_is_refused(tmp_path):
    result = run_call(tmp_path / "state", "DescribeQingCloud", "novalue")

    assert result.returncode == 1
    assert "is not key=value" in json.loads(result.stdout)["message"]
