"""Plain data of a test report and a check report, filled by `collect` and read by the renderers.

Times that the API gives as `%Y-%m-%d %H:%M:%S` UTC strings stay strings
where a table shows them as they are (a test case's start and end), and
become `ReportTime` where a report shows them both in UTC and local time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

#: Test case statuses of GetQingCloudTestCasesStatus, in the order summaries list them.
CASE_STATUSES = ("failed", "successful", "skipped", "running", "pending")

#: Check statuses of a service, most urgent first; a node or zone takes its most urgent service's status.
CHECK_STATUSES = ("Abnormal", "Unknown", "Normal", "Ignored")

#: Statuses that an operator must look at; reports list them first and mark them.
ATTENTION_STATUSES = ("Abnormal", "Unknown")


def check_status_rank(status: str) -> int:
    """Return the sort rank of a check status: Abnormal first; a status the API may add later goes last."""
    return CHECK_STATUSES.index(status) if status in CHECK_STATUSES else len(CHECK_STATUSES)


@dataclass(frozen=True)
class ReportTime:
    """One moment as aware datetimes in UTC and in the local time zone of the report's writer."""

    utc: datetime
    local: datetime


@dataclass(frozen=True)
class ZoneSummary:
    """A zone of the platform as DescribeQingCloud lists it."""

    zone_id: str
    platform_id: str
    deploy_mode: str


@dataclass(frozen=True)
class ReportHeader:
    """Platform, zones, report time and installer version, which every report names."""

    platform_name: str
    #: Platform ids of the zones, each once, in zone order.
    platform_ids: tuple[str, ...]
    zones: tuple[ZoneSummary, ...]
    region_id: str
    qingcloud_version: str
    #: Version of the installer engine that recorded the run (DescribeQingCloud's installer_version).
    installer_version: str
    #: Version of the qc-installer that wrote the report; differs from installer_version for an older server.
    generator_version: str
    generated: ReportTime
    #: Origin of the data: the state directory, "lab" or the server's URL.
    source: str


@dataclass(frozen=True)
class TestCaseResult:
    """One test case of a run: its row of GetQingCloudTestCasesStatus and its log."""

    __test__: ClassVar[bool] = False

    test: str
    description: str
    description_en: str
    status: str
    start_time: str
    end_time: str
    #: Seconds from start_time to end_time; None while either is missing.
    duration_s: float | None
    attempts: int
    #: Log of the last attempt; earlier attempts stay readable through GetQingCloudTestCasesLog's attempt.
    log_lines: tuple[str, ...]
    #: Why the log is missing (the API's message), or "" when it was read.
    log_error: str = ""


@dataclass(frozen=True)
class TestReport:
    """A test run (one TestQingCloud job) with every case's result and log."""

    __test__: ClassVar[bool] = False

    header: ReportHeader
    run_id: str
    mode: str
    #: Status of the run's job (e.g. step1, successful), or "" when the job record could not be read.
    run_status: str
    run_created: ReportTime | None
    cases: tuple[TestCaseResult, ...]

    def counts(self) -> dict[str, int]:
        """Return the number of cases per status, known statuses first, only statuses that occur."""
        counted = Counter(case.status for case in self.cases)
        ordered = {status: counted.pop(status) for status in CASE_STATUSES if status in counted}
        ordered.update(sorted(counted.items()))
        return ordered

    def failed_cases(self) -> tuple[TestCaseResult, ...]:
        return tuple(case for case in self.cases if case.status == "failed")


@dataclass(frozen=True)
class CheckService:
    """One service of a node and what the check found."""

    service: str
    status: str
    detail: str

    @property
    def needs_attention(self) -> bool:
        return self.status in ATTENTION_STATUSES


@dataclass(frozen=True)
class CheckNode:
    """A checked node and its services, most urgent status first."""

    hostname: str
    node_id: str
    zone_id: str
    role: str
    #: The most urgent status of its services; Normal for a node with no services listed.
    status: str
    services: tuple[CheckService, ...]

    @property
    def needs_attention(self) -> bool:
        return self.status in ATTENTION_STATUSES


@dataclass(frozen=True)
class CheckZoneGroup:
    """The checked nodes of one zone, nodes needing attention first."""

    zone_id: str
    status: str
    nodes: tuple[CheckNode, ...]


@dataclass(frozen=True)
class CheckReport:
    """A check (one CheckQingCloud job): nodes grouped by zone, Abnormal and Unknown first."""

    header: ReportHeader
    job_id: str
    check_time: ReportTime | None
    #: "1": every service is listed; "0": only services that are not Normal.
    verbose: str
    #: Overall status: Abnormal when any service is Abnormal or Unknown.
    qingcloud_status: str
    groups: tuple[CheckZoneGroup, ...]

    def nodes(self) -> tuple[CheckNode, ...]:
        return tuple(node for group in self.groups for node in group.nodes)

    def attention_services(self) -> tuple[tuple[CheckNode, CheckService], ...]:
        """Return every (node, service) whose status is Abnormal or Unknown, in report order."""
        return tuple(
            (node, service) for node in self.nodes() for service in node.services if service.needs_attention
        )

    def service_counts(self) -> dict[str, int]:
        counted = Counter(service.status for node in self.nodes() for service in node.services)
        ordered = {status: counted.pop(status) for status in CHECK_STATUSES if status in counted}
        ordered.update(sorted(counted.items()))
        return ordered
