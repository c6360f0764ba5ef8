"""Arbitrary text from the API survives every report format: escaped, never breaking out, nothing rejected."""

from __future__ import annotations

import asyncio
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.reports import render_report
from engine.reports.markdown import escape_cell, fenced_block
from engine.reports.model import TestReport
from engine.reports.text import clean
from tests.test_reports_formats import markdown_table_rows, parse_page
from tests.test_reports_recorded import recorded_check_report, recorded_test_report

# Every code point Python can hold, lone surrogates included (hypothesis leaves them out unless
# exclude_categories is empty), because json.loads turns "\ud800" in a response into one.
ANY_CHARACTER = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
# Characters with a meaning in some format, drawn often so that short runs meet them.
MEANINGFUL = st.sampled_from(list("<>&\"'|\\`*_[]#!/=\n\r\t \x00\x1b\x7f\x85\u2028\ud800\udfff\ufffe\uffff"))
ANY_CHARACTER = st.one_of(MEANINGFUL, ANY_CHARACTER)
ANY_TEXT = st.text(alphabet=ANY_CHARACTER, max_size=60)
SHORT_TEXT = st.text(alphabet=ANY_CHARACTER, min_size=1, max_size=20)
LOG_LINES = st.lists(ANY_TEXT, max_size=6)

_BASE_TEST_REPORT: TestReport = asyncio.run(recorded_test_report())
_BASE_CHECK_REPORT = asyncio.run(recorded_check_report())


def report_with_case(name: str, description: str, lines: list[str]) -> TestReport:
    """Return the recorded report whose failed case has the given name, description and log."""
    failed = replace(_BASE_TEST_REPORT.cases[1], test=name, description_en=description, log_lines=tuple(lines))
    return replace(_BASE_TEST_REPORT, cases=(_BASE_TEST_REPORT.cases[0], failed))


def unescape_cell(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell.replace("<br>", "\n"))


def xml_forbidden_free(text: str) -> bool:
    return all(
        character in "\t\n\r" or 0x20 <= ord(character) <= 0xD7FF or 0xE000 <= ord(character) <= 0xFFFD
        or ord(character) >= 0x10000
        for character in text
    )


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------


@given(ANY_TEXT)
def test_markdown_cell_round_trips(text):
    cell = escape_cell(text)

    assert "\n" not in cell
    assert "\r" not in cell
    assert re.search(r"(?<!\\)(\\\\)*\|", cell) is None, "an unescaped pipe would split the cell"
    assert re.search(r"(?<!\\)(\\\\)*<(?!br>)", cell) is None, "an unescaped < could open an HTML tag"
    assert unescape_cell(cell) == clean(text)


@given(st.lists(ANY_TEXT, min_size=3, max_size=3))
def test_markdown_row_keeps_cell_count(cells):
    from engine.reports.markdown import table

    lines = table(["A", "B", "C"], [cells])

    rows = markdown_table_rows("\n".join(lines), "A")

    assert len(rows) == 1
    assert [unescape_cell(cell) for cell in rows[0]] == [clean(cell).strip(" \t") for cell in cells]


@given(LOG_LINES)
def test_markdown_fence_cannot_be_closed_early(lines):
    block = fenced_block(lines)

    fence = block.split("\n", 1)[0].removesuffix("text")
    inner = block.split("\n")[1:-1]

    assert block.endswith("\n" + fence)
    assert "\n".join(inner) == clean("\n".join(lines))
    for line in inner:
        run = re.match(r" {0,3}(`+)", line)
        assert run is None or len(run.group(1)) < len(fence), f"{line!r} would close the fence"


@settings(max_examples=60)
@given(SHORT_TEXT, ANY_TEXT, LOG_LINES)
def test_markdown_report_never_raises(name, description, lines):
    text = render_report(report_with_case(name, description, lines), "md")

    text.encode("utf-8")
    assert xml_forbidden_free(text)


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------


@settings(max_examples=80)
@given(SHORT_TEXT, ANY_TEXT, LOG_LINES)
def test_html_text_round_trips(name, description, lines):
    text = render_report(report_with_case(name, description, lines), "html")
    text.encode("utf-8")

    page = parse_page(text)
    expected_log = clean("\n".join(lines))
    log_texts = [page.pre_texts[int(block["pre"])].removeprefix("\n")
                 for block in page.details if block["pre"] is not None]

    assert set(page.tags) <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "table", "tr", "th",
                              "td", "p", "span", "details", "summary", "pre"}
    assert [name for _, name, _ in page.attributes] == [name for _, name, _ in parse_page(
        render_report(report_with_case("x", "y", []), "html")).attributes]
    assert expected_log in log_texts
    assert clean(name) in page.text
    assert clean(description) in page.text


@settings(max_examples=40)
@given(SHORT_TEXT, ANY_TEXT)
def test_html_check_text_round_trips(hostname, detail):
    group = _BASE_CHECK_REPORT.groups[0]
    node = replace(group.nodes[0], hostname=hostname,
                   services=(replace(group.nodes[0].services[0], detail=detail),))
    report = replace(_BASE_CHECK_REPORT, groups=(replace(group, nodes=(node,)),))

    page = parse_page(render_report(report, "html"))

    assert "script" not in page.tags
    assert clean(hostname) in page.text
    assert clean(detail) in page.text


# ---------------------------------------------------------------------------
# JUnit XML and JSON
# ---------------------------------------------------------------------------


@settings(max_examples=80)
@given(SHORT_TEXT, ANY_TEXT, LOG_LINES)
def test_junit_parses_and_keeps_text(name, description, lines):
    text = render_report(report_with_case(name, description, lines), "junit")

    root = ET.fromstring(text.encode("utf-8"))
    case = root.find("testsuite/testcase[2]")
    assert case is not None

    assert case.get("name") == clean(name)
    assert case.findtext("system-out", default="") == clean("\n".join(lines))
    assert case.find("failure") is not None
    assert clean(description) in case.find("failure").get("message", "")  # type: ignore[union-attr]


@settings(max_examples=40)
@given(SHORT_TEXT, ANY_TEXT)
def test_junit_check_parses(service, detail):
    group = _BASE_CHECK_REPORT.groups[0]
    node = replace(group.nodes[0], services=(replace(group.nodes[0].services[0], service=service, detail=detail),))
    report = replace(_BASE_CHECK_REPORT, groups=(replace(group, nodes=(node,)),))

    root = ET.fromstring(render_report(report, "junit").encode("utf-8"))
    case = root.find("testsuite/testcase")
    assert case is not None

    assert case.get("name") == clean(service)
    assert case.find("failure") is not None
    assert case.findtext("failure", default="") == clean(detail)


@settings(max_examples=40)
@given(SHORT_TEXT, LOG_LINES)
def test_json_keeps_text(name, lines):
    text = render_report(report_with_case(name, "", lines), "json")
    text.encode("utf-8")

    case = json.loads(text)["cases"][1]

    assert case["test"] == clean(name)
    assert case["log"] == [clean(line) for line in lines]
