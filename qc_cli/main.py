"""The `qc-installer` command: the TUI, `serve` (HTTP API) and `call` (one API call).

    qc-installer [--lab] [--state-dir DIR] [--lang zh_CN|en] [--console] [--theme NAME]
    qc-installer serve [--lab] [--listen 127.0.0.1:8750] [--tls-cert FILE --tls-key FILE | --insecure] [--state-dir DIR]
    qc-installer call [--server URL [--user NAME] [--password-stdin] [--tls-ca FILE | --tls-pin SHA256]]
                      ACTION [--json FILE] [key=value ...]
    qc-installer user add|passwd|del|list [NAME] [--role admin|viewer] [--password-stdin] [--state-dir DIR]
    qc-installer apply ANSWERS.yaml [--deploy] [--yes] [--password-stdin] [--server URL]
    qc-installer license keygen --out KEY.pem
    qc-installer license issue --vendor-key KEY.pem APPLICATION_CODE [--days N | --end TIME]
    qc-installer report test|check [--run JOB_ID] [--format md|json|junit|html] [-o FILE] [--server URL]
    qc-installer screenshots [--out DIR] [--lang en,zh_CN] [--size 80x24,120x40]

The wizard and `serve` take --license-pubkey FILE, the vendor public key that
license codes must be signed with.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from qc_cli.license import add_license_commands, add_pubkey_option
from qc_cli.options import add_display_options, add_engine_options, parse_listen
from qc_cli.report import add_report_command
from qc_cli.screenshots import add_screenshots_command
from qc_cli.user import add_login_options, add_user_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qc-installer",
        description="Install and grow a QingCloud private cloud. Without a command, opens the terminal wizard.",
    )
    add_engine_options(parser)
    parser.add_argument("--lang", choices=["zh_CN", "en"],
                        help="language of the wizard (default: from the locale; English when TERM is linux)")
    add_display_options(parser)
    parser.add_argument("--server", metavar="URL", help="drive the engine of `qc-installer serve` at URL")
    add_login_options(parser, password_stdin=False)
    add_pubkey_option(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the HTTP API")
    add_engine_options(serve)
    serve.add_argument(
        "--listen", default="127.0.0.1:8750", type=parse_listen, metavar="HOST:PORT",
        help="address and port to listen on (default 127.0.0.1:8750); an address that is not loopback "
             "needs --tls-cert and --tls-key, or --insecure, and at least one user",
    )
    serve.add_argument("--tls-cert", type=Path, metavar="FILE", help="serve HTTPS with this PEM certificate (chain)")
    serve.add_argument("--tls-key", type=Path, metavar="FILE", help="private key of --tls-cert, PEM, unencrypted")
    serve.add_argument("--insecure", action="store_true",
                       help="allow plain HTTP on an address that is not loopback; passwords then cross the "
                            "network readable (base64)")
    add_pubkey_option(serve)

    call = commands.add_parser("call", help="make one API call and print the JSON response")
    add_engine_options(call)
    call.add_argument("--server", dest="call_server", metavar="URL", help="send the call to this server instead of an in-process engine")
    call.add_argument("--request-type", default=None, help="request_type (default: QingCloud, or Node/Job for their actions)")
    call.add_argument("--json", dest="json_file", type=Path, metavar="FILE", help="file with the request's JSON object")
    call.add_argument("action", help="API action, e.g. DescribeQingCloud")
    call.add_argument("params", nargs="*", metavar="key=value", help="parameters; values are parsed as JSON when they are valid JSON")
    add_login_options(call, password_stdin=True)

    apply = commands.add_parser(
        "apply", help="install what an answers file describes, without the wizard",
        description="Register the answers file's nodes, apply its configuration and, with --deploy, deploy it.",
    )
    add_engine_options(apply)
    apply.add_argument("answers_file", type=Path, metavar="ANSWERS.yaml", help="answers file to apply")
    apply.add_argument("--deploy", action="store_true", help="run DeployQingCloud after ConfigQingCloud")
    apply.add_argument("--yes", action="store_true",
                       help="apply without asking for confirmation; host keys the file does not pin are trusted on first use")
    apply.add_argument("--password-stdin", action="store_true",
                       help="read the nodes' SSH password from standard input; it is used once to install "
                            "the installer's key and never stored")
    apply.add_argument("--server", dest="apply_server", metavar="URL",
                       help="drive the engine of `qc-installer serve` at URL instead of an in-process engine")
    add_login_options(apply, password_stdin=False)

    add_license_commands(commands)
    add_user_commands(commands)
    add_report_command(commands)
    add_screenshots_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from engine.statelock import StateDirError

    parser = build_parser()
    # `call` takes key=value parameters after its options too, e.g.
    # `call DescribeJobs --request-type Job job_action=DeployQingCloud`, which argparse
    # alone leaves over once the positional list has been read.
    args, extras = parser.parse_known_args(argv)
    if extras:
        if getattr(args, "command", None) == "call" and all("=" in extra and not extra.startswith("-") for extra in extras):
            args.params.extend(extras)
        else:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
    try:
        return run_command(args)
    except StateDirError as error:
        print(f"qc-installer: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of our output went away (`| head`), so nothing more can be printed.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def run_command(args: argparse.Namespace) -> int:

    if args.command == "serve":
        from qc_cli.serve import run_serve

        return run_serve(args)
    if args.command == "call":
        from qc_cli.call import run_call

        return run_call(args)
    if args.command == "apply":
        from qc_cli.apply import run_apply

        return run_apply(args)
    if args.command == "license":
        from qc_cli.license import run_license

        return run_license(args)
    if args.command == "user":
        from qc_cli.user import run_user

        return run_user(args)
    if args.command == "report":
        from qc_cli.report import run_report

        return run_report(args)
    if args.command == "screenshots":
        from qc_cli.screenshots import run_screenshots

        return run_screenshots(args)

    from qc_cli.tui import run_wizard

    return run_wizard(args)


if __name__ == "__main__":
    sys.exit(main())
