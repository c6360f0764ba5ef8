"""Markdown (GitHub flavoured, CommonMark escapes) test and check reports, for pasting into tickets.

Every piece of text from the API is escaped, so a case name or a log line
can neither break a table nor turn into a link, an HTML tag or emphasis.
"""

from __future__ import annotations

import re

from engine.reports.model import CheckReport, CheckService, ReportHeader, TestReport
from engine.reports.text import clean, format_both, format_duration

# ASCII punctuation that means something inline in CommonMark or inside a GFM table; a backslash
# before any ASCII punctuation makes it literal. `&` is escaped so "&lt;" stays text, not an entity.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")

_BACKTICK_RUN = re.compile(r"`+")

ATTENTION_MARK = "(!)"


def escape_cell(text: str) -> str:
    """Escape text for a table cell or a line: Markdown punctuation backslashed, line breaks as <br>."""
    return _SPECIAL.sub(r"\\\1", clean(text)).replace("\n", "<br>")


def escape_heading(text: str) -> str:
    """Escape text for a heading, where a line break would end the heading: breaks become spaces."""
    return _SPECIAL.sub(r"\\\1", clean(text)).replace("\n", " ")


def fenced_block(lines: tuple[str, ...] | list[str], info: str = "text") -> str:
    """Return a fenced code block whose fence is longer than any backtick run inside, so no line can close it."""
    body = clean("\n".join(lines))
    longest = max((len(run) for run in _BACKTICK_RUN.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def table(headings: list[str], rows: list[list[str]]) -> list[str]:
    """Return the lines of a GFM table; headings are trusted, every cell is escaped."""
    lines = ["| " + " | ".join(headings) + " |", "|" + "|".join("---" for _ in headings) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(escape_cell(cell) for cell in row) + " |")
    return lines


def _header_rows(header: ReportHeader) -> list[list[str]]:
    zones = ", ".join(
        f"{zone.zone_id} ({zone.deploy_mode})" if zone.deploy_mode else zone.zone_id for zone in header.zones
    )
    version = header.installer_version
    if header.generator_version != header.installer_version:
        version += f" (report written by qc-installer {header.generator_version})"
    return [
        ["Platform", header.platform_name],
        ["Platform id", ", ".join(header.platform_ids) or "none (not configured)"],
        ["Zones", zones or "none"],
        ["Region", header.region_id or "none"],
        ["QingCloud version", header.qingcloud_version],
        ["Installer version", version],
        ["Report time", format_both(header.generated)],
        ["Source", header.source],
    ]


def _counts_sentence(counts: dict[str, int], noun: str) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{number} {status}" for status, number in counts.items())
    return f"{total} {noun}: {parts}." if parts else f"0 {noun}."


# ---------------------------------------------------------------------------
# Test report
# ---------------------------------------------------------------------------


def render_test_markdown(report: TestReport) -> str:
    """Render a test run: header, a summary table of every case, and the log of each failed case."""
    lines = [f"# QingCloud test report: run {escape_heading(report.run_id)}", ""]

    run_rows = [
        ["Test run", report.run_id],
        ["Mode", report.mode],
        ["Run status", report.run_status or "unknown"],
    ]
    if report.run_created is not None:
        run_rows.append(["Run started", format_both(report.run_created)])
    lines += table(["Field", "Value"], run_rows + _header_rows(report.header))

    lines += ["", "## Summary", "", escape_cell(_counts_sentence(report.counts(), "test cases")), ""]
    rows = [
        [
            case.test,
            case.description_en or case.description,
            f"{ATTENTION_MARK} {case.status}" if case.status == "failed" else case.status,
            case.start_time,
            case.end_time,
            format_duration(case.duration_s),
            str(case.attempts),
        ]
        for case in report.cases
    ]
    lines += table(["Case", "Description", "Status", "Start (UTC)", "End (UTC)", "Duration", "Attempts"], rows)

    lines += ["", "## Failed cases", ""]
    failed = report.failed_cases()
    if not failed:
        lines += ["No test case failed.", ""]
    for case in failed:
        lines += [f"### {escape_heading(case.test)}: failed after {case.attempts} attempt(s)", ""]
        if case.description_en or case.description:
            lines += [escape_cell(case.description_en or case.description), ""]
        if case.log_error:
            lines += [f"Log not available: {escape_cell(case.log_error)}", ""]
        else:
            lines += [fenced_block(case.log_lines), ""]

    return "\n".join(lines).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------
# Check report
# ---------------------------------------------------------------------------


def _status_cell(status: str) -> str:
    return f"{ATTENTION_MARK} {status}" if status in ("Abnormal", "Unknown") else status


def _service_rows(service: CheckService | None) -> tuple[str, str, str]:
    if service is None:
        return "", "Normal", "no service listed"
    return service.service, _status_cell(service.status), service.detail


def render_check_markdown(report: CheckReport) -> str:
    """Render a check: overall status, the services needing attention, then every zone's nodes."""
    lines = [f"# QingCloud check report: {escape_heading(report.job_id)}", ""]

    check_rows = [["Check job", report.job_id]]
    if report.check_time is not None:
        check_rows.append(["Check time", format_both(report.check_time)])
    listing = "every service" if report.verbose != "0" else "only services that are not Normal"
    check_rows += [["Listed", listing], ["Overall status", _status_cell(report.qingcloud_status)]]
    lines += table(["Field", "Value"], check_rows + _header_rows(report.header))

    lines += ["", f"## Overall status: {escape_heading(_status_cell(report.qingcloud_status))}", ""]
    lines += [escape_cell(_counts_sentence(report.service_counts(), "services")), ""]

    attention = report.attention_services()
    lines += ["## Needs attention", ""]
    if attention:
        rows = [[node.zone_id, node.hostname, node.role, service.service, _status_cell(service.status), service.detail]
                for node, service in attention]
        lines += table(["Zone", "Node", "Role", "Service", "Status", "Detail"], rows)
    else:
        lines.append("No service is Abnormal or Unknown.")

    for group in report.groups:
        zone = group.zone_id or "(zone not given)"
        lines += ["", f"## Zone {escape_heading(zone)}: {escape_heading(_status_cell(group.status))}", ""]
        rows = []
        for node in group.nodes:
            for service in node.services or (None,):
                name, status, detail = _service_rows(service)
                rows.append([node.hostname, node.node_id, node.role, name, status, detail])
        lines += table(["Node", "Node id", "Role", "Service", "Status", "Detail"], rows)

    return "\n".join(lines).rstrip("\n") + "\n"
