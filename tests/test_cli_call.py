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


def test_get_status_prints_and_exits(tmp_path):
    state = tmp_path / "state"
    run_call(state, "ConfigQingCloud", "--json", str(FIXTURES / "config-qingcloud.seed.json"))

    result = run_call(state, "GetStatus", "job_action=ConfigQingCloud")

    assert result.returncode == 0
    assert json.loads(result.stdout)["status"] == "successful"
    assert "waiting for job" not in result.stderr


def test_state_dir_that_is_a_file_gets_one_line(tmp_path):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")

    result = run_call(not_a_directory, "DescribeQingCloud")

    assert result.returncode == 2
    assert "cannot use state directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_database_gets_one_line(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.db").write_bytes(b"this is not sqlite" * 100)

    result = run_call(state, "DescribeQingCloud")

    assert result.returncode == 2
    assert "cannot open the state database" in result.stderr
    assert "Traceback" not in result.stderr


def test_second_engine_on_same_state_dir_is_refused(tmp_path):
    from engine.engine import Engine

    state = tmp_path / "state"
    holder = Engine(state)
    try:
        result = run_call(state, "DescribeQingCloud")
    finally:
        holder.state_lock.release()
        holder.store.close()

    assert result.returncode == 2
    assert "in use by another qc-installer engine" in result.stderr
    assert "--server" in result.stderr


def test_lab_options_rejected_at_command_line(tmp_path):
    for option in (["--lab-speed", "nan"], ["--lab-speed", "inf"], ["--lab-fail", "nosuchnode:install"]):
        result = subprocess.run(
            [sys.executable, "-m", "qc_cli.main", "call", "--lab", *option, "--state-dir", str(tmp_path / "s"),
             "DescribeQingCloud"],
            capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 2, option
        assert "error:" in result.stderr, option


def test_parameters_after_options_are_read(tmp_path):
    state = tmp_path / "state"
    run_call(state, "ConfigQingCloud", "--json", str(FIXTURES / "config-qingcloud.seed.json"))

    result = run_call(state, "DescribeJobs", "--request-type", "Job", "job_action=ConfigQingCloud")
    response = json.loads(result.stdout)

    assert result.returncode == 0, result.stderr
    assert response["total_count"] == 1
    assert response["job_set"][0]["job_action"] == "ConfigQingCloud"


def test_unknown_option_is_still_refused(tmp_path):
    result = run_call(tmp_path / "state", "DescribeQingCloud", "--no-such-option")

    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-option" in result.stderr


def test_check_verbose_as_number_is_accepted(tmp_path):
    result = run_call(tmp_path / "state", "CheckQingCloud", "verbose=0")
    response = json.loads(result.stdout)

    # Nothing is deployed, so the check is refused for that reason, not for verbose.
    assert response["ret_code"] == 5200, response
    assert "verbose" not in response["message"]
