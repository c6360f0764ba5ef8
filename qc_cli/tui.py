"""Opening the terminal wizard on a local engine, the lab, or a remote server."""

from __future__ import annotations

import argparse
import os
import sys

from engine.client import Client, LocalClient
from qc_cli.license import trust_license_key
from qc_cli.options import configure_logging, engine_settings
from qc_cli.user import PasswordInputError, http_client_from_args


def run_wizard(args: argparse.Namespace) -> int:
    from tui.app import run_tui
    from tui.i18n import language_from_environment

    lang = args.lang or language_from_environment(dict(os.environ))
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

        return run_tui(connect_remote, lang=lang, disconnect=disconnect_remote)

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
    if lab:
        from engine.lab.session import LabSession

        config_path = str(LabSession.sample_config_location(engine))
    try:
        return run_tui(connect, lang=lang, disconnect=disconnect, config_path=config_path)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
