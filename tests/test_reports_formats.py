"""Markdown, JSON and HTML reports of a recorded run and check: what a reader of each needs is there."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser

import pytest

from engine.reports import FORMATS, render_report, report_file_name
from engine.reports.files import write_report_file
from tests.test_reports_recorded import (
    CHECK_ID,
    FAILED_LOG,
    NEWEST_RUN,
    NOW_LOCAL_TEXT,
    NOW_UTC_TEXT,
    PLATFORM_ID_A,
    PLATFORM_ID_B,
    recorded_check_report,
    recorded_test_report,
)

CASES = ["lb-vxnet", "eip-bind", "long-log", "snapshot", "vdi-desktop"]


@pytest.fixture
async def recorded_run():
    return await recorded_test_report()


@pytest.fixture
async def recorded_check():
    return await recorded_check_report()


def markdown_table_rows(text: str, first_heading: str) -> list[list[str]]:
    """Return the body rows of the table whose first heading is `first_heading`, split on unescaped pipes."""
    lines = text.split("\n")  # CommonMark ends lines only at LF, CR LF or CR; the renderer writes LF
    start = next(index for index, line in enumerate(lines) if line.startswith(f"| {first_heading} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells, current, index = [], "", 1
        while index < len(line) - 1:
            character = line[index]
            if character == "\\":
                current += line[index:index + 2]
                index += 2
                continue
            if character == "|":
                cells.append(current.strip(" \t"))
                current = ""
            else:
                current += character
            index += 1
        cells.append(current.strip(" \t"))
        rows.append(cells)
    return rows


class PageParser(HTMLParser):
    """Collects tags, attributes, text per tag, and <details> blocks of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.stack: list[str] = []
        self.pre_texts: list[str] = []
        self.details: list[dict[str, object]] = []
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]
        if tag == "details":
            self.details.append({"open": any(name == "open" for name, _ in attrs), "summary": "", "pre": None})
        if tag == "pre":
            self.pre_texts.append("")
            if self.details:
                self.details[-1]["pre"] = len(self.pre_texts) - 1
        if tag not in ("meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data):
        self.text += data
        if "pre" in self.stack:
            self.pre_texts[-1] += data
        if "summary" in self.stack and self.details:
            self.details[-1]["summary"] = str(self.details[-1]["summary"]) + data

    def log_of(self, case: str) -> str:
        block = next(block for block in self.details if str(block["summary"]).startswith(f"{case}:"))
        assert block["pre"] is not None, f"{case} has no <pre> log"
        # A browser drops the line break right after <pre>; html.parser keeps it.
        return self.pre_texts[int(block["pre"])].removeprefix("\n")


def parse_page(text: str) -> PageParser:
    parser = PageParser()
    parser.feed(text)
    parser.close()
    return parser


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------


async def test_markdown_summary_lists_every_case(recorded_run):
    text = render_report(recorded_run, "md")

    rows = markdown_table_rows(text, "Case")

    assert [row[0] for row in rows] == CASES
    assert [row[2] for row in rows] == ["successful", "(!) failed", "successful", "skipped", "pending"]
    assert rows[1][5:] == ["2m 05s", "2"]


async def test_markdown_failed_case_log_fenced(recorded_run):
    text = render_report(recorded_run, "md")

    section = text.split("## Failed cases", 1)[1]
    fence_line = next(line for line in section.splitlines() if line.startswith("```"))
    fence = fence_line.rstrip("text")
    body = section.split(fence_line + "\n", 1)[1].split("\n" + fence + "\n", 1)[0]

    assert "### eip-bind: failed after 2 attempt(s)" in section
    assert body.splitlines() == list(FAILED_LOG.values())
    assert len(fence) == 4, "the log holds ``` so the fence must be longer"
    assert "lb-vxnet" not in section, "only failed cases get a log block"


async def test_markdown_header_platform_times_version(recorded_run):
    text = render_report(recorded_run, "md")

    assert f"| Platform id | {PLATFORM_ID_A}, {PLATFORM_ID_B} |" in text
    assert f"| Report time | {NOW_UTC_TEXT} / {NOW_LOCAL_TEXT} local |" in text
    assert "| Installer version | 0.1.0 |" in text
    assert "| Zones | pek3a (standard), pek3b (fusion) |" in text
    assert text.startswith(f"# QingCloud test report: run {NEWEST_RUN}\n")


async def test_markdown_check_attention_first(recorded_check):
    text = render_report(recorded_check, "md")

    attention = markdown_table_rows(text, "Zone")
    headings = [line for line in text.splitlines() if line.startswith("## Zone ")]

    assert "## Overall status: (!) Abnormal" in text
    assert [row[1:5] for row in attention] == [["pek3br01n03", "hyper", "vbr", "(!) Abnormal"],
                                               ["pek3ar01n05", "vg", "vg-agent", "(!) Unknown"]]
    assert attention[0][5] == r"vbr0 is down \| link lost"
    assert headings == ["## Zone pek3b: (!) Abnormal", "## Zone pek3a: (!) Unknown"]
    assert f"| Check job | {CHECK_ID} |" in text
    assert PLATFORM_ID_B in text


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------


async def test_json_test_report_fields(recorded_run):
    document = json.loads(render_report(recorded_run, "json"))

    cases = {case["test"]: case for case in document["cases"]}

    assert document["report"] == "test"
    assert document["run"]["job_id"] == NEWEST_RUN
    assert list(cases) == CASES
    assert cases["eip-bind"]["status"] == "failed"
    assert cases["eip-bind"]["log"] == list(FAILED_LOG.values())
    assert cases["eip-bind"]["duration_s"] == 125.0
    assert cases["lb-vxnet"]["description"] == "测试vxnet负载均衡功能"
    assert document["counts"] == {"failed": 1, "successful": 2, "skipped": 1, "pending": 1}


async def test_json_header_times_platform(recorded_run):
    header = json.loads(render_report(recorded_run, "json"))["header"]

    assert header["platform_ids"] == [PLATFORM_ID_A, PLATFORM_ID_B]
    assert header["generated"]["utc"] == "2024-05-02T08:30:00+00:00"
    assert header["generated"]["local"] == "2024-05-02T16:30:00+08:00"
    assert header["installer_version"] == "0.1.0"
    assert [zone["zone_id"] for zone in header["zones"]] == ["pek3a", "pek3b"]


async def test_json_check_report_order(recorded_check):
    document = json.loads(render_report(recorded_check, "json"))

    zones = document["zones"]
    first_node = zones[0]["nodes"][0]

    assert document["check"]["qingcloud_status"] == "Abnormal"
    assert [zone["zone_id"] for zone in zones] == ["pek3b", "pek3a"]
    assert first_node["hostname"] == "pek3br01n03"
    assert first_node["needs_attention"] is True
    assert first_node["services"][0] == {"service": "vbr", "status": "Abnormal",
                                         "detail": "vbr0 is down | link lost", "needs_attention": True}


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------


async def test_html_self_contained(recorded_run, recorded_check):
    for report in (recorded_run, recorded_check):
        page = parse_page(render_report(report, "html"))

        assert "script" not in page.tags
        assert "link" not in page.tags
        assert "iframe" not in page.tags
        assert [(tag, name) for tag, name, _ in page.attributes if name in ("src", "href")] == []
        assert [(tag, name) for tag, name, _ in page.attributes if name.startswith("on")] == []
        assert "style" in page.tags


async def test_html_escapes_script_in_log(recorded_run):
    text = render_report(recorded_run, "html")

    page = parse_page(text)

    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in text
    assert "<script>" not in text
    assert page.log_of("eip-bind").splitlines() == list(FAILED_LOG.values())


async def test_html_logs_collapsible_failed_open(recorded_run):
    page = parse_page(render_report(recorded_run, "html"))

    opened = {str(block["summary"]).split(":")[0]: block["open"] for block in page.details}

    assert opened == {"lb-vxnet": False, "eip-bind": True, "long-log": False, "snapshot": False,
                      "vdi-desktop": False}
    assert page.log_of("long-log").splitlines() == ["line 998", "line 999", "line 1000"]


async def test_html_header_and_table(recorded_run):
    page = parse_page(render_report(recorded_run, "html"))

    for case in CASES:
        assert case in page.text
    assert "(!) failed" in page.text
    assert PLATFORM_ID_A in page.text
    assert NOW_UTC_TEXT in page.text
    assert NOW_LOCAL_TEXT in page.text
    assert "Installer version0.1.0" in page.text


async def test_html_check_marks_attention(recorded_check):
    text = render_report(recorded_check, "html")
    page = parse_page(text)

    pek3b_at, pek3a_at = page.text.find("Zone pek3b"), page.text.find("Zone pek3a")

    assert 0 <= pek3b_at < pek3a_at
    assert page.text.count("(!) Abnormal") >= 3
    assert "(!) Unknown" in page.text
    assert text.count('<tr class="attention">') == 4
    assert "vbr0 is down | link lost" in page.text


# ---------------------------------------------------------------------------
# All formats, file names, files
# ---------------------------------------------------------------------------


async def test_every_format_names_cases_and_version(recorded_run):
    for report_format in FORMATS:
        text = render_report(recorded_run, report_format)

        for case in CASES:
            assert case in text, f"{report_format} lacks case {case}"
        assert "did not answer within 60s" in text, f"{report_format} lacks the failed case's log"
        assert PLATFORM_ID_A in text, f"{report_format} lacks the platform id"
        assert "08:30:00" in text, f"{report_format} lacks the report time in UTC"
        assert "16:30:00" in text, f"{report_format} lacks the local report time"
        assert "0.1.0" in text, f"{report_format} lacks the installer version"


async def test_unknown_format_rejected(recorded_run):
    with pytest.raises(ValueError, match="use one of md, json, junit, html"):
        render_report(recorded_run, "pdf")


async def test_file_names(recorded_run, recorded_check):
    assert report_file_name(recorded_run, "html") == f"qingcloud-test-{NEWEST_RUN}.html"
    assert report_file_name(recorded_check, "junit") == f"qingcloud-check-{CHECK_ID}.xml"


def test_write_replaces_file_by_rename(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old report\n", encoding="utf-8")
    os.chmod(target, 0o600)
    old_link = tmp_path / "old-link.md"
    os.link(target, old_link)

    written = write_report_file(target, "new report ✓\n")

    assert written == target
    assert target.read_text(encoding="utf-8") == "new report ✓\n"
    assert old_link.read_text(encoding="utf-8") == "old report\n", "the old file must be replaced, not rewritten"
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["old-link.md", "report.md"]


def test_write_missing_directory_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_report_file(tmp_path / "missing" / "report.md", "text")

    assert list(tmp_path.iterdir()) == []
