"""Test and check reports: collect a run through the API, render it as Markdown, JSON, JUnit XML or HTML.

`collect` gathers the data into the dataclasses of `model`; each renderer
is a pure function from those dataclasses to text; `files` writes a report
atomically. `render_report` picks the renderer for a format name.
"""

from __future__ import annotations

from engine.reports.html import render_check_html, render_test_html
from engine.reports.json_report import render_check_json, render_test_json
from engine.reports.junit import render_check_junit, render_test_junit
from engine.reports.markdown import render_check_markdown, render_test_markdown
from engine.reports.model import CheckReport, TestReport

#: Format names, as `qc-installer report --format` takes them.
FORMATS = ("md", "json", "junit", "html")

#: File name suffix of each format.
SUFFIXES = {"md": ".md", "json": ".json", "junit": ".xml", "html": ".html"}

_TEST_RENDERERS = {"md": render_test_markdown, "json": render_test_json, "junit": render_test_junit,
                   "html": render_test_html}
_CHECK_RENDERERS = {"md": render_check_markdown, "json": render_check_json, "junit": render_check_junit,
                    "html": render_check_html}


def render_report(report: TestReport | CheckReport, report_format: str) -> str:
    """Render a collected report in one of FORMATS; raises ValueError naming the formats for any other."""
    renderers = _TEST_RENDERERS if isinstance(report, TestReport) else _CHECK_RENDERERS
    renderer = renderers.get(report_format)
    if renderer is None:
        raise ValueError(f"report format '{report_format}' is unknown; use one of {', '.join(FORMATS)}")
    return renderer(report)  # type: ignore[operator]


def report_file_name(report: TestReport | CheckReport, report_format: str) -> str:
    """Suggest a file name, e.g. qingcloud-test-j-abcd1234.html or qingcloud-check-j-abcd1234.md."""
    if isinstance(report, TestReport):
        kind, job_id = "test", report.run_id
    else:
        kind, job_id = "check", report.job_id
    safe_id = "".join(character for character in job_id if character.isascii() and (character.isalnum() or character == "-"))
    return f"qingcloud-{kind}-{safe_id or 'report'}{SUFFIXES.get(report_format, '.txt')}"
