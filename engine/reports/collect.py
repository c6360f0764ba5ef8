"""Gather what a test or check report needs through the API, into the dataclasses of `engine.reports.model`.

Only API calls are made (through any `engine.client.Client`), so a report
reads the same from an in-process engine and from `qc-installer serve`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any

from engine import __version__
from engine.client import Client
from engine.errors import BAD_REQUEST, NOT_FOUND
from engine.reports.model import (
    CheckNode,
    CheckReport,
    CheckService,
    CheckZoneGroup,
    ReportHeader,
    ReportTime,
    TestCaseResult,
    TestReport,
    ZoneSummary,
    check_status_rank,
)
from engine.reports.text import parse_api_time, report_time

log = logging.getLogger("engine.reports")

TEST_JOB_ACTION = "TestQingCloud"
CHECK_JOB_ACTION = "CheckQingCloud"


class ReportError(Exception):
    """An API call a report needs failed; `ret_code` and `message` are the API's."""

    def __init__(self, action: str, ret_code: int, message: str) -> None:
        super().__init__(f"{action} failed (ret_code {ret_code}): {message}")
        self.action = action
        self.ret_code = ret_code
        self.message = message


class NoRunRecorded(ReportError):
    """No test run (or no check) has been recorded yet, so there is nothing to report."""


class RunNotFound(ReportError):
    """The requested run or check id does not name a recorded one."""


async def _call(client: Client, action: str, params: dict[str, Any], request_type: str = "QingCloud") -> dict[str, Any]:
    response = await client.call(action, params, request_type)
    if response.get("ret_code") != 0:
        raise ReportError(action, int(response.get("ret_code", -1)), str(response.get("message", "")))
    return response


async def _call_for_run(client: Client, action: str, params: dict[str, Any], run_id: str | None) -> dict[str, Any]:
    """Call an action that reads a run; turn "not found" into NoRunRecorded or RunNotFound."""
    try:
        return await _call(client, action, params)
    except ReportError as error:
        if run_id is None and error.ret_code == NOT_FOUND:
            raise NoRunRecorded(action, error.ret_code, error.message) from None
        # 1100 too: the API rejects a malformed job id as an invalid parameter.
        if run_id is not None and error.ret_code in (NOT_FOUND, BAD_REQUEST):
            raise RunNotFound(action, error.ret_code, error.message) from None
        raise


