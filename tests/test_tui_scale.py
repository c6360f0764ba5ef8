"""The scale-out screen at an 80x24 console: zone, roles, check, apply, ScaleQingCloud, routes saved.

The engine is GrowFakeClient: pek3a and pek3b deployed, the spare node
n-test1234 registered without a role.
"""

from __future__ import annotations

import shutil

import pytest
from textual import events
from textual.widgets import DataTable, Input, Log, OptionList, Static, TextArea

from engine.client import LocalClient
from engine.engine import Engine
from engine.lab.session import SCALE_PEK3A_CONFIG, LabSession
from tests.tui_fakes import (
    GrowFakeClient,
    NodeFakeClient,
    deploy_lab_platform,
    make_app,
    wait_until,
    wizard_lab_nodes,
)
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.operations import OPERATIONS
from tui.screens.goto import GoToScreen
from tui.screens.host_keys import HostKeysScreen
from tui.screens.node_add import NodeAddScreen
from tui.screens.overview import OverviewScreen
from tui.screens.scale import ScaleScreen
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.job_panes import JobPanes
from tui.widgets.step_list import StepList
from tui.wizard.dialogs import ConfirmDialog, RoleDialog

SIZE = (80, 24)
SCREEN_KEYS = {"f6", "f7", "f8", "f9"}
#: Seconds the real lab gets to start and deploy its sample, or to run one job, at speed 100.
LAB_TIMEOUT = 120
ROUTES = ["ip route add 10.10.50.0/24 via 172.16.80.100", "ip route add 10.10.51.0/24 via 172.16.80.100"]


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def shown(app: InstallerApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def footer_keys(app: InstallerApp) -> dict[str, object]:
    return {key.key: key for key in app.screen.query("FooterKey")}


def assert_footer_fits(app: InstallerApp, where: str) -> None:
    keys = footer_keys(app)
    assert keys, f"{where}: the footer shows keys"
    for key, widget in keys.items():
        assert widget.region.right <= SIZE[0], f"{where}: {key} ends at column {widget.region.right}"
        assert widget.region.y == SIZE[1] - 1, f"{where}: {key} is not on the last row"


def table_column(app: InstallerApp, selector: str, column: int = 0) -> list[str]:
    table = app.screen.query_one(selector, DataTable)
    return [str(table.get_row_at(row)[column]) for row in range(table.row_count)]


async def open_from_menu(pilot, app: InstallerApp, mode: str) -> None:
    """Open a screen the way an operator does: ctrl+g, arrows down to it, Enter."""
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
    await pilot.press("ctrl+g")
    await wait_until(pilot, lambda: isinstance(app.screen, GoToScreen), "the menu opens")
    position = [operation.mode for operation in OPERATIONS].index(mode)
    await pilot.press(*["down"] * position, "enter")
    await wait_until(pilot, lambda: app.current_mode == mode, f"the {mode} screen opens")


async def open_scale(pilot, app: InstallerApp) -> ScaleScreen:
    await open_from_menu(pilot, app, "scale")
    screen = app.screen
    assert isinstance(screen, ScaleScreen)
    await wait_until(pilot, lambda: screen.query_one("#scale-zones", OptionList).option_count == 2,
                     "the deployed zones are listed")
    return screen


async def choose_pek3a(pilot, app: InstallerApp, screen: ScaleScreen) -> None:
    await pilot.press("f9")
    await wait_until(pilot, lambda: screen.stage_name == "nodes", "the nodes stage shows")
    await wait_until(pilot, lambda: screen.query_one("#scale-nodes", DataTable).row_count > 0, "nodes are listed")


async def give_role(pilot, app: InstallerApp, role_steps_down: int) -> None:
    """Open the role dialog on the highlighted node and pick the role `role_steps_down` below "no role"."""
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, RoleDialog), "the role dialog opens")
    await pilot.press(*["down"] * role_steps_down, "enter")
    await wait_until(pilot, lambda: isinstance(app.screen, ScaleScreen), "the role dialog closes")


async def check_and_apply(pilot, app: InstallerApp, screen: ScaleScreen) -> None:
    await pilot.press("f9")
    await wait_until(pilot, lambda: "F7 applies zone pek3a" in shown(app, "#scale-state"), "the check passes")
    await pilot.press("f7")
    await wait_until(pilot, lambda: "Configuration of zone pek3a applied" in shown(app, "#scale-state"),
                     "the configuration job ends")


