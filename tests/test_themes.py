"""Themes as YAML files, chosen with --theme, ctrl+t or the settings file, and remembered per terminal kind."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from textual.color import Color
from textual.widgets import OptionList

from tests.tui_fakes import tour_app, wait_until
from tui.console import Display
from tui.i18n import load_catalog, set_language
from tui.screens.connecting import ConnectingScreen
from tui.screens.help import ThemeScreen
from tui.settings import Settings, SettingsStore, settings_path
from tui.themes import (
    THEMES_DIR,
    ThemeError,
    default_theme,
    load_theme_file,
    load_themes,
    theme_from_data,
    theme_names,
)

ROOT = Path(__file__).resolve().parent.parent
SIZE = (80, 24)
BASIC_ANSI = {f"ansi_{name}" for name in ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")}


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


@pytest.fixture
def config_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def contrast(foreground: str, background: str) -> float:
    """Return the WCAG 2 contrast ratio of two opaque colours."""
    def luminance(text: str) -> float:
        color = Color.parse(text)
        channels = []
        for value in (color.r, color.g, color.b):
            value /= 255
            channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def connected(pilot, app) -> None:
    await wait_until(pilot, lambda: app.client is not None and not isinstance(app.screen, ConnectingScreen),
                     "the app leaves the connecting screen")


# The files.


def test_builtin_themes_load():
    themes = load_themes()

    assert list(themes) == ["dark", "light", "high-contrast", "console", "mono"]
    assert themes["dark"].theme.dark and not themes["light"].theme.dark
    assert themes["console"].theme.ansi and themes["mono"].theme.ansi


def test_theme_names_without_building():
    assert theme_names() == list(load_themes())


def test_console_theme_uses_basic_colours_only():
    colors = load_themes()["console"].theme.to_color_system().generate()

    bright = {name: value for name, value in colors.items() if "bright" in str(value)}
    assert bright == {}, "an 8-colour console has no bright colours"
    named = {str(value).split()[0] for value in colors.values() if str(value).startswith("ansi_")}
    assert named <= BASIC_ANSI | {"ansi_default"}


def test_high_contrast_meets_aaa():
    colors = load_themes()["high-contrast"].theme.to_color_system().generate()
    pairs = [("foreground", "background"), ("text-muted", "background"), ("text-primary", "background"),
             ("text-error", "background"), ("text-warning", "background"), ("text-success", "background"),
             ("footer-key-foreground", "footer-background"), ("foreground", "panel"),
             ("block-cursor-foreground", "block-cursor-background")]

    for foreground, background in pairs:
        ratio = contrast(colors[foreground], colors[background])
        assert ratio >= 7, f"{foreground} on {background}: {ratio:.1f}:1"


@pytest.mark.parametrize("name", ["dark", "light"])
def test_brand_themes_readable(name):
    colors = load_themes()[name].theme.to_color_system().generate()

    assert contrast(colors["foreground"], colors["background"]) >= 7
    assert contrast(colors["text-primary"], colors["background"]) >= 4.5


def test_theme_words_translated():
    catalog = load_catalog("zh_CN")

    for entry in load_themes().values():
        assert catalog.get(entry.label), f"{entry.path.name}: label {entry.label!r} has no zh_CN translation"
        assert catalog.get(entry.description), f"{entry.path.name}: description has no zh_CN translation"


@pytest.mark.parametrize("data, message", [
    ({"name": "x", "label": "X", "colors": {"primary": "#000000"}, "colour": 1}, "unknown keys colour"),
    ({"name": "x", "label": "X", "colors": {}}, "at least primary"),
    ({"name": "x", "label": "X", "colors": {"primary": "tealish"}}, "colors.primary: 'tealish' is not a colour"),
    ({"name": "x", "label": "X", "colors": {"primary": "#000000", "shadow": "#111111"}}, "unknown names shadow"),
    ({"name": "x", "colors": {"primary": "#000000"}}, "label is missing"),
    ({"name": "x", "label": "X", "dark": "yes", "colors": {"primary": "#000000"}}, "dark: expected true or false"),
    ({"name": "x", "label": "X", "colors": {"primary": "#000000"}, "variables": {"border": 3}}, "variables.border"),
])
def test_bad_theme_named(data, message):
    with pytest.raises(ThemeError, match=message) as raised:
        theme_from_data(data, "themes/x.yaml")
    assert "themes/x.yaml" in str(raised.value)


def test_theme_file_not_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")

    with pytest.raises(ThemeError, match="broken.yaml: not valid YAML"):
        load_theme_file(path)


def test_duplicate_theme_names_rejected(tmp_path):
    for file_name in ("a.yaml", "b.yaml"):
        (tmp_path / file_name).write_text(yaml.safe_dump(
            {"name": "same", "label": "Same", "colors": {"primary": "#112233"}}), encoding="utf-8")

    with pytest.raises(ThemeError, match="b.yaml: theme name 'same' is used by .*a.yaml"):
        load_themes(tmp_path)


def test_themes_ship_with_package():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = package_data.get("tui.themes", [])
    shipped = {path.name for pattern in patterns for path in THEMES_DIR.glob(pattern)}

    assert shipped == {path.name for path in THEMES_DIR.glob("*.yaml")}
    assert len(shipped) == 5


# Which theme the app starts with.


def test_default_theme_per_display():
    assert default_theme(Display()) == "dark"
    assert default_theme(Display(console=True)) == "console"
    assert default_theme(Display(console=True, no_color=True)) == "mono"


def test_theme_option_wins(config_home):
    store = SettingsStore(settings_path({"XDG_CONFIG_HOME": str(config_home)}))
    store.save(Settings(theme="light"))
    app = tour_app(theme="high-contrast")
    app.settings_store = store

    assert app.pick_theme("high-contrast") == "high-contrast"
    assert app.pick_theme(None) == "light"


def test_unknown_theme_option_rejected():
    with pytest.raises(ValueError, match="theme 'neon' is not known"):
        tour_app(theme="neon")


def test_remembered_theme_per_terminal_kind(config_home):
    store = SettingsStore(settings_path({"XDG_CONFIG_HOME": str(config_home)}))
    store.save(Settings(theme="light", console_theme="high-contrast"))

    full = tour_app()
    full.settings_store = store
    console = tour_app(console=True)
    console.settings_store = store
    no_color = tour_app(no_color=True)
    no_color.settings_store = store

    assert full.pick_theme(None) == "light"
    assert console.pick_theme(None) == "high-contrast"
    assert no_color.pick_theme(None) == "mono", "NO_COLOR wins over a remembered theme"


def test_unknown_remembered_theme_ignored(config_home):
    store = SettingsStore(settings_path({"XDG_CONFIG_HOME": str(config_home)}))
    store.save(Settings(theme="gone"))
    app = tour_app()
    app.settings_store = store

    assert app.pick_theme(None) == "dark"


# Picking a theme in the TUI.


async def test_ctrl_t_picks_and_remembers_theme(config_home):
    store = SettingsStore(settings_path({"XDG_CONFIG_HOME": str(config_home)}))
    app = tour_app()
    app.settings_store = store

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, ThemeScreen), "the theme list opens")
        options = app.screen.query_one(OptionList)
        assert options.highlighted == 0, "the current theme, dark, is highlighted"

        await pilot.press("down", "down", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ThemeScreen), "the theme list closes")

        assert app.theme == "high-contrast"

    saved = yaml.safe_load((config_home / "qingcloud-installer" / "settings.yaml").read_text())
    assert saved == {"theme": "high-contrast"}
    assert tour_app().pick_theme(None) == "dark", "an app without a settings store remembers nothing"
    restarted = tour_app()
    restarted.settings_store = SettingsStore(settings_path({"XDG_CONFIG_HOME": str(config_home)}))
    assert restarted.pick_theme(None) == "high-contrast"


async def test_theme_list_from_help_escape_keeps_theme(config_home):
    app = tour_app(console=True)
    app.settings_store = SettingsStore(settings_path({"XDG_CONFIG_HOME": str(config_home)}))

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await pilot.press("f1")
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, ThemeScreen), "the theme list opens from the help")
        await pilot.press("down", "escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ThemeScreen), "the theme list closes")

        assert app.theme == "console"
    assert not (config_home / "qingcloud-installer" / "settings.yaml").exists()


async def test_console_theme_choice_kept_apart(config_home):
    store = SettingsStore(settings_path({"XDG_CONFIG_HOME": str(config_home)}))
    store.save(Settings(theme="light"))
    app = tour_app(console=True)
    app.settings_store = store

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, ThemeScreen), "the theme list opens")
        await pilot.press("end", "enter")
        await wait_until(pilot, lambda: app.theme == "mono", "the last theme is used")

    assert store.load() == Settings(theme="light", console_theme="mono")


# The settings file.


def test_settings_path_follows_xdg(tmp_path):
    assert settings_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "qingcloud-installer" / "settings.yaml"
    assert settings_path({"XDG_CONFIG_HOME": "relative", "HOME": str(tmp_path)}) == (
        tmp_path / ".config" / "qingcloud-installer" / "settings.yaml")


def test_broken_settings_give_defaults(tmp_path, caplog):
    path = tmp_path / "settings.yaml"
    path.write_text("theme: [broken\n", encoding="utf-8")

    assert SettingsStore(path).load() == Settings()
    assert "not valid YAML" in caplog.text

    path.write_text("- a list\n", encoding="utf-8")
    assert SettingsStore(path).load() == Settings()

    path.write_text("theme: 3\nconsole_theme: mono\nunknown: x\n", encoding="utf-8")
    assert SettingsStore(path).load() == Settings(console_theme="mono")


def test_unwritable_settings_reported(tmp_path, caplog):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    store = SettingsStore(blocker / "settings.yaml")

    assert store.save(Settings(theme="light")) is False
    assert "cannot write settings" in caplog.text
