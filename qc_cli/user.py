"""Users of the HTTP API on the command line: `qc-installer user ...`, and logging in as one.

    qc-installer user add NAME --role admin|viewer [--password-stdin] [--state-dir DIR]
    qc-installer user passwd NAME [--password-stdin] [--state-dir DIR]
    qc-installer user del NAME [--state-dir DIR]
    qc-installer user list [--state-dir DIR]

Passwords come from a prompt that does not echo (asked twice when setting
one) or, with --password-stdin, from the first line of standard input.

The client side (`call --server URL --user NAME`, the wizard's `--server
URL --user NAME`) reads the password from --password-stdin, else from the
environment variable QCI_PASSWORD, else from a prompt.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from engine.auth.pinning import FingerprintError, normalize_fingerprint
from engine.auth.users import ROLES, UserError, Users
from engine.paths import StateLayout
from qc_cli.options import engine_settings

if TYPE_CHECKING:
    from engine.client import HttpClient

PASSWORD_ENVIRONMENT = "QCI_PASSWORD"


class PasswordInputError(Exception):
    """No usable password could be read; the message explains how to provide one."""


# ---------------------------------------------------------------------------
# Reading passwords
# ---------------------------------------------------------------------------


def read_password_line(stream: TextIO) -> str:
    """Return the first line of `stream` without its line break."""
    line = stream.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise PasswordInputError("standard input has no password; write it as the first line")
    return password


def _require_terminal() -> None:
    if not sys.stdin.isatty():
        raise PasswordInputError("standard input is not a terminal, so no password can be asked; "
                                 "pass --password-stdin and write the password to standard input")


def prompt_new_password(user_id: str) -> str:
    """Ask for a new password twice without echo; raises PasswordInputError when the two differ."""
    _require_terminal()
    first = getpass.getpass(f"New password for {user_id}: ")
    second = getpass.getpass("Repeat the new password: ")
    if first != second:
        raise PasswordInputError("the two passwords differ; nothing was changed")
    return first


def new_password(args: argparse.Namespace, user_id: str) -> str:
    if args.password_stdin:
        return read_password_line(sys.stdin)
    return prompt_new_password(user_id)


def login_password(args: argparse.Namespace, user_id: str) -> str:
    """Return the password to log in with: --password-stdin, else $QCI_PASSWORD, else a prompt."""
    if getattr(args, "password_stdin", False):
        return read_password_line(sys.stdin)
    from_environment = os.environ.get(PASSWORD_ENVIRONMENT)
    if from_environment:
        return from_environment
    _require_terminal()
    return getpass.getpass(f"Password of {user_id}: ")


# ---------------------------------------------------------------------------
# Connecting to a server as a user
# ---------------------------------------------------------------------------


def fingerprint_argument(value: str) -> str:
    try:
        return normalize_fingerprint(value)
    except FingerprintError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_login_options(parser: argparse.ArgumentParser, *, password_stdin: bool) -> None:
    """Add --user, --tls-ca, --tls-pin (and --password-stdin) for talking to `qc-installer serve`."""
    group = parser.add_argument_group("server login (with --server)")
    group.add_argument("--user", dest="login_user", default=argparse.SUPPRESS, metavar="NAME",
                       help=f"log in to the server as this user; the password comes from "
                            f"{'--password-stdin, ' if password_stdin else ''}${PASSWORD_ENVIRONMENT} or a prompt")
    if password_stdin:
        group.add_argument("--password-stdin", action="store_true", default=argparse.SUPPRESS,
                           help="read the user's password from the first line of standard input")
    group.add_argument("--tls-ca", type=Path, default=argparse.SUPPRESS, metavar="FILE",
                       help="trust the server's certificate when it chains to this CA file (PEM)")
    group.add_argument("--tls-pin", type=fingerprint_argument, default=argparse.SUPPRESS, metavar="SHA256",
                       help="trust exactly the server certificate with this SHA-256 fingerprint "
                            "(64 hex digits, colons allowed; `serve` prints it at start)")


def http_client_from_args(server: str, args: argparse.Namespace) -> "HttpClient":
    """Build the HttpClient for `server` from the login options; may prompt for the password."""
    # Imported here because httpx takes a noticeable part of the command's start-up time.
    from engine.client import HttpClient

    user_id = getattr(args, "login_user", None)
    password = login_password(args, user_id) if user_id else None
    return HttpClient(server, user_id=user_id, password=password,
                      ca_file=getattr(args, "tls_ca", None), pinned_sha256=getattr(args, "tls_pin", None))


# ---------------------------------------------------------------------------
# qc-installer user ...
# ---------------------------------------------------------------------------


def _add_state_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS,
                        help="state directory whose users to manage (default: as for serve)")
    parser.add_argument("--lab", action="store_true", default=argparse.SUPPRESS,
                        help="manage the users of the lab's state directory")


def add_user_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add `user add|passwd|del|list` to the command's subcommands."""
    user_parser = commands.add_parser(
        "user", help="manage the users who may call the HTTP API",
        description="Manage the users of `qc-installer serve`. An admin may run every action; "
                    "a viewer only the actions that change nothing (Describe*, Get*).",
    )
    _add_state_options(user_parser)
    actions = user_parser.add_subparsers(dest="user_command", metavar="COMMAND", required=True)

    add = actions.add_parser("add", help="add a user")
    add.add_argument("user_name", metavar="NAME", help="user name, the USER_ID of API calls")
    add.add_argument("--role", choices=ROLES, required=True, help="admin: every action; viewer: read-only actions")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input instead of prompting")

    passwd = actions.add_parser("passwd", help="change a user's password")
    passwd.add_argument("user_name", metavar="NAME", help="user name")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input instead of prompting")

    delete = actions.add_parser("del", help="delete a user")
    delete.add_argument("user_name", metavar="NAME", help="user name")

    listing = actions.add_parser("list", help="list the users and their roles")

    for sub in (add, passwd, delete, listing):
        _add_state_options(sub)


