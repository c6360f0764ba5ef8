"""The first screen: shown while the app connects to the engine, and when that fails."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.platform_line import PlatformLine


class ConnectingScreen(InstallerScreen):
    """Connection progress; ctrl+r retries after a failure."""

    HELP = N_(
        "Shown while the installer connects to its engine: the lab, the engine on this machine, or "
        "the server named with --server.\n"
        "\n"
        "1. Wait: the overview replaces this screen once the engine answers.\n"
        "2. If the connection fails, the reason is shown below; ^R tries again and F10 quits."
    )

    BINDINGS = [Binding("ctrl+r", "retry", N_("Retry"))]

    def __init__(self) -> None:
        super().__init__(id="connecting")
        self.failed = False

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        yield Static(_("Connecting to the engine..."), id="connect-message")
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def show_connecting(self) -> None:
        self.failed = False
        self.error_panel.clear()
        self.query_one("#connect-message", Static).update(_("Connecting to the engine..."))
        self.refresh_bindings()

    def show_failure(self, error: BaseException) -> None:
        self.failed = True
        self.query_one("#connect-message", Static).update(
            _("Could not connect to the engine. Press ctrl+r to try again or F10 to quit."))
        self.error_panel.show_text(_("Connection failed: {error}").format(error=str(error) or type(error).__name__))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":
            return self.failed
        return True

    def action_retry(self) -> None:
        self.show_connecting()
        self.app.connect_engine()  # type: ignore[attr-defined]