async def test_scale_out_zone_to_saved_routes(tmp_path):
    client = GrowFakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_scale(pilot, app)
        zones = screen.query_one("#scale-zones", OptionList)
        assert "pek3a  mode standard  role nodes 8  hyper nodes 4" in str(zones.get_option_at_index(0).prompt)
        assert "Choose the deployed zone" in shown(app, "#scale-state")

        await choose_pek3a(pilot, app, screen)
        assert table_column(app, "#scale-nodes") == ["n-test1234"]
        assert table_column(app, "#scale-nodes", 3) == ["-"], "the spare node has no role yet"
        assert "f9" not in footer_keys(app), "no node joins the zone yet"

        await give_role(pilot, app, 3)
        assert table_column(app, "#scale-nodes", 3) == ["hyper-repl"]
        assert "1 node(s) join zone pek3a: n-test1234" in shown(app, "#scale-state")

        await check_and_apply(pilot, app, screen)
        changes = screen.query_one("#scale-changes", Log).lines
        assert "+ n-test1234 (pek3ar02n01): hyper-repl (hyper)" in changes
        checked = client.calls_of("ValidateQingCloudConfig")[-1]["config"]
        assert list(checked) == ["pek3a"], "only the scaled zone is checked"

        applied = client.calls_of("ConfigQingCloud")
        assert len(applied) == 1
        assert list(applied[0]["config"]) == ["pek3a"], "ConfigQingCloud names the scaled zone only"
        roles = applied[0]["config"]["pek3a"]["settings"]["roles"]
        assert roles["n-test1234"] == {"role": "hyper-repl", "sub_roles": "hyper", "vms": ""}
        assert len(roles) == 9, "the zone's eight nodes keep their roles"
        assert "pek3b" in client.config, "the other zone's configuration stays"
        assert client.calls_of("ScaleQingCloud") == []
        assert footer_keys(app)["f7"].description == "Start"

        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.stage_name == "routes", "the scale-out ends and its routes show")

        assert client.calls_of("ScaleQingCloud") == [{"zone_id": "pek3a", "node_ids": ["n-test1234"]}]
        steps = screen.query_one(StepList).steps
        assert [step["state"] for step in steps] == ["done"] * 7
        assert "refresh_zone" in str(screen.query_one(StepList).render())
        assert "Scale-out job j-fake0002 finished successfully." in shown(app, "#scale-state")
        assert list(screen.query_one("#routes-list", Log).lines) == ROUTES
        path_input = screen.query_one("#routes-path", Input)
        assert path_input.value == "./vbc-routes-pek3a-j-fake0002.txt"

        target = tmp_path / "routes.txt"
        path_input.value = str(target)
        await pilot.press("f6")
        await wait_until(pilot, lambda: target.exists(), "the routes file is written")

        assert target.read_text(encoding="utf-8") == "".join(f"{route}\n" for route in ROUTES)
        assert f"2 route(s) written to {target}." in shown(app, "#routes-state")
        assert [path.name for path in tmp_path.iterdir()] == ["routes.txt"], "no temporary file is left"


