"""The licenses screen at an 80x24 console: the table, a request, the application code, activation.

Most tests drive the real app against the scripted LicensedFakeClient; the last
one runs the whole round trip against a real engine and a test vendor key.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from textual import events
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Input, Static

from engine.client import LocalClient
from engine.engine import Engine
from engine.license import crypto
from engine.license.codes import issue_license, open_application
from engine.license.trust import trust_vendor_key_file
from tests.tui_fakes import (
    FAKE_APPLICATION_CODE,
    FAKE_LICENSE_CODE,
    LicensedFakeClient,
    make_app,
    wait_until,
)
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.licenses import CODE_LINE_WIDTH, LicensesScreen
from tui.screens.overview import OverviewScreen

SIZE = (80, 24)
RESPONSE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


@pytest.fixture
def beijing_time():
    """Put the process in China Standard Time (UTC+8, no daylight saving) for the test."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Shanghai"
    time.tzset()
    yield
    if previous is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = previous
    time.tzset()


def license_entry(license_id: str, status: str, start: datetime, end: datetime, count: int) -> dict:
    return {"license_id": license_id, "status": status, "start_time": start.strftime(RESPONSE_FORMAT),
            "end_time": end.strftime(RESPONSE_FORMAT), "create_time": "2017-10-24T04:22:30Z",
            "status_time": "2017-10-24T04:22:30Z", "hypernode_count": count}


def three_licenses() -> list[dict]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return [
        license_entry("lc-gGHu4Uu0", "enabled", datetime(2017, 10, 1, tzinfo=timezone.utc),
                      now + timedelta(days=10, hours=1), 3),
        license_entry("lc-KoOicfCz", "expired", datetime(2017, 5, 6, 14, 22, 23, tzinfo=timezone.utc),
                      datetime(2018, 10, 13, 13, 33, tzinfo=timezone.utc), 1000000),
        license_entry("lc-Pend0001", "pending", now + timedelta(days=5), now + timedelta(days=35), 12),
    ]


