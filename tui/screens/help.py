"""F1 help: what the current screen is for, its steps, its keys and the app's keys; and the theme list.

How a screen gets its help text
-------------------------------

Give the screen class a `HELP` class attribute, marked with `N_` so that the
catalog test finds it, and add its Chinese translation to the screen's
catalog (`tui/locale/zh_CN.<part>.po`):

    class ScaleScreen(InstallerScreen):
        HELP = N_(
            "Adds nodes to a zone that is deployed already.\\n"
            "\\n"
            "1. Pick the zone and tick the new nodes (Space).\\n"
            "2. F8 starts the scale-out; the steps and the log follow it.\\n"
            "3. When it ends, the zone's VBC routes are shown below."
        )

- The first paragraph states what the screen is for, in one or two sentences.
- Then the steps, one per line, numbered, each naming the key that does it.
- No list of keys: the help reads them from the screen's active bindings
  (descriptions marked with `N_`), so it cannot drift from the footer.
- Plain text: no markup, no tabs; lines of any length (the help wraps them).
- A dialog may also set `HELP_TITLE = N_("...")`; a screen of the go-to menu
  is titled with its menu label.

A screen without HELP gets a generic text and still lists its keys.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.i18n import CHINESE, N_, _, current_language

if TYPE_CHECKING:
    from textual.app import App

    from tui.themes import InstallerTheme

KEY_NAMES = {
    "escape": "Esc", "enter": "Enter", "space": "Space", "tab": "Tab", "shift+tab": "Shift+Tab",
    "up": "Up", "down": "Down", "left": "Left", "right": "Right", "pageup": "PgUp", "pagedown": "PgDn",
    "home": "Home", "end": "End", "delete": "Del", "backspace": "Backspace", "insert": "Ins",
}

GENERIC_HELP = N_("This screen has no help text of its own yet. Its keys are listed below.")
MOVING_HELP = N_("Tab and Shift+Tab move between fields and lists, the arrow keys move within a list or "
                 "table, Enter chooses and Space ticks a box. No step needs a mouse.")
ENGLISH_LANGUAGE_HELP = N_("Language: English. For Chinese, start qc-installer with --lang zh_CN in a terminal "
                           "that can draw Chinese, such as one over SSH; the Linux console cannot.")
CHINESE_LANGUAGE_HELP = N_("Language: Chinese. For English, start qc-installer with --lang en.")


def key_label(key: str) -> str:
    """Show a key as an operator reads it on the keyboard, in ASCII: F3, ^L, Esc, Enter."""
    if key.startswith("f") and key[1:].isdigit():
        return key.upper()
    if key.startswith("ctrl+"):
        return "^" + key_label(key.removeprefix("ctrl+")).upper()
    if key in KEY_NAMES:
        return KEY_NAMES[key]
    if key.startswith("shift+"):
        return "Shift+" + key_label(key.removeprefix("shift+"))
    return key


def key_order(key: str) -> tuple[int, str]:
    """Sort function keys by number before the others, so that lists read F1, F2, ... F10, ^G."""
    if key.startswith("f") and key[1:].isdigit():
        return int(key[1:]), key
    return 100, key


def translate_bindings(bindings: dict[str, ActiveBinding]) -> dict[str, ActiveBinding]:
    """Return active bindings with translated descriptions, in function-key order."""
    translated = {}
    for key, active in sorted(bindings.items(), key=lambda item: key_order(item[0])):
        binding = dataclasses.replace(active.binding, description=_(active.binding.description))
        translated[key] = active._replace(binding=binding)
    return translated


class TranslatedBindings:
    """Mixin for a screen that is not an InstallerScreen (a dialog) and has a footer.

    Binding descriptions are English message ids; the footer reads them from
    `active_bindings`, which this returns translated and in function-key order.
    """

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return translate_bindings(super().active_bindings)  # type: ignore[misc]


@dataclass(frozen=True)
class KeyHelp:
    """One line of the key list: the key as shown, what it does, and whether it works now."""

    key: str
    description: str
    enabled: bool = True


def _declared_by_installer(node: Any, binding: Binding) -> bool:
    # A widget's bindings include those it inherits from Textual's own widgets (the
    # arrow keys of a table, the editing keys of an input). Only keys declared by
    # classes outside Textual are listed; MOVING_HELP covers the rest.
    for cls in type(node).__mro__:
        if cls.__module__.split(".")[0] == "textual":
            continue
        for declared in cls.__dict__.get("BINDINGS", []):
            # Compared by action and key: the descriptions here may be translated already.
            if (isinstance(declared, Binding) and declared.action == binding.action
                    and binding.key in declared.key.split(",")):
                return True
    return False


def screen_keys(app: App[Any], screen: Screen[Any]) -> list[KeyHelp]:
    """Return the keys of a screen and of its widgets, read from its active bindings."""
    keys = []
    for active in screen.active_bindings.values():
        if active.node is app or not active.binding.description:
            continue
        if not _declared_by_installer(active.node, active.binding):
            continue
        keys.append(KeyHelp(app.get_key_display(active.binding), _(active.binding.description), active.enabled))
    return keys


def app_keys(app: App[Any], screen: Screen[Any], exclude: set[str]) -> list[KeyHelp]:
    """Return the app's keys that work on `screen`, leaving out those in `exclude` (keys as shown).

    A dialog (a modal screen) only passes the app's priority keys on.
    """
    keys = []
    seen = set(exclude)
    bindings = sorted((binding for binding in type(app).BINDINGS if isinstance(binding, Binding)),
                      key=lambda binding: key_order(binding.key))
    for binding in bindings:
        shown = app.get_key_display(binding)
        if shown in seen or not binding.description:
            continue
        if screen.is_modal and not binding.priority:
            continue
        action = binding.action.partition("(")[0]
        if app.check_action(action, ()) is False:
            continue
        seen.add(shown)
        keys.append(KeyHelp(shown, _(binding.description)))
    return keys


def help_title(app: App[Any], screen: Screen[Any]) -> str:
    """Return the title of a screen's help: its HELP_TITLE, else its go-to menu label."""
    title = getattr(screen, "HELP_TITLE", "")
    if title:
        return _(title)

    from tui.operations import find

    operation = find(getattr(app, "current_mode", ""))
    if operation is not None and not screen.is_modal:
        return _(operation.label)
    return _("This dialog") if screen.is_modal else _("This screen")


