"""Console mode: what the TUI changes on a Linux console, a serial line or a terminal of that kind.

A terminal is limited when TERM names one (linux, vt100, vt102, vt220, dumb) or
the operator passes --console. The TUI then uses the console theme (the
terminal's own 16 colours, none of the bright ones an 8-colour console lacks),
ASCII frames, only the characters in CONSOLE_CHARACTERS, no animations and no
blinking cursor. NO_COLOR turns any terminal monochrome.

CONSOLE_CHARACTERS is printable ASCII plus the glyphs that both the kernel's
built-in VGA font (code page 437) and Debian's console-setup fonts draw. The
console-setup fonts (Lat2, Lat15 and Uni1 to Uni3 at 16 pixels, checked in
console-setup-linux 1.221) lack the half blocks (▀ ▄ ▌ ▐) and ▓. CP437 lacks the
heavy and rounded box lines and the ellipsis (…). So all of those are left out.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from tui.i18n import CHINESE, ENGLISH, language_from_environment

# Textual is imported only where the glyphs are swapped: the detection runs before the
# first import of Textual, which reads ESCDELAY from the environment at that moment.

log = logging.getLogger(__name__)

LIMITED_TERMS = frozenset({"linux", "vt100", "vt102", "vt220", "dumb"})
"""TERM values of terminals that get console mode without --console."""

BOX_LINES = "─│┌┐└┘├┤┬┴┼═║╔╗╚╝╠╣╦╩╬"
BLOCKS_AND_SYMBOLS = "█░▒■▲▼↑↓←→•·°"
CONSOLE_CHARACTERS = frozenset(chr(code) for code in range(0x20, 0x7F)) | frozenset(BOX_LINES + BLOCKS_AND_SYMBOLS)
"""Every character the TUI may draw in console mode; see the module docstring."""


@dataclass(frozen=True)
class Display:
    """Drawing settings for this terminal."""

    console: bool = False
    """Console mode: ASCII frames, the console character set, no animations or cursor blink."""
    no_color: bool = False
    """NO_COLOR is set: no colours at all."""


def is_limited_terminal(environ: Mapping[str, str]) -> bool:
    """Tell whether TERM names a terminal that gets console mode by itself."""
    return environ.get("TERM", "").strip().lower() in LIMITED_TERMS


def detect_display(environ: Mapping[str, str], *, force_console: bool = False) -> Display:
    """Decide console mode and colours from the environment and the --console option.

    NO_COLOR counts when it is set at all, even empty, as Textual reads it.
    """
    return Display(console=force_console or is_limited_terminal(environ), no_color="NO_COLOR" in environ)


def choose_language(lang_option: str | None, environ: Mapping[str, str]) -> tuple[str, bool]:
    """Return the TUI's language and whether Chinese was set aside for the Linux console.

    --lang wins. Without it, TERM=linux gives English, because the Linux
    console has no Chinese glyphs; everywhere else the locale decides.
    """
    if lang_option:
        return lang_option, False

    from_locale = language_from_environment(environ)
    if environ.get("TERM", "").strip().lower() == "linux":
        return ENGLISH, from_locale == CHINESE
    return from_locale, False


# Milliseconds Textual waits after Esc for the rest of a key's escape sequence. Its default
# of 100 is short for a console server or IPMI serial-over-LAN, because these may deliver a
# function key's bytes in separate packets. A longer wait only delays a lone Esc.
CONSOLE_ESCAPE_DELAY_MS = 250


def prepare_environment(environ: MutableMapping[str, str], display: Display) -> None:
    """Set ESCDELAY for console mode unless the operator set it; call it before Textual is imported."""
    if display.console and "ESCDELAY" not in environ:
        environ["ESCDELAY"] = str(CONSOLE_ESCAPE_DELAY_MS)


def unsupported_characters(text: str) -> set[str]:
    """Return the characters of `text` that a Linux console font may not draw (line breaks aside)."""
    return {character for character in text if character not in CONSOLE_CHARACTERS and character not in "\n\r"}


@functools.cache
def console_scrollbar_render() -> type:
    """Return a scrollbar renderer that draws in whole cells.

    Textual's default draws the ends of the thumb with eighth blocks (▁ ▂ ... ▇).
    """
    from textual.scrollbar import ScrollBarRender

    class ConsoleScrollBarRender(ScrollBarRender):
        VERTICAL_BARS = [" "]
        HORIZONTAL_BARS = [" "]

    return ConsoleScrollBarRender


# ASCII arrows for the tree's branches: the default ▶ is in neither kind of console font.
TREE_ICON_COLLAPSED = "> "
TREE_ICON_EXPANDED = "v "


def blank_when_off(button: property) -> Callable[[Any], Any]:
    """Wrap ToggleButton._button so that a box that is off shows a space inside its sides."""

    def console_button(toggle: Any) -> Any:
        from textual.content import Content

        drawn = button.fget(toggle)
        if toggle.value:
            return drawn
        return Content.assemble(*((" " * len(span_text), style) if index == 1 else (span_text, style)
                                  for index, (span_text, style) in enumerate(content_parts(drawn))))

    return console_button


def content_parts(content: Any) -> list[tuple[str, Any]]:
    """Split a Content of styled spans into (text, style) pairs, one per span."""
    return [(content.plain[span.start:span.end], span.style) for span in content.spans]


def blank_unselected(render_line: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap SelectionList.render_line so that an unselected option's box shows a space."""
    from rich.segment import Segment
    from textual.strip import Strip
    from textual.widgets._toggle_button import ToggleButton

    def console_render_line(selection_list: Any, y: int) -> Any:
        strip = render_line(selection_list, y)
        segments = list(strip)
        if len(segments) < 3 or segments[1].text != ToggleButton.BUTTON_INNER:
            return strip
        index = (segments[1].style.meta or {}).get("option") if segments[1].style else None
        if index is None:
            return strip
        option = selection_list.get_option_at_index(index)
        if option.value in selection_list.selected:
            return strip
        segments[1] = Segment(" " * len(segments[1].text), segments[1].style)
        return Strip(segments, strip.cell_length)

    return console_render_line


