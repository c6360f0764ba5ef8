"""`qc-installer serve`: the HTTP API on loopback, optionally with the lab behind it."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from engine.engine import Engine
from engine.http import build_app
from qc_cli.options import configure_logging, engine_settings

log = logging.getLogger("qc_cli.serve")


def run_serve(args: argparse.Namespace) -> int:
    state_dir, lab, speed, failures = engine_settings(args)
    configure_logging(state_dir, to_stderr=True)
    engine = Engine(state_dir)
    host, port = args.listen

    session = None
    if lab:
        from engine.lab.session import LabSession

        session = LabSession(engine, speed=speed, failures=failures)

    async def startup() -> None:
        if session is not None:
            await session.start()
            log.info("lab ready: sample configuration at %s", session.sample_config_path)

    async def shutdown() -> None:
        if session is not None:
            await session.stop()

    app = build_app(engine, on_startup=startup, on_shutdown=shutdown)
    log.info("serving the installer API on http://%s:%d/ (state directory %s)", host, port, state_dir)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    return 0