def key_lines(keys: list[KeyHelp]) -> list[Content]:
    width = max((len(key.key) for key in keys), default=0) + 2
    lines = []
    for key in keys:
        suffix = "" if key.enabled else " " + _("(not available now)")
        lines.append(Content.assemble(("  " + key.key.ljust(width), "bold"), key.description + suffix))
    return lines


def key_grid(keys: list[KeyHelp], columns: int = 3, column_width: int = 24) -> list[Content]:
    """Lay keys out in columns, row by row, to keep the app's keys within a few lines."""
    width = max((len(key.key) for key in keys), default=0) + 1
    lines = []
    for start in range(0, len(keys), columns):
        cells = []
        for key in keys[start:start + columns]:
            text = f"{key.key.ljust(width)}{key.description}"
            cells.append(Content.assemble((key.key.ljust(width), "bold"), key.description,
                                          " " * max(1, column_width - cell_len(text))))
        lines.append(Content.assemble("  ", *cells).rstrip())
    return lines


def help_content(app: App[Any], screen: Screen[Any], theme_label: str = "") -> Content:
    """Build the help text of `screen`: purpose and steps, its keys, the app's keys, language and theme."""
    text = _(getattr(screen, "HELP", "") or GENERIC_HELP)
    own = screen_keys(app, screen)
    shared = app_keys(app, screen, {key.key for key in own})

    lines: list[Content] = [Content(line) for line in text.splitlines()]
    lines.append(Content(""))
    lines.append(Content.styled(_("Keys on this screen"), "bold $text-primary"))
    lines.extend(key_lines(own) or [Content("  " + _("none"))])
    lines.append(Content(""))
    lines.append(Content.styled(_("Keys everywhere"), "bold $text-primary"))
    lines.extend(key_grid(shared))
    lines.append(Content(""))
    lines.append(Content(_(MOVING_HELP)))
    lines.append(Content(""))
    lines.append(Content(_(CHINESE_LANGUAGE_HELP if current_language() == CHINESE else ENGLISH_LANGUAGE_HELP)))
    if theme_label:
        lines.append(Content(_("Theme: {theme}. ^T picks another one, and the TUI remembers it.").format(
            theme=theme_label)))
    return Content("\n").join(lines)


class HelpScreen(TranslatedBindings, ModalScreen[None]):
    """The help of the screen under it; Esc or F1 closes it."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > Vertical {
        width: 78;
        max-width: 100%;
        height: 100%;
        max-height: 34;
        border: solid $primary;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen #help-title {
        height: 1;
        text-style: bold;
        color: $text-primary;
    }
    HelpScreen #help-scroll {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    """

    BINDINGS = [
        Binding("escape", "close", N_("Close")),
        Binding("ctrl+t", "app.choose_theme", N_("Theme")),
    ]

    def __init__(self, content: Content, title: str) -> None:
        super().__init__()
        self.content = content
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(_("Help: {title}").format(title=self.title_text)), id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(self.content, id="help-text")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        # Focused, so the arrow keys and PgUp/PgDn scroll a long help.
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)


class ThemeScreen(TranslatedBindings, ModalScreen[str]):
    """The list of themes; dismisses with the chosen theme's name, or an empty string on Esc."""

    HELP_TITLE = N_("Themes")
    HELP = N_("Lists the colour themes. The arrow keys move, Enter uses the highlighted theme and the TUI "
              "remembers it for the next start; Esc keeps the current one.")

    DEFAULT_CSS = """
    ThemeScreen {
        align: center middle;
    }
    ThemeScreen > Vertical {
        width: 72;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: solid $primary;
        background: $surface;
    }
    ThemeScreen OptionList, ThemeScreen OptionList:focus {
        height: auto;
        max-height: 12;
        border: none;
    }
    """

    BINDINGS = [Binding("escape", "cancel", N_("Close"))]

    def __init__(self, themes: list[InstallerTheme], current: str) -> None:
        super().__init__()
        self.themes = themes
        self.current = current

    def compose(self) -> ComposeResult:
        width = max((cell_len(_(entry.label)) for entry in self.themes), default=0) + 2
        with Vertical():
            yield Static(_("Theme (arrows and Enter):"), classes="section-title")
            yield OptionList(*(Option(Content.assemble(
                (_(entry.label), "bold"), " " * (width - cell_len(_(entry.label))), _(entry.description)),
                id=entry.name) for entry in self.themes), id="theme-list")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        for index, entry in enumerate(self.themes):
            if entry.name == self.current:
                options.highlighted = index
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "")

    def action_cancel(self) -> None:
        self.dismiss("")