class ConsoleGlyphs:
    """Swaps Textual's non-ASCII decorations for console ones while a console-mode app runs.

    Textual has no ASCII-only mode, but its scrollbar renderer, toggle button
    sides and tree icons are class attributes meant to be replaced. They are
    shared by every widget of the process, so `apply` keeps the values it
    replaced and `restore` puts them back: tests run many apps in one process.
    """

    def __init__(self) -> None:
        self._saved: list[tuple[type, str, object]] = []

    def apply(self) -> None:
        from textual.scrollbar import ScrollBar
        from textual.widgets import Tree

        # Private module: SelectionList draws its check boxes with the sides of this base
        # class of Checkbox, which textual.widgets does not export.
        from textual.widgets._toggle_button import ToggleButton

        if self._saved:
            return
        from textual.widgets import SelectionList

        bold_lines = Tree.LINES["default"]
        replacements: list[tuple[type, str, object]] = [
            (ScrollBar, "renderer", console_scrollbar_render()),
            # Textual draws a check box's X whether it is ticked or not and marks the
            # difference by colour only, which an 8-colour or monochrome console may not
            # show. Here an unticked box reads "[ ]".
            (ToggleButton, "BUTTON_LEFT", "["),
            (ToggleButton, "BUTTON_RIGHT", "]"),
            (ToggleButton, "_button", property(blank_when_off(ToggleButton._button))),
            (SelectionList, "render_line", blank_unselected(SelectionList.render_line)),
            (Tree, "ICON_NODE", TREE_ICON_COLLAPSED),
            (Tree, "ICON_NODE_EXPANDED", TREE_ICON_EXPANDED),
            # The hovered and selected branches are drawn in heavy lines (┃ ┗ ┣), which CP437 lacks.
            (Tree, "LINES", {**Tree.LINES, "bold": bold_lines}),
        ]
        for owner, name, value in replacements:
            self._saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, value)
        log.debug("console glyphs in use")

    def restore(self) -> None:
        for owner, name, value in reversed(self._saved):
            setattr(owner, name, value)
        self._saved = []
