"""`qc-installer serve`: the HTTP API, optionally with the lab behind it.

It listens on 127.0.0.1 unless --listen names another address.
engine.auth.listen decides what such an address needs (TLS files or
--insecure, and a user).
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from engine.auth.listen import ListenError, plan_listen
from engine.engine import Engine
from engine.http import build_app, is_loopback_host
from qc_cli.license import trust_license_key
from qc_cli.options import configure_logging, engine_settings

log = logging.getLogger("qc_cli.serve")


def run_serve(args: argparse.Namespace) -> int:
    state_dir, lab, speed, failures = engine_settings(args)
    host, port = args.listen
    try:
        plan = plan_listen(host, state_dir, loopback=is_loopback_host(host), tls_cert=args.tls_cert,
                           tls_key=args.tls_key, insecure=args.insecure)
    except ListenError as error:
        print(f"qc-installer serve: {error}", file=sys.stderr)
        return 2

    configure_logging(state_dir, to_stderr=True)
    for warning in plan.warnings:
        log.warning("%s", warning)
    for notice in plan.notices:
        log.info("%s", notice)
    engine = Engine(state_dir)
    trust_license_key(engine, args, lab=lab)

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

    app = build_app(engine, local_operator=plan.loopback, on_startup=startup, on_shutdown=shutdown)
    shown_host = f"[{host}]" if ":" in host else host
    log.info("serving the installer API on %s://%s:%d/ (state directory %s)", plan.scheme, shown_host, port, state_dir)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, **plan.uvicorn_options)
    return 0
