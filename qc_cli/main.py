"""The `qc-installer` command: the TUI, `serve` (HTTP API) and `call` (one API call).

    qc-installer [--lab] [--state-dir DIR] [--lang zh_CN|en]
    qc-installer serve [--lab] [--listen 127.0.0.1:8750] [--state-dir DIR]
    qc-installer call [--server URL] ACTION [--json FILE] [key=value ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from qc_cli.options import add_engine_options, parse_listen


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qc-installer",
        description="Install and grow a QingCloud private cloud. Without a command, opens the terminal wizard.",
    )
    add_engine_options(parser)
    parser.add_argument("--lang", choices=["zh_CN", "en"], help="language of the wizard (default: from the locale)")
    parser.add_argument("--server", metavar="URL", help="drive the engine of `qc-installer serve` at URL")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the HTTP API")
    add_engine_options(serve)
    serve.add_argument(
        "--listen", default="127.0.0.1:8750", type=parse_listen, metavar="HOST:PORT",
        help="address and port to listen on (default 127.0.0.1:8750; loopback only in this version)",
    )

    call = commands.add_parser("call", help="make one API call and print the JSON response")
    add_engine_options(call)
    call.add_argument("--server", dest="call_server", metavar="URL", help="send the call to this server instead of an in-process engine")
    call.add_argument("--request-type", default=None, help="request_type (default: QingCloud, or Node/Job for their actions)")
    call.add_argument("--json", dest="json_file", type=Path, metavar="FILE", help="file with the request's JSON object")
    call.add_argument("action", help="API action, e.g. DescribeQingCloud")
    call.add_argument("params", nargs="*", metavar="key=value", help="parameters; values are parsed as JSON when they are valid JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    if args.command == "serve":
        from qc_cli.serve import run_serve

        return run_serve(args)
    if args.command == "call":
        from qc_cli.call import run_call

        return run_call(args)

    from qc_cli.tui import run_wizard

    return run_wizard(args)


if __name__ == "__main__":
    sys.exit(main())