def open_users(args: argparse.Namespace) -> Users:
    state_dir, _, _, _ = engine_settings(args)
    if not state_dir.exists():
        state_dir.mkdir(parents=True, mode=0o700)
    return Users(StateLayout(state_dir).database)


def format_user_table(users: Users) -> str:
    listed = users.list()
    if not listed:
        return "no users; add one with `qc-installer user add NAME --role admin`"
    width = max(len("USER"), *(len(user.user_id) for user in listed))
    rows = [f"{'USER':<{width}}  {'ROLE':<6}  {'CREATED (UTC)':<19}  UPDATED (UTC)"]
    rows += [f"{user.user_id:<{width}}  {user.role:<6}  {user.create_time:<19}  {user.update_time}" for user in listed]
    return "\n".join(rows)


def run_user(args: argparse.Namespace) -> int:
    try:
        users = open_users(args)
        if args.user_command == "list":
            print(format_user_table(users))
        elif args.user_command == "add":
            password = new_password(args, args.user_name)
            user = users.add(args.user_name, args.role, password)
            print(f"user '{user.user_id}' added with role {user.role}")
        elif args.user_command == "passwd":
            if users.get(args.user_name) is None:
                raise UserError(f"user '{args.user_name}' not found; `qc-installer user list` shows the users")
            users.set_password(args.user_name, new_password(args, args.user_name))
            print(f"password of user '{args.user_name}' changed")
        elif args.user_command == "del":
            users.delete(args.user_name)
            print(f"user '{args.user_name}' deleted")
            if users.count() and not users.admin_count():
                print("no admin user is left, so HTTP clients can only run read-only actions; "
                      "add one with `qc-installer user add NAME --role admin`", file=sys.stderr)
    except (UserError, PasswordInputError) as error:
        print(f"qc-installer user {args.user_command}: {error}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, EOFError):
        print(f"qc-installer user {args.user_command}: cancelled; nothing was changed", file=sys.stderr)
        return 1
    except (OSError, sqlite3.Error) as error:
        print(f"qc-installer user {args.user_command}: cannot use the state database: {error}", file=sys.stderr)
        return 1
    return 0
