"""`qc-installer license`: the vendor's key pair and license issuing, and the installer's trusted key.

    qc-installer license keygen --out KEY.pem
    qc-installer license issue --vendor-key KEY.pem APPLICATION_CODE [--days N | --end TIME] [--hypernode-count N]

APPLICATION_CODE is the code itself, `-` to read it from standard input, or
`@FILE` to read it from a file. `issue` writes the license code alone on
standard output and what it decrypted and signed on standard error.

`serve` and the wizard trust the vendor public key named by
`--license-pubkey FILE` or QCI_LICENSE_PUBKEY; in the lab, without either,
the lab's own vendor key pair.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from engine.license.codes import CodeError, issue_license, open_application
from engine.license.crypto import KeyFileError, VendorKeys, load_vendor_keys, write_vendor_keys
from engine.license.times import REQUEST_FORMAT, parse_request_time
from engine.license.trust import trust_lab_vendor_key, trust_vendor_key_file

if TYPE_CHECKING:
    from engine.engine import Engine

PUBKEY_ENVIRONMENT = "QCI_LICENSE_PUBKEY"


def add_pubkey_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--license-pubkey", type=Path, default=argparse.SUPPRESS, metavar="FILE",
        help=f"vendor public key file (KEY.pub.pem) that license codes must be signed with "
             f"(default: ${PUBKEY_ENVIRONMENT}; the lab makes and trusts a key pair of its own)",
    )


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not a positive whole number")
    return int(value)


def utc_time(value: str) -> datetime:
    moment = parse_request_time(value)
    if moment is None:
        raise argparse.ArgumentTypeError(f"'{value}' is not a time in the format {REQUEST_FORMAT} (UTC)")
    return moment


def add_license_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add `license keygen` and `license issue` to the command's subcommands."""
    license_parser = commands.add_parser("license", help="vendor side: make a vendor key pair, issue license codes")
    actions = license_parser.add_subparsers(dest="license_command", metavar="COMMAND", required=True)

    keygen = actions.add_parser("keygen", help="make a vendor key pair: KEY.pem (private) and KEY.pub.pem")
    keygen.add_argument("--out", type=Path, required=True, metavar="KEY.pem",
                        help="private key file to create (mode 0600); the public key goes beside it as KEY.pub.pem")

    issue = actions.add_parser("issue", help="decrypt an application code and print a signed license code")
    issue.add_argument("--vendor-key", type=Path, required=True, metavar="KEY.pem", help="vendor private key file")
    validity = issue.add_mutually_exclusive_group()
    validity.add_argument("--days", type=positive_int, metavar="N",
                          help="license valid for N days from the requested start time (default: the requested end)")
    validity.add_argument("--end", type=utc_time, metavar="TIME",
                          help=f"license valid until TIME, UTC, {REQUEST_FORMAT} (default: the requested end)")
    issue.add_argument("--hypernode-count", type=positive_int, metavar="N",
                       help="hyper nodes to license (default: the number requested)")
    issue.add_argument("application_code", metavar="APPLICATION_CODE",
                       help="the application code, '-' to read it from standard input, or @FILE")


def read_code_argument(value: str, stdin: TextIO) -> str:
    """Return the code an argument names: itself, standard input for '-', a file for '@FILE'."""
    if value == "-":
        return stdin.read()
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            return path.read_text(encoding="utf-8")
        except OSError as error:
            raise CodeError(f"{path} cannot be read: {error.strerror}") from None
        except UnicodeDecodeError:
            raise CodeError(f"{path} is not a text file") from None
    return value


def run_keygen(args: argparse.Namespace) -> int:
    keys = VendorKeys.generate()
    try:
        public_path = write_vendor_keys(keys, args.out)
    except FileExistsError:
        sys.stderr.write(f"qc-installer: {args.out} exists; a vendor key is never overwritten, choose another --out\n")
        return 1
    except OSError as error:
        sys.stderr.write(f"qc-installer: {args.out} cannot be written: {error.strerror}\n")
        return 1

    sys.stdout.write(
        f"vendor private key: {args.out} (mode 0600; keep it secret, it signs every license)\n"
        f"vendor public key:  {public_path} (give it to installers: --license-pubkey {public_path.name})\n"
        f"key id: {keys.public.fingerprint}\n"
    )
    return 0


def run_issue(args: argparse.Namespace) -> int:
    try:
        keys = load_vendor_keys(args.vendor_key)
        application = open_application(keys, read_code_argument(args.application_code, sys.stdin))
        grant, code = issue_license(
            keys, application, now=datetime.now(timezone.utc).replace(microsecond=0),
            end_time=args.end, days=args.days, hypernode_count=args.hypernode_count,
        )
    except (KeyFileError, CodeError) as error:
        sys.stderr.write(f"qc-installer: {error}\n")
        return 1

    request = application.fields
    platform = application.platform
    zones = ", ".join(f"{zone_id} ({platform_id})" for zone_id, platform_id in sorted(grant.zones.items()))
    sys.stderr.write(
        f"application from {request.applicant}: {request.description!r}\n"
        f"  platform {grant.platform_id}, region {grant.region_id or '-'}, zones {zones or 'none'}, "
        f"{platform.get('node_count', 0)} node(s) registered\n"
        f"  requested {request.hypernode_count} hyper node(s), {request.start_time.strftime(REQUEST_FORMAT)} "
        f"to {request.end_time.strftime(REQUEST_FORMAT)} UTC\n"
        f"license {grant.license_id}: {grant.hypernode_count} hyper node(s), "
        f"{grant.start_time.strftime(REQUEST_FORMAT)} to {grant.end_time.strftime(REQUEST_FORMAT)} UTC, "
        f"issued {grant.issue_time.strftime(REQUEST_FORMAT)} UTC\n"
    )
    sys.stdout.write(code + "\n")
    return 0


def run_license(args: argparse.Namespace) -> int:
    if args.license_command == "keygen":
        return run_keygen(args)
    return run_issue(args)


def trust_license_key(engine: "Engine", args: argparse.Namespace, *, lab: bool) -> None:
    """Make the engine trust the vendor key the options or the environment name, or the lab's own.

    Exit with a message when the named file is not a vendor public key file.
    """
    named = getattr(args, "license_pubkey", None) or os.environ.get(PUBKEY_ENVIRONMENT)
    if named:
        try:
            trust_vendor_key_file(engine, Path(named))
        except KeyFileError as error:
            raise SystemExit(f"qc-installer: --license-pubkey: {error}") from None
        return
    if lab:
        trust_lab_vendor_key(engine)