async def test_saving_routes_over_a_file_asks_first(tmp_path):
    client = GrowFakeClient()
    app = make_app(client)
    target = tmp_path / "routes.txt"
    target.write_text("keep me\n", encoding="utf-8")

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_scale(pilot, app)
        await choose_pek3a(pilot, app, screen)
        await give_role(pilot, app, 3)
        await check_and_apply(pilot, app, screen)
        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.stage_name == "routes", "the routes show")

        screen.query_one("#routes-path", Input).value = str(target)
        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the overwrite question shows")
        assert str(target) in str(app.screen.query_one(".dialog-title").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the question closes")

        assert target.read_text(encoding="utf-8") == "keep me\n"
        assert "was left as it was" in shown(app, "#routes-state")

        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the overwrite question shows again")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "written to" in shown(app, "#routes-state"), "the file is replaced")
        assert target.read_text(encoding="utf-8") == "".join(f"{route}\n" for route in ROUTES)


async def test_license_limit_2400_shown():
    client = GrowFakeClient(licensed_hyper_nodes=7)
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_scale(pilot, app)
        await choose_pek3a(pilot, app, screen)
        await give_role(pilot, app, 3)
        await check_and_apply(pilot, app, screen)
        await pilot.press("f7")
        await wait_until(pilot, lambda: "did not start" in shown(app, "#scale-state"), "the engine rejects the request")

        panel = screen.query_one(ApiErrorPanel)
        message = str(panel.render())
        assert "ScaleQingCloud failed with ret_code 2400" in message
        assert "licensed hyper nodes exceeded: 8 hyper node(s)" in message
        assert "allows 7" in message
        assert "Activate a license for more hyper nodes (ctrl+l)" in message
        assert panel.region.bottom <= SIZE[1] - 1, "the error is above the footer"
        assert not any(job.job_action == "ScaleQingCloud" for job in client.jobs)
        assert footer_keys(app)["f7"].description == "Start", "F7 can start again after a new license"


async def test_failed_scale_out_reruns():
    client = GrowFakeClient(scale_fail_step="install")
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_scale(pilot, app)
        await choose_pek3a(pilot, app, screen)
        await give_role(pilot, app, 3)
        await check_and_apply(pilot, app, screen)
        await pilot.press("f7")
        panes = screen.query_one(JobPanes)
        await wait_until(pilot, lambda: "failed on" in panes.outcome_text, "the scale-out fails")

        outcome = panes.outcome_text
        assert "Step Install roles (install) failed on: pek3ar02n01." in outcome
        assert "ERROR package qingcloud-hyper failed to install" in outcome
        assert footer_keys(app)["f7"].description == "Re-run"

        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.stage_name == "routes", "the re-run ends")
        assert [params["node_ids"] for params in client.calls_of("ScaleQingCloud")] == [["n-test1234"]] * 2


async def test_lab_file_gives_spare_nodes_roles(tmp_path):
    path = tmp_path / "config-scale-pek3a.json"
    shutil.copyfile(SCALE_PEK3A_CONFIG, path)
    client = GrowFakeClient(nodes=wizard_lab_nodes())
    app = make_app(client)
    app.growth_config_paths = {"ScaleQingCloud": str(path)}

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_scale(pilot, app)
        await choose_pek3a(pilot, app, screen)
        file_input = screen.query_one("#scale-file", Input)
        assert file_input.value == str(path), "the lab's configuration is offered"

        file_input.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "2 node(s) join zone pek3a" in shown(app, "#scale-state"), "the file is read")
        assert table_column(app, "#scale-nodes")[:2] == ["n-test1234", "n-test2345"]

        await check_and_apply(pilot, app, screen)
        applied = client.calls_of("ConfigQingCloud")[0]["config"]["pek3a"]
        assert "172.16.80.14" in applied["settings"]["vbc"]["mgmt_ips"], "the file's whole zone is applied"

        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.stage_name == "routes", "the scale-out ends")
        assert client.calls_of("ScaleQingCloud") == [{"zone_id": "pek3a", "node_ids": ["n-test1234", "n-test2345"]}]


class NodeGrowFakeClient(GrowFakeClient, NodeFakeClient):
    """A grown platform whose fake engine also scans host keys and registers nodes."""


