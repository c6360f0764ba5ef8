"""The go-to menu: every screen of the installer in one list, opened with ctrl+g."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.i18n import N_, _
from tui.screens.help import TranslatedBindings
from tui.operations import OPERATIONS, Operation


def key_label(key: str) -> str:
    """Show a key as the keyboard prints it: F3, ^L."""
    if key.startswith("f") and key[1:].isdigit():
        return key.upper()
    if key.startswith("ctrl+"):
        return "^" + key.removeprefix("ctrl+").upper()
    return key


def option_text(operation: Operation) -> Content:
    key = key_label(operation.key) if operation.key else ""
    return Content.assemble(
        (f"{key:<4}", "bold"),
        (f"{_(operation.label)}", "bold"),
        "  ",
        _(operation.description),
    )


class GoToScreen(TranslatedBindings, ModalScreen[str]):
    """Dismisses with the mode the operator picked, or an empty string on Esc."""

    HELP_TITLE = N_("Go to")
    HELP = N_(
        "Every screen of the installer. The arrow keys move, Enter opens the highlighted screen and "
        "Esc closes the menu.\n"
        "The key at the left of a screen opens it directly, from any screen."
    )

    DEFAULT_CSS = """
    GoToScreen {
        align: center middle;
    }
    GoToScreen > Vertical {
        width: 78;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: solid $primary;
        background: $surface;
    }
    GoToScreen OptionList {
        height: auto;
        max-height: 16;
        border: none;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", N_("Close"), key_display="Esc"),
    ]

    def __init__(self, current_mode: str = "") -> None:
        super().__init__()
        self.current_mode = current_mode

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(_("Go to (arrows and Enter):"), classes="section-title")
            yield OptionList(*(Option(option_text(operation), id=operation.mode) for operation in OPERATIONS),
                             id="goto-list")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        for index, operation in enumerate(OPERATIONS):
            if operation.mode == self.current_mode:
                options.highlighted = index

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "")

    def action_cancel(self) -> None:
        self.dismiss("")
