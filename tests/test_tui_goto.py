"""The go-to menu: every screen reachable from the keyboard through ctrl+g."""

from __future__ import annotations

import importlib

import pytest
from textual.widgets import OptionList

from tests.tui_fakes import FakeClient, make_app, wait_until
from tui.operations import OPERATIONS
from tui.screens.goto import GoToScreen
from tui.screens.overview import OverviewScreen

SIZE = (80, 24)


def test_operations_name_screen_classes():
    for operation in OPERATIONS:
        module_name, class_name = operation.screen.split(":")
        module = importlib.import_module(module_name)
        assert hasattr(module, class_name), f"{operation.mode}: {operation.screen} does not exist"


@pytest.mark.parametrize("lang, title", [("en", "Go to"), ("zh_CN", "转到")])
async def test_menu_opens_chosen_screen(lang, title):
    app = make_app(FakeClient(), lang=lang)

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
        footer_keys = [key for key, active in app.screen.active_bindings.items() if active.binding.show]
        assert "ctrl+g" in footer_keys, "the overview's footer shows the menu key"

        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, GoToScreen), "the menu opens")
        options = app.screen.query_one(OptionList)
        assert options.option_count == len(OPERATIONS)
        assert title in str(app.screen.query_one(".section-title").render())
        assert options.region.bottom <= SIZE[1] - 1, "the whole list is above the footer at 80x24"

        # The overview is highlighted first; two rows down is the configuration screen.
        await pilot.press("down", "down", "enter")
        await wait_until(pilot, lambda: app.current_mode == "configuration", "the configuration screen opens")


async def test_menu_escape_keeps_screen():
    app = make_app(FakeClient())

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
        await pilot.press("f3")
        await wait_until(pilot, lambda: app.current_mode == "nodes", "the nodes screen opens")

        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, GoToScreen), "the menu opens")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, GoToScreen), "the menu closes")
        assert app.current_mode == "nodes"
