"""The upgrade screen at an 80x24 console: packages and why some cannot be used, the plan, the job.

The engine is GrowFakeClient at version 4.3.0 with the lab's three packages
and a file whose name is not a package name.
"""

from __future__ import annotations

import pytest
from textual.widgets import OptionList, Static

from tests.tui_fakes import DAMAGED_PACKAGE, GOOD_PACKAGE, OLD_PACKAGE, GrowFakeClient, make_app, wait_until
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
from tui.screens.upgrade import UpgradeScreen
from tui.widgets.job_panes import JobPanes
from tui.widgets.step_list import StepList
from tui.wizard.dialogs import ConfirmDialog

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def shown(app: InstallerApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def open_upgrade(pilot, app: InstallerApp) -> UpgradeScreen:
    await open_from_menu(pilot, app, "upgrade")
    screen = app.screen
    assert isinstance(screen, UpgradeScreen)
    await wait_until(pilot, lambda: screen.query_one("#upgrade-package-list", OptionList).option_count == 4,
                     "the packages are listed")
    return screen


def package_text(screen: UpgradeScreen, index: int) -> str:
    return str(screen.query_one("#upgrade-package-list", OptionList).get_option_at_index(index).prompt)


async def test_packages_listed_with_reasons_and_plan():
    app = make_app(GrowFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_upgrade(pilot, app)

        damaged, good, old, unparsed = (package_text(screen, index) for index in range(4))
        assert "4.3.2   2019-04-26  16.04.3/amd64" in damaged
        assert "not usable" in damaged
        assert DAMAGED_PACKAGE in damaged
        assert "checksum mismatch" in damaged
        assert "usable" in good
        assert "not usable" not in good
        assert "not newer than the installed version 4.3.0" in old
        assert OLD_PACKAGE in old
        assert "is not a package name" in unparsed

        plan = shown(app, "#upgrade-plan")
        assert plan.splitlines()[0] == "1. ks-vm (2): pek3ar01n01, pek3ar01n02"
        assert plan.index("ks-vm") < plan.index("2. vg (4)") < plan.index("3. hyper-repl (7)")

        # The first usable package is highlighted: installed and target versions are named.
        assert "Installed version 4.3.0, target version 4.3.1. F7 upgrades 13 node(s)." in shown(app, "#upgrade-state")
        assert screen.query_one("#upgrade-package-list").region.bottom <= SIZE[1] - 1


async def test_unusable_package_cannot_start():
    client = GrowFakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_upgrade(pilot, app)
        await pilot.press("up")
        assert screen.highlighted_package()["package_name"] == DAMAGED_PACKAGE
        assert footer_keys(app)["f7"].has_class("-disabled"), "F7 is dimmed on an unusable package"
        assert "The highlighted package cannot be used" in shown(app, "#upgrade-state")

        await pilot.press("f7")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)

        await pilot.press("down", "down")
        assert screen.highlighted_package()["package_name"] == OLD_PACKAGE
        screen.action_upgrade()
        await pilot.pause()
        assert "cannot be used: version 4.2.0" in shown(app, "#upgrade-state")
        assert client.calls_of("UpgradeQingCloud") == []


async def test_upgrade_confirmed_followed_and_failure_resumes():
    client = GrowFakeClient(upgrade_fail_step="upgrade_nodes")
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_upgrade(pilot, app)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation shows")
        question = str(app.screen.query_one(".dialog-title").render())
        detail = " ".join(str(widget.render()) for widget in app.screen.query(Static))
        assert question == "Upgrade the platform from 4.3.0 to 4.3.1?"
        assert "on 13 node(s)" in detail.replace("\n", " ")
        assert_footer_fits(app, "confirmation")

        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the confirmation closes")
        assert client.calls_of("UpgradeQingCloud") == []
        assert "Upgrade cancelled" in shown(app, "#upgrade-state")

        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation shows again")
        await pilot.press("enter")
        panes = screen.query_one(JobPanes)
        await wait_until(pilot, lambda: screen.job_failed and not screen.job_running, "the upgrade fails")

        assert client.calls_of("UpgradeQingCloud") == [{"package_name": GOOD_PACKAGE}]
        outcome = panes.outcome_text
        assert "Step Upgrade nodes (upgrade_nodes) failed on: pek3ar01n01." in outcome
        assert "The engine's last message: upgrade stopped at pek3ar01n01 (role ks-vm)" in outcome
        assert f"Press F9 to run the upgrade with {GOOD_PACKAGE} again" in outcome.replace("\n", " ")
        assert [step["state"] for step in screen.query_one(StepList).steps] == ["done", "done", "failed"]
        assert footer_keys(app)["f9"].description == "Run again"
        assert_footer_fits(app, "failed upgrade")

        await pilot.press("f9")
        await wait_until(pilot, lambda: "finished successfully" in panes.outcome_text, "the second run ends")
        assert client.calls_of("UpgradeQingCloud") == [{"package_name": GOOD_PACKAGE}] * 2
        assert "the installed version is now 4.3.1" in shown(app, "#upgrade-state")
        assert "f9" not in footer_keys(app)

        await pilot.press("f6")
        await wait_until(pilot, lambda: "Installed version 4.3.1" in shown(app, "#upgrade-state"),
                         "the packages show again")


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_footer_fits_every_state(lang):
    client = GrowFakeClient(upgrade_fail_step="backup_state")
    app = make_app(client, lang=lang)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_upgrade(pilot, app)
        assert_footer_fits(app, "packages")
        assert {"f7"} <= set(footer_keys(app))

        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation shows")
        assert_footer_fits(app, "confirmation")
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.job_failed and not screen.job_running, "the upgrade fails")
        assert_footer_fits(app, "failed upgrade")
        assert {"f6", "f9"} <= set(footer_keys(app))
        for selector in ("#job-steps", "#job-outcome", "#job-log"):
            region = screen.query_one(selector).region
            assert region.height > 0, f"{selector} has no rows"
            assert region.bottom <= SIZE[1] - 1, f"{selector} reaches into the footer"
        if lang == "zh_CN":
            assert footer_keys(app)["f9"].description == "再次执行"


async def test_lab_upgrade_to_newer_package(tmp_path):
    app = deployed_lab_app(tmp_path)

    async with app.run_test(size=SIZE) as pilot:
        await open_lab_screen(pilot, app, "upgrade")
        screen = app.screen
        await wait_until(pilot, lambda: screen.query_one("#upgrade-package-list", OptionList).option_count == 3,
                         "the lab's packages are listed")
        assert "checksum mismatch" in package_text(screen, 0)
        assert "is not newer than the installed version 4.3.0" in package_text(screen, 2)
        assert screen.highlighted_package()["package_name"] == GOOD_PACKAGE

        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation shows")
        assert str(app.screen.query_one(".dialog-title").render()) == "Upgrade the platform from 4.3.0 to 4.3.1?"
        await pilot.press("enter")
        panes = screen.query_one(JobPanes)
        await wait_until(pilot, lambda: "finished successfully" in panes.outcome_text, "the lab's upgrade ends",
                         timeout=LAB_TIMEOUT)
        assert "the installed version is now 4.3.1" in panes.outcome_text
        assert all(step["state"] == "done" for step in screen.query_one(StepList).steps)
