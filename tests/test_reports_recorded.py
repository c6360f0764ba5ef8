"""Collecting reports from a recorded run, through a fake API client that responds as the engine's test and check actions do.

The other report tests import RECORDED, FakeApi and the report builders from here.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from engine.reports.collect import (
    NoRunRecorded,
    ReportError,
    RunNotFound,
    collect_check_report,
    collect_test_report,
)
from engine.reports.model import CheckReport, TestReport

NOW = datetime(2024, 5, 2, 8, 30, 0, tzinfo=timezone.utc)
LOCAL_TZ = timezone(timedelta(hours=8))
NOW_UTC_TEXT = "2024-05-02 08:30:00 UTC"
NOW_LOCAL_TEXT = "2024-05-02 16:30:00 UTC+08:00"

NEWEST_RUN = "j-run00002"
OLDER_RUN = "j-run00001"
CHECK_ID = "j-chk00001"
PLATFORM_ID_A = "5f0c2e8a9b7d4c1e8f6a3b2c1d0e9f8a"
PLATFORM_ID_B = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"

FAILED_LOG = {
    "001": "step 1: bind eip 139.198.1.10 to instance i-3kd8sl2m",
    "002": "step 2: ping 139.198.1.10 from the test vm",
    "003": "<script>alert('owned')</script> | a pipe & an ampersand",
    "004": "``` a fence inside the log",
    "005": "ERROR: eip 139.198.1.10 did not answer within 60s",
}

#: The responses a recorded platform gives, shaped as the API documents them. Addresses are data only.
RECORDED: dict[str, Any] = {
    "platform": {
        "platform_name": "qingcloud",
        "installer_version": "0.1.0",
        "qingcloud_version": "4.3.0",
        "domain": "example.com",
        "console_id": "qingcloud",
        "is_region": "1",
        "region_id": "pek3",
        "is_deployed": 1,
        "zone_ids": ["pek3a", "pek3b"],
        "zone_info": {
            "pek3a": {"zone_id": "pek3a", "platform_id": PLATFORM_ID_A, "deploy_mode": "standard"},
            "pek3b": {"zone_id": "pek3b", "platform_id": PLATFORM_ID_B, "deploy_mode": "fusion"},
        },
    },
    "runs": {
        NEWEST_RUN: {
            "job": {"job_id": NEWEST_RUN, "job_action": "TestQingCloud", "status": "failed",
                    "create_time": "2024-05-02 07:59:58", "update_time": "2024-05-02 08:04:00"},
            "mode": "all",
            "result": [
                {"test": "lb-vxnet", "description": "测试vxnet负载均衡功能", "description_en": "Load balancer on a VxNet",
                 "status": "successful", "start_time": "2024-05-02 08:00:00", "end_time": "2024-05-02 08:01:05",
                 "attempts": 1},
                {"test": "eip-bind", "description": "测试公网IP绑定", "description_en": "Bind an EIP to an instance",
                 "status": "failed", "start_time": "2024-05-02 08:01:05", "end_time": "2024-05-02 08:03:10",
                 "attempts": 2},
                {"test": "long-log", "description": "日志很长", "description_en": "Case with a long log",
                 "status": "successful", "start_time": "2024-05-02 08:03:10", "end_time": "2024-05-02 08:03:20",
                 "attempts": 1},
                {"test": "snapshot", "description": "测试快照", "description_en": "Snapshot of a volume",
                 "status": "skipped", "start_time": "", "end_time": "", "attempts": 0},
                {"test": "vdi-desktop", "description": "测试桌面", "description_en": "VDI desktop",
                 "status": "pending", "start_time": "", "end_time": "", "attempts": 0},
            ],
            "logs": {
                "lb-vxnet": {"001": "create load balancer lb-8x2kd9s1", "002": "lb-vxnet: 3 of 3 backends healthy"},
                "eip-bind": FAILED_LOG,
                "long-log": {"999": "line 999", "1000": "line 1000", "998": "line 998"},
                "snapshot": {"001": "skipped: no volume type supports snapshots"},
            },
        },
        OLDER_RUN: {
            "job": {"job_id": OLDER_RUN, "job_action": "TestQingCloud", "status": "successful",
                    "create_time": "2024-04-30 10:00:00", "update_time": "2024-04-30 10:02:00"},
            "mode": "user",
            "result": [
                {"test": "lb-vxnet", "description": "测试vxnet负载均衡功能", "description_en": "Load balancer on a VxNet",
                 "status": "successful", "start_time": "2024-04-30 10:00:01", "end_time": "2024-04-30 10:00:31",
                 "attempts": 1},
            ],
            "logs": {"lb-vxnet": {"001": "older run: lb-vxnet passed"}},
        },
    },
    "newest_run": NEWEST_RUN,
    "checks": {
        CHECK_ID: {
            "job_id": CHECK_ID,
            "check_time": "2024-05-02 08:10:00",
            "verbose": "1",
            "qingcloud_status": "Abnormal",
            "result": [
                {"hostname": "pek3ar01n01", "node_id": "n-pek3a01r01", "zone_id": "pek3a", "role": "ks-vm",
                 "services": [{"service": "zookeeper", "status": "Normal", "detail": ""},
                              {"service": "rabbitmq", "status": "Normal", "detail": ""}]},
                {"hostname": "pek3ar01n05", "node_id": "n-pek3a01r05", "zone_id": "pek3a", "role": "vg",
                 "services": [{"service": "keepalived", "status": "Normal", "detail": ""},
                              {"service": "vg-agent", "status": "Unknown", "detail": "ssh timed out after 10s"}]},
                {"hostname": "pek3br01n03", "node_id": "n-pek3b01r03", "zone_id": "pek3b", "role": "hyper",
                 "services": [{"service": "ntp", "status": "Ignored", "detail": "excluded by configuration"},
                              {"service": "libvirtd", "status": "Normal", "detail": ""},
                              {"service": "vbr", "status": "Abnormal", "detail": "vbr0 is down | link lost"}]},
                {"hostname": "pek3br01n01", "node_id": "n-pek3b01r01", "zone_id": "pek3b", "role": "seed",
                 "services": [{"service": "seed-agent", "status": "Normal", "detail": ""}]},
            ],
        },
    },
    "newest_check": CHECK_ID,
}


def recorded() -> dict[str, Any]:
    """Return a deep copy of RECORDED that a test may change."""
    return copy.deepcopy(RECORDED)


def error(action: str, ret_code: int, message: str) -> dict[str, Any]:
    return {"action": f"{action}Response", "ret_code": ret_code, "message": message}


class FakeApi:
    """Respond to API calls from recorded data as the engine would, and record each call."""

    def __init__(self, data: dict[str, Any] | None = None, description: str = "recorded") -> None:
        self.data = recorded() if data is None else data
        self.description = description
        self.calls: list[tuple[str, dict[str, Any]]] = []
        #: action -> response that replaces the recorded one, e.g. an error.
        self.overrides: dict[str, dict[str, Any]] = {}

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        action = request.get("action", "")
        params = {key: value for key, value in request.items() if key not in ("action", "request_type")}
        self.calls.append((action, params))
        if action in self.overrides:
            return self.overrides[action]
        handler = getattr(self, f"_{action}", None)
        if handler is None:
            return error(action, 1100, f"action '{action}' is unknown")
        result = handler(params)
        if "ret_code" in result:
            return result
        return {"action": f"{action}Response", **result, "ret_code": 0}

    async def call(self, action: str, params: dict[str, Any] | None = None,
                   request_type: str = "QingCloud") -> dict[str, Any]:
        return self.answer({"action": action, "request_type": request_type, **(params or {})})

    async def close(self) -> None:
        return None

    def _run(self, params: dict[str, Any], action: str) -> tuple[str, dict[str, Any]] | dict[str, Any]:
        job_id = params.get("job_id") or self.data.get("newest_run")
        if job_id is None:
            return error(action, 2100, "no TestQingCloud job has run yet")
        if job_id not in self.data["runs"]:
            return error(action, 2100, f"job '{job_id}' not found")
        return job_id, self.data["runs"][job_id]

    def _DescribeQingCloud(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"qingcloud": self.data["platform"]}

    def _GetQingCloudTestCasesStatus(self, params: dict[str, Any]) -> dict[str, Any]:
        found = self._run(params, "GetQingCloudTestCasesStatus")
        if isinstance(found, dict):
            return found
        job_id, run = found
        return {"job_id": job_id, "mode": run["mode"], "result": run["result"]}

    def _GetQingCloudTestCasesLog(self, params: dict[str, Any]) -> dict[str, Any]:
        found = self._run(params, "GetQingCloudTestCasesLog")
        if isinstance(found, dict):
            return found
        job_id, run = found
        task = params.get("task")
        if task not in run["logs"]:
            return error("GetQingCloudTestCasesLog", 2100, f"test case '{task}' has no log in run {job_id}")
        return {"job_id": job_id, "task": task, "log": run["logs"][task]}

    def _DescribeJobs(self, params: dict[str, Any]) -> dict[str, Any]:
        jobs = [run["job"] for job_id, run in self.data["runs"].items() if job_id in (params.get("job_ids") or [])]
        return {"job_set": jobs, "total_count": len(jobs)}

    def _GetQingCloudCheckResult(self, params: dict[str, Any]) -> dict[str, Any]:
        job_id = params.get("job_id") or self.data.get("newest_check")
        if job_id is None:
            return error("GetQingCloudCheckResult", 2100, "no CheckQingCloud job has run yet")
        if job_id not in self.data["checks"]:
            return error("GetQingCloudCheckResult", 2100, f"job '{job_id}' not found")
        return self.data["checks"][job_id]


async def recorded_test_report(api: FakeApi | None = None, run_id: str | None = None) -> TestReport:
    return await collect_test_report(api or FakeApi(), run_id, now=NOW, local_tz=LOCAL_TZ)


async def recorded_check_report(api: FakeApi | None = None, job_id: str | None = None) -> CheckReport:
    return await collect_check_report(api or FakeApi(), job_id, now=NOW, local_tz=LOCAL_TZ)


# ---------------------------------------------------------------------------
# Test runs
# ---------------------------------------------------------------------------


async def test_newest_run_by_default():
    report = await recorded_test_report()

    assert report.run_id == NEWEST_RUN
    assert report.mode == "all"
    assert report.run_status == "failed"
    assert [case.test for case in report.cases] == ["lb-vxnet", "eip-bind", "long-log", "snapshot", "vdi-desktop"]
    assert [case.status for case in report.cases] == ["successful", "failed", "successful", "skipped", "pending"]


async def test_run_id_selects_older_run():
    api = FakeApi()

    report = await recorded_test_report(api, OLDER_RUN)
    log_calls = [params for action, params in api.calls if action == "GetQingCloudTestCasesLog"]

    assert report.run_id == OLDER_RUN
    assert report.mode == "user"
    assert report.cases[0].log_lines == ("older run: lb-vxnet passed",)
    assert log_calls == [{"task": "lb-vxnet", "job_id": OLDER_RUN}]


async def test_case_times_durations_attempts():
    report = await recorded_test_report()
    lb, eip, _, snapshot, _ = report.cases

    assert (lb.start_time, lb.end_time, lb.duration_s, lb.attempts) == (
        "2024-05-02 08:00:00", "2024-05-02 08:01:05", 65.0, 1)
    assert eip.duration_s == 125.0
    assert eip.attempts == 2
    assert snapshot.duration_s is None


async def test_log_lines_in_order():
    report = await recorded_test_report()
    eip, long_log = report.cases[1], report.cases[2]

    assert eip.log_lines == tuple(FAILED_LOG.values())
    assert long_log.log_lines == ("line 998", "line 999", "line 1000")


async def test_pending_case_log_not_requested():
    api = FakeApi()

    report = await recorded_test_report(api)
    asked = [params["task"] for action, params in api.calls if action == "GetQingCloudTestCasesLog"]

    assert "vdi-desktop" not in asked
    assert report.cases[4].log_lines == ()
    assert report.cases[4].log_error == ""


async def test_unreadable_log_kept_as_message():
    data = recorded()
    del data["runs"][NEWEST_RUN]["logs"]["eip-bind"]

    report = await recorded_test_report(FakeApi(data))

    assert report.cases[1].log_lines == ()
    assert "has no log" in report.cases[1].log_error
    assert report.cases[0].log_lines, "one unreadable log must not hide the others"


async def test_run_record_time_in_both_zones():
    report = await recorded_test_report()

    assert report.run_created is not None
    assert report.run_created.utc == datetime(2024, 5, 2, 7, 59, 58, tzinfo=timezone.utc)
    assert report.run_created.local.utcoffset() == timedelta(hours=8)
    assert report.run_created.local.hour == 15


async def test_unknown_run_id_raises_run_not_found():
    with pytest.raises(RunNotFound) as raised:
        await recorded_test_report(FakeApi(), "j-missing0")

    assert raised.value.ret_code == 2100
    assert "j-missing0" in raised.value.message


async def test_no_run_raises_no_run_recorded():
    data = recorded()
    data["runs"], data["newest_run"] = {}, None

    with pytest.raises(NoRunRecorded) as raised:
        await recorded_test_report(FakeApi(data))

    assert raised.value.message == "no TestQingCloud job has run yet"


async def test_refused_status_is_report_error():
    api = FakeApi()
    api.overrides["GetQingCloudTestCasesStatus"] = error(
        "GetQingCloudTestCasesStatus", 5200, "test run j-abcd1234 is still running")

    with pytest.raises(ReportError) as raised:
        await recorded_test_report(api)

    assert not isinstance(raised.value, (NoRunRecorded, RunNotFound))
    assert raised.value.ret_code == 5200


# ---------------------------------------------------------------------------
# Header
# ---------------------------------------------------------------------------


async def test_header_names_platform_zones_version_times():
    header = (await recorded_test_report()).header

    assert header.platform_name == "qingcloud"
    assert header.platform_ids == (PLATFORM_ID_A, PLATFORM_ID_B)
    assert [(zone.zone_id, zone.deploy_mode) for zone in header.zones] == [("pek3a", "standard"), ("pek3b", "fusion")]
    assert header.region_id == "pek3"
    assert header.installer_version == "0.1.0"
    assert header.generated.utc == NOW
    assert header.generated.local.utcoffset() == timedelta(hours=8)
    assert header.source == "recorded"


async def test_header_platform_ids_once_each():
    data = recorded()
    data["platform"]["zone_info"]["pek3b"]["platform_id"] = PLATFORM_ID_A

    header = (await recorded_test_report(FakeApi(data))).header

    assert header.platform_ids == (PLATFORM_ID_A,)


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


async def test_check_groups_abnormal_zone_first():
    report = await recorded_check_report()

    assert report.job_id == CHECK_ID
    assert report.qingcloud_status == "Abnormal"
    assert [group.zone_id for group in report.groups] == ["pek3b", "pek3a"]
    assert [group.status for group in report.groups] == ["Abnormal", "Unknown"]


async def test_check_nodes_needing_attention_first():
    report = await recorded_check_report()
    pek3b, pek3a = report.groups

    assert [node.hostname for node in pek3b.nodes] == ["pek3br01n03", "pek3br01n01"]
    assert [node.hostname for node in pek3a.nodes] == ["pek3ar01n05", "pek3ar01n01"]
    assert [node.status for node in pek3a.nodes] == ["Unknown", "Normal"]


async def test_check_services_most_urgent_first():
    report = await recorded_check_report()
    hyper = report.groups[0].nodes[0]

    assert [(service.service, service.status) for service in hyper.services] == [
        ("vbr", "Abnormal"), ("libvirtd", "Normal"), ("ntp", "Ignored")]


async def test_check_attention_and_counts():
    report = await recorded_check_report()

    attention = [(node.hostname, service.service) for node, service in report.attention_services()]

    assert attention == [("pek3br01n03", "vbr"), ("pek3ar01n05", "vg-agent")]
    assert report.service_counts() == {"Abnormal": 1, "Unknown": 1, "Normal": 5, "Ignored": 1}
    assert report.check_time is not None
    assert report.check_time.utc == datetime(2024, 5, 2, 8, 10, tzinfo=timezone.utc)


async def test_check_unknown_id_raises_run_not_found():
    with pytest.raises(RunNotFound):
        await recorded_check_report(FakeApi(), "j-missing0")


async def test_no_check_raises_no_run_recorded():
    data = recorded()
    data["checks"], data["newest_check"] = {}, None

    with pytest.raises(NoRunRecorded):
        await recorded_check_report(FakeApi(data))
