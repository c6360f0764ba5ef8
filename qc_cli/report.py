"""`qc-installer report test|check`: a test run's or a check's report as Markdown, JSON, JUnit XML or HTML.

    qc-installer report test|check [--run JOB_ID] [--format md|json|junit|html] [-o FILE]
                                   [--state-dir DIR | --lab | --server URL [--user NAME] ...]

Without --run the newest test run (or check) is reported. Without -o the
report goes to standard output; with -o it replaces FILE atomically.
Exit status: 0 written, 1 an API call or the output failed, 2 bad input
(unknown format, bad job id, nothing recorded yet, unknown run, missing
output directory).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import httpx

from qc_cli.options import configure_logging, engine_settings
from qc_cli.user import PasswordInputError, add_login_options, http_client_from_args

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_JOB_ID = re.compile(r"^j-[A-Za-z0-9]{8}$")

#: Noun for each kind of report and the action that records one, for messages.
_KIND_WORDS = {"test": ("test run", "TestQingCloud"), "check": ("check", "CheckQingCloud")}


class ReportStopped(Exception):
    """The report could not be written. The message explains why and what to do next."""

    def __init__(self, message: str, exit_status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def job_id_argument(value: str) -> str:
    if not _JOB_ID.match(value):
        raise argparse.ArgumentTypeError(f"'{value}' is not a job id; a job id is j- and 8 letters or digits, "
                                         "e.g. j-4x7kq2m9")
    return value


def add_report_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add `report test|check` to the command's subcommands."""
    from engine.reports import FORMATS

    report = commands.add_parser(
        "report", help="write the report of a test run or a check",
        description="Write the report of a test run (TestQingCloud) or a check (CheckQingCloud): "
                    "Markdown for tickets, JSON for tools, JUnit XML for CI, or one self-contained HTML file.",
    )
    source = report.add_argument_group("where the run is recorded")
    source.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS,
                        help="state directory to read (default: as for the wizard and serve)")
    source.add_argument("--lab", action="store_true", default=argparse.SUPPRESS,
                        help="read the lab's state directory")
    report.add_argument("kind", choices=["test", "check"], help="test: a test run; check: a platform check")
    report.add_argument("--run", type=job_id_argument, metavar="JOB_ID",
                        help="job id of the test run or check to report (default: the newest)")
    report.add_argument("--format", dest="report_format", choices=FORMATS, default="md",
                        help="md (Markdown, default), json, junit (JUnit XML) or html (one file, no scripts)")
    report.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write the report to FILE, replacing it atomically (default: standard output)")
    source.add_argument("--server", dest="report_server", metavar="URL",
                        help="read the run from `qc-installer serve` at URL instead of a state directory")
    add_login_options(report, password_stdin=True)


async def collect(client: Any, args: argparse.Namespace) -> Any:
    """Collect the report; a NoRunRecorded, RunNotFound or ReportError becomes a ReportStopped."""
    from engine.reports.collect import NoRunRecorded, ReportError, RunNotFound, collect_check_report, collect_test_report

    run_noun, action = _KIND_WORDS[args.kind]
    collector = collect_test_report if args.kind == "test" else collect_check_report
    try:
        return await collector(client, args.run)
    except NoRunRecorded:
        raise ReportStopped(f"no {run_noun} recorded yet on {client.description}; {action} starts one",
                            EXIT_USAGE) from None
    except RunNotFound as error:
        raise ReportStopped(f"{args.run} is not a recorded {run_noun} ({error.message}); "
                            f"`qc-installer call DescribeJobs job_action={action}` lists the recorded ones",
                            EXIT_USAGE) from None
    except ReportError as error:
        raise ReportStopped(str(error)) from None


async def collect_from_server(server: str, args: argparse.Namespace) -> Any:
    try:
        client = http_client_from_args(server, args)
    except PasswordInputError as error:
        raise ReportStopped(str(error), EXIT_USAGE) from None
    try:
        return await collect(client, args)
    except httpx.TransportError as error:
        raise ReportStopped(f"cannot reach {server}: {error}") from None
    finally:
        await client.close()


async def collect_locally(args: argparse.Namespace) -> Any:
    from engine.client import LocalClient
    from engine.engine import Engine
    from engine.paths import StateLayout

    state_dir, lab, _, _ = engine_settings(args)
    run_noun, action = _KIND_WORDS[args.kind]
    # Checked before the engine opens the directory, so that a report never creates state.
    if not StateLayout(state_dir).database.exists():
        raise ReportStopped(f"no {run_noun} recorded yet: {state_dir} contains no installer state; "
                            f"pass --state-dir, --lab or --server to read another installation", EXIT_USAGE)

    configure_logging(state_dir)
    engine = Engine(state_dir)
    try:
        return await collect(LocalClient(engine, description="lab" if lab else str(state_dir)), args)
    finally:
        await engine.stop()


def write_output(text: str, output: Path | None) -> None:
    from engine.reports.files import write_report_file

    if output is None:
        # UTF-8 whatever the locale, because a report on standard output is usually redirected into a file.
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.buffer.flush()
        return
    try:
        written = write_report_file(output, text)
    except OSError as error:
        raise ReportStopped(f"cannot write {output}: {error.strerror or error}; nothing was written") from None
    print(f"report written to {written}", flush=True)


def check_output_directory(output: Path | None) -> None:
    if output is None:
        return
    parent = output.absolute().parent
    if not parent.is_dir():
        raise ReportStopped(f"-o {output}: directory {parent} does not exist; create it or choose another file",
                            EXIT_USAGE)
    if output.is_dir():
        raise ReportStopped(f"-o {output} is a directory; name a file, e.g. {output / 'report.html'}", EXIT_USAGE)


def run_report(args: argparse.Namespace) -> int:
    from engine.reports import render_report

    server = getattr(args, "report_server", None) or getattr(args, "server", None)
    try:
        if server and getattr(args, "lab", False):
            raise ReportStopped("--lab and --server exclude each other; the lab's state is local", EXIT_USAGE)
        check_output_directory(args.output)
        if server:
            report = asyncio.run(collect_from_server(server, args))
        else:
            report = asyncio.run(collect_locally(args))
        write_output(render_report(report, args.report_format), args.output)
    except ReportStopped as stop:
        print(f"qc-installer report: {stop}", file=sys.stderr, flush=True)
        return stop.exit_status
    except KeyboardInterrupt:
        print("qc-installer report: interrupted; no file was written", file=sys.stderr)
        return 130
    return EXIT_OK
