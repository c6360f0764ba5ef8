"""Running the platform's test cases on real OpenSSH nodes, through the engine's API.

The zone is the reference's pek3b deployed on five sshd nodes (see
test_check_sshd). pek3b is a fusion zone, so the test runner is its first hyper
node with the seed sub-role, pek3br01n03. The demo's test scripts run there at
lab speed 20, about half a second per case.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.lab.check_controls import set_test_failure
from engine.lab.nodedir import set_speed
from tests.test_check_sshd import HYPER1, Platform, platform, start_platform  # noqa: F401 (fixtures)

pytestmark = pytest.mark.sshd

RUNNER = HYPER1
TEST_SPEED = 20
DEADLINE_S = 30.0


def rows_by_test(status: dict) -> dict[str, dict]:
    return {row["test"]: row for row in status["result"]}


async def case_log(platform: Platform, task: str, **params) -> dict:
    response = await platform.call("GetQingCloudTestCasesLog", task=task, **params)
    assert response["ret_code"] == 0, response
    return response


async def wait_for_case(platform: Platform, job_id: str, status: str) -> None:
    """Poll the run's status until one of its cases has `status`."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        response = await platform.call("GetQingCloudTestCasesStatus", job_id=job_id)
        if any(row["status"] == status for row in response["result"]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no case of run {job_id} became {status} within {DEADLINE_S} s")


@pytest.fixture
async def tested(platform) -> Platform:
    set_speed(platform.home(RUNNER), TEST_SPEED)
    return platform


async def test_failing_case_then_rerun_passes(tested):
    set_test_failure(tested.home(RUNNER), "lb-vxnet", once=True)

    started = await tested.call("TestQingCloud", mode="res", tasks="lb-vxnet,vm-instance-capture,eip-associate")
    busy = await tested.call("TestQingCloud", mode="skip")
    run_id = started["job_id"]
    run_status, run_lines = await tested.finish("TestQingCloud", run_id)
    status = await tested.call("GetQingCloudTestCasesStatus")
    failed_log = await case_log(tested, "lb-vxnet")
    passed_log = await case_log(tested, "vm-instance-capture")
    job = (await tested.call("DescribeJobs", "Job", job_ids=[run_id]))["job_set"][0]

    assert busy["ret_code"] == 5100
    assert run_id in busy["message"]
    assert run_status["status"] == "failed"
    assert [(step["name"], step["state"]) for step in run_status["steps"]] == [
        ("prepare_resources", "done"), ("run_tests", "failed")
    ]
    assert "1 of 3 test cases failed on pek3br01n03: lb-vxnet" in run_lines[-1]
    assert job["resources"]["runner"] == RUNNER.hostname
    assert job["resources"]["counts"] == {"successful": 2, "failed": 1}

    # Rows come in catalog order, whatever order tasks named them in.
    assert status["job_id"] == run_id
    assert status["mode"] == "res"
    assert [row["test"] for row in status["result"]] == ["vm-instance-capture", "lb-vxnet", "eip-associate"]
    rows = rows_by_test(status)
    assert [rows[name]["status"] for name in ("vm-instance-capture", "lb-vxnet", "eip-associate")] == [
        "successful", "failed", "successful"
    ]
    assert rows["lb-vxnet"]["description"] == "测试vxnet负载均衡功能"
    assert rows["lb-vxnet"]["description_en"] == "Load balancer on a VxNet"
    for row in status["result"]:
        assert row["attempts"] == 1
        assert row["start_time"] != ""
        assert row["start_time"] <= row["end_time"]

    lines = list(failed_log["log"].values())
    assert (failed_log["job_id"], failed_log["task"], failed_log["attempt"]) == (run_id, "lb-vxnet", 1)
    assert list(failed_log["log"])[:2] == ["000", "001"]
    assert lines[0].startswith("test_lb_in_vxnet (")
    assert any(line.startswith("Ran 1 test in ") for line in lines)
    assert lines[-1] == "FAILED (failures=1)"
    assert any(line.startswith("AssertionError: ") for line in lines)
    assert list(passed_log["log"].values())[-1] == "OK"
    assert any(line.startswith("pek3br01n03 | lb-vxnet | FAILED") for line in run_lines)

    # The "once" failure is used up, so the rerun passes; the other cases keep their first attempt.
    rerun = await tested.call("RerunQingCloudTestCase", tasks="lb-vxnet")
    rerun_status, _ = await tested.finish("RerunQingCloudTestCase", rerun["job_id"])
    after = rows_by_test(await tested.call("GetQingCloudTestCasesStatus"))
    by_rerun_id = await tested.call("GetQingCloudTestCasesStatus", job_id=rerun["job_id"])
    newest_log = await case_log(tested, "lb-vxnet")
    first_log = await case_log(tested, "lb-vxnet", attempt=1)
    no_third = await tested.call("GetQingCloudTestCasesLog", task="lb-vxnet", attempt=3)

    assert rerun["ret_code"] == 0
    assert rerun_status["status"] == "successful"
    assert after["lb-vxnet"]["status"] == "successful"
    assert after["lb-vxnet"]["attempts"] == 2
    assert after["lb-vxnet"]["start_time"] >= rows["lb-vxnet"]["end_time"]
    assert after["vm-instance-capture"] == rows["vm-instance-capture"]
    assert after["eip-associate"] == rows["eip-associate"]
    assert by_rerun_id["job_id"] == run_id
    assert newest_log["attempt"] == 2
    assert list(newest_log["log"].values())[-1] == "OK"
    assert first_log["log"] == failed_log["log"]
    assert no_third["ret_code"] == 2100
    assert "ran 2 time(s)" in no_third["message"]


async def test_rerun_rejects_cases_outside_the_run(tested):
    started = await tested.call("TestQingCloud", mode="skip", tasks="vxnet-basic")
    await tested.finish("TestQingCloud", started["job_id"])

    not_in_run = await tested.call("RerunQingCloudTestCase", tasks="vxnet-basic,router-vxnet")
    unknown = await tested.call("RerunQingCloudTestCase", tasks="vxnet-basic,nosuch-case")
    missing_log = await tested.call("GetQingCloudTestCasesLog", task="router-vxnet")
    jobs = await tested.call("DescribeJobs", "Job", job_action="RerunQingCloudTestCase")

    assert not_in_run["ret_code"] == 1100
    assert f"tasks: router-vxnet did not run in the newest test run {started['job_id']}" in not_in_run["message"]
    assert unknown["ret_code"] == 1100
    assert "tasks: nosuch-case is not a test case of recipe demo" in unknown["message"]
    assert missing_log["ret_code"] == 2100
    assert "router-vxnet' is not part of test run" in missing_log["message"]
    assert jobs["total_count"] == 0


async def test_preparation_then_clean(tested):
    home = tested.home(RUNNER)
    prepared = home / "var" / "lib" / "qingcloud-demo" / "tests"
    set_test_failure(home, "prepare_user", once=True)

    failed = await tested.call("TestQingCloud", mode="all", tasks="keypair-login,security-group")
    failed_status, failed_lines = await tested.finish("TestQingCloud", failed["job_id"])
    skipped = await tested.call("GetQingCloudTestCasesStatus")
    skipped_log = await case_log(tested, "keypair-login")

    assert failed_status["status"] == "failed"
    assert [step["state"] for step in failed_status["steps"]] == ["failed", "pending", "pending"]
    assert "step0 prepare_user failed" in failed_lines[-1]
    assert [(row["status"], row["attempts"], row["start_time"]) for row in skipped["result"]] == [
        ("skipped", 0, ""), ("skipped", 0, "")
    ]
    assert (skipped_log["attempt"], skipped_log["log"]) == (0, {})

    rerun_skipped = await tested.call("RerunQingCloudTestCase", tasks="keypair-login")
    assert rerun_skipped["ret_code"] == 1100
    assert "keypair-login did not run in the newest test run" in rerun_skipped["message"]

    run = await tested.call("TestQingCloud", mode="all", tasks="keypair-login")
    run_status, run_lines = await tested.finish("TestQingCloud", run["job_id"])
    resources_after_run = (prepared / "resources").read_text()

    assert run_status["status"] == "successful", run_lines[-10:]
    assert [(step["name"], step["state"]) for step in run_status["steps"]] == [
        ("prepare_user", "done"), ("prepare_resources", "done"), ("run_tests", "done")
    ]
    assert "vxnet vxnet-" in resources_after_run
    assert any("test user ready" in line for line in run_lines)

    clean = await tested.call("CleanQingCloudTest")
    clean_status, clean_lines = await tested.finish("CleanQingCloudTest", clean["job_id"])

    assert clean["ret_code"] == 0
    assert clean_status["status"] == "successful"
    assert [step["name"] for step in clean_status["steps"]] == ["clean_resources"]
    vxnet_id = next(line.split()[1] for line in resources_after_run.splitlines() if line.startswith("vxnet "))
    assert f"{RUNNER.hostname} | deleted vxnet [{vxnet_id}]" in clean_lines
    assert not (prepared / "resources").exists()
    assert (prepared / "user").exists()

    # Mode clean of TestQingCloud cleans too; it runs no case, so it is not the newest run.
    again = await tested.call("TestQingCloud", mode="clean", tasks="keypair-login")
    again_status, again_lines = await tested.finish("TestQingCloud", again["job_id"])
    newest = await tested.call("GetQingCloudTestCasesStatus")
    of_clean = await tested.call("GetQingCloudTestCasesStatus", job_id=again["job_id"])

    assert again_status["status"] == "successful"
    assert f"{RUNNER.hostname} | nothing to clean: no test resources are left" in again_lines
    assert newest["job_id"] == run["job_id"]
    assert (of_clean["job_id"], of_clean["mode"], of_clean["result"]) == (again["job_id"], "clean", [])


async def test_runs_stay_readable_after_restart(tested):
    set_test_failure(tested.home(RUNNER), "volume-snapshot", once=False)
    first = await tested.call("TestQingCloud", mode="skip", tasks="image-custom,volume-snapshot")
    await tested.finish("TestQingCloud", first["job_id"])
    second = await tested.call("TestQingCloud", mode="skip", tasks="vm-instance-lifecycle")
    await tested.finish("TestQingCloud", second["job_id"])

    # A third run is stopped with the engine while its first cases run: they fail, the waiting ones are skipped.
    set_speed(tested.home(RUNNER), 0.5)
    third = await tested.call("TestQingCloud", mode="skip")
    await wait_for_case(tested, third["job_id"], "running")
    await tested.restart_engine()

    newest = await tested.call("GetQingCloudTestCasesStatus")
    earlier = await tested.call("GetQingCloudTestCasesStatus", job_id=first["job_id"])
    earlier_log = await case_log(tested, "volume-snapshot", job_id=first["job_id"])
    third_status = await tested.call("GetStatus", job_action="TestQingCloud", job_id=third["job_id"])
    jobs = await tested.call("DescribeJobs", "Job", job_action="TestQingCloud")

    assert newest["job_id"] == third["job_id"]
    statuses = [row["status"] for row in newest["result"]]
    assert len(statuses) == 12
    assert set(statuses) == {"failed", "skipped"}
    assert statuses.count("failed") == 4
    assert third_status["status"] == "failed"
    assert [(row["test"], row["status"]) for row in earlier["result"]] == [
        ("volume-snapshot", "failed"), ("image-custom", "successful")
    ]
    assert list(earlier_log["log"].values())[-1] == "FAILED (failures=1)"
    assert [job["job_id"] for job in jobs["job_set"]] == [third["job_id"], second["job_id"], first["job_id"]]