async def test_add_nodes_dialog_registers_new_node():
    client = NodeGrowFakeClient()
    client.hostnames = {("10.20.0.21", 22): "pek3ar02n02"}
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_scale(pilot, app)
        await choose_pek3a(pilot, app, screen)

        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, NodeAddScreen), "the add dialog shows")
        box = app.screen.query_one("#addresses", TextArea)
        app.post_message(events.Paste("10.20.0.21\n"))
        await wait_until(pilot, lambda: box.text == "10.20.0.21\n", "the address is in the box")
        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, HostKeysScreen), "the host key is shown")
        await pilot.press("f9")
        await wait_until(pilot, lambda: app.screen is screen, "the dialog closes")
        await wait_until(pilot, lambda: "Registered 1 node(s): pek3ar02n02" in shown(app, "#scale-state"),
                         "the new node is reported")

        assert table_column(app, "#scale-nodes", 1) == ["pek3ar02n01", "pek3ar02n02"]
        assert len(client.calls_of("AddNodes")) == 1


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_footer_fits_every_stage(lang, tmp_path):
    client = GrowFakeClient(scale_fail_step="verify")
    app = make_app(client, lang=lang)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_scale(pilot, app)
        assert_footer_fits(app, "zone")
        assert SCREEN_KEYS & set(footer_keys(app)) == {"f9"}

        await choose_pek3a(pilot, app, screen)
        assert_footer_fits(app, "nodes without a role")
        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, NodeAddScreen), "the add dialog shows")
        assert_footer_fits(app, "add dialog")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the add dialog closes")

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RoleDialog), "the role dialog opens")
        assert_footer_fits(app, "role dialog")
        await pilot.press("down", "down", "down", "enter")
        await wait_until(pilot, lambda: app.screen is screen, "the role dialog closes")
        assert SCREEN_KEYS & set(footer_keys(app)) == {"f6", "f8", "f9"}
        assert_footer_fits(app, "nodes with a joining node")

        await pilot.press("f9")
        await wait_until(pilot, lambda: "f7" in footer_keys(app), "the check passes")
        assert_footer_fits(app, "check")
        await pilot.press("f7")
        await wait_until(pilot, lambda: footer_keys(app).get("f7") is not None and not screen.job_running,
                         "the configuration is applied")
        assert_footer_fits(app, "run")
        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.job_failed and not screen.job_running, "the scale-out fails")
        assert_footer_fits(app, "failed run")
        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.stage_name == "routes", "the re-run ends")
        assert_footer_fits(app, "routes")
        for selector in ("#routes-list", "#routes-path", "#routes-state"):
            region = screen.query_one(selector).region
            assert region.bottom <= SIZE[1] - 1, f"{selector} reaches into the footer"

        screen.query_one("#routes-path", Input).value = str(tmp_path / "routes.txt")
        await pilot.press("f6")
        await wait_until(pilot, lambda: (tmp_path / "routes.txt").exists(), "the routes are written")
        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the overwrite question shows")
        assert_footer_fits(app, "overwrite question")
        if lang == "zh_CN":
            assert footer_keys(app)["escape"].description == "取消"


# The real lab: simulated nodes over SSH and the engine in-process.

def deployed_lab_app(tmp_path) -> InstallerApp:
    """Return the app over the real lab whose sample configuration is applied and deployed on connect.

    The deploy is set up through the engine, not the screens, which other tests cover. The app
    offers the lab's growth configurations as an app started over the lab would.
    """
    engine = Engine(tmp_path / "lab-state")
    session = LabSession(engine, speed=100)

    async def connect() -> LocalClient:
        await session.start()
        client = LocalClient(engine, description="lab")
        await deploy_lab_platform(client, session.sample_config_path)
        return client

    async def disconnect() -> None:
        await session.stop()
        await engine.stop()

    app = InstallerApp(connect, lang="en", disconnect=disconnect, poll_interval=0.1)
    app.animation_level = "none"
    app.growth_config_paths = {action: str(path) for action, path in LabSession.growth_config_locations(engine).items()}
    return app


async def open_lab_screen(pilot, app: InstallerApp, mode: str) -> None:
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the lab is up and deployed",
                     timeout=LAB_TIMEOUT)
    await open_from_menu(pilot, app, mode)


async def test_lab_scale_out_with_spare_nodes(tmp_path):
    app = deployed_lab_app(tmp_path)

    async with app.run_test(size=SIZE) as pilot:
        await open_lab_screen(pilot, app, "scale")
        screen = app.screen
        await wait_until(pilot, lambda: screen.query_one("#scale-zones", OptionList).option_count == 2,
                         "the deployed zones are listed")
        await choose_pek3a(pilot, app, screen)
        screen.query_one("#scale-file", Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "2 node(s) join zone pek3a: n-test1234, n-test2345" in shown(app, "#scale-state"),
                         "the lab's scale configuration is read")

        await check_and_apply(pilot, app, screen)
        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.stage_name == "routes", "the lab's scale-out ends", timeout=LAB_TIMEOUT)

        assert [step["state"] for step in screen.query_one(StepList).steps] == ["done"] * 7
        assert list(screen.query_one("#routes-list", Log).lines) == ["ip route add 10.10.50.0/24 via 172.16.80.100"]
        target = tmp_path / "routes.txt"
        screen.query_one("#routes-path", Input).value = str(target)
        await pilot.press("f6")
        await wait_until(pilot, lambda: target.exists(), "the routes are saved")
        assert target.read_text(encoding="utf-8") == "ip route add 10.10.50.0/24 via 172.16.80.100\n"
