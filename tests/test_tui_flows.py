"""What an operator sees at an 80x24 console: connect, overview, load a configuration, deploy.

The engine is the scripted FakeClient; the app is the real one, driven by Pilot.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, SelectionList, Static

from tests.tui_fakes import FakeClient, make_app, wait_until
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.configuration import ConfigurationScreen
from tui.screens.deploy import DeployScreen
from tui.screens.overview import OverviewScreen
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.job_log import JobLog
from tui.widgets.platform_line import PlatformLine
from tui.widgets.step_list import StepList

SIZE = (80, 24)
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED_RAW = FIXTURES / "config-qingcloud.seed-raw.txt"
SEED_JSON = FIXTURES / "config-qingcloud.seed.json"

ROLE_NODE_IDS = [f"n-pek3a01r{slot:02d}" for slot in range(1, 9)] + [f"n-pek3b01r{slot:02d}" for slot in range(1, 6)]


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def text(app: InstallerApp, selector: str) -> str:
    """Return the plain text a Static of the current screen shows."""
    return str(app.screen.query_one(selector, Static).render())


def footer_keys(app: InstallerApp) -> dict[str, object]:
    return {key.key: key for key in app.screen.query("FooterKey")}


async def connected(pilot, app: InstallerApp) -> None:
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview replaces the connecting screen")


async def open_configuration(pilot, app: InstallerApp, path: Path) -> ConfigurationScreen:
    await connected(pilot, app)
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(app.screen, ConfigurationScreen), "the configuration screen shows")

    app.screen.query_one("#config-path", Input).value = str(path)
    await pilot.press("enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app.screen


async def open_deploy(pilot, app: InstallerApp) -> DeployScreen:
    await connected(pilot, app)
    await pilot.press("f5")
    await wait_until(pilot, lambda: isinstance(app.screen, DeployScreen), "the deploy screen shows")
    await wait_until(pilot, lambda: app.screen.query_one("#deploy-nodes", SelectionList).option_count > 0,
                     "the deploy screen lists the nodes")
    return app.screen


async def test_overview_shows_platform_zones_nodes():
    client = FakeClient()
    client.config = json.loads(SEED_JSON.read_text())["config"]
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await wait_until(pilot, lambda: app.screen.query_one("#nodes", DataTable).row_count > 0, "nodes are listed")

        zones = app.screen.query_one("#zones", DataTable)
        assert [str(zones.get_row_at(index)[0]) for index in range(zones.row_count)] == ["pek3a", "pek3b"]
        assert [str(cell) for cell in zones.get_row_at(0)] == ["pek3a", "standard", "2", "2", "4", "8", "0", "no"]
        assert app.screen.query_one("#nodes", DataTable).row_count == 14
        assert "Platform qingcloud in region pek3" in text(app, "#platform-state")

        header = str(app.screen.query_one(PlatformLine).render())
        assert "zones: pek3a, pek3b" in header
        assert "engine: fake engine" in header


async def test_overview_refresh_key_reads_again():
    client = FakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await app.workers.wait_for_complete()
        before = len(client.calls_of("DescribeNodes"))

        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()

        assert len(client.calls_of("DescribeNodes")) == before + 1


async def test_broken_json_shows_line_and_column():
    client = FakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_configuration(pilot, app, SEED_RAW)

        message = text(app, "#load-result")
        assert "line 7, column 26" in message
        assert "Expecting ':' delimiter" in message

        await pilot.press("f7")
        await app.workers.wait_for_complete()

        assert client.calls_of("ValidateQingCloudConfig") == []
        assert client.calls_of("ConfigQingCloud") == []
        assert footer_keys(app)["f7"].has_class("-disabled"), "F7 is dimmed"


async def test_seed_json_shows_zones_and_applies():
    client = FakeClient(configured=False)
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_configuration(pilot, app, SEED_JSON)

        zones = app.screen.query_one("#config-zones", DataTable)
        assert [str(zones.get_row_at(index)[0]) for index in range(zones.row_count)] == ["pek3a", "pek3b"]
        assert [str(cell) for cell in zones.get_row_at(1)] == ["pek3b", "fusion", "0", "2", "3", "5"]
        assert "Valid (warnings: 2)" in text(app, "#load-result")
        assert app.screen.query_one("#issues", DataTable).row_count == 2
        assert not footer_keys(app)["f7"].has_class("-disabled")
        assert client.calls_of("ConfigQingCloud") == []

        await pilot.press("f7")
        await wait_until(pilot, lambda: "Configuration applied" in text(app, "#apply-result"),
                         "the configuration job ends")

        applied = client.calls_of("ConfigQingCloud")
        assert len(applied) == 1
        assert sorted(applied[0]["config"]) == ["pek3a", "pek3b"]
        assert {"job_action": "ConfigQingCloud", "job_id": "j-fake0001"}.items() <= client.calls_of("GetStatus")[-1].items()
        assert "ConfigQingCloud j-fake0001 successful" in app.screen.query_one(JobLog).lines
        assert "zones: pek3a, pek3b" in str(app.screen.query_one(PlatformLine).render())


async def test_issue_detail_shows_whole_message():
    client = FakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_configuration(pilot, app, SEED_JSON)

        app.screen.query_one("#issues", DataTable).focus()
        await pilot.press("down")
        await pilot.pause()

        assert text(app, "#issue-detail") == (
            "pek3b.variables.domain: qingcloud.com is the example domain; check it is the site's")


async def test_engine_text_is_not_markup():
    client = FakeClient()
    client.script("ValidateQingCloudConfig", {
        "action": "ValidateQingCloudConfigResponse", "ret_code": 0, "valid": False, "zones": {},
        "issues": [{"severity": "error", "zone": "pek3b", "path": "pek3b.settings.eip.172.16.80.3[0]",
                    "message": "[b]139.198.10.0/24[/b] overlaps [red]pek3a[/red]"}],
    })
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_configuration(pilot, app, SEED_JSON)

        issues = app.screen.query_one("#issues", DataTable)
        assert str(issues.get_cell_at((0, 1))) == "pek3b.settings.eip.172.16.80.3[0]"
        assert str(issues.get_cell_at((0, 2))) == "[b]139.198.10.0/24[/b] overlaps [red]pek3a[/red]"
        assert text(app, "#issue-detail") == (
            "pek3b.settings.eip.172.16.80.3[0]: [b]139.198.10.0/24[/b] overlaps [red]pek3a[/red]")
        assert "Not valid (errors: 1, warnings: 0)" in text(app, "#load-result")
        assert footer_keys(app)["f7"].has_class("-disabled")


async def test_deploy_success_shows_every_step_done():
    client = FakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_deploy(pilot, app)
        assert "f8" in footer_keys(app)
        assert "f9" not in footer_keys(app)

        await pilot.press("f8")
        await wait_until(pilot, lambda: "finished successfully" in text(app, "#deploy-outcome-text"),
                         "the deploy job ends")

        assert client.calls_of("DeployQingCloud") == [{"node_ids": ROLE_NODE_IDS}]
        steps = screen.query_one(StepList).steps
        assert [step["name"] for step in steps] == [
            "preflight", "distribute_config", "install", "configure_network", "start_services", "verify"]
        assert [step["state"] for step in steps] == ["done"] * 6
        visible_text = str(screen.query_one(StepList).render())
        assert visible_text.count("done") == 6
        assert "Install roles" in visible_text
        assert "Platform qingcloud: status successful, deployed: yes." in text(app, "#deploy-outcome-text")

        await wait_until(pilot, lambda: screen.query_one(JobLog).pending_count == 0, "the log buffer is flushed")
        job_lines = [line for _status, line in client.jobs[-1].lines]
        assert screen.query_one(JobLog).lines[1:] == job_lines, "each log line shows once, in order"
        offsets = [params["offset"] for params in client.calls_of("GetLog") if "job_status" not in params]
        assert offsets[0] == 0
        assert offsets == sorted(set(offsets)), "each GetLog starts where the previous one ended"

        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
        await pilot.press("f5")
        await wait_until(pilot, lambda: app.screen is screen, "the deploy screen shows again")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.query_one(JobLog).lines[1:] == job_lines, "coming back does not repeat the log"
        assert "finished successfully" in text(app, "#deploy-outcome-text")


async def test_deploy_failure_names_step_and_reruns():
    client = FakeClient(deploy_fail_step="install")
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_deploy(pilot, app)

        await pilot.press("f8")
        await wait_until(pilot, lambda: "failed on" in text(app, "#deploy-outcome-text"), "the deploy job fails")

        outcome = text(app, "#deploy-outcome-text")
        assert "Step Install roles (install) failed on: pek3ar01n01." in outcome
        assert "ERROR package qingcloud-hyper failed to install" in outcome
        assert "detail line 2" not in outcome, "only the step's last ten lines are shown"
        assert [step["state"] for step in screen.query_one(StepList).steps][:4] == ["done", "done", "failed", "pending"]
        failed_tail = [params for params in client.calls_of("GetLog") if params.get("job_status") == "step2"]
        assert failed_tail, "the tail comes from GetLog with the failed step's status"
        assert "f9" in footer_keys(app)

        await pilot.press("f9")
        await wait_until(pilot, lambda: "finished successfully" in text(app, "#deploy-outcome-text"),
                         "the re-run ends")

        assert client.calls_of("DeployQingCloud") == [{"node_ids": ROLE_NODE_IDS}] * 2
        assert [step["state"] for step in screen.query_one(StepList).steps] == ["done"] * 6
        assert "f9" not in footer_keys(app)


async def test_deploy_screen_follows_running_job():
    client = FakeClient()
    client.new_job("DeployQingCloud", ["preflight", "install"], {"n-pek3a01r01": "pek3ar01n01"})
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_deploy(pilot, app)
        await wait_until(pilot, lambda: "finished successfully" in text(app, "#deploy-outcome-text"),
                         "the job started elsewhere is followed to its end")

        assert client.calls_of("DeployQingCloud") == []
        assert "j-fake0001" in text(app, "#deploy-outcome-text")


async def test_deploy_sends_only_selected_nodes():
    client = FakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_deploy(pilot, app)
        selection = screen.query_one("#deploy-nodes", SelectionList)
        selection.focus()
        await pilot.press("space")
        await pilot.pause()

        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
        await pilot.press("f5")
        await wait_until(pilot, lambda: app.screen is screen, "the deploy screen shows again")
        await app.workers.wait_for_complete()
        assert "n-pek3a01r01" not in selection.selected, "the node stays unselected after reloading"

        await pilot.press("f8")
        await wait_until(pilot, lambda: client.calls_of("DeployQingCloud") != [], "the deploy is sent")

        assert client.calls_of("DeployQingCloud")[0]["node_ids"] == ROLE_NODE_IDS[1:]


async def test_deploy_before_config_shows_5200():
    client = FakeClient(configured=False)
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_deploy(pilot, app)

        await pilot.press("f8")
        await app.workers.wait_for_complete()
        await pilot.pause()

        panel = screen.query_one(ApiErrorPanel)
        visible_text = str(panel.render())
        assert panel.display
        assert "ret_code 5200" in visible_text
        assert "DeployQingCloud is not possible before ConfigQingCloud has succeeded" in visible_text
        assert "not in the right state" in visible_text
        assert panel.region.bottom <= SIZE[1] - 1, "the error panel is above the footer"
        assert [params for params in client.calls_of("GetStatus") if params.get("job_id")] == []
        assert not footer_keys(app)["f8"].has_class("-disabled"), "F8 can be pressed again"


async def test_busy_error_explained_in_chinese():
    client = FakeClient()
    client.script("DeployQingCloud", {"action": "DeployQingCloudResponse", "ret_code": 5100,
                                      "message": "zone pek3a is held by job j-abcd1234 (ScaleQingCloud)"})
    app = make_app(client, lang="zh_CN")

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_deploy(pilot, app)

        await pilot.press("f8")
        await app.workers.wait_for_complete()
        await pilot.pause()

        visible_text = str(screen.query_one(ApiErrorPanel).render())
        assert "ret_code 为 5100" in visible_text
        assert "zone pek3a is held by job j-abcd1234" in visible_text
        assert "引擎正在该平台或可用区上执行另一个任务" in visible_text


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_footer_fits_80_columns(lang):
    client = FakeClient(deploy_fail_step="verify")
    app = make_app(client, lang=lang)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_deploy(pilot, app)
        await pilot.press("f8")
        await wait_until(pilot, lambda: "f9" in footer_keys(app), "the re-run key appears")

        keys = footer_keys(app)
        assert set(keys) == {"f1", "ctrl+g", "ctrl+r", "f8", "f9", "f10"}
        for key, widget in keys.items():
            assert widget.region.right <= SIZE[0], f"{key} ends at column {widget.region.right}"
            assert widget.region.y == SIZE[1] - 1
        assert keys["f8"].description == ("Start" if lang == "en" else "开始")
        assert keys["f8"].key_display == "F8"

        for widget_id in ("#deploy-nodes", "#deploy-steps", "#deploy-outcome", "#deploy-log"):
            region = screen.query_one(widget_id).region
            assert region.height > 0, f"{widget_id} has no rows"
            assert region.right <= SIZE[0], f"{widget_id} ends right of the screen"
            assert region.bottom <= SIZE[1] - 1, f"{widget_id} reaches into the footer"


async def test_configuration_controls_on_screen():
    app = make_app(FakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_configuration(pilot, app, SEED_JSON)

        path = screen.query_one("#config-path", Input)
        assert path.region.width >= 40
        assert path.cursor_blink is False
        keys = footer_keys(app)
        assert {"f6", "f7", "f10"} <= set(keys)
        assert all(widget.region.right <= SIZE[0] for widget in keys.values())


async def test_connect_failure_offers_retry():
    client = FakeClient()
    attempts = []

    async def connect():
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionRefusedError("lab did not start: port 42201 in use")
        return client

    app = InstallerApp(connect, poll_interval=0.005)

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.failed, "the connection fails")  # type: ignore[attr-defined]

        assert "Could not connect to the engine" in text(app, "#connect-message")
        assert "port 42201 in use" in str(app.screen.query_one(ApiErrorPanel).render())
        assert "ctrl+r" in footer_keys(app)
        assert "f4" not in footer_keys(app), "screens that need the engine stay hidden"

        await pilot.press("ctrl+r")
        await connected(pilot, app)

        assert len(attempts) == 2


async def test_quit_awaits_disconnect():
    client = FakeClient()
    disconnected = asyncio.Event()

    async def connect():
        return client

    async def disconnect():
        disconnected.set()

    app = InstallerApp(connect, disconnect=disconnect, poll_interval=0.005)

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await pilot.press("f10")
        await pilot.pause()

    assert disconnected.is_set()
    assert app.return_code == 0
    assert not client.closed, "with a disconnect callback the app leaves the client to it"


async def test_ctrl_q_does_not_quit():
    client = FakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await pilot.press("ctrl+q")
        await pilot.pause()

        assert app.is_running
        assert isinstance(app.screen, OverviewScreen)
        assert not client.closed


async def test_quit_closes_client_without_disconnect():
    client = FakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await pilot.press("ctrl+c")
        await pilot.pause()

    assert client.closed
    assert app.return_code == 0


async def test_chinese_steps_and_footer():
    app = make_app(FakeClient(), lang="zh_CN")

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_deploy(pilot, app)
        await pilot.press("f8")
        await wait_until(pilot, lambda: "已成功完成" in text(app, "#deploy-outcome-text"), "the deploy job ends")

        visible_text = str(screen.query_one(StepList).render())
        assert "安装角色" in visible_text
        assert "install" in visible_text
        assert visible_text.count("完成") == 6
        assert footer_keys(app)["f1"].description == "帮助"
