"""The question asked before quitting while a job runs in this process."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tui.i18n import N_, _
from tui.screens.help import TranslatedBindings


class QuitConfirmScreen(TranslatedBindings, ModalScreen[bool]):
    """Dismisses with True when the operator confirms quitting with F10 again."""

    HELP_TITLE = N_("Quit")
    HELP = N_(
        "A job started by this installer is still running, and quitting stops it: the job fails and "
        "has to be run again.\n"
        "F10 quits anyway, Esc goes back."
    )

    DEFAULT_CSS = """
    QuitConfirmScreen {
        align: center middle;
    }
    QuitConfirmScreen > Vertical {
        width: 64;
        height: auto;
        border: solid $warning;
        background: $surface;
        padding: 0 1;
    }
    """

    BINDINGS = [
        Binding("f10", "confirm", N_("Quit"), priority=True),
        Binding("escape", "cancel", N_("Stay"), key_display="Esc"),
    ]

    def __init__(self, jobs: list[str]) -> None:
        super().__init__()
        self.jobs = jobs

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(_("Running in this installer: {jobs}.").format(jobs=", ".join(self.jobs)), id="quit-jobs")
            yield Static(_("Quitting stops the job; it fails and must be run again. "
                           "Press F10 to quit anyway, Esc to stay."), id="quit-question")
        yield Footer(show_command_palette=False, compact=True)

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
