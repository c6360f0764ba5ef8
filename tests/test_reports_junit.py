"""JUnit XML reports: parsed with xml.etree and validated against tests/fixtures/junit.xsd.

Neither lxml nor xmlschema is installed here, so SchemaSubset below reads the
XSD itself and enforces the constructs it uses (named and inline complex
types, sequence, choice, minOccurs/maxOccurs, simpleContent, attributes with
use="required", decimal, nonNegativeInteger, dateTime and the pattern and
minInclusive facets). It raises on any other construct rather than skip it,
so the XSD cannot carry a rule that goes unchecked.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from engine.reports import render_report
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

XSD_PATH = Path(__file__).resolve().parent / "fixtures" / "junit.xsd"
XS = "{http://www.w3.org/2001/XMLSchema}"
UNBOUNDED = 10**9


class UnsupportedSchema(Exception):
    """The XSD uses a construct SchemaSubset does not enforce."""


class SchemaSubset:
    """Validates an ElementTree against the subset of XSD that junit.xsd uses."""

    def __init__(self, path: Path) -> None:
        schema = ET.parse(path).getroot()
        self.types: dict[str, ET.Element] = {}
        self.roots: dict[str, ET.Element] = {}
        for child in schema:
            if child.tag in (f"{XS}complexType", f"{XS}simpleType"):
                self.types[child.get("name", "")] = child
            elif child.tag == f"{XS}element":
                self.roots[child.get("name", "")] = child
            else:
                raise UnsupportedSchema(f"top-level {child.tag}")

    def validate(self, root: ET.Element) -> list[str]:
        errors: list[str] = []
        declaration = self.roots.get(root.tag)
        if declaration is None:
            return [f"root element <{root.tag}> is not declared"]
        self._element(root, declaration, f"/{root.tag}", errors)
        return errors

    # -- types ----------------------------------------------------------------

    def _type_of(self, declaration: ET.Element) -> ET.Element | str:
        named = declaration.get("type")
        if named is not None:
            return named if named.startswith("xs:") else self.types[named]
        inline = [child for child in declaration if child.tag in (f"{XS}complexType", f"{XS}simpleType")]
        if len(inline) != 1:
            raise UnsupportedSchema(f"element {declaration.get('name')} without one type")
        return inline[0]

    def _simple_value(self, value: str, simple: ET.Element | str, where: str, errors: list[str]) -> None:
        if isinstance(simple, str) and not simple.startswith("xs:"):
            simple = self.types[simple]
        if isinstance(simple, str):
            self._builtin_value(value, simple, where, errors)
            return
        restriction = simple.find(f"{XS}restriction")
        if simple.tag != f"{XS}simpleType" or restriction is None:
            raise UnsupportedSchema(f"simple type {simple.get('name')}")
        self._simple_value(value, restriction.get("base", ""), where, errors)
        for facet in restriction:
            limit = facet.get("value", "")
            if facet.tag == f"{XS}pattern":
                if re.fullmatch(limit, value) is None:
                    errors.append(f"{where}: '{value}' does not match pattern {limit}")
            elif facet.tag == f"{XS}minInclusive":
                try:
                    if Decimal(value) < Decimal(limit):
                        errors.append(f"{where}: {value} is below {limit}")
                except InvalidOperation:
                    pass  # the base type check above has reported it
            else:
                raise UnsupportedSchema(f"facet {facet.tag}")

    @staticmethod
    def _builtin_value(value: str, type_name: str, where: str, errors: list[str]) -> None:
        if type_name == "xs:string":
            return
        if type_name == "xs:nonNegativeInteger":
            if re.fullmatch(r"\+?[0-9]+", value) is None:
                errors.append(f"{where}: '{value}' is not a non-negative integer")
        elif type_name == "xs:decimal":
            if re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", value) is None:
                errors.append(f"{where}: '{value}' is not a decimal")
        elif type_name == "xs:dateTime":
            match = re.fullmatch(r"(-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?"
                                 r"(Z|[+-][0-9]{2}:[0-9]{2})?", value)
            try:
                if match is None:
                    raise ValueError(value)
                datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
            except ValueError:
                errors.append(f"{where}: '{value}' is not an xs:dateTime")
        else:
            raise UnsupportedSchema(f"built-in type {type_name}")

    # -- elements -------------------------------------------------------------

    def _element(self, element: ET.Element, declaration: ET.Element, where: str, errors: list[str]) -> None:
        element_type = self._type_of(declaration)
        if isinstance(element_type, str) or element_type.tag == f"{XS}simpleType":
            if element.attrib:
                errors.append(f"{where}: attributes {sorted(element.attrib)} on a simple-typed element")
            if len(element):
                errors.append(f"{where}: child elements in a simple-typed element")
            self._simple_value(element.text or "", element_type, where, errors)
            return

        attributes: list[ET.Element] = []
        content: ET.Element | None = None
        for part in element_type:
            if part.tag == f"{XS}attribute":
                attributes.append(part)
            elif part.tag == f"{XS}sequence" and content is None:
                content = part
            elif part.tag == f"{XS}simpleContent" and content is None:
                content = part
            else:
                raise UnsupportedSchema(f"{part.tag} in complex type {element_type.get('name')}")

        if content is not None and content.tag == f"{XS}simpleContent":
            extension = content.find(f"{XS}extension")
            if extension is None or len(content) != 1:
                raise UnsupportedSchema("simpleContent without one extension")
            attributes += [part for part in extension if part.tag == f"{XS}attribute"]
            if any(part.tag != f"{XS}attribute" for part in extension):
                raise UnsupportedSchema("extension with content other than attributes")
            self._attributes(element, attributes, where, errors)
            if len(element):
                errors.append(f"{where}: child elements in text-only content")
            self._simple_value(element.text or "", extension.get("base", ""), where, errors)
            return

        self._attributes(element, attributes, where, errors)
        if (element.text or "").strip() or any((child.tail or "").strip() for child in element):
            errors.append(f"{where}: text in element-only content")
        particles = list(content) if content is not None else []
        self._sequence(element, particles, where, errors)

    def _attributes(self, element: ET.Element, declared: list[ET.Element], where: str, errors: list[str]) -> None:
        by_name = {attribute.get("name", ""): attribute for attribute in declared}
        for name, value in element.attrib.items():
            attribute = by_name.get(name)
            if attribute is None:
                errors.append(f"{where}: attribute '{name}' is not declared")
                continue
            self._simple_value(value, attribute.get("type", "xs:string"), f"{where}/@{name}", errors)
        for name, attribute in by_name.items():
            if attribute.get("use") == "required" and name not in element.attrib:
                errors.append(f"{where}: required attribute '{name}' is missing")

    def _sequence(self, element: ET.Element, particles: list[ET.Element], where: str, errors: list[str]) -> None:
        children = list(element)
        index = 0
        for particle in particles:
            if particle.tag == f"{XS}element":
                options = {particle.get("name", ""): particle}
            elif particle.tag == f"{XS}choice":
                if any(option.tag != f"{XS}element" for option in particle):
                    raise UnsupportedSchema("choice of something other than elements")
                options = {option.get("name", ""): option for option in particle}
            else:
                raise UnsupportedSchema(f"particle {particle.tag}")
            low = int(particle.get("minOccurs", "1"))
            high = UNBOUNDED if particle.get("maxOccurs") == "unbounded" else int(particle.get("maxOccurs", "1"))

            count = 0
            while index < len(children) and count < high and children[index].tag in options:
                child = children[index]
                self._element(child, options[child.tag], f"{where}/{child.tag}[{index}]", errors)
                index += 1
                count += 1
            if count < low:
                errors.append(f"{where}: expected {low} or more of {sorted(options)} at child {index}")
        if index < len(children):
            errors.append(f"{where}: element <{children[index].tag}> is not allowed at child {index}")


@pytest.fixture(scope="module")
def schema() -> SchemaSubset:
    return SchemaSubset(XSD_PATH)


def parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def properties(suite: ET.Element) -> dict[str, str]:
    return {item.get("name", ""): item.get("value", "") for item in suite.iter("property")}


# ---------------------------------------------------------------------------
# The validator rejects what the schema forbids
# ---------------------------------------------------------------------------

VALID_SAMPLE = """<testsuites tests="1" failures="0" errors="0">
  <testsuite name="s" tests="1" failures="0" errors="0" skipped="0" time="1.5" timestamp="2024-05-02T08:00:00">
    <testcase name="c" classname="k" time="1.5"><system-out>ok</system-out></testcase>
  </testsuite>
