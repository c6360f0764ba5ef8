"""The tests screen at an 80x24 console: start a run, read a failed case, rerun it, clean, history, reports.

The engine is PlatformTestsFakeClient (tests/tui_fakes.py): each look at a test
job moves it one step on, and each case is one step. The last test runs the real
engine beside the lab's simulated nodes.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest
from textual.widgets import DataTable, Input, OptionList, SelectionList, Static

from engine.client import LocalClient
from engine.engine import Engine
from engine.lab.check_controls import set_test_failure
from engine.lab.session import LabSession
from tests.tui_fakes import PlatformTestsFakeClient, deploy_lab_platform, error_response, make_app, wait_until
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.goto import GoToScreen
from tui.screens.overview import OverviewScreen
from tui.screens.platform_tests import PlatformTestsScreen
from tui.screens.platform_tests_start import StartTestsDialog
from tui.screens.report_export import ExportReportDialog
from tui.screens.run_history import RunHistoryScreen
from tui.screens.test_cases_table import CaseTable
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.job_log import JobLog
from tui.wizard.dialogs import ConfirmDialog

SIZE = (80, 24)
CASES = ["vm-instance-lifecycle", "lb-vxnet", "eip-associate", "security-group"]


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


def table_rows(screen: PlatformTestsScreen) -> dict[str, list[str]]:
    table = screen.query_one(CaseTable)
    return {str(table.get_row_at(index)[0]).strip(): [str(cell).strip() for cell in table.get_row_at(index)]
            for index in range(table.row_count)}


def case_log(screen: PlatformTestsScreen) -> JobLog:
    return screen.query_one("#tests-case-log", JobLog)


async def open_tests(pilot, app: InstallerApp) -> PlatformTestsScreen:
    """Open the tests screen from the go-to menu, as an operator does."""
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
    await pilot.press("ctrl+g")
    await wait_until(pilot, lambda: isinstance(app.screen, GoToScreen), "the menu opens")
    menu = app.screen.query_one(OptionList)
    menu.highlighted = menu.get_option_index("tests")
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, PlatformTestsScreen), "the tests screen shows")
    screen = app.screen
    await app.workers.wait_for_complete()
    await pilot.pause()
    return screen


async def open_start_dialog(pilot, app: InstallerApp) -> StartTestsDialog:
    await pilot.press("f8")
    await wait_until(pilot, lambda: isinstance(app.screen, StartTestsDialog), "the start dialog shows")
    return app.screen


async def run_to_end(pilot, app: InstallerApp, screen: PlatformTestsScreen, description: str) -> None:
    await wait_until(pilot, lambda: not screen.job_running and "finished" in shown(app, "#tests-message"), description)
    await wait_until(pilot, lambda: case_log(screen).pending_count == 0, "the case log is written")


async def test_failed_case_shows_its_log_and_reruns():
    client = PlatformTestsFakeClient(failing=("lb-vxnet",))
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(pilot, app)
        assert "No test run yet" in shown(app, "#tests-run")

        await open_start_dialog(pilot, app)
        await pilot.press("enter")
        await run_to_end(pilot, app, screen, "the test run ends")

        assert client.calls_of("TestQingCloud") == [{"mode": "all"}], "every case: no tasks"
        rows = table_rows(screen)
        assert list(rows) == CASES
        assert rows["lb-vxnet"][1] == "failed !"
        assert rows["vm-instance-lifecycle"][1] == "successful"
        assert rows["lb-vxnet"][4] == "1:35", "the time from start to end"
        assert "failed 1, successful 3" in shown(app, "#tests-run")
        assert "failed cases: lb-vxnet. F9 reruns them." in shown(app, "#tests-message")

        table = screen.query_one(CaseTable)
        failed_cell = table.get_row_at(CASES.index("lb-vxnet"))[0]
        passed_cell = table.get_row_at(CASES.index("eip-associate"))[0]
        assert failed_cell.style.bold, "the failed row is highlighted"
        assert not passed_cell.style, "a passed row is plain"

        assert table.highlighted_test == "lb-vxnet", "the failed case is highlighted"
        assert "lb-vxnet: ERROR listener did not answer on port 80 within 60 s" in case_log(screen).lines
        assert "Log of lb-vxnet, try 1" in str(case_log(screen).border_title)
        assert {"task": "lb-vxnet", "job_id": "j-fake0001"} in client.calls_of("GetQingCloudTestCasesLog")

        assert "f9" in footer_keys(app)
        await pilot.press("f9")
        await run_to_end(pilot, app, screen, "the rerun ends")

        assert client.calls_of("RerunQingCloudTestCase") == [{"tasks": "lb-vxnet"}]
        rows = table_rows(screen)
        assert rows["lb-vxnet"][1] == "successful"
        assert rows["lb-vxnet"][2] == "2", "the rerun is the second try"
        assert rows["eip-associate"][2] == "1"
        assert "Log of lb-vxnet, try 2" in str(case_log(screen).border_title)
        assert "lb-vxnet: passed" in case_log(screen).lines
        assert "f9" not in footer_keys(app)


async def test_other_case_log_on_highlight():
    client = PlatformTestsFakeClient(failing=("lb-vxnet",))
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(pilot, app)
        await open_start_dialog(pilot, app)
        await pilot.press("enter")
        await run_to_end(pilot, app, screen, "the test run ends")

        screen.query_one(CaseTable).focus()
        await pilot.press("down")
        await wait_until(pilot, lambda: "eip-associate: passed" in case_log(screen).lines,
                         "the log of the case below shows")
        assert "lb-vxnet: ERROR listener did not answer on port 80 within 60 s" not in case_log(screen).lines


async def test_start_dialog_sends_mode_and_cases():
    client = PlatformTestsFakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(pilot, app)
        dialog = await open_start_dialog(pilot, app)
        assert dialog.query_one("#tests-cases", SelectionList).option_count == len(CASES)

        # Modes in order: all, user, res, skip, clean. Then untick the first case.
        await pilot.press("down", "down", "down", "tab", "space", "enter")
        await run_to_end(pilot, app, screen, "the run ends")

        assert client.calls_of("TestQingCloud") == [
            {"mode": "skip", "tasks": "lb-vxnet,eip-associate,security-group"}]
        assert list(table_rows(screen)) == CASES[1:]
        assert "mode skip" in shown(app, "#tests-run")


async def test_start_dialog_needs_a_case():
    client = PlatformTestsFakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_tests(pilot, app)
        dialog = await open_start_dialog(pilot, app)
        dialog.query_one("#tests-cases", SelectionList).deselect_all()
        await pilot.press("enter")
        await pilot.pause()

        assert isinstance(app.screen, StartTestsDialog), "the dialog stays open"
        assert "Select at least one test case" in str(dialog.query_one("#tests-start-problem", Static).render())
        assert client.calls_of("TestQingCloud") == []

        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, PlatformTestsScreen), "the dialog closes")
        assert client.calls_of("TestQingCloud") == []


async def test_live_table_while_case_runs():
    client = PlatformTestsFakeClient()
    client.hold_case = "eip-associate"
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(pilot, app)
        await open_start_dialog(pilot, app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: table_rows(screen).get("eip-associate", ["", ""])[1] == "running",
                         "the third case runs")

        rows = table_rows(screen)
        assert rows["vm-instance-lifecycle"][1] == "successful"
        assert rows["security-group"][1] == "pending"
        assert rows["security-group"][4] == "-", "a pending case has no time yet"
        assert "TestQingCloud job j-fake0001: step 5 of 6, eip-associate" in shown(app, "#tests-message")
        keys = footer_keys(app)
        assert keys["f8"].has_class("-disabled"), "no second run while one runs"
        assert "f9" not in keys
        assert_footer_fits(app, "a case runs")

        client.paused = False
        await run_to_end(pilot, app, screen, "the run ends")
        assert table_rows(screen)["security-group"][1] == "successful"


async def test_clean_asks_then_sends():
    client = PlatformTestsFakeClient()
    client.record_run("all", {name: "successful" for name in CASES})
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(pilot, app)
        assert "f7" in footer_keys(app)

        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question shows")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the question closes")
        assert client.calls_of("CleanQingCloudTest") == []

        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question shows again")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "Clean job j-fake0002 finished" in shown(app, "#tests-message"),
                         "the clean job ends")

        assert client.calls_of("CleanQingCloudTest") == [{}]
        job_log = screen.query_one("#tests-job-log", JobLog)
        assert job_log.display, "the job's log shows during a clean"
        await wait_until(pilot, lambda: job_log.pending_count == 0, "the job log is written")
        assert "CleanQingCloudTest j-fake0002 successful" in job_log.lines
        assert "(^N: case log)" in str(job_log.border_title)

        await pilot.press("ctrl+n")
        await pilot.pause()
        assert case_log(screen).display
        assert not job_log.display


async def test_history_opens_earlier_run():
    client = PlatformTestsFakeClient()
    older = client.record_run("all", {"lb-vxnet": "failed", "eip-associate": "successful"})
    newer = client.record_run("skip", {name: "successful" for name in CASES})
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(pilot, app)
        assert f"Test run {newer} (newest), mode skip" in shown(app, "#tests-run")

        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, RunHistoryScreen), "the runs are listed")
        history = app.screen.query_one(DataTable)
        assert [str(history.get_row_at(index)[0]).strip() for index in range(history.row_count)] == [
            f"*{newer}", older]
        assert str(history.get_row_at(1)[3]).strip() == "mode all; failed 1, successful 1"
        assert client.calls_of("DescribeJobs")[-1] == {"job_action": "TestQingCloud", "limit": 100}
        assert_footer_fits(app, "the history dialog")

        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: older in shown(app, "#tests-run"), "the earlier run shows")
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert "(earlier; F6 lists them), mode all: failed 1, successful 1" in shown(app, "#tests-run")
        assert {"job_id": older} in client.calls_of("GetQingCloudTestCasesStatus")
        rows = table_rows(screen)
        assert list(rows) == ["lb-vxnet", "eip-associate"]
        assert rows["lb-vxnet"][1] == "failed !"
        await wait_until(pilot, lambda: "lb-vxnet: recorded run, failed" in case_log(screen).lines,
                         "the earlier run's case log shows")
        assert "f9" not in footer_keys(app), "only the newest run's cases can be rerun"


async def test_tall_terminal_shows_both_logs():
    client = PlatformTestsFakeClient()
    client.record_run("all", {"lb-vxnet": "failed", "eip-associate": "successful"})
    app = make_app(client)

    async with app.run_test(size=(80, 40)) as pilot:
        screen = await open_tests(pilot, app)
        job_log = screen.query_one("#tests-job-log", JobLog)
        await wait_until(pilot, lambda: "lb-vxnet: recorded run, failed" in case_log(screen).lines,
                         "the failed case's log shows")

        assert case_log(screen).display
        assert job_log.display
        assert job_log.region.height >= 4
        assert "ctrl+n" not in screen.active_bindings, "no key to switch when both logs show"
        assert str(job_log.border_title) == "Job log"
        assert str(case_log(screen).border_title) == "Log of lb-vxnet, try 1"


@pytest.mark.parametrize(("presses", "suffix"), [(0, ".md"), (1, ".json"), (2, ".xml"), (3, ".html")])
async def test_export_writes_report(tmp_path, presses, suffix):
    client = PlatformTestsFakeClient()
    run_id = client.record_run("all", {"lb-vxnet": "failed", "eip-associate": "successful"})
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_tests(pilot, app)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportReportDialog), "the export dialog shows")
        dialog = app.screen
        path_input = dialog.query_one("#export-path", Input)
        await pilot.press(*["down"] * presses)
        await pilot.pause()
        assert path_input.value.endswith(f"qingcloud-test-{run_id}{suffix}"), "the name follows the format"
        assert_footer_fits(app, "the export dialog")

        target = tmp_path / f"report{suffix}"
        path_input.value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "Report written to" in shown(app, "#tests-message"), "the report is written")

        assert str(target) in shown(app, "#tests-message")
        text = target.read_text(encoding="utf-8")
        assert "lb-vxnet" in text
        assert "eip-associate" in text
        assert run_id in text
        if suffix == ".json":
            cases = json.loads(text)["cases"]
            statuses = {case["test"]: case["status"] for case in cases}
            assert statuses == {"lb-vxnet": "failed", "eip-associate": "successful"}
        if suffix == ".xml":
            names = {case.get("name") for case in ElementTree.fromstring(text).iter("testcase")}
            assert {"lb-vxnet", "eip-associate"} <= names
        assert list(tmp_path.iterdir()) == [target], "no temporary file is left behind"


async def test_export_asks_before_replacing(tmp_path):
    client = PlatformTestsFakeClient()
    client.record_run("all", {"lb-vxnet": "successful"})
    target = tmp_path / "report.md"
    target.write_text("old report\n", encoding="utf-8")
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_tests(pilot, app)

        for answer in ("escape", "enter"):
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: isinstance(app.screen, ExportReportDialog), "the export dialog shows")
            app.screen.query_one("#export-path", Input).value = str(target)
            await pilot.pause()
            assert "exists" in str(app.screen.query_one("#export-state", Static).render())
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the replace question shows")
            await pilot.press(answer)
            await wait_until(pilot, lambda: isinstance(app.screen, PlatformTestsScreen), "the dialogs close")
            await app.workers.wait_for_complete()
            await pilot.pause()
            if answer == "escape":
                assert target.read_text(encoding="utf-8") == "old report\n", "a refused replace keeps the file"

        assert "lb-vxnet" in target.read_text(encoding="utf-8")
        assert f"Report written to {target}" in shown(app, "#tests-message")


async def test_export_rejects_missing_directory(tmp_path):
    client = PlatformTestsFakeClient()
    client.record_run("all", {"lb-vxnet": "successful"})
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_tests(pilot, app)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportReportDialog), "the export dialog shows")
        missing = tmp_path / "no-such-directory" / "report.md"
        app.screen.query_one("#export-path", Input).value = str(missing)
        await pilot.press("enter")
        await pilot.pause()

        assert isinstance(app.screen, ExportReportDialog), "the dialog stays open"
        assert f"The directory {missing.parent} does not exist." in str(
            app.screen.query_one("#export-state", Static).render())
        assert list(tmp_path.iterdir()) == []


async def test_engine_refusal_shows_in_panel():
    client = PlatformTestsFakeClient()
    client.script("GetQingCloudTestCasesStatus", error_response(
        "GetQingCloudTestCasesStatus", 5200, "GetQingCloudTestCasesStatus is not available in this version"))
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(pilot, app)

        panel = screen.query_one(ApiErrorPanel)
        assert panel.display
        assert "ret_code 5200" in str(panel.render())
        assert "not available in this version" in str(panel.render())


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_footer_fits_every_state(lang):
    client = PlatformTestsFakeClient(failing=("lb-vxnet",))
    app = make_app(client, lang=lang)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(pilot, app)
        assert_footer_fits(app, "no run yet")

        await open_start_dialog(pilot, app)
        assert_footer_fits(app, "the start dialog")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not screen.job_running and "f9" in footer_keys(app), "the run ends")
        assert_footer_fits(app, "a run with a failed case")
        assert {"f6", "f7", "f8", "f9", "ctrl+o"} <= set(footer_keys(app))
        assert footer_keys(app)["f9"].description == ("Rerun failed" if lang == "en" else "重跑失败")

        await pilot.press("ctrl+n")
        await pilot.pause()
        assert_footer_fits(app, "the job log")

        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the clean question shows")
        assert_footer_fits(app, "the clean question")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the question closes")

        for widget_id in ("#tests-run", "#tests-message", "#tests-cases", "#tests-job-log"):
            region = screen.query_one(widget_id).region
            assert region.height > 0, f"{widget_id} has no rows"
            assert region.bottom <= SIZE[1] - 1, f"{widget_id} reaches into the footer"


async def test_chinese_modes_and_descriptions():
    client = PlatformTestsFakeClient(failing=("lb-vxnet",))
    app = make_app(client, lang="zh_CN")

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(pilot, app)
        dialog = await open_start_dialog(pilot, app)

        modes = dialog.query_one("#tests-mode", OptionList)
        assert "准备测试用户和测试资源，然后运行用例" in str(modes.get_option_at_index(0).prompt)
        assert "清除测试用户和测试资源，不运行用例" in str(modes.get_option_at_index(4).prompt)
        cases = dialog.query_one("#tests-cases", SelectionList)
        assert "测试vxnet负载均衡功能" in str(cases.get_option_at_index(1).prompt)

        await pilot.press("enter")
        await wait_until(pilot, lambda: not screen.job_running and "f9" in footer_keys(app), "the run ends")
        rows = table_rows(screen)
        assert rows["lb-vxnet"][1] == "失败 !"
        assert rows["lb-vxnet"][5] == "测试vxnet负载均衡功能"
        assert "失败的用例：lb-vxnet" in shown(app, "#tests-message")


async def test_lab_failed_case_reruns(tmp_path):
    engine = Engine(tmp_path / "lab-state")
    session = LabSession(engine, speed=100)

    async def connect() -> LocalClient:
        await session.start()
        client = LocalClient(engine, description="lab")
        await deploy_lab_platform(client, LabSession.sample_config_location(engine))
        # The runner is the first ks-vm node; the case fails on its next run only.
        set_test_failure(session.lab.node_root("pek3ar01n01"), "lb-vxnet")
        return client

    async def disconnect() -> None:
        await session.stop()
        await engine.stop()

    app = InstallerApp(connect, lang="en", disconnect=disconnect, poll_interval=0.1)
    app.animation_level = "none"

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the lab is deployed", timeout=120)
        screen = await open_tests(pilot, app)
        dialog = await open_start_dialog(pilot, app)
        assert dialog.query_one("#tests-cases", SelectionList).option_count == 12
        await pilot.press("enter")
        await wait_until(pilot, lambda: (not screen.job_running
                                         and "failed cases: lb-vxnet" in shown(app, "#tests-message")),
                         "the lab's test run ends", timeout=60)

        rows = table_rows(screen)
        assert len(rows) == 12
        assert rows["lb-vxnet"][1] == "failed !"
        assert [name for name, row in rows.items() if row[1] != "successful"] == ["lb-vxnet"]
        await wait_until(pilot, lambda: bool(case_log(screen).lines), "the failed case's log shows")
        assert "Log of lb-vxnet, try 1" in str(case_log(screen).border_title)

        await pilot.press("f9")
        await wait_until(pilot, lambda: not screen.job_running and table_rows(screen)["lb-vxnet"][1] == "successful",
                         "the lab's rerun ends", timeout=60)
        assert table_rows(screen)["lb-vxnet"][2] == "2"
        assert "f9" not in footer_keys(app)
