"""The TUI's colour themes, kept as YAML files beside this module and turned into Textual themes.

Each `<name>.yaml` contains one theme:

    name: dark                      # what --theme and the settings file use
    label: QingCloud dark           # shown in the theme list, translated through the catalog
    description: ...                # one line, translated through the catalog
    dark: true                      # Textual's dark flag (default true)
    ansi: false                     # true: the terminal's own colours (names such as ansi_cyan)
    colors: {primary: "#19b3a1", ...}   # Textual's base colours; primary is required
    variables: {footer-key-foreground: "#...", ...}   # Textual's CSS variables

The files live inside the `tui` package so that they are installed with it
(pyproject.toml lists them as package data), next to the .po catalogs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tui.console import Display

# Textual is imported where a theme is built: the command line checks --theme with
# theme_names() before Textual reads its environment (see tui.console).
if TYPE_CHECKING:
    from textual.theme import Theme

log = logging.getLogger(__name__)

THEMES_DIR = Path(__file__).parent

DARK = "dark"
LIGHT = "light"
CONSOLE = "console"
HIGH_CONTRAST = "high-contrast"
MONO = "mono"

# The order of the theme list: the brand's two, then the ones for special needs.
THEME_ORDER = (DARK, LIGHT, HIGH_CONTRAST, CONSOLE, MONO)

COLOR_NAMES = ("primary", "secondary", "accent", "warning", "error", "success", "foreground", "background",
               "surface", "panel", "boost")
THEME_KEYS = {"name", "label", "description", "dark", "ansi", "colors", "variables"}


class ThemeError(ValueError):
    """A theme file that cannot be used; the message names the file and the key at fault."""


@dataclass(frozen=True)
class InstallerTheme:
    """A theme read from its file: the Textual theme and the words shown for it."""

    theme: Theme
    label: str
    """English name for the theme list, translated with _() when shown."""
    description: str
    """English line for the theme list, translated with _() when shown."""
    path: Path

    @property
    def name(self) -> str:
        return self.theme.name


def _check_color(source: str, key: str, value: Any) -> str:
    from textual.color import Color, ColorParseError

    if not isinstance(value, str):
        raise ThemeError(f"{source}: {key}: expected a colour as a string, got {value!r}")
    try:
        Color.parse(value.split()[0] if value.strip() else value)
    except ColorParseError:
        raise ThemeError(f"{source}: {key}: {value!r} is not a colour; use #rrggbb or a name such as ansi_cyan") from None
    return value


def theme_from_data(data: Any, source: str) -> InstallerTheme:
    """Build a theme from a parsed YAML document; raise ThemeError naming what is wrong."""
    from textual.theme import Theme

    if not isinstance(data, dict):
        raise ThemeError(f"{source}: expected a mapping with name, label, colors")

    unknown = sorted(set(data) - THEME_KEYS)
    if unknown:
        raise ThemeError(f"{source}: unknown keys {', '.join(unknown)}; expected {', '.join(sorted(THEME_KEYS))}")
    for key in ("name", "label"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ThemeError(f"{source}: {key} is missing or empty")
    for key in ("dark", "ansi"):
        if key in data and not isinstance(data[key], bool):
            raise ThemeError(f"{source}: {key}: expected true or false, got {data[key]!r}")

    colors = data.get("colors")
    if not isinstance(colors, dict) or "primary" not in colors:
        raise ThemeError(f"{source}: colors must be a mapping with at least primary")
    unknown_colors = sorted(set(colors) - set(COLOR_NAMES))
    if unknown_colors:
        raise ThemeError(f"{source}: colors: unknown names {', '.join(unknown_colors)}; "
                         f"expected some of {', '.join(COLOR_NAMES)}")

    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        raise ThemeError(f"{source}: variables must be a mapping of CSS variable to value")
    for key, value in variables.items():
        if not isinstance(value, str):
            raise ThemeError(f"{source}: variables.{key}: expected a string, got {value!r}")

    theme = Theme(
        name=data["name"],
        dark=data.get("dark", True),
        ansi=data.get("ansi", False),
        variables={str(key): value for key, value in variables.items()},
        **{name: _check_color(source, f"colors.{name}", value) for name, value in colors.items()},
    )
    return InstallerTheme(theme=theme, label=data["label"], description=str(data.get("description") or ""),
                          path=Path(source))


def load_theme_file(path: Path) -> InstallerTheme:
    """Read one theme file; raise ThemeError for a file that is not valid YAML or not a theme."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ThemeError(f"{path}: not valid YAML: {error}") from None
    return theme_from_data(data, str(path))


def load_themes(directory: Path = THEMES_DIR) -> dict[str, InstallerTheme]:
    """Read every `*.yaml` theme of a directory, by name, in THEME_ORDER and then file name order."""
    themes: dict[str, InstallerTheme] = {}
    for path in sorted(directory.glob("*.yaml")):
        entry = load_theme_file(path)
        if entry.name in themes:
            raise ThemeError(f"{path}: theme name {entry.name!r} is used by {themes[entry.name].path} too")
        themes[entry.name] = entry
    ordered = sorted(themes, key=lambda name: THEME_ORDER.index(name) if name in THEME_ORDER else len(THEME_ORDER))
    log.debug("loaded themes %s from %s", ", ".join(ordered), directory)
    return {name: themes[name] for name in ordered}


def theme_names(directory: Path = THEMES_DIR) -> list[str]:
    """Return the names of the theme files of a directory without building the themes."""
    names = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            names.append(data["name"])
    return sorted(names, key=lambda name: THEME_ORDER.index(name) if name in THEME_ORDER else len(THEME_ORDER))


def default_theme(display: Display) -> str:
    """Return the theme for a display when neither --theme nor the settings choose one."""
    if display.no_color:
        return MONO
    if display.console:
        return CONSOLE
    return DARK
