"""Opening the terminal wizard on a local engine, the lab, or a remote server."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from engine.client import Client, LocalClient
from qc_cli.license import trust_license_key
from qc_cli.options import configure_logging, engine_settings
from qc_cli.user import PasswordInputError, http_client_from_args


def display_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return run_tui's language, console mode, theme and settings from the options and the environment."""
    from tui.console import choose_language, detect_display, prepare_environment
    from tui.settings import SettingsStore, settings_path

    environ = dict(os.environ)
    lang, language_note = choose_language(args.lang, environ)
    display = detect_display(environ, force_console=bool(getattr(args, "console", False)))
    prepare_environment(os.environ, display)
    return {
        "lang": lang,
        "language_note": language_note,
        "display_mode": display,
        "theme": getattr(args, "theme", None),
        "settings": SettingsStore(settings_path(environ)),
    }


def run_wizard(args: argparse.Namespace) -> int:
    # Before Textual is imported: the display options set its ESCDELAY in console mode.
    display = display_options(args)

    from tui.app import run_tui

    state = {}

    if args.server:
        # The password prompt, if any, has to come before the wizard takes over the terminal.
        try:
            remote = http_client_from_args(args.server, args)
        except PasswordInputError as error:
            print(f"qc-installer: {error}", file=sys.stderr)
            return 1

        async def connect_remote() -> Client:
            state["client"] = remote
            return state["client"]

        async def disconnect_remote() -> None:
            await state["client"].close()

        return run_tui(connect_remote, disconnect=disconnect_remote, **display)

    from engine.engine import Engine

    state_dir, lab, speed, failures = engine_settings(args)
    configure_logging(state_dir)
    engine = Engine(state_dir)
    trust_license_key(engine, args, lab=lab)

    async def connect() -> Client:
        if lab:
            from engine.lab.session import LabSession

            session = LabSession(engine, speed=speed, failures=failures)
            await session.start()
            state["session"] = session
            return LocalClient(engine, description="lab")
        await engine.start()
        return LocalClient(engine)

    async def disconnect() -> None:
        if "session" in state:
            await state["session"].stop()
        await engine.stop()

    config_path = ""
    growth_config_paths: dict[str, str] = {}
    if lab:
        from engine.lab.session import LabSession

        config_path = str(LabSession.sample_config_location(engine))
        growth_config_paths = {action: str(path) for action, path in LabSession.growth_config_locations(engine).items()}
    try:
        return run_tui(connect, disconnect=disconnect, config_path=config_path,
                       growth_config_paths=growth_config_paths, **display)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
