"""The components screen at an 80x24 console: a deployed zone, VDI and V2V, the job to its end.

The engine is GrowFakeClient: pek3a and pek3b deployed, pek3a running V2V already.
"""

from __future__ import annotations

import pytest
from textual.widgets import OptionList, SelectionList, Static

from tests.tui_fakes import GrowFakeClient, make_app, screen_lines, tour_app, wait_until
from tests.test_tui_scale import (
    LAB_TIMEOUT,
    assert_footer_fits,
    deployed_lab_app,
    footer_keys,
    open_from_menu,
    open_lab_screen,
)
from tui.app import InstallerApp
from tui.console import unsupported_characters
from tui.i18n import set_language
from tui.screens.components import ComponentsScreen
from tui.widgets.job_panes import JobPanes
from tui.widgets.step_list import StepList

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def shown(app: InstallerApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def grown_client() -> GrowFakeClient:
    client = GrowFakeClient()
    client.components["pek3a"]["v2v"] = 1
    return client


async def open_components(pilot, app: InstallerApp) -> ComponentsScreen:
    await open_from_menu(pilot, app, "components")
    screen = app.screen
    assert isinstance(screen, ComponentsScreen)
    await wait_until(pilot, lambda: screen.query_one("#components-choice", SelectionList).option_count == 2,
                     "the components are listed")
    return screen


def prompts(screen: ComponentsScreen, selector: str) -> list[str]:
    widget = screen.query_one(selector, OptionList)
    return [str(widget.get_option_at_index(index).prompt) for index in range(widget.option_count)]


async def test_deployed_components_shown_per_zone():
    app = make_app(grown_client())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_components(pilot, app)

        assert prompts(screen, "#components-zones") == ["pek3a  deployed: V2V", "pek3b  deployed: -"]
        assert prompts(screen, "#components-choice") == ["VDI  virtual desktops",
                                                          "V2V  (deployed) moving VMs from other platforms"]
        assert screen.query_one("#components-choice", SelectionList).selected == []

        await pilot.press("down")
        await wait_until(pilot, lambda: "(deployed)" not in " ".join(prompts(screen, "#components-choice")),
                         "pek3b's components show")


async def test_vdi_chosen_and_deployed():
    client = grown_client()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_components(pilot, app)
        await pilot.press("f7")
        await pilot.pause()
        assert "Select at least one component" in shown(app, "#components-state")
        assert client.calls_of("DeployQingCloudComponent") == []

        await pilot.press("enter", "space")
        assert screen.query_one("#components-choice", SelectionList).selected == ["vdi"]
        await pilot.press("f7")
        panes = screen.query_one(JobPanes)
        await wait_until(pilot, lambda: "finished successfully" in panes.outcome_text, "the job ends")

        assert client.calls_of("DeployQingCloudComponent") == [
            {"config": {"pek3a": {"variables": {"vdi": {"deploy_vdi": "1"}, "v2v": {"deploy_v2v": "0"}}}}}]
        assert "Deployed in zone pek3a: VDI." in panes.outcome_text
        assert [step["state"] for step in screen.query_one(StepList).steps] == ["done"] * 3
        assert prompts(screen, "#components-zones")[0] == "pek3a  deployed: VDI, V2V"
        assert "(deployed)" in prompts(screen, "#components-choice")[0]


async def test_rejected_request_shows_message():
    client = grown_client()
    client.script("DeployQingCloudComponent", {
        "action": "DeployQingCloudComponentResponse", "ret_code": 5100,
        "message": "zone pek3a is held by job j-busy0001 (ScaleQingCloud)"})
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_components(pilot, app)
        await pilot.press("enter", "space", "f7")
        await wait_until(pilot, lambda: "were not deployed" in shown(app, "#components-state"), "the rejection shows")

        assert "held by job j-busy0001" in str(screen.error_panel.render())
        assert not footer_keys(app)["f7"].has_class("-disabled"), "F7 can be pressed again"


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_footer_fits_every_state(lang):
    app = make_app(grown_client(), lang=lang)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_components(pilot, app)
        assert_footer_fits(app, "choosing")
        assert "f7" in footer_keys(app)

        await pilot.press("enter", "space", "f7")
        panes = screen.query_one(JobPanes)
        await wait_until(pilot, lambda: panes.outcome_text and not screen.job_running, "the job ends")
        assert_footer_fits(app, "finished")
        for selector in ("#components-zones", "#components-choice", "#job-steps", "#job-log"):
            region = screen.query_one(selector).region
            assert region.height > 0, f"{selector} has no rows"
            assert region.bottom <= SIZE[1] - 1, f"{selector} reaches into the footer"
        if lang == "zh_CN":
            assert footer_keys(app)["f7"].description == "部署所选"


async def test_lab_vdi_deployed_in_pek3a(tmp_path):
    app = deployed_lab_app(tmp_path)

    async with app.run_test(size=SIZE) as pilot:
        await open_lab_screen(pilot, app, "components")
        screen = app.screen
        await wait_until(pilot, lambda: screen.query_one("#components-choice", SelectionList).option_count == 2,
                         "the lab's components are listed")
        assert prompts(screen, "#components-zones") == ["pek3a  deployed: -", "pek3b  deployed: -"]

        await pilot.press("enter", "space", "f7")
        panes = screen.query_one(JobPanes)
        await wait_until(pilot, lambda: "finished successfully" in panes.outcome_text, "the lab's job ends",
                         timeout=LAB_TIMEOUT)
        assert prompts(screen, "#components-zones")[0] == "pek3a  deployed: VDI"
        assert [step["name"] for step in screen.query_one(StepList).steps] == [
            "preflight", "install_components", "verify_components"]


async def test_console_job_panes_are_ascii():
    app = tour_app(console=True, client=grown_client())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_components(pilot, app)
        await pilot.press("enter", "space", "f7")
        panes = screen.query_one(JobPanes)
        await wait_until(pilot, lambda: "finished successfully" in panes.outcome_text, "the job ends")

        lines = screen_lines(app)
        bad = sorted(set().union(*(unsupported_characters(line) for line in lines)))
        assert bad == [], f"characters a console font lacks: {bad}"
        assert any("Job j-fake0001: successful" in line for line in lines)