def _now_or(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(timezone.utc)


def _api_report_time(value: Any, local_tz: timezone | None) -> ReportTime | None:
    parsed = parse_api_time(str(value or ""))
    return report_time(parsed, local_tz) if parsed is not None else None


# ---------------------------------------------------------------------------
# Header
# ---------------------------------------------------------------------------


async def collect_header(
    client: Client, *, now: datetime | None = None, local_tz: timezone | None = None
) -> ReportHeader:
    """Describe the platform for a report's header (DescribeQingCloud) at `now` (default: the current time).

    `local_tz` is the time zone that "local" times are shown in; None means this machine's.
    """
    platform = (await _call(client, "DescribeQingCloud", {})).get("qingcloud", {})

    zone_info = platform.get("zone_info") or {}
    zone_ids = list(platform.get("zone_ids") or sorted(zone_info))
    zones = tuple(
        ZoneSummary(
            zone_id=zone_id,
            platform_id=str(zone_info.get(zone_id, {}).get("platform_id", "")),
            deploy_mode=str(zone_info.get(zone_id, {}).get("deploy_mode", "")),
        )
        for zone_id in zone_ids
    )
    platform_ids = tuple(dict.fromkeys(zone.platform_id for zone in zones if zone.platform_id))

    return ReportHeader(
        platform_name=str(platform.get("platform_name", "")),
        platform_ids=platform_ids,
        zones=zones,
        region_id=str(platform.get("region_id", "")),
        qingcloud_version=str(platform.get("qingcloud_version", "")),
        installer_version=str(platform.get("installer_version", "")) or __version__,
        generator_version=__version__,
        generated=report_time(_now_or(now), local_tz),
        source=str(getattr(client, "description", "")),
    )


# ---------------------------------------------------------------------------
# Test report
# ---------------------------------------------------------------------------


def _ordered_log_lines(log_dict: dict[str, Any]) -> tuple[str, ...]:
    # Keys are zero-padded line numbers. Sorting by length first keeps the order even when a
    # server does not widen every key once a log passes 999 lines.
    return tuple(str(log_dict[key]) for key in sorted(log_dict, key=lambda key: (len(key), key)))


async def _case_log(client: Client, run_id: str, row: dict[str, Any]) -> tuple[tuple[str, ...], str]:
    """Return (log lines, "") for one case, or ((), the API's message) when its log cannot be read."""
    if row.get("status") == "pending" and not row.get("start_time"):
        return (), ""
    params = {"task": row.get("test", ""), "job_id": run_id}
    response = await client.call("GetQingCloudTestCasesLog", params, "QingCloud")
    if response.get("ret_code") != 0:
        log.warning("log of test case %s in run %s not read: %s", row.get("test"), run_id, response.get("message"))
        return (), str(response.get("message", "")) or f"ret_code {response.get('ret_code')}"
    return _ordered_log_lines(response.get("log") or {}), ""


def _duration(start: str, end: str) -> float | None:
    started, ended = parse_api_time(start), parse_api_time(end)
    if started is None or ended is None:
        return None
    return max(0.0, (ended - started).total_seconds())


def _attempts(row: dict[str, Any]) -> int:
    try:
        return int(row.get("attempts", 1))
    except (TypeError, ValueError):
        return 1


async def _job_record(client: Client, job_id: str) -> dict[str, Any]:
    """Return the run's job record from DescribeJobs, or {} when it cannot be read (an older server)."""
    response = await client.call("DescribeJobs", {"job_ids": [job_id]}, "Job")
    if response.get("ret_code") != 0:
        log.warning("job record of run %s not read: %s", job_id, response.get("message"))
        return {}
    job_set = response.get("job_set") or []
    return job_set[0] if job_set else {}


async def collect_test_report(
    client: Client,
    run_id: str | None = None,
    *,
    now: datetime | None = None,
    local_tz: timezone | None = None,
) -> TestReport:
    """Collect a test run: every case's status row, the log of its last attempt, and the platform header.

    `run_id` is the job id of a TestQingCloud run; None means the newest run.
    Raises NoRunRecorded when no run exists, RunNotFound for an unknown
    `run_id`, and ReportError for any other failed call.
    """
    params = {"job_id": run_id} if run_id is not None else {}
    status = await _call_for_run(client, "GetQingCloudTestCasesStatus", params, run_id)
    job_id = str(status.get("job_id") or run_id or "")
    if not job_id:
        raise NoRunRecorded("GetQingCloudTestCasesStatus", NOT_FOUND, "no test run has been recorded yet")

    header = await collect_header(client, now=now, local_tz=local_tz)
    record = await _job_record(client, job_id)

    rows = [row for row in status.get("result") or [] if isinstance(row, dict)]
    logs = await asyncio.gather(*(_case_log(client, job_id, row) for row in rows))
    cases = tuple(
        TestCaseResult(
            test=str(row.get("test", "")),
            description=str(row.get("description", "")),
            description_en=str(row.get("description_en", "")),
            status=str(row.get("status", "")),
            start_time=str(row.get("start_time") or ""),
            end_time=str(row.get("end_time") or ""),
            duration_s=_duration(str(row.get("start_time") or ""), str(row.get("end_time") or "")),
            attempts=_attempts(row),
            log_lines=lines,
            log_error=error,
        )
        for row, (lines, error) in zip(rows, logs)
    )

    return TestReport(
        header=header,
        run_id=job_id,
        mode=str(status.get("mode", "")),
        run_status=str(record.get("status", "")),
        run_created=_api_report_time(record.get("create_time"), local_tz),
        cases=cases,
    )


# ---------------------------------------------------------------------------
# Check report
# ---------------------------------------------------------------------------


def _check_node(entry: dict[str, Any]) -> CheckNode:
    services = sorted(
        (
            CheckService(
                service=str(service.get("service", "")),
                status=str(service.get("status", "")),
                detail=str(service.get("detail", "")),
            )
            for service in entry.get("services") or []
            if isinstance(service, dict)
        ),
        key=lambda service: (check_status_rank(service.status), service.service),
    )
    worst = services[0].status if services else "Normal"
    return CheckNode(
        hostname=str(entry.get("hostname", "")),
        node_id=str(entry.get("node_id", "")),
        zone_id=str(entry.get("zone_id", "")),
        role=str(entry.get("role", "")),
        status=worst,
        services=tuple(services),
    )


def group_check_nodes(nodes: list[CheckNode]) -> tuple[CheckZoneGroup, ...]:
    """Group nodes by zone; zones and nodes with the most urgent status come first, then by name."""
    by_zone: dict[str, list[CheckNode]] = {}
    for node in nodes:
        by_zone.setdefault(node.zone_id, []).append(node)

    groups = []
    for zone_id, members in by_zone.items():
        members.sort(key=lambda node: (check_status_rank(node.status), node.hostname))
        groups.append(CheckZoneGroup(zone_id=zone_id, status=members[0].status, nodes=tuple(members)))
    groups.sort(key=lambda group: (check_status_rank(group.status), group.zone_id))
    return tuple(groups)


async def collect_check_report(
    client: Client,
    job_id: str | None = None,
    *,
    now: datetime | None = None,
    local_tz: timezone | None = None,
) -> CheckReport:
    """Collect a check's result per node and the platform header.

    `job_id` is a CheckQingCloud job id; None means the newest check. Raises
    NoRunRecorded, RunNotFound or ReportError as `collect_test_report` does.
    """
    params = {"job_id": job_id} if job_id is not None else {}
    result = await _call_for_run(client, "GetQingCloudCheckResult", params, job_id)
    checked_id = str(result.get("job_id") or job_id or "")

    header = await collect_header(client, now=now, local_tz=local_tz)
    nodes = [_check_node(entry) for entry in result.get("result") or [] if isinstance(entry, dict)]

    return CheckReport(
        header=header,
        job_id=checked_id,
        check_time=_api_report_time(result.get("check_time"), local_tz),
        verbose=str(result.get("verbose", "1")),
        qingcloud_status=str(result.get("qingcloud_status", "")),
        groups=group_check_nodes(nodes),
    )
