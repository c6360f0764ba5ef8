"""Console mode: a Linux console or serial line at 80x24, driven with the keyboard alone.

Every screen is drawn in console mode over a scripted client and read back as
text: no character outside the console set, every footer key inside 80
columns, nothing lost on a resize.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.screen import ModalScreen
from textual.widgets import Input

from qc_cli.screenshots import View, available_views, settle, show_view
from tests.tui_fakes import screen_lines, tour_app, wait_until
from tui.console import (
    CONSOLE_CHARACTERS,
    ConsoleGlyphs,
    choose_language,
    detect_display,
    is_limited_terminal,
    prepare_environment,
    unsupported_characters,
)
from tui.i18n import set_language
from tui.screens.connecting import ConnectingScreen

ROOT = Path(__file__).resolve().parent.parent
SIZE = (80, 24)
VIEWS = available_views()

# States beyond a screen's first look that draw frames or marks of their own.
EXTRA_VIEWS = [
    View("nodes-delete", "nodes", ("f8",)),
    View("configuration-zones", "configuration", ("f6", "f9")),
    View("configuration-variables", "configuration", ("f6", "f9", "f9")),
    View("configuration-roles", "configuration", ("f6", "f9", "f9", "f9")),
    View("configuration-vbc", "configuration", ("f6", "f9", "f9", "f9", "f9")),
    View("configuration-eip", "configuration", ("f6", "f9", "f9", "f9", "f9", "f9")),
    View("configuration-review", "configuration", ("f6", "f9", "f9", "f9", "f9", "f9", "f9")),
    View("licenses-request", "licenses", ("f6",)),
    View("licenses-activate", "licenses", ("f7",)),
    View("files-edit", "files", ("f6",)),
    View("files-changes", "files", ("f9",)),
    View("deploy-run", "deploy", ("f8",)),
]


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


async def connected(pilot, app) -> None:
    await wait_until(pilot, lambda: app.client is not None and not isinstance(app.screen, ConnectingScreen),
                     "the app leaves the connecting screen")


# Detection.


@pytest.mark.parametrize("term", ["linux", "vt100", "vt102", "vt220", "dumb", "LINUX"])
def test_limited_terminals_detected(term):
    assert is_limited_terminal({"TERM": term})
    assert detect_display({"TERM": term}).console


@pytest.mark.parametrize("term", ["xterm-256color", "screen", "tmux-256color", ""])
def test_full_terminals_not_console(term):
    assert not detect_display({"TERM": term}).console


def test_console_option_forces_mode():
    assert detect_display({"TERM": "xterm-256color"}, force_console=True).console


def test_no_color_even_empty_is_monochrome():
    assert detect_display({"NO_COLOR": ""}).no_color
    assert not detect_display({}).no_color


def test_linux_console_defaults_to_english():
    assert choose_language(None, {"TERM": "linux", "LANG": "zh_CN.UTF-8"}) == ("en", True)
    assert choose_language(None, {"TERM": "linux", "LANG": "en_US.UTF-8"}) == ("en", False)


def test_lang_option_wins_on_console():
    assert choose_language("zh_CN", {"TERM": "linux", "LANG": "C"}) == ("zh_CN", False)


def test_serial_terminal_keeps_locale():
    assert choose_language(None, {"TERM": "vt220", "LANG": "zh_CN.UTF-8"}) == ("zh_CN", False)
    assert choose_language(None, {"TERM": "xterm", "LC_ALL": "zh_CN.UTF-8"}) == ("zh_CN", False)


def test_console_waits_longer_for_escape_sequences():
    environ = {"TERM": "linux"}
    prepare_environment(environ, detect_display(environ))
    assert environ["ESCDELAY"] == "250"

    kept = {"TERM": "vt220", "ESCDELAY": "40"}
    prepare_environment(kept, detect_display(kept))
    assert kept["ESCDELAY"] == "40", "the operator's ESCDELAY stays"

    full = {"TERM": "xterm-256color"}
    prepare_environment(full, detect_display(full))
    assert "ESCDELAY" not in full


def test_wizard_options_reach_textual(tmp_path):
    """The command sets ESCDELAY before Textual reads it, on its first import."""
    code = (
        "import sys\n"
        "from qc_cli.main import build_parser\n"
        "from qc_cli.tui import display_options\n"
        "options = display_options(build_parser().parse_args(['--console', '--theme', 'light']))\n"
        "assert 'textual.constants' not in sys.modules\n"
        "import textual.constants\n"
        "print(textual.constants.ESCAPE_DELAY, options['display_mode'].console, options['lang'], options['theme'])\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "ESCDELAY"}
    environment.update(TERM="xterm-256color", LANG="zh_CN.UTF-8", XDG_CONFIG_HOME=str(tmp_path))

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                            cwd=ROOT, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0.25", "True", "zh_CN", "light"]


def test_console_set_is_ascii_and_cp437_lines():
    assert unsupported_characters("ok +-| [X] ─│┌┐└┘ ═║ █ • ↑↓ ▲▼") == set()
    assert unsupported_characters("…▊▎▁▔▏┃━╭▌▐▀▄▶⏎") == set("…▊▎▁▔▏┃━╭▌▐▀▄▶⏎")
    assert unsupported_characters("部署") == {"部", "署"}
    assert "\t" not in CONSOLE_CHARACTERS


def test_console_glyphs_restored():
    from textual.scrollbar import ScrollBar
    from textual.widgets import Tree

    before = (ScrollBar.renderer, Tree.ICON_NODE, dict(Tree.LINES))
    glyphs = ConsoleGlyphs()
    glyphs.apply()
    assert Tree.ICON_NODE == "> "
    assert ScrollBar.renderer is not before[0]

    glyphs.restore()

    assert (ScrollBar.renderer, Tree.ICON_NODE, dict(Tree.LINES)) == before


# The app in console mode.


async def test_console_app_settings():
    app = tour_app(console=True)

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)

        assert app.has_class("-console")
        assert app.theme == "console"
        assert app.animation_level == "none"


class OneInputScreen(ModalScreen[None]):
    """A dialog with one plain Input, which blinks unless the app stops it."""

    def compose(self):
        yield Input(id="plain")


@pytest.mark.parametrize("console, blinks", [(True, False), (False, True)])
async def test_input_blinks_only_off_console(console, blinks):
    app = tour_app(console=console, steady=False)

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        app.push_screen(OneInputScreen())
        await wait_until(pilot, lambda: isinstance(app.screen.focused, Input), "the input has the focus")

        assert app.screen.focused.cursor_blink is blinks


async def test_no_color_uses_monochrome_theme():
    app = tour_app(no_color=True)

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)

        assert app.theme == "mono"
        assert app.native_ansi_color, "Textual drops colours instead of turning them grey"


@pytest.mark.parametrize("view", VIEWS + EXTRA_VIEWS, ids=lambda view: view.name)
async def test_console_draws_only_console_characters(view):
    app = tour_app(console=True)

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await show_view(pilot, app, view)
        lines = screen_lines(app)

        bad = sorted(set().union(*(unsupported_characters(line) for line in lines)))
        where = [line for line in lines if unsupported_characters(line)]
        assert bad == [], f"{view.name}: characters a console font lacks: {bad} in {where[:3]}"
        assert any(line.strip() for line in lines[1:-1]), f"{view.name}: the screen is empty"


async def test_console_error_panel_is_ascii():
    app = tour_app(console=True)

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await settle(pilot, app)
        app.screen.error_panel.show_response(
            {"action": "DescribeNodesResponse", "ret_code": 5100, "message": "busy"})
        await pilot.pause()
        lines = screen_lines(app)

        assert any("| DescribeNodes failed with ret_code 5100: busy" in line for line in lines)
        assert set().union(*(unsupported_characters(line) for line in lines)) == set()


async def test_console_language_note_is_ascii():
    app = tour_app(console=True)
    app.language_note = True

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await connected(pilot, app)
        await pilot.pause()
        lines = screen_lines(app)

        assert any("| The Linux console cannot draw" in line for line in lines), "the note shows, framed in ASCII"
        assert set().union(*(unsupported_characters(line) for line in lines)) == set()


# 80x24: every key in the footer, nothing off screen.


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
@pytest.mark.parametrize("view", VIEWS + EXTRA_VIEWS, ids=lambda view: view.name)
async def test_footer_fits_80x24(view, lang):
    app = tour_app(lang=lang, console=lang == "en")

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await show_view(pilot, app, view)
        keys = list(app.screen.query("FooterKey"))

        assert keys, f"{view.name}: the footer shows keys"
        for key in keys:
            assert key.region.right <= SIZE[0], f"{view.name}: {key.key} ends at column {key.region.right}"
            assert key.region.y == SIZE[1] - 1, f"{view.name}: {key.key} is on row {key.region.y}"
        if not app.screen.is_modal:
            assert {"f1", "f10", "ctrl+g"} <= {key.key for key in keys}, f"{view.name}: help, quit and menu show"

        focused = app.screen.focused
        if focused is not None:
            region = focused.region
            assert region.width > 0, f"{view.name}: {focused} has no columns"
            assert region.height > 0, f"{view.name}: {focused} has no rows"
            assert region.right <= SIZE[0], f"{view.name}: {focused} ends right of the screen"
            assert region.bottom <= SIZE[1] - 1, f"{view.name}: {focused} reaches into the footer"


@pytest.mark.parametrize("view", VIEWS, ids=lambda view: view.name)
async def test_resizing_never_crashes(view):
    app = tour_app(console=True)

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await show_view(pilot, app, view)
        screen = app.screen

        for size in ((40, 12), (20, 6), (1, 1), (200, 60), (81, 25), SIZE):
            await pilot.resize_terminal(*size)
            await pilot.pause()

        assert app.is_running
        assert app.screen is screen
        assert app.size == SIZE
        assert any(line.strip() for line in screen_lines(app)), f"{view.name}: drawn again at 80x24"


async def test_unticked_box_reads_empty_at_the_console():
    from textual.app import App
    from textual.widgets import Checkbox, SelectionList

    from tests.tui_fakes import screen_lines
    from tui.console import ConsoleGlyphs

    class Boxes(App):
        def compose(self):
            yield Checkbox("ticked", True)
            yield Checkbox("unticked", False)
            yield SelectionList(("chosen", 1, True), ("left", 2, False))

    glyphs = ConsoleGlyphs()
    glyphs.apply()
    try:
        async with Boxes().run_test(size=(40, 10)) as pilot:
            await pilot.pause()
            text = "\n".join(screen_lines(pilot.app))
    finally:
        glyphs.restore()

    assert "[X] ticked" in text
    assert "[ ] unticked" in text
    assert "[X] chosen" in text
    assert "[ ] left" in text
