"""Single-file HTML test and check reports: inline CSS, no scripts, no external resources.

Every piece of text from the API goes through `html.escape`, so a log line
holding markup shows as text. Per-case logs fold with <details>, which
needs no script; failed cases start unfolded.
"""

from __future__ import annotations

import html

from engine.reports.model import ATTENTION_STATUSES, CheckReport, ReportHeader, TestReport
from engine.reports.text import clean, format_both, format_duration

ATTENTION_MARK = "(!)"

# Colours are named CSS colours chosen to read on white and in print; nothing is loaded from elsewhere.
STYLE = """
body { font-family: sans-serif; margin: 2em; color: black; background: white; }
h1 { font-size: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; }
th, td { border: 1px solid silver; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
th { background: whitesmoke; }
table.fields th { width: 12em; }
.status-failed, .status-Abnormal { color: firebrick; font-weight: bold; }
.status-Unknown { color: darkorange; font-weight: bold; }
.status-successful, .status-Normal { color: darkgreen; }
.status-skipped, .status-Ignored, .status-pending, .status-running { color: dimgray; }
tr.attention { background: mistyrose; }
details { margin: 0.3em 0; }
summary { cursor: pointer; }
pre { background: whitesmoke; padding: 0.5em; overflow-x: auto; white-space: pre-wrap; }
""".strip()


def escape(text: str) -> str:
    """Escape text for an HTML text node or a quoted attribute value, after dropping forbidden characters."""
    return html.escape(clean(text), quote=True)


def _status_class(status: str) -> str:
    # Statuses come from the API, so only letters reach the class name.
    return "status-" + "".join(character for character in status if character.isascii() and character.isalpha())


def _status_span(status: str) -> str:
    mark = f"{ATTENTION_MARK} " if status in ATTENTION_STATUSES or status == "failed" else ""
    return f'<span class="{_status_class(status)}">{mark}{escape(status)}</span>'


def _page(title: str, body: list[str]) -> str:
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>\n{STYLE}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
        *body,
        "</body>",
        "</html>",
        "",
    ])


def _fields_table(rows: list[tuple[str, str]]) -> list[str]:
    """Return a two-column table; the values are already HTML."""
    lines = ['<table class="fields">']
    lines += [f"<tr><th>{escape(name)}</th><td>{value}</td></tr>" for name, value in rows]
    lines.append("</table>")
    return lines


def _header_rows(header: ReportHeader) -> list[tuple[str, str]]:
    zones = ", ".join(
        escape(f"{zone.zone_id} ({zone.deploy_mode})" if zone.deploy_mode else zone.zone_id) for zone in header.zones
    )
    version = escape(header.installer_version)
    if header.generator_version != header.installer_version:
        version += escape(f" (report written by qc-installer {header.generator_version})")
    return [
        ("Platform", escape(header.platform_name)),
        ("Platform id", escape(", ".join(header.platform_ids) or "none (not configured)")),
        ("Zones", zones or "none"),
        ("Region", escape(header.region_id or "none")),
        ("QingCloud version", escape(header.qingcloud_version)),
        ("Installer version", version),
        ("Report time", escape(format_both(header.generated))),
        ("Source", escape(header.source)),
    ]


def _counts_text(counts: dict[str, int], noun: str) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{number} {status}" for status, number in counts.items())
    return escape(f"{total} {noun}: {parts}." if parts else f"0 {noun}.")


def _table(headings: list[str], rows: list[tuple[str, list[str]]]) -> list[str]:
    """Return a table; each row is (CSS class of the row, cells that are already HTML)."""
    lines = ["<table>", "<tr>" + "".join(f"<th>{escape(heading)}</th>" for heading in headings) + "</tr>"]
    for row_class, cells in rows:
        opening = f'<tr class="{row_class}">' if row_class else "<tr>"
        lines.append(opening + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    lines.append("</table>")
    return lines


# ---------------------------------------------------------------------------
# Test report
# ---------------------------------------------------------------------------


def render_test_html(report: TestReport) -> str:
    """Render a test run: header, summary table, then every case's log in a <details> element."""
    fields = [("Test run", escape(report.run_id)), ("Mode", escape(report.mode)),
              ("Run status", escape(report.run_status or "unknown"))]
    if report.run_created is not None:
        fields.append(("Run started", escape(format_both(report.run_created))))
    body = _fields_table(fields + _header_rows(report.header))

    body += ["<h2>Summary</h2>", f"<p>{_counts_text(report.counts(), 'test cases')}</p>"]
    rows = [
        (
            "attention" if case.status == "failed" else "",
            [
                escape(case.test),
                escape(case.description_en or case.description),
                _status_span(case.status),
                escape(case.start_time),
                escape(case.end_time),
                escape(format_duration(case.duration_s)),
                escape(str(case.attempts)),
            ],
        )
        for case in report.cases
    ]
    body += _table(["Case", "Description", "Status", "Start (UTC)", "End (UTC)", "Duration", "Attempts"], rows)

    body.append("<h2>Logs</h2>")
    for case in report.cases:
        opening = "<details open>" if case.status == "failed" else "<details>"
        summary = f"{escape(case.test)}: {_status_span(case.status)}, {escape(str(len(case.log_lines)))} line(s)"
        if case.log_error:
            content = f"<p>Log not available: {escape(case.log_error)}</p>"
        else:
            # Browsers drop one line break right after <pre>, so this one keeps a leading empty log line.
            content = f"<pre>\n{escape(chr(10).join(case.log_lines))}</pre>"
        body += [opening, f"<summary>{summary}</summary>", content, "</details>"]

    return _page(f"QingCloud test report: run {report.run_id}", body)


# ---------------------------------------------------------------------------
# Check report
# ---------------------------------------------------------------------------


def render_check_html(report: CheckReport) -> str:
    """Render a check: overall status, services needing attention, then a table per zone."""
    fields = [("Check job", escape(report.job_id))]
    if report.check_time is not None:
        fields.append(("Check time", escape(format_both(report.check_time))))
    listing = "every service" if report.verbose != "0" else "only services that are not Normal"
    fields += [("Listed", escape(listing)), ("Overall status", _status_span(report.qingcloud_status))]
    body = _fields_table(fields + _header_rows(report.header))

    body += [f"<h2>Overall status: {_status_span(report.qingcloud_status)}</h2>",
             f"<p>{_counts_text(report.service_counts(), 'services')}</p>", "<h2>Needs attention</h2>"]
    attention = report.attention_services()
    if attention:
        rows = [
            ("attention", [escape(node.zone_id), escape(node.hostname), escape(node.role), escape(service.service),
                           _status_span(service.status), escape(service.detail)])
            for node, service in attention
        ]
        body += _table(["Zone", "Node", "Role", "Service", "Status", "Detail"], rows)
    else:
        body.append("<p>No service is Abnormal or Unknown.</p>")

    for group in report.groups:
        body.append(f"<h2>Zone {escape(group.zone_id or '(zone not given)')}: {_status_span(group.status)}</h2>")
        rows = []
        for node in group.nodes:
            node_cells = [escape(node.hostname), escape(node.node_id), escape(node.role)]
            if not node.services:
                rows.append(("", node_cells + ["", _status_span("Normal"), escape("no service listed")]))
            for service in node.services:
                row_class = "attention" if service.needs_attention else ""
                rows.append((row_class, node_cells + [escape(service.service), _status_span(service.status),
                                                      escape(service.detail)]))
        body += _table(["Node", "Node id", "Role", "Service", "Status", "Detail"], rows)

    return _page(f"QingCloud check report: {report.job_id}", body)
