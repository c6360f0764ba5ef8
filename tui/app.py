"""The installer's terminal UI: the app, its screens by mode, and `run_tui`.

Console mode (tui/console.py) and the themes (tui/themes/) are chosen here:
on a limited terminal the app adds the `-console` class, which app.tcss uses
to draw ASCII frames, and swaps Textual's glyphs for console ones while it runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, TextArea

from engine.client import Client
from tui.console import ConsoleGlyphs, Display
from tui.i18n import N_, _, set_language
from tui.operations import OPERATIONS, screen_factory
from tui.screens.connecting import ConnectingScreen
from tui.screens.goto import GoToScreen
from tui.screens.help import HelpScreen, ThemeScreen, help_content, help_title, key_label
from tui.screens.quit_confirm import QuitConfirmScreen
from tui.settings import SettingsStore
from tui.themes import InstallerTheme, default_theme, load_themes

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

    MODES = {operation.mode: screen_factory(operation) for operation in OPERATIONS}

    # Function keys and ctrl combinations only: a plain letter would go to a focused Input,
    # and ctrl+s / ctrl+q are flow control on serial lines. Textual's own ctrl+q quit is
    # not inherited, so a stray XON cannot end the app during a deploy.
    # The footer shows F1, ctrl+g and F10 beside a screen's own keys; at 80 columns there
    # is no room for more. F1 lists every key, and ctrl+g lists every screen with its key.
    BINDINGS = [
        Binding("f1", "help", N_("Help"), priority=True),
        Binding("f2", "show_mode('overview')", N_("Overview"), show=False, priority=True),
        Binding("f3", "show_mode('nodes')", N_("Nodes"), show=False, priority=True),
        Binding("f4", "show_mode('configuration')", N_("Config"), show=False, priority=True),
        Binding("f5", "show_mode('deploy')", N_("Deploy"), show=False, priority=True),
        Binding("f10", "quit", N_("Quit"), priority=True),
        # Every other screen (scale-out, upgrade, tests, checks, ...) is one menu away.
        Binding("ctrl+g", "go_to", N_("Menu")),
        Binding("ctrl+l", "show_mode('licenses')", N_("Licenses"), show=False, priority=True),
        # The nodes' editable files.
        Binding("ctrl+f", "show_mode('files')", N_("Files"), show=False, priority=True),
        Binding("ctrl+t", "choose_theme", N_("Theme"), show=False, priority=True),
        Binding("ctrl+c", "quit", N_("Quit"), show=False, priority=True),
    ]

    platform: reactive[dict[str, Any] | None] = reactive(None, always_update=True)
    """DescribeQingCloud's `qingcloud` object as last read, for the header."""

    connection: reactive[str] = reactive("")
    """The client's description once connected."""

    def __init__(self, connect: Connect, *, lang: str = "en", disconnect: Disconnect | None = None,
                 poll_interval: float = 0.5, config_path: str = "", display_mode: Display | None = None,
                 theme: str | None = None, settings: SettingsStore | None = None,
                 language_note: bool = False) -> None:
        set_language(lang)
        self.display_mode = display_mode or Display()
        """Console mode and colours, from tui.console.detect_display."""
        # With NO_COLOR, Textual picks its colour filter here: a monochrome theme needs
        # ANSI colours on, so that the filter drops colours instead of making greys.
        super().__init__(ansi_color=True if self.display_mode.no_color else None)
        self.config_path = config_path
        """Configuration file offered on the configuration screen, e.g. the lab's sample."""
        self.growth_config_paths: dict[str, str] = {}
        """Configurations the scale-out and new-zone screens offer, keyed by job action (the lab's)."""
        self._connect = connect
        self._disconnect = disconnect
        self._disconnected = False
        self.client: Client | None = None
        self.poll_interval = poll_interval
        """Seconds between two looks at a running job."""
        self.settings_store = settings
        """Store of the theme picked with ctrl+t; None keeps nothing (tests)."""
        self.language_note = language_note
        """True when the locale asked for Chinese but the Linux console made it English."""
        self.cursor_blink = not self.display_mode.console
        """Whether inputs blink their cursor; off in console mode, where each blink is output."""
        self._console_glyphs = ConsoleGlyphs()

        self.installer_themes: dict[str, InstallerTheme] = load_themes()
        for entry in self.installer_themes.values():
            self.register_theme(entry.theme)
        self.theme = self.pick_theme(theme)

        if self.display_mode.console:
            self.add_class("-console")
            self.animation_level = "none"

    def pick_theme(self, requested: str | None) -> str:
        """Return the theme to start with: --theme, else the remembered one, else the display's default.

        NO_COLOR wins over a remembered theme, because it is asked for on this run.
        """
        if requested:
            if requested not in self.installer_themes:
                raise ValueError(f"theme {requested!r} is not known; expected one of "
                                 f"{', '.join(self.installer_themes)}")
            return requested

        if self.settings_store is not None and not self.display_mode.no_color:
            remembered = self.settings_store.load().theme_for(self.display_mode.console)
            if remembered in self.installer_themes:
                return remembered
            if remembered:
                log.warning("remembered theme %r is not known; using the default", remembered)

        return default_theme(self.display_mode)

    def get_key_display(self, binding: Binding) -> str:
        # ASCII names as printed on the keyboard ("F2", "^L", "Enter"): Textual's own
        # symbols for Enter and Backspace are missing from console fonts.
        if binding.key_display:
            return binding.key_display
        return key_label(binding.key)

    def get_default_screen(self) -> Screen:
        return ConnectingScreen()

    def on_load(self) -> None:
        if self.display_mode.console:
            self._console_glyphs.apply()

    def on_mount(self) -> None:
        # After the first refresh, so the connecting screen is up to show a failure.
        self.call_after_refresh(self.connect_engine)

    def on_unmount(self) -> None:
        self._console_glyphs.restore()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if not self.cursor_blink and isinstance(event.widget, (Input, TextArea)):
            event.widget.cursor_blink = False

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
        # Shown on the overview: a notification raised on the connecting screen stays there.
        if self.language_note:
            self.language_note = False
            self.notify(_("The Linux console cannot draw Chinese, so the installer is in English. For "
                          "Chinese, start it with --lang zh_CN in a terminal that can, such as one over SSH."),
                        timeout=30)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("show_mode", "go_to"):
            # Hidden until connected: every screen needs the client.
            return self.client is not None
        return True

    async def action_show_mode(self, mode: str) -> None:
        if self.client is not None and self.current_mode != mode:
            await self.switch_mode(mode)

    def action_go_to(self) -> None:
        if self.client is None or isinstance(self.screen, GoToScreen):
            return
        self.push_screen(GoToScreen(self.current_mode), self.go_to_chosen)

    async def go_to_chosen(self, mode: str | None) -> None:
        if mode:
            await self.action_show_mode(mode)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        theme = self.installer_themes.get(self.theme)
        theme_label = _(theme.label) if theme is not None else self.theme
        self.push_screen(HelpScreen(help_content(self, self.screen, theme_label), help_title(self, self.screen)))

    def action_choose_theme(self) -> None:
        if isinstance(self.screen, ThemeScreen):
            return
        self.push_screen(ThemeScreen(list(self.installer_themes.values()), self.theme), self.theme_chosen)

    def theme_chosen(self, name: str | None) -> None:
        if not name or name not in self.installer_themes:
            return
        self.theme = name
        if self.settings_store is not None:
            store = self.settings_store
            store.save(store.load().with_theme(name, self.display_mode.console))

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


def run_tui(connect: Connect, *, lang: str, disconnect: Disconnect | None = None, config_path: str = "",
            display_mode: Display | None = None, theme: str | None = None, settings: SettingsStore | None = None,
            language_note: bool = False, growth_config_paths: dict[str, str] | None = None) -> int:
    """Run the installer TUI in this terminal until the operator quits; return the exit code.

    The app and `disconnect` run in one event loop, so whatever `connect` started
    (servers, SSH connections) is stopped in the loop that owns it, even when the app
    ends on an error. The mouse is never enabled: every action has a key.
    """
    app = InstallerApp(connect, lang=lang, disconnect=disconnect, config_path=config_path, display_mode=display_mode,
                       theme=theme, settings=settings, language_note=language_note)
    app.growth_config_paths = dict(growth_config_paths or {})

    async def run() -> None:
        try:
            await app.run_async(mouse=False)
        finally:
            await app.disconnect_engine()

    asyncio.run(run())
    return app.return_code or 0