</testsuites>"""


def test_schema_accepts_minimal_sample(schema):
    assert schema.validate(ET.fromstring(VALID_SAMPLE)) == []


@pytest.mark.parametrize("change, expected", [
    (('classname="k" ', ""), "required attribute 'classname' is missing"),
    (('time="1.5">', 'time="-2">'), "-2 is below 0"),
    (('timestamp="2024-05-02T08:00:00"', 'timestamp="2024-05-02 08:00:00"'), "does not match pattern"),
    (("<system-out>ok</system-out>", "<failure/><skipped/>"), "element <skipped> is not allowed"),
    (("<system-out>ok</system-out>", "<system-out>ok</system-out><failure/>"), "element <failure> is not allowed"),
    (('tests="1" failures="0" errors="0">', 'tests="one" failures="0" errors="0">'), "not a non-negative integer"),
    (('name="c"', 'name="c" status="x"'), "attribute 'status' is not declared"),
    (("<system-out>ok</system-out>", "<system-out><b/></system-out>"), "child elements in a simple-typed element"),
])
def test_schema_rejects_broken_sample(schema, change, expected):
    old, new = change
    broken = VALID_SAMPLE.replace(old, new, 1)
    assert broken != VALID_SAMPLE

    errors = schema.validate(ET.fromstring(broken))

    assert any(expected in error for error in errors), errors


# ---------------------------------------------------------------------------
# Test run
# ---------------------------------------------------------------------------


async def test_test_report_valid(schema):
    root = parse(render_report(await recorded_test_report(), "junit"))

    assert schema.validate(root) == []


async def test_test_report_counts_match_cases():
    root = parse(render_report(await recorded_test_report(), "junit"))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")

    assert [case.get("name") for case in cases] == ["lb-vxnet", "eip-bind", "long-log", "snapshot", "vdi-desktop"]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("5", "1", "0", "2")
    assert len(suite.findall("testcase/failure")) == 1
    assert len(suite.findall("testcase/skipped")) == 2
    assert root.get("tests") == "5"
    assert root.get("time") == suite.get("time") == "200.000"
    assert suite.get("timestamp") == "2024-05-02T07:59:58"


async def test_test_report_failure_carries_log():
    root = parse(render_report(await recorded_test_report(), "junit"))
    failed = root.find("testsuite/testcase[@name='eip-bind']")
    assert failed is not None
    failure = failed.find("failure")
    assert failure is not None

    assert failure.get("message") == "failed after 2 attempt(s): Bind an EIP to an instance"
    assert (failure.text or "").splitlines() == list(FAILED_LOG.values())
    assert (failed.findtext("system-out") or "").splitlines() == list(FAILED_LOG.values())
    assert failed.get("time") == "125.000"


async def test_test_report_properties_name_platform():
    root = parse(render_report(await recorded_test_report(), "junit"))
    suite = root.find("testsuite")
    assert suite is not None

    values = properties(suite)

    assert values["run_id"] == NEWEST_RUN
    assert values["platform_ids"] == f"{PLATFORM_ID_A},{PLATFORM_ID_B}"
    assert values["zones"] == "pek3a,pek3b"
    assert values["installer_version"] == "0.1.0"
    assert values["report_time_utc"] == NOW_UTC_TEXT
    assert values["report_time_local"] == NOW_LOCAL_TEXT


async def test_forbidden_characters_dropped(schema):
    report = await recorded_test_report()
    bad_case = replace(report.cases[1], test="eip\x00-bind\x1b<b>", log_lines=("bell\x07 line\ufffe", "ok & <done>"))
    report = replace(report, cases=(report.cases[0], bad_case))

    root = parse(render_report(report, "junit"))
    case = root.find("testsuite/testcase[2]")
    assert case is not None

    assert schema.validate(root) == []
    assert case.get("name") == "eip-bind<b>"
    assert case.findtext("system-out") == "bell line\nok & <done>"


# ---------------------------------------------------------------------------
# Check
# ---------------------------------------------------------------------------


async def test_check_report_valid(schema):
    root = parse(render_report(await recorded_check_report(), "junit"))

    assert schema.validate(root) == []


async def test_check_report_outcomes_per_service():
    root = parse(render_report(await recorded_check_report(), "junit"))
    suites = root.findall("testsuite")

    assert [suite.get("name") for suite in suites] == ["pek3b", "pek3a"]
    vbr = suites[0].find("testcase[@name='vbr']")
    vg_agent = suites[1].find("testcase[@name='vg-agent']")
    ntp = suites[0].find("testcase[@name='ntp']")
    assert vbr is not None
    assert vg_agent is not None
    assert ntp is not None
    assert vbr.get("classname") == "pek3b.pek3br01n03"
    assert vbr.find("failure") is not None
    assert vbr.find("failure").get("message") == "vbr0 is down | link lost"  # type: ignore[union-attr]
    assert vg_agent.find("error") is not None
    assert ntp.find("skipped") is not None
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("8", "1", "1", "1")
    assert properties(suites[0])["check_job_id"] == CHECK_ID
    assert properties(suites[0])["qingcloud_status"] == "Abnormal"
