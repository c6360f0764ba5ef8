"""F1 help: each screen's purpose and steps, its keys read from its bindings, and the app's keys."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.widgets import Footer, Static

from qc_cli.screenshots import available_views, show_view
from tests.tui_fakes import screen_lines, tour_app, wait_until
from tui.app import InstallerApp
from tui.i18n import _, load_catalog, set_language
from tui.operations import OPERATIONS
from tui.screens.base import InstallerScreen
from tui.screens.connecting import ConnectingScreen
from tui.screens.goto import GoToScreen
from tui.screens.help import GENERIC_HELP, HelpScreen, key_label, screen_keys
from tui.widgets.api_error import describe_error_response, explain_ret_code

SIZE = (80, 24)
TUI_DIR = Path(__file__).resolve().parent.parent / "tui"
APP_KEYS = ["F1", "F2", "F3", "F4", "F5", "F10", "^C", "^F", "^G", "^L", "^T"]
SCREEN_VIEWS = [view for view in available_views() if not view.keys]


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


async def connected(pilot, app) -> None:
    await wait_until(pilot, lambda: app.client is not None and not isinstance(app.screen, ConnectingScreen),
                     "the app leaves the connecting screen")


def help_text(app: InstallerApp) -> str:
    return str(app.screen.query_one("#help-text", Static).render())


async def open_help(pilot, app: InstallerApp) -> str:
    await pilot.press("f1")
    await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help opens")
    return help_text(app)


def test_key_labels_ascii():
    assert [key_label(key) for key in ("f1", "f10", "ctrl+g", "escape", "enter", "shift+tab", "space", "up")] == [
        "F1", "F10", "^G", "Esc", "Enter", "Shift+Tab", "Space", "Up"]


def test_operation_screens_have_help():
    missing = []
    for operation in OPERATIONS:
        module_name, class_name = operation.screen.split(":")
        try:
            screen_class = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            continue
        if not getattr(screen_class, "HELP", ""):
            missing.append(operation.screen)

    assert missing == [], "screens without a HELP text (see tui/screens/help.py):\n" + "\n".join(missing)


@pytest.mark.parametrize("view", SCREEN_VIEWS, ids=lambda view: view.name)
async def test_help_lists_screen_and_app_keys(view):
    app = tour_app()

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await show_view(pilot, app, view)
        screen = app.screen
        own = [key.key for key in screen_keys(app, screen)]
        text = await open_help(pilot, app)

        first_line = _(screen.HELP).splitlines()[0]
        assert text.startswith(first_line)
        own_part, _sep, shared_part = text.partition("Keys everywhere")
        for key in own:
            assert f"  {key} " in own_part, f"{view.name}: {key} is listed with the screen's keys"
        for key in APP_KEYS:
            assert f"{key} " in own_part + shared_part, f"{view.name}: {key} is listed"
        assert "--lang zh_CN" in shared_part


async def test_help_lists_hidden_and_disabled_keys():
    app = tour_app()

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await pilot.press("f4")
        await wait_until(pilot, lambda: app.current_mode == "configuration", "the configuration screen shows")
        text = await open_help(pilot, app)

        # F7 shows dimmed until a valid configuration is loaded; ^L is never in a footer.
        assert "F7  Apply (not available now)" in text
        assert "^L  Licenses" in text


async def test_help_in_chinese():
    app = tour_app(lang="zh_CN")

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await pilot.press("f5")
        await wait_until(pilot, lambda: app.current_mode == "deploy", "the deploy screen shows")
        text = await open_help(pilot, app)

        assert text.startswith("用 DeployQingCloud 部署已配置的可用区")
        assert "F8  开始" in text
        assert "此界面的按键" in text
        assert "所有界面通用的按键" in text
        assert "--lang en" in text
        assert "帮助：部署" in str(app.screen.query_one("#help-title", Static).render())
        footer = {key.key: key.description for key in app.screen.query_one(Footer).query("FooterKey")}
        assert footer["escape"] == "关闭"


async def test_f1_or_escape_closes_help():
    app = tour_app()

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await open_help(pilot, app)
        await pilot.press("f1")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), "F1 closes the help")
        await open_help(pilot, app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), "Esc closes the help")

        assert app.current_mode == "overview"


async def test_dialog_help_lists_its_keys():
    app = tour_app()

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, GoToScreen), "the menu opens")
        text = await open_help(pilot, app)

        assert text.startswith("Every screen of the installer.")
        assert "  Esc  Close" in text
        assert "^G " not in text, "a dialog does not pass ^G on, so its help leaves it out"
        assert "F10 Quit" in text


class BareScreen(InstallerScreen):
    """A screen that has keys but no help text."""

    BINDINGS = [Binding("f6", "noop", "Do nothing")]

    def action_noop(self) -> None:
        return None

    def compose(self):
        yield Static("bare")
        yield Footer()


async def test_screen_without_help_gets_generic_help():
    app = tour_app()

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        app.push_screen(BareScreen())
        await wait_until(pilot, lambda: isinstance(app.screen, BareScreen), "the bare screen shows")
        text = await open_help(pilot, app)

        assert text.startswith(GENERIC_HELP)
        assert "F6  Do nothing" in text


# Explaining API errors in the chosen language.


@pytest.mark.parametrize(("ret_code", "explanation"), [
    (1200, "did not accept the login"),
    (1400, "needs a user with the role admin"),
    (2400, "licensed number of hyper nodes"),
    (5000, "trace id"),
])
def test_error_panel_explains_every_family(ret_code, explanation):
    text = describe_error_response({"action": "DeployQingCloudResponse", "ret_code": ret_code, "message": "x"})

    assert text.splitlines()[0] == f"DeployQingCloud failed with ret_code {ret_code}: x"
    assert explanation in text


@pytest.mark.parametrize(("message", "hint"), [
    ("node_ids: n-nope not registered; AddNodes registers nodes", "F6 adds nodes"),
    ("DeployQingCloud is not possible before ConfigQingCloud: no zone is configured yet", "F7 applies it"),
    ("HealthCheck checks deployed nodes, and none is deployed yet; deploy a zone with DeployQingCloud first",
     "F5 opens the deploy screen"),
    ("job j-1 is still running; wait for it to end (GetStatus job_id=j-1)", "Wait for it to end"),
    ("licensed hyper nodes exceeded: 7 deployed + 1 in this request = 8 hyper node(s)", "^L opens the licenses"),
])
def test_error_panel_hints_known_messages(message, hint):
    text = describe_error_response({"action": "ScaleQingCloudResponse", "ret_code": 5200, "message": message})

    assert hint in text.splitlines()[1], "the hint comes right after the message"
    assert text.splitlines()[-1] == explain_ret_code(5200), "the ret_code's explanation stays last"


def test_error_panel_hint_in_chinese():
    set_language("zh_CN")

    text = describe_error_response({"action": "DeployQingCloudResponse", "ret_code": 2400,
                                    "message": "licensed hyper nodes exceeded: 8 hyper node(s)"})

    assert text.splitlines() == [
        "DeployQingCloud 失败，ret_code 为 2400：licensed hyper nodes exceeded: 8 hyper node(s)",
        "^L 打开许可证界面：按 F6 申请支持更多 Hyper 节点的许可证，按 F7 激活。",
        "已达到上限：许可的 Hyper 节点数，或请求的大小。",
    ]


def test_error_panel_unknown_message_has_no_hint():
    text = describe_error_response({"action": "GetLogResponse", "ret_code": 9999, "message": "something odd"})

    assert text == "GetLog failed with ret_code 9999: something odd"


# Every text the TUI shows is a message of the catalogs.


DISPLAY_CALLS = {"Static", "Label", "Option", "Checkbox", "notify", "update", "show_text", "set_result",
                 "set_apply_result", "show_outcome", "Selection", "add_column", "Content", "styled"}
WORDS = re.compile(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}")


def unmarked_texts() -> list[str]:
    """Return English literals handed to widgets without _() or N_(), as 'file:line: text'."""
    found = []
    for path in sorted(TUI_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            texts: list[ast.expr] = []
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name == "Binding":
                    texts = node.args[2:3]
                elif name in DISPLAY_CALLS:
                    texts = node.args[:1]
                texts += [keyword.value for keyword in node.keywords
                          if keyword.arg in ("placeholder", "description", "prompt", "title")]
            elif isinstance(node, ast.Assign) and any(
                    isinstance(target, ast.Attribute) and target.attr in ("border_title", "border_subtitle")
                    for target in node.targets):
                texts = [node.value]
            for text in texts:
                if isinstance(text, ast.Constant) and isinstance(text.value, str) and WORDS.search(text.value):
                    found.append(f"{path.relative_to(TUI_DIR.parent)}:{node.lineno}: {text.value!r}")
    return found


def test_every_shown_text_is_marked():
    assert unmarked_texts() == [], "texts shown without _() or N_(), so neither catalog has them"


@pytest.mark.parametrize("view", available_views(), ids=lambda view: view.name)
async def test_chinese_screen_shows_no_english_message(view):
    catalog = load_catalog("zh_CN")
    sentences = [message for message in catalog if "{" not in message and len(message.split()) >= 3]
    app = tour_app(lang="zh_CN")

    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await show_view(pilot, app, view)
        shown = "\n".join(screen_lines(app))

    untranslated = [message for message in sentences if message in shown]
    assert untranslated == [], f"{view.name}: English messages on the Chinese screen"
