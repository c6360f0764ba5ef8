"""The configuration wizard against the real lab: the reference's pek3b typed in from scratch, then applied.

The lab's nodes are simulated over SSH on loopback and registered through the
real engine, which validates and applies what the wizard builds.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.client import LocalClient
from engine.engine import Engine
from engine.lab.session import LabSession
from tests.tui_fakes import fill_pek3b_by_keys, wait_until
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.configuration import ConfigurationScreen
from tui.screens.overview import OverviewScreen

SIZE = (80, 24)
SEED_CONFIG = json.loads((Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json").read_text())[
    "config"]


def fresh_lab_app(tmp_path: Path) -> InstallerApp:
    """Build the app on a lab whose nodes are registered and nothing is configured, with no file offered."""
    engine = Engine(tmp_path / "lab-state")
    session = LabSession(engine, speed=100)

    async def connect() -> LocalClient:
        await session.start()
        return LocalClient(engine, description="lab")

    async def disconnect() -> None:
        await session.stop()
        await engine.stop()

    app = InstallerApp(connect, lang="en", disconnect=disconnect, poll_interval=0.1)
    app.animation_level = "none"
    return app


async def test_lab_pek3b_typed_from_scratch_applies(tmp_path):
    app = fresh_lab_app(tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the lab is up", timeout=60)
            await pilot.press("f4")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfigurationScreen), "the wizard shows")
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.inventory) >= 13, "the lab's nodes are read")

            await fill_pek3b_by_keys(pilot)
            await wait_until(pilot, lambda: not screen.validation_pending, "the last edit is validated")
            await app.workers.wait_for_complete()
            await pilot.pause()

            assert screen.wizard.config == {"pek3b": SEED_CONFIG["pek3b"]}
            assert str(screen.query_one("#load-result").render()) == "Valid (warnings: 0). Press F7 to apply it."
            files = "\n".join(screen.query_one("#review-files").lines)
            assert "=== zone pek3b: settings.pek3b.yaml ===" in files
            assert "+    sub_roles: hyper,seed,vbr,snapshot" in files, "the diff against the unconfigured lab"

            await pilot.press("f7")
            await wait_until(pilot, lambda: "Configuration applied" in str(screen.query_one("#apply-result").render()),
                             "the configuration job ends", timeout=60)

            described = await app.client.call("DescribeQingCloud")
            assert described["qingcloud"]["zone_ids"] == ["pek3b"]
            zone = described["qingcloud"]["zone_info"]["pek3b"]
            assert (zone["deploy_mode"], zone["vg_node_num"], zone["hyper_node_num"]) == ("fusion", 2, 3)
    finally:
        set_language("en")
