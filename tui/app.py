"""The installer's terminal UI: the app, its screens by mode, and `run_tui`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from engine.client import Client
from tui.i18n import N_, set_language
from tui.screens.configuration import ConfigurationScreen
from tui.screens.connecting import ConnectingScreen
from tui.screens.deploy import DeployScreen
from tui.screens.licenses import LicensesScreen
from tui.screens.nodes import NodesScreen
from tui.screens.quit_confirm import QuitConfirmScreen
from tui.screens.overview import OverviewScreen
from tui.screens.config_files import ConfigFilesScreen

log = logging.getLogger(__name__)

Connect = Callable[[], Awaitable[Client]]
Disconnect = Callable[[], Awaitable[None]]


class InstallerApp(App[int], inherit_bindings=False):
    """The installer TUI over one engine client.

    `connect` is awaited in a worker once the app is up, behind a "connecting" screen,
    because starting an engine (the lab starts SSH servers) can take seconds.
    `disconnect`, when given, is awaited once on quit; without it the app closes the
    client itself. Each screen is a mode, so a deploy keeps being followed while the
    operator looks at another screen.
    """

    CSS_PATH = "app.tcss"
    TITLE = "QingCloud installer"

    MODES = {
        "overview": OverviewScreen,
        "nodes": NodesScreen,
        "configuration": ConfigurationScreen,
        "deploy": DeployScreen,
        "licenses": LicensesScreen,
        "files": ConfigFilesScreen,
    }

    # Function keys and ctrl+c only: a plain letter would go to a focused Input, and
    # ctrl+s / ctrl+q are flow control on serial lines. Textual's own ctrl+q quit is
    # not inherited, so a stray XON cannot end the app during a deploy.
    BINDINGS = [
        Binding("f2", "show_mode('overview')", N_("Overview"), priority=True),
        Binding("f3", "show_mode('nodes')", N_("Nodes"), priority=True),
        Binding("f4", "show_mode('configuration')", N_("Config"), priority=True),
        Binding("f5", "show_mode('deploy')", N_("Deploy"), priority=True),
        Binding("f10", "quit", N_("Quit"), priority=True),
        # Off the footer: beside a screen's own keys it would push the footer past 80 columns.
        Binding("ctrl+l", "show_mode('licenses')", N_("Licenses"), show=False, priority=True),
        Binding("ctrl+c", "quit", N_("Quit"), show=False, priority=True),
        # The nodes' editable files. Off the footer for the same reason as licenses.
        Binding("ctrl+f", "show_mode('files')", N_("Files"), show=False, priority=True),
    ]

    platform: reactive[dict[str, Any] | None] = reactive(None, always_update=True)
    """DescribeQingCloud's `qingcloud` object as last read, for the header."""

    connection: reactive[str] = reactive("")
    """The client's description once connected."""

    def __init__(self, connect: Connect, *, lang: str = "en", disconnect: Disconnect | None = None,
                 poll_interval: float = 0.5, config_path: str = "") -> None:
        set_language(lang)
        super().__init__()
        self.config_path = config_path
        """Configuration file offered on the configuration screen, e.g. the lab's sample."""
        self._connect = connect
        self._disconnect = disconnect
        self._disconnected = False
        self.client: Client | None = None
        self.poll_interval = poll_interval
        """Seconds between two looks at a running job."""

    def get_key_display(self, binding: Binding) -> str:
        # Function keys as printed on the keyboard: "F2", not "f2".
        key = binding.key
        if key.startswith("f") and key[1:].isdigit():
            return key.upper()
        return super().get_key_display(binding)

    def get_default_screen(self) -> Screen:
        return ConnectingScreen()

    def on_mount(self) -> None:
        # After the first refresh, so the connecting screen is up to show a failure.
        self.call_after_refresh(self.connect_engine)

    @work(exclusive=True, group="connect")
    async def connect_engine(self) -> None:
        try:
            client = await self._connect()
        # The caller's connect may fail in any way (sockets, SSH, a lab that does not
        # start); the operator gets the message and ctrl+r to retry.
        except Exception as error:
            log.exception("connecting to the engine failed")
            if isinstance(self.screen, ConnectingScreen):
                self.screen.show_failure(error)
            return

        self.client = client
        self.connection = client.description
        self.refresh_bindings()
        await self.switch_mode("overview")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_mode":
            # Hidden until connected: every screen needs the client.
            return self.client is not None
        return True

    async def action_show_mode(self, mode: str) -> None:
        if self.client is not None and self.current_mode != mode:
            await self.switch_mode(mode)

    async def action_quit(self) -> None:
        running = await self.jobs_running_here()
        if running and not isinstance(self.screen, QuitConfirmScreen):
            self.push_screen(QuitConfirmScreen(running), self.quit_if_confirmed)
            return
        await self.quit_now()

    async def quit_if_confirmed(self, confirmed: bool | None) -> None:
        if confirmed:
            await self.quit_now()

    async def quit_now(self) -> None:
        await self.disconnect_engine()
        self.exit(result=0, return_code=0 if self.client is not None else 1)

    async def jobs_running_here(self) -> list[str]:
        """Unfinished jobs that would stop with this process: only an in-process engine's."""
        if self.client is None or not getattr(self.client, "in_process", False):
            return []
        try:
            response = await self.client.call("DescribeJobs", {"limit": 50}, "Job")
        # Quitting must stay possible even when the engine cannot answer.
        except Exception:
            log.exception("listing running jobs before quitting failed")
            return []
        if response.get("ret_code") != 0:
            return []
        return [f"{job['job_action']} {job['job_id']}" for job in response.get("job_set") or []
                if job.get("status") not in ("successful", "failed")]

    async def disconnect_engine(self) -> None:
        """Await `disconnect` (or close the client) once, logging a failure instead of raising."""
        if self._disconnected:
            return
        self._disconnected = True

        try:
            if self._disconnect is not None:
                await self._disconnect()
            elif self.client is not None:
                await self.client.close()
        # Quitting must not fail because the engine could not be stopped cleanly.
        except Exception:
            log.exception("disconnecting from the engine failed")


def run_tui(connect: Connect, *, lang: str, disconnect: Disconnect | None = None, config_path: str = "") -> int:
    """Run the installer TUI in this terminal until the operator quits; return the exit code.

    The app and `disconnect` run in one event loop, so whatever `connect` started
    (servers, SSH connections) is stopped in the loop that owns it, even when the app
    ends on an error.
    """
    app = InstallerApp(connect, lang=lang, disconnect=disconnect, config_path=config_path)

    async def run() -> None:
        try:
            await app.run_async(mouse=False)
        finally:
            await app.disconnect_engine()

    asyncio.run(run())
    return app.return_code or 0