def text(app: InstallerApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def footer_keys(app: InstallerApp) -> dict[str, object]:
    return {key.key: key for key in app.screen.query("FooterKey")}


async def open_licenses(pilot, app: InstallerApp, rows: int) -> LicensesScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
    await pilot.press("ctrl+l")
    await wait_until(pilot, lambda: isinstance(app.screen, LicensesScreen), "the licenses screen shows")
    await wait_until(pilot, lambda: app.screen.query_one("#license-table", DataTable).row_count == rows,
                     f"the table lists {rows} license(s)")
    return app.screen


async def type_into(pilot, app: InstallerApp, selector: str, value: str) -> None:
    field = app.screen.query_one(selector, Input)
    field.value = ""
    field.focus()
    await pilot.press(*value)
    await pilot.pause()


async def fill_request(pilot, app: InstallerApp, **values: str) -> None:
    """Fill in request fields at once; type_into types key by key where the test watches the typing."""
    for field, value in values.items():
        app.screen.query_one(f"#request-{field}", Input).value = value
    await pilot.pause()


async def test_table_shows_status_local_time_and_days(beijing_time):
    client = LicensedFakeClient(license_set=three_licenses(), deployed_hypernode_count=7, licensed_hypernode_count=3)
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_licenses(pilot, app, rows=3)
        table = screen.query_one("#license-table", DataTable)

        headers = [column.label.plain for column in table.columns.values()]
        statuses = [table.get_cell_at(Coordinate(row, 1)) for row in range(3)]

        assert headers[2] == "From (CST)"
        assert headers[3] == "Until (CST)"
        assert table.get_cell_at(Coordinate(1, 2)).plain == "2017-05-06 22:22", "UTC 14:22 is 22:22 in Beijing"
        assert table.get_cell_at(Coordinate(0, 4)).plain == "10"
        assert table.get_cell_at(Coordinate(1, 4)).plain == "0"
        assert table.get_cell_at(Coordinate(2, 4)).plain == "30", "a pending license has its whole window left"
        assert [cell.plain for cell in statuses] == ["enabled", "expired", "not yet valid"]
        assert statuses[0].spans[0].style == "$text-success"
        assert "$text-error" in str(statuses[1].spans[0].style)
        assert statuses[2].spans[0].style == "$text-warning"
        assert "Hyper nodes: 7 deployed of 3 licensed." in text(app, "#license-summary")
        assert table.region.right <= SIZE[0]


async def test_summary_before_any_license_and_without_vendor_key():
    app = make_app(LicensedFakeClient(vendor_key=""))

    async with app.run_test(size=SIZE) as pilot:
        await open_licenses(pilot, app, rows=0)

        summary = text(app, "#license-summary")
        assert "No license has taken effect, so deploys are not limited." in summary
        assert "--license-pubkey FILE" in summary


async def test_lab_summary_names_vendor_key():
    app = make_app(LicensedFakeClient(lab_vendor_key="/tmp/lab-state/lab-vendor-key.pem"))

    async with app.run_test(size=SIZE) as pilot:
        await open_licenses(pilot, app, rows=0)

        assert "--vendor-key /tmp/lab-state/lab-vendor-key.pem CODE" in text(app, "#license-summary")


async def test_request_form_validates_inline_then_sends_utc(beijing_time):
    client = LicensedFakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_licenses(pilot, app, rows=0)
        await pilot.press("f6")
        await fill_request(pilot, app, description="pek3 lab", start_time="2030-01-01 08:00:00",
                           end_time="2031-01-01 08:00:00", hypernode_count="7")
        await type_into(pilot, app, "#request-applicant", "admin@qingcloud.com")

        applicant = screen.query_one("#request-applicant", Input)
        assert "ending in @yunify.com" in text(app, "#request-problem")
        assert applicant.has_class("-invalid")

        await pilot.press("f8")
        await pilot.pause()
        assert client.calls_of("GenerateQingCloudCode") == [], "an invalid form is not sent"

        await fill_request(pilot, app, end_time="2029-01-01 08:00:00")
        assert "The end must be after the start." in text(app, "#request-problem")

        await fill_request(pilot, app, end_time="2031-01-01 08:00:00")
        await type_into(pilot, app, "#request-applicant", "admin@yunify.com")
        assert "Ready: F8 creates the application code." in text(app, "#request-problem")
        assert not applicant.has_class("-invalid")

        await pilot.press("f8")
        await wait_until(pilot, lambda: client.calls_of("GenerateQingCloudCode"), "the request is sent")

        assert client.calls_of("GenerateQingCloudCode")[0] == {
            "description": "pek3 lab", "start_time": "2030-01-01 00:00:00", "end_time": "2031-01-01 00:00:00",
            "applicant": "admin@yunify.com", "hypernode_count": 7,
        }


async def test_engine_rejection_marks_field():
    client = LicensedFakeClient()
    client.script("GenerateQingCloudCode", {
        "action": "GenerateQingCloudCodeResponse", "ret_code": 1100,
        "message": "GenerateQingCloudCode: parameter 'description' is invalid: must not be empty"})
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_licenses(pilot, app, rows=0)
        await pilot.press("f6")
        await fill_request(pilot, app, description="x", applicant="admin@yunify.com")
        await pilot.press("f8")
        await wait_until(pilot, lambda: screen.query_one("#request-description", Input).has_class("-invalid"),
                         "the field the engine named is marked")

        assert "parameter 'description' is invalid" in str(screen.error_panel.render())


async def test_application_code_shown_whole_and_saved(tmp_path: Path):
    # The lab's summary takes three lines: the longest the code has to share the screen with.
    client = LicensedFakeClient(lab_vendor_key="/var/lib/qingcloud-installer-lab/lab-vendor-key.pem")
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_licenses(pilot, app, rows=0)
        await pilot.press("f6")
        await fill_request(pilot, app, description="pek3 lab", applicant="admin@yunify.com")
        await pilot.press("f8")
        await wait_until(pilot, lambda: screen.panel == "code", "the code is shown")

        lines = text(app, "#code-text").splitlines()
        code_view = screen.query_one("#code-scroll")
        assert "".join(lines) == FAKE_APPLICATION_CODE
        assert all(len(line) <= CODE_LINE_WIDTH for line in lines)
        assert code_view.region.height >= len(lines), "every line is on screen without scrolling"
        assert screen.query_one("#code-text").region.right <= SIZE[0]

        target = tmp_path / "application.txt"
        screen.query_one("#code-path", Input).value = str(target)
        await pilot.press("f8")
        await pilot.pause()

        assert target.read_text(encoding="utf-8").strip() == FAKE_APPLICATION_CODE
        assert f"Saved to {target}" in text(app, "#code-result")


async def test_pasted_wrapped_code_activates_hidden():
    client = LicensedFakeClient()
    app = make_app(client)
    wrapped = "\n".join(FAKE_LICENSE_CODE[index:index + 64] for index in range(0, len(FAKE_LICENSE_CODE), 64))

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_licenses(pilot, app, rows=0)
        await pilot.press("f7")
        code_input = screen.query_one("#license-code", Input)
        code_input.post_message(events.Paste(wrapped + "\n"))
        await pilot.pause()

        assert code_input.value == FAKE_LICENSE_CODE, "every pasted line is kept"
        assert FAKE_LICENSE_CODE[:12] not in str(code_input.render_line(0).text), "the code stays hidden"

        await pilot.press("f8")
        await wait_until(pilot, lambda: "activated" in text(app, "#activate-result"), "the activation ends")

        assert client.calls_of("ActivateQingCloudLicense") == [{"license_code": FAKE_LICENSE_CODE}]
        assert "License lc-Fake0001 activated: 7 hyper node(s)" in text(app, "#activate-result")
        await wait_until(pilot, lambda: screen.query_one("#license-table", DataTable).row_count == 1,
                         "the table shows the new license")
        assert code_input.value == ""


async def test_code_from_file_rejected_in_words(tmp_path: Path):
    client = LicensedFakeClient()
    app = make_app(client)
    code_file = tmp_path / "license.txt"
    code_file.write_text("QUJD\nREVG\n", encoding="utf-8")

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_licenses(pilot, app, rows=0)
        await pilot.press("f7")
        screen.query_one("#license-file", Input).value = str(code_file)
        await pilot.press("f9")
        await pilot.pause()

        assert f"Read 8 characters from {code_file}" in text(app, "#activate-result")

        await pilot.press("f8")
        await wait_until(pilot, lambda: "Not activated" in text(app, "#activate-result"), "the activation ends")

        assert client.calls_of("ActivateQingCloudLicense") == [{"license_code": "QUJDREVG"}]
        assert "signature does not verify" in text(app, "#activate-result")
        assert screen.query_one("#license-table", DataTable).row_count == 0


async def test_missing_file_named():
    app = make_app(LicensedFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_licenses(pilot, app, rows=0)
        await pilot.press("f7")
        screen.query_one("#license-file", Input).value = "/nonexistent/license.txt"
        await pilot.press("f9")
        await pilot.pause()

        assert "Cannot read /nonexistent/license.txt" in text(app, "#activate-result")


PANEL_KEYS = {
    "": {"f1", "f6", "f7", "f10", "ctrl+g", "ctrl+r"},
    "request": {"f1", "f7", "f8", "f10", "ctrl+g", "ctrl+r"},
    "activate": {"f1", "f6", "f8", "f9", "f10", "ctrl+g", "ctrl+r"},
    "code": {"f1", "f6", "f7", "f8", "f10", "ctrl+g", "ctrl+r"},
}


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_footer_fits_80_columns_on_every_panel(lang):
    app = make_app(LicensedFakeClient(license_set=three_licenses()), lang=lang)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_licenses(pilot, app, rows=3)
        for panel in ("", "request", "activate", "code"):
            screen.show_panel(panel)
            await pilot.pause()

            keys = footer_keys(app)
            assert set(keys) == PANEL_KEYS[panel], panel
            for key, widget in keys.items():
                assert widget.region.right <= SIZE[0], f"{panel or 'table'}: {key} ends at column {widget.region.right}"
                assert widget.region.y == SIZE[1] - 1

        assert keys["f8"].description == ("Save" if lang == "en" else "保存")


async def test_round_trip_against_engine(tmp_path: Path):
    vendor = crypto.VendorKeys.generate()
    public_path = crypto.write_vendor_keys(vendor, tmp_path / "vendor" / "KEY.pem")
    engine = Engine(tmp_path / "state")
    trust_vendor_key_file(engine, public_path)

    async def connect() -> LocalClient:
        await engine.start()
        return LocalClient(engine)

    app = InstallerApp(connect, lang="en", disconnect=engine.stop, poll_interval=0.01)
    app.animation_level = "none"

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_licenses(pilot, app, rows=0)
        await pilot.press("f6")
        await wait_until(pilot, lambda: screen.query_one("#request-hypernode_count", Input).value == "1",
                         "the form is filled in with the platform's hyper node count")
        await fill_request(pilot, app, description="pek3 lab", applicant="ops@yunify.com")
        await pilot.press("f8")
        await wait_until(pilot, lambda: screen.panel == "code", "the application code is shown")

        application_code = "".join(text(app, "#code-text").splitlines())
        application = open_application(vendor, application_code)
        grant, license_code = issue_license(vendor, application, now=datetime.now(timezone.utc))

        await pilot.press("f7")
        screen.query_one("#license-code", Input).post_message(events.Paste(license_code))
        await pilot.pause()
        await pilot.press("f8")
        await wait_until(pilot, lambda: "activated" in text(app, "#activate-result"), "the license is activated")
        await wait_until(pilot, lambda: screen.query_one("#license-table", DataTable).row_count == 1,
                         "the table lists the license")

        table = screen.query_one("#license-table", DataTable)
        assert application.fields.applicant == "ops@yunify.com"
        assert table.get_cell_at(Coordinate(0, 0)).plain == grant.license_id
        assert table.get_cell_at(Coordinate(0, 1)).plain == "enabled"
        assert table.get_cell_at(Coordinate(0, 5)).plain == "1"
        assert "Hyper nodes: 0 deployed of 1 licensed." in text(app, "#license-summary")
        await pilot.press("f10")
