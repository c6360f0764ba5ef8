"""The new zone screen at an 80x24 console: one zone's configuration applied, then ScaleQingCloudZone.

The engine is GrowFakeClient over the lab's nodes: pek3a and pek3b deployed,
pek3c's six nodes registered without a role.
"""

from __future__ import annotations

import json
import shutil

import pytest
from textual.widgets import Input, Log, SelectionList, Static

from engine.lab.session import ZONE_PEK3C_CONFIG
from tests.tui_fakes import GrowFakeClient, make_app, wait_until, wizard_lab_nodes
from tests.test_tui_scale import (
    LAB_TIMEOUT,
    assert_footer_fits,
    deployed_lab_app,
    footer_keys,
    open_from_menu,
    open_lab_screen,
)
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.new_zone import NewZoneScreen, ZoneDeployScreen
from tui.widgets.job_panes import JobPanes

SIZE = (80, 24)
PEK3C_NODES = [f"n-pek3cr01n{slot}" for slot in range(1, 7)]


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def shown(app: InstallerApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def lab_zone_app(tmp_path, lang: str = "en", **options) -> tuple[InstallerApp, GrowFakeClient]:
    path = tmp_path / "config-zone-pek3c.json"
    shutil.copyfile(ZONE_PEK3C_CONFIG, path)
    client = GrowFakeClient(nodes=wizard_lab_nodes(), **options)
    app = make_app(client, lang=lang)
    app.growth_config_paths = {"ScaleQingCloudZone": str(path)}
    return app, client


async def open_new_zone(pilot, app: InstallerApp) -> NewZoneScreen:
    await open_from_menu(pilot, app, "new_zone")
    screen = app.screen
    assert isinstance(screen, NewZoneScreen)
    return screen


async def load_and_apply(pilot, app: InstallerApp, screen: NewZoneScreen) -> None:
    await pilot.press("f6")
    await wait_until(pilot, lambda: "Valid" in shown(app, "#load-result"), "the zone file validates")
    await pilot.press("f7")
    await wait_until(pilot, lambda: "Zone pek3c is configured" in shown(app, "#apply-result"),
                     "the configuration job ends")


async def test_zone_file_applied_then_zone_deployed(tmp_path):
    app, client = lab_zone_app(tmp_path)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_new_zone(pilot, app)
        assert screen.query_one("#config-path", Input).value.endswith("config-zone-pek3c.json")

        await load_and_apply(pilot, app, screen)
        applied = client.calls_of("ConfigQingCloud")
        assert [list(params["config"]) for params in applied] == [["pek3c"]], "ConfigQingCloud names pek3c only"
        assert {"pek3a", "pek3b", "pek3c"} <= set(client.config), "the deployed zones keep their configuration"
        assert "Press F9 to choose its nodes and deploy it" in shown(app, "#apply-result")
        keys = footer_keys(app)
        assert keys["f9"].description == "Deploy zone"
        assert "f7" not in keys, "the applied zone is not applied again"

        await pilot.press("f9")
        await wait_until(pilot, lambda: isinstance(app.screen, ZoneDeployScreen), "the zone's deploy screen opens")
        deploy = app.screen
        nodes = deploy.query_one("#zone-nodes", SelectionList)
        await wait_until(pilot, lambda: nodes.option_count == 6, "the zone's nodes are listed")
        assert sorted(nodes.selected) == PEK3C_NODES

        await pilot.press("f7")
        await wait_until(pilot, lambda: deploy.routes_job_id != "", "the zone is deployed and its routes show")

        assert client.calls_of("ScaleQingCloudZone") == [{"zone_id": "pek3c", "node_ids": PEK3C_NODES}]
        assert "Zone pek3c is deployed (job j-fake0002)." in shown(app, "#zone-deploy-state")
        routes = list(deploy.query_one("#routes-list", Log).lines)
        assert routes == [f"ip route add 10.30.{index}.0/24 via 172.16.100.{13 + index}" for index in range(6)]

        target = tmp_path / "pek3c-routes.txt"
        deploy.query_one("#routes-path", Input).value = str(target)
        await pilot.press("f6")
        await wait_until(pilot, lambda: target.exists(), "the routes are saved")
        assert target.read_text(encoding="utf-8").splitlines() == routes

        await pilot.press("f8")
        await wait_until(pilot, lambda: "finished successfully" in deploy.query_one(JobPanes).outcome_text
                         or "deployed" in deploy.query_one(JobPanes).outcome_text, "the job's panes show again")
        await pilot.press("f8")
        await wait_until(pilot, lambda: app.screen is screen, "F8 returns to the wizard")


async def test_deployed_or_several_zones_not_applied(tmp_path):
    app, client = lab_zone_app(tmp_path)
    several = tmp_path / "two-zones.json"
    several.write_text(json.dumps({"pek3a": client.config["pek3a"], "pek3c": client.config["pek3a"]}))
    deployed = tmp_path / "pek3a.json"
    deployed.write_text(json.dumps({"pek3a": client.config["pek3a"]}))

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_new_zone(pilot, app)
        path_input = screen.query_one("#config-path", Input)

        path_input.value = str(deployed)
        await pilot.press("f6")
        await wait_until(pilot, lambda: "Valid" in shown(app, "#load-result"), "the file validates")
        await pilot.press("f7")
        await wait_until(pilot, lambda: "Zone pek3a is deployed already" in shown(app, "#load-result"),
                         "the deployed zone is named")

        screen.wizard.config.clear()
        path_input.value = str(several)
        await pilot.press("f6")
        await wait_until(pilot, lambda: "Valid" in shown(app, "#load-result"), "the file validates")
        await pilot.press("f7")
        await wait_until(pilot, lambda: "the wizard has 2 zone(s): pek3a, pek3c" in shown(app, "#load-result"),
                         "the extra zone is named")

        assert client.calls_of("ConfigQingCloud") == []


async def test_zone_deploy_beyond_license_rejected(tmp_path):
    app, client = lab_zone_app(tmp_path, licensed_hyper_nodes=7)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_new_zone(pilot, app)
        await load_and_apply(pilot, app, screen)
        await pilot.press("f9")
        await wait_until(pilot, lambda: isinstance(app.screen, ZoneDeployScreen), "the zone's deploy screen opens")
        deploy = app.screen
        await wait_until(pilot, lambda: deploy.query_one("#zone-nodes", SelectionList).option_count == 6,
                         "the zone's nodes are listed")
        await pilot.press("f7")
        await wait_until(pilot, lambda: "did not start" in shown(app, "#zone-deploy-state"), "the engine rejects the request")

        message = str(deploy.error_panel.render())
        assert "ScaleQingCloudZone failed with ret_code 2400" in message
        assert "Activate a license for more hyper nodes (ctrl+l)" in message
        assert footer_keys(app)["f7"].description == "Start"


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_footer_fits_every_state(lang, tmp_path):
    app, client = lab_zone_app(tmp_path, lang)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_new_zone(pilot, app)
        assert_footer_fits(app, "start step")
        await pilot.press("f6")
        await wait_until(pilot, lambda: screen.valid, "the zone file validates")
        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.can_deploy_zone(), "the zone is applied")
        assert_footer_fits(app, "review after applying")

        await pilot.press("f9")
        await wait_until(pilot, lambda: isinstance(app.screen, ZoneDeployScreen), "the zone's deploy screen opens")
        deploy = app.screen
        await wait_until(pilot, lambda: deploy.query_one("#zone-nodes", SelectionList).option_count == 6,
                         "the zone's nodes are listed")
        assert_footer_fits(app, "zone deploy")
        await pilot.press("f7")
        await wait_until(pilot, lambda: deploy.routes_job_id != "", "the zone is deployed")
        assert_footer_fits(app, "routes")
        if lang == "zh_CN":
            assert footer_keys(app)["f6"].description == "保存"
        for selector in ("#routes-list", "#routes-path"):
            assert deploy.query_one(selector).region.bottom <= SIZE[1] - 1, f"{selector} reaches into the footer"


async def test_lab_pek3c_configured_and_deployed(tmp_path):
    app = deployed_lab_app(tmp_path)

    async with app.run_test(size=SIZE) as pilot:
        await open_lab_screen(pilot, app, "new_zone")
        screen = app.screen
        assert screen.query_one("#config-path", Input).value.endswith("config-zone-pek3c.json")
        await load_and_apply(pilot, app, screen)

        await pilot.press("f9")
        await wait_until(pilot, lambda: isinstance(app.screen, ZoneDeployScreen), "the zone's deploy screen opens")
        deploy = app.screen
        await wait_until(pilot, lambda: deploy.query_one("#zone-nodes", SelectionList).option_count == 6,
                         "the lab's pek3c nodes are listed")
        await pilot.press("f7")
        await wait_until(pilot, lambda: deploy.routes_job_id != "", "the lab's pek3c is deployed",
                         timeout=LAB_TIMEOUT)
        assert list(deploy.query_one("#routes-list", Log).lines) == [
            f"ip route add 10.30.{index}.0/24 via 172.16.100.{13 + index}" for index in range(4)]
