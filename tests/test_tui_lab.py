"""The wizard against the real lab: simulated nodes over SSH, the real engine in-process.

This is the newcomer's path at an 80x24 console: the lab's sample
configuration is offered, loaded, applied, and the deploy runs live.
"""

from __future__ import annotations

from textual.widgets import Input, Static

from engine.client import LocalClient
from engine.engine import Engine
from engine.lab.session import LabSession
from tests.tui_fakes import wait_until
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.configuration import ConfigurationScreen
from tui.screens.deploy import DeployScreen
from tui.screens.overview import OverviewScreen
from tui.widgets.step_list import StepList

SIZE = (80, 24)
STEP_NAMES = ["preflight", "distribute_config", "install", "configure_network", "start_services", "verify"]


def shown(app: InstallerApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def lab_app(tmp_path, speed: float = 100, **session_options) -> InstallerApp:
    engine = Engine(tmp_path / "lab-state")
    session = LabSession(engine, speed=speed, **session_options)

    async def connect() -> LocalClient:
        await session.start()
        return LocalClient(engine, description="lab")

    async def disconnect() -> None:
        await session.stop()
        await engine.stop()

    app = InstallerApp(connect, lang="en", disconnect=disconnect, poll_interval=0.1,
                       config_path=str(LabSession.sample_config_location(engine)))
    app.animation_level = "none"
    return app


async def load_and_apply(pilot, app: InstallerApp) -> None:
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the lab is up", timeout=30)
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(app.screen, ConfigurationScreen), "the configuration screen shows")

    assert app.screen.query_one("#config-path", Input).value.endswith("config-qingcloud.json")
    await pilot.press("f6")
    await wait_until(pilot, lambda: "Valid" in shown(app, "#load-result"), "the sample validates")
    await pilot.press("f7")
    await wait_until(pilot, lambda: "Configuration applied" in shown(app, "#apply-result"),
                     "the configuration job ends", timeout=30)


async def start_deploy(pilot, app: InstallerApp) -> DeployScreen:
    await pilot.press("f5")
    await wait_until(pilot, lambda: isinstance(app.screen, DeployScreen), "the deploy screen shows")
    screen = app.screen
    await wait_until(pilot, lambda: screen.query_one("#deploy-nodes").option_count == 13,
                     "the 13 nodes with a role are listed")
    await pilot.press("f8")
    return screen


async def test_lab_deploy_shows_every_step_done(tmp_path):
    app = lab_app(tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await load_and_apply(pilot, app)
            screen = await start_deploy(pilot, app)
            await wait_until(pilot, lambda: "finished successfully" in shown(app, "#deploy-outcome-text"),
                             "the lab deploy ends", timeout=120)

            steps = screen.query_one(StepList).steps
            visible = str(screen.query_one(StepList).render())

            assert [step["name"] for step in steps] == STEP_NAMES
            assert [step["state"] for step in steps] == ["done"] * len(STEP_NAMES)
            assert visible.count("done") == len(STEP_NAMES)
            assert "deployed: yes" in shown(app, "#deploy-outcome-text")
    finally:
        set_language("en")


async def test_lab_failure_shows_step_and_rerun_succeeds(tmp_path):
    app = lab_app(tmp_path, failures=[("pek3br01n04", "install")])
    try:
        async with app.run_test(size=SIZE) as pilot:
            await load_and_apply(pilot, app)
            screen = await start_deploy(pilot, app)
            await wait_until(pilot, lambda: "failed on" in shown(app, "#deploy-outcome-text"),
                             "the lab deploy fails", timeout=120)

            outcome = shown(app, "#deploy-outcome-text")
            assert "(install) failed on: pek3br01n04" in outcome
            assert "dpkg returned an error code" in outcome
            assert [step["state"] for step in screen.query_one(StepList).steps][:3] == ["done", "done", "failed"]

            await pilot.press("f9")
            await wait_until(pilot, lambda: "finished successfully" in shown(app, "#deploy-outcome-text"),
                             "the re-run ends", timeout=120)
            states = [step["state"] for step in screen.query_one(StepList).steps]
            assert states == ["skipped", "skipped", "done", "done", "done", "done"]
    finally:
        set_language("en")


async def test_quit_during_deploy_asks_first(tmp_path):
    from tui.screens.quit_confirm import QuitConfirmScreen

    # Slow enough (about 15 s) that the deploy is still running when F10 is pressed.
    app = lab_app(tmp_path, speed=2)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await load_and_apply(pilot, app)
            await start_deploy(pilot, app)
            await pilot.press("f10")
            await wait_until(pilot, lambda: isinstance(app.screen, QuitConfirmScreen), "the quit question shows",
                             timeout=30)

            assert "DeployQingCloud" in shown(app, "#quit-jobs")
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, DeployScreen), "the deploy screen is back",
                             timeout=30)
            assert app.is_running

            await pilot.press("f10")
            await wait_until(pilot, lambda: isinstance(app.screen, QuitConfirmScreen), "the quit question shows",
                             timeout=30)
            await pilot.press("f10")
            await wait_until(pilot, lambda: not app.is_running, "the app quits", timeout=30)
    finally:
        set_language("en")
