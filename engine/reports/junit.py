"""JUnit XML test and check reports, for CI dashboards.

The output follows the common JUnit layout: `testsuites` holding
`testsuite` elements with `properties`, `testcase` (with at most one of
`failure`, `error`, `skipped`) and `system-out`, and the attributes tests,
failures, errors, skipped, time and timestamp. Characters that XML 1.0
forbids are dropped, so every report parses.

A test run is one suite, a case one testcase; a case still pending or
running counts as skipped. A check is one suite per zone and a testcase
per node service: Abnormal is a failure, Unknown an error (the check
itself could not tell), Ignored skipped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from engine.reports.model import CheckReport, ReportHeader, ReportTime, TestCaseResult, TestReport
from engine.reports.text import clean, format_local, format_utc

#: Lines of a failed case's log repeated inside <failure>; the whole log is in <system-out>.
FAILURE_TAIL_LINES = 20

_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {name: clean(value) for name, value in attributes.items()})
    if text is not None:
        element.text = clean(text)
    return element


def _timestamp(moment: datetime) -> str:
    # The common schema's timestamp is an ISO 8601 date and time without a zone; it is UTC here,
    # which the properties state.
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _add_properties(suite: ET.Element, header: ReportHeader, extra: list[tuple[str, str]]) -> None:
    properties = _element(suite, "properties")
    values = extra + [
        ("platform_name", header.platform_name),
        ("platform_ids", ",".join(header.platform_ids)),
        ("zones", ",".join(zone.zone_id for zone in header.zones)),
        ("region_id", header.region_id),
        ("qingcloud_version", header.qingcloud_version),
        ("installer_version", header.installer_version),
        ("generator_version", header.generator_version),
        ("report_time_utc", format_utc(header.generated.utc)),
        ("report_time_local", format_local(header.generated.local)),
        ("timestamps_are", "UTC"),
        ("source", header.source),
    ]
    for name, value in values:
        _element(properties, "property", name=name, value=value)


def _tostring(root: ET.Element) -> str:
    ET.indent(root)
    return _DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def _set_counts(element: ET.Element, tests: int, failures: int, errors: int, skipped: int, seconds: float) -> None:
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", str(errors))
    element.set("skipped", str(skipped))
    element.set("time", _seconds(seconds))


def _time_pair(name: str, moment: ReportTime | None) -> list[tuple[str, str]]:
    if moment is None:
        return []
    return [(f"{name}_utc", format_utc(moment.utc)), (f"{name}_local", format_local(moment.local))]


# ---------------------------------------------------------------------------
# Test report
# ---------------------------------------------------------------------------


def _test_case(suite: ET.Element, case: TestCaseResult, classname: str) -> None:
    element = _element(suite, "testcase", name=case.test, classname=classname, time=_seconds(case.duration_s or 0.0))
    description = case.description_en or case.description

    if case.status == "failed":
        tail = "\n".join(case.log_lines[-FAILURE_TAIL_LINES:]) or case.log_error
        message = f"failed after {case.attempts} attempt(s)" + (f": {description}" if description else "")
        _element(element, "failure", tail, message=message, type="failed")
    elif case.status == "skipped":
        _element(element, "skipped", message="skipped by the test run")
    elif case.status != "successful":
        _element(element, "skipped", message=f"not finished: the case is {case.status or 'in an unknown state'}")

    output = "\n".join(case.log_lines) if case.log_lines else case.log_error
    if output:
        _element(element, "system-out", output)


def render_test_junit(report: TestReport) -> str:
    """Render a test run as one JUnit testsuite inside testsuites."""
    counts = report.counts()
    failures = counts.get("failed", 0)
    skipped = len(report.cases) - failures - counts.get("successful", 0)
    seconds = sum(case.duration_s or 0.0 for case in report.cases)
    started = report.run_created.utc if report.run_created is not None else report.header.generated.utc

    root = ET.Element("testsuites", {"name": clean(f"QingCloud test run {report.run_id}")})
    _set_counts(root, len(report.cases), failures, 0, skipped, seconds)
    root.set("timestamp", _timestamp(started))

    suite = _element(root, "testsuite", name=f"TestQingCloud {report.run_id}", id="0",
                     hostname=report.header.platform_name or "qingcloud", timestamp=_timestamp(started))
    _set_counts(suite, len(report.cases), failures, 0, skipped, seconds)
    run_properties = [("run_id", report.run_id), ("mode", report.mode), ("run_status", report.run_status)]
    _add_properties(suite, report.header, run_properties + _time_pair("run_started", report.run_created))

    classname = f"qingcloud.test.{report.mode or 'run'}"
    for case in report.cases:
        _test_case(suite, case, classname)

    return _tostring(root)


# ---------------------------------------------------------------------------
# Check report
# ---------------------------------------------------------------------------


def render_check_junit(report: CheckReport) -> str:
    """Render a check as one JUnit testsuite per zone and a testcase per node service."""
    checked = report.check_time.utc if report.check_time is not None else report.header.generated.utc
    root = ET.Element("testsuites", {"name": clean(f"QingCloud check {report.job_id}")})
    totals = [0, 0, 0, 0]

    for index, group in enumerate(report.groups):
        zone = group.zone_id or "zone-not-given"
        suite = _element(root, "testsuite", name=zone, id=str(index), hostname=zone, timestamp=_timestamp(checked))
        check_properties = [("check_job_id", report.job_id), ("qingcloud_status", report.qingcloud_status),
                            ("verbose", report.verbose), ("zone_status", group.status)]
        _add_properties(suite, report.header, check_properties + _time_pair("check_time", report.check_time))

        counts = [0, 0, 0, 0]
        for node in group.nodes:
            for service in node.services:
                counts[0] += 1
                case = _element(suite, "testcase", name=service.service,
                                classname=f"{zone}.{node.hostname}", time=_seconds(0.0))
                message = service.detail or service.status
                if service.status == "Abnormal":
                    counts[1] += 1
                    _element(case, "failure", service.detail, message=message, type="Abnormal")
                elif service.status == "Unknown":
                    counts[2] += 1
                    _element(case, "error", service.detail, message=message, type="Unknown")
                elif service.status != "Normal":
                    counts[3] += 1
                    _element(case, "skipped", message=f"{service.status}: {message}")
                if service.detail:
                    _element(case, "system-out", f"{node.hostname} ({node.role}) {service.service}: {service.detail}")
        _set_counts(suite, *counts, 0.0)
        totals = [total + count for total, count in zip(totals, counts)]

    _set_counts(root, *totals, 0.0)
    root.set("timestamp", _timestamp(checked))
    return _tostring(root)
