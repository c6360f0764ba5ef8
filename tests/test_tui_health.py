"""The health check screen at an 80x24 console: check the nodes, read problems first, filter, history, reports.

The engine is HealthCheckFakeClient (tests/tui_fakes.py), whose nodes are the
lab's: pek3a's eight and pek3b's five with a role. The last test runs the real
engine beside the lab's simulated nodes.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest
from textual.widgets import Checkbox, DataTable, Input, OptionList, SelectionList, Static

from engine.client import LocalClient
from engine.engine import Engine
from engine.lab.check_controls import stop_service
from engine.lab.session import LabSession
from tests.tui_fakes import HealthCheckFakeClient, deploy_lab_platform, make_app, wait_until
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.goto import GoToScreen
from tui.screens.health import HealthCheckScreen
from tui.screens.health_results import HealthTable
from tui.screens.health_start import StartCheckDialog
from tui.screens.overview import OverviewScreen
from tui.screens.report_export import ExportReportDialog
from tui.screens.run_history import RunHistoryScreen
from tui.widgets.job_log import JobLog

SIZE = (80, 24)

FINDINGS = {
    ("pek3br01n04", "libvirtd"): ("Unknown", "check timed out after 10 s"),
    ("pek3ar01n03", "vgateway"): ("Abnormal", "failed (exit 3)"),
}

#: Services of the 13 lab nodes with a role: two ks-vm (3), six vg (2), seven hyper (2 each).
SERVICE_COUNT = 2 * 3 + 4 * 2 + 7 * 2


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def shown(app: InstallerApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def footer_keys(app: InstallerApp) -> dict[str, object]:
    return {key.key: key for key in app.screen.query("FooterKey")}


def assert_footer_fits(app: InstallerApp, state: str) -> None:
    keys = footer_keys(app)
    assert keys, f"{state}: the footer shows keys"
    for key, widget in keys.items():
        assert widget.region.right <= SIZE[0], f"{state}: {key} ends at column {widget.region.right}"
        assert widget.region.y == SIZE[1] - 1, f"{state}: {key} is not on the last row"


def rows(screen: HealthCheckScreen) -> list[list[str]]:
    table = screen.query_one(HealthTable)
    return [[str(cell).strip() for cell in table.get_row_at(index)] for index in range(table.row_count)]


async def open_health(pilot, app: InstallerApp) -> HealthCheckScreen:
    """Open the health check screen from the go-to menu, as an operator does."""
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
    await pilot.press("ctrl+g")
    await wait_until(pilot, lambda: isinstance(app.screen, GoToScreen), "the menu opens")
    menu = app.screen.query_one(OptionList)
    menu.highlighted = menu.get_option_index("checks")
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, HealthCheckScreen), "the health check screen shows")
    screen = app.screen
    await app.workers.wait_for_complete()
    await pilot.pause()
    return screen


async def check_all(pilot, app: InstallerApp, screen: HealthCheckScreen, presses: tuple[str, ...] = ()) -> None:
    await pilot.press("f8")
    await wait_until(pilot, lambda: isinstance(app.screen, StartCheckDialog), "the check dialog shows")
    await pilot.press(*presses, "enter")
    await wait_until(pilot, lambda: not screen.job_running and bool(screen.result), "the check ends")
    await pilot.pause()


async def test_problems_first_and_overall_status():
    client = HealthCheckFakeClient(findings=FINDINGS)
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_health(pilot, app)
        assert "No check yet" in shown(app, "#health-status")

        await check_all(pilot, app, screen)

        assert client.calls_of("CheckQingCloud") == [{"nodes": "all", "verbose": "1"}]
        assert "Platform status: Abnormal" in shown(app, "#health-status")
        assert "check j-fake0001 (newest)" in shown(app, "#health-status")
        assert "Abnormal 1, Unknown 1, Normal 26" in shown(app, "#health-message")

        table_rows = rows(screen)
        assert len(table_rows) == SERVICE_COUNT
        assert table_rows[0] == ["pek3ar01n03", "vg", "vgateway", "Abnormal", "failed (exit 3)"]
        assert table_rows[1] == ["", "", "keepalived", "Normal", "active"], "the node's other services follow"
        assert table_rows[2] == ["pek3br01n04", "hyper-repl", "libvirtd", "Unknown", "check timed out after 10 s"]
        assert table_rows[4][0] == "pek3ar01n01", "then the nodes without a problem, by hostname"

        table = screen.query_one(HealthTable)
        assert table.get_row_at(0)[3].style.bold, "the Abnormal row is highlighted"
        assert table.get_row_at(2)[3].style.bold, "the Unknown row is highlighted"
        assert not table.get_row_at(1)[2].style, "a Normal row is plain"
        assert "pek3ar01n03 (vg, zone pek3a) vgateway: Abnormal. failed (exit 3)" in shown(app, "#health-detail")


async def test_filter_narrows_rows():
    client = HealthCheckFakeClient(findings=FINDINGS)
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_health(pilot, app)
        await check_all(pilot, app, screen)

        filter_input = screen.query_one("#health-filter", Input)
        filter_input.focus()
        await pilot.press(*"libvirt")
        await pilot.pause()
        assert [row[2] for row in rows(screen)] == ["libvirtd"] * 7, "one row per hyper node"
        assert rows(screen)[0][3] == "Unknown"

        filter_input.value = "pek3ar01n03"
        await pilot.pause()
        assert [row[2] for row in rows(screen)] == ["vgateway", "keepalived"], "a host keeps all its services"

        filter_input.value = "no-such-thing"
        await pilot.pause()
        assert rows(screen) == []
        assert "No service matches the filter." in shown(app, "#health-detail")

        filter_input.value = ""
        await pilot.press("f7")
        await pilot.pause()
        assert screen.query_one("#health-not-normal", Checkbox).value
        assert [(row[0], row[2]) for row in rows(screen)] == [("pek3ar01n03", "vgateway"), ("pek3br01n04", "libvirtd")]

        filter_input.value = "pek3b"
        await pilot.pause()
        assert [(row[0], row[2]) for row in rows(screen)] == [("pek3br01n04", "libvirtd")]

        await pilot.press("f7")
        await pilot.pause()
        assert len(rows(screen)) == 5 * 2, "pek3b's five nodes, two services each"


async def test_dialog_sends_nodes_and_verbose():
    client = HealthCheckFakeClient(findings=FINDINGS)
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_health(pilot, app)
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, StartCheckDialog), "the check dialog shows")
        dialog = app.screen
        assert dialog.query_one("#check-nodes", SelectionList).option_count == 13, "the nodes with a role"
        assert_footer_fits(app, "the check dialog")

        # Untick pek3ar01n01 and pek3ar01n02, then clear "list every service".
        await pilot.press("space", "down", "space", "tab", "space", "enter")
        await wait_until(pilot, lambda: not screen.job_running and bool(screen.result), "the check ends")
        await pilot.pause()

        sent = client.calls_of("CheckQingCloud")
        assert len(sent) == 1
        assert sent[0]["verbose"] == "0"
        assert sent[0]["nodes"].split(",")[:2] == ["pek3ar01n03", "pek3ar01n04"]
        assert len(sent[0]["nodes"].split(",")) == 11
        assert [(row[0], row[2]) for row in rows(screen)] == [("pek3ar01n03", "vgateway"), ("pek3br01n04", "libvirtd")]
        assert "(only services that are not Normal were listed)" in shown(app, "#health-message")


async def test_job_log_while_check_runs():
    client = HealthCheckFakeClient(findings=FINDINGS)
    client.hold_at_status = "step1"
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_health(pilot, app)
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, StartCheckDialog), "the check dialog shows")
        await pilot.press("enter")
        job_log = screen.query_one("#health-job-log", JobLog)
        await wait_until(pilot, lambda: "[pek3ar01n01] check_services: started" in job_log.lines,
                         "the job's log shows")

        assert job_log.display
        assert not screen.query_one(HealthTable).display
        assert "CheckQingCloud job j-fake0001: step 2 of 2, check_services" in shown(app, "#health-message")
        assert footer_keys(app)["f8"].has_class("-disabled")
        assert_footer_fits(app, "a check runs")

        client.paused = False
        await wait_until(pilot, lambda: not screen.job_running and bool(screen.result), "the check ends")
        await pilot.pause()
        assert screen.query_one(HealthTable).display
        assert not job_log.display
        assert "Check j-fake0001 finished: Abnormal 1, Unknown 1, Normal 26. ^N shows its log." in shown(
            app, "#health-message")

        await pilot.press("ctrl+n")
        await pilot.pause()
        assert job_log.display
        assert "CheckQingCloud j-fake0001 successful" in job_log.lines
        assert_footer_fits(app, "the job log after the check")


async def test_history_opens_earlier_check():
    client = HealthCheckFakeClient()
    older = client.record_check({})
    newer = client.record_check(FINDINGS)
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_health(pilot, app)
        assert "Platform status: Abnormal" in shown(app, "#health-status")
        assert newer in shown(app, "#health-status")

        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, RunHistoryScreen), "the checks are listed")
        history = app.screen.query_one(DataTable)
        assert [str(history.get_row_at(index)[0]).strip() for index in range(history.row_count)] == [
            f"*{newer}", older]
        assert client.calls_of("DescribeJobs")[-1] == {"job_action": "CheckQingCloud", "limit": 100}
        assert str(history.get_row_at(0)[3]).strip() == "Abnormal; Normal 26, Abnormal 1, Unknown 1"
        assert str(history.get_row_at(1)[3]).strip() == "Normal; Normal 28"

        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: older in shown(app, "#health-status"), "the earlier check shows")

        assert "Platform status: Normal" in shown(app, "#health-status")
        assert "(earlier; F6 lists them)" in shown(app, "#health-status")
        assert {"job_id": older} in client.calls_of("GetQingCloudCheckResult")
        assert {row[3] for row in rows(screen)} == {"Normal"}


@pytest.mark.parametrize(("presses", "suffix"), [(0, ".md"), (1, ".json"), (2, ".xml"), (3, ".html")])
async def test_export_writes_report(tmp_path, presses, suffix):
    client = HealthCheckFakeClient()
    job_id = client.record_check(FINDINGS)
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_health(pilot, app)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportReportDialog), "the export dialog shows")
        path_input = app.screen.query_one("#export-path", Input)
        await pilot.press(*["down"] * presses)
        await pilot.pause()
        assert path_input.value.endswith(f"qingcloud-check-{job_id}{suffix}")

        target = tmp_path / f"check{suffix}"
        path_input.value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "Report written to" in shown(app, "#health-message"), "the report is written")

        text = target.read_text(encoding="utf-8")
        assert "vgateway" in text
        assert "libvirtd" in text
        assert "pek3ar01n03" in text
        if suffix == ".json":
            report = json.loads(text)
            assert report["check"]["qingcloud_status"] == "Abnormal"
        if suffix == ".xml":
            ElementTree.fromstring(text)
        assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_footer_fits_every_state(lang):
    client = HealthCheckFakeClient(findings=FINDINGS)
    app = make_app(client, lang=lang)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_health(pilot, app)
        assert_footer_fits(app, "no check yet")

        await check_all(pilot, app, screen)
        assert_footer_fits(app, "a result")
        assert {"f6", "f7", "f8", "ctrl+o"} <= set(footer_keys(app))

        screen.query_one("#health-filter", Input).focus()
        await pilot.pause()
        assert_footer_fits(app, "typing a filter")

        await pilot.press("ctrl+n")
        await pilot.pause()
        assert_footer_fits(app, "the job log")

        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportReportDialog), "the export dialog shows")
        assert_footer_fits(app, "the export dialog")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the dialog closes")

        widget_ids = ("#health-status", "#health-message", "#health-filter", "#health-not-normal", "#health-detail")
        for widget_id in widget_ids:
            region = screen.query_one(widget_id).region
            assert region.height > 0, f"{widget_id} has no rows"
            assert region.right <= SIZE[0], f"{widget_id} ends right of the screen"
            assert region.bottom <= SIZE[1] - 1, f"{widget_id} reaches into the footer"


async def test_chinese_status_words():
    client = HealthCheckFakeClient(findings=FINDINGS)
    app = make_app(client, lang="zh_CN")

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_health(pilot, app)
        await check_all(pilot, app, screen)

        assert "平台状态：异常" in shown(app, "#health-status")
        assert "异常 1, 未知 1, 正常 26" in shown(app, "#health-message")
        assert [row[3] for row in rows(screen)[:3]] == ["异常", "正常", "未知"]
        assert footer_keys(app)["f7"].description == "仅看非正常"


async def test_lab_stopped_service_comes_first(tmp_path):
    engine = Engine(tmp_path / "lab-state")
    session = LabSession(engine, speed=100)

    async def connect() -> LocalClient:
        await session.start()
        client = LocalClient(engine, description="lab")
        await deploy_lab_platform(client, LabSession.sample_config_location(engine))
        stop_service(session.lab.node_root("pek3ar01n02"), "cassandra")
        return client

    async def disconnect() -> None:
        await session.stop()
        await engine.stop()

    app = InstallerApp(connect, lang="en", disconnect=disconnect, poll_interval=0.1)
    app.animation_level = "none"

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the lab is deployed", timeout=120)
        screen = await open_health(pilot, app)
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, StartCheckDialog), "the check dialog shows")
        assert app.screen.query_one("#check-nodes", SelectionList).option_count == 13
        await pilot.press("enter")
        await wait_until(pilot, lambda: not screen.job_running and bool(screen.result), "the lab's check ends",
                         timeout=60)
        await pilot.pause()

        assert "Platform status: Abnormal" in shown(app, "#health-status")
        first = rows(screen)[0]
        assert first[:4] == ["pek3ar01n02", "ks-vm", "cassandra", "Abnormal"]
        assert all(row[3] == "Normal" for row in rows(screen)[1:]), "every other service runs"
        assert "Abnormal 1" in shown(app, "#health-message")
