"""The wizard's first step: the file to load into it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

from tui.i18n import N_, _
from tui.wizard.widgets import WizardSection


class StartSection(WizardSection):
    """Names a configuration or answers file for F6; the screen reads it."""

    SECTION = "start"
    TITLE = N_("Start")

    DEFAULT_CSS = """
    StartSection #start-help {
        margin-top: 1;
        color: $text-muted;
    }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(id="path-row"):
            yield Label(_("File:"), id="path-label")
            yield Input(placeholder=_("path of a JSON or YAML file, then Enter or F6"),
                        id="config-path", compact=True)
        yield Static(_("F6 reads a ConfigQingCloud request, its bare config (JSON or YAML) or an answers file "
                       "into the wizard. A zone in the file replaces the wizard's zone of the same id; "
                       "other zones stay.\n"
                       "To start from scratch, press F9 and add a zone. F9 and F8 move between the steps; "
                       "nothing is applied before F7."), id="start-help")

    def on_mount(self) -> None:
        # A blinking cursor repaints twice a second, a cost a serial console feels.
        self.query_one("#config-path", Input).cursor_blink = False

    def focus_first(self) -> None:
        self.query_one("#config-path", Input).focus()
