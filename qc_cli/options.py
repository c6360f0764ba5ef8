"""Command-line options shared by the wizard, `serve` and `call`, and what they build."""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from engine.lab.layout import ALL_LAB_NODES, LAB_STEPS


def parse_listen(value: str) -> tuple[str, int]:
    """Split HOST:PORT ([::1]:PORT for IPv6). Whether serve may use a non-loopback HOST is decided in serve."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"'{value}' is not HOST:PORT, e.g. 127.0.0.1:8750")
    host = host.strip("[]")
    if not host:
        raise argparse.ArgumentTypeError(f"'{value}' has no host; use HOST:PORT, e.g. 127.0.0.1:8750")
    return host, int(port)


def parse_lab_failure(value: str) -> tuple[str, str]:
    node, sep, step = value.partition(":")
    if not sep or not node or step not in LAB_STEPS:
        raise argparse.ArgumentTypeError(
            f"'{value}' is not NODE:STEP; NODE is a node id or hostname, STEP one of {', '.join(LAB_STEPS)}"
        )
    names = {spec.node_id for spec in ALL_LAB_NODES} | {spec.hostname for spec in ALL_LAB_NODES}
    if node not in names:
        raise argparse.ArgumentTypeError(
            f"'{node}' is not a lab node; use a node id such as n-pek3b01r04 or a hostname such as pek3br01n04"
        )
    return node, step


def positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"'{value}' must be a finite number greater than 0")
    return number


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("engine")
    group.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS,
                       help="state directory (default: $QCI_STATE_DIR, /var/lib/qingcloud-installer for root, "
                            "else the XDG state directory; the lab uses a directory of its own)")
    group.add_argument("--lab", action="store_true", default=argparse.SUPPRESS,
                       help="run against the built-in lab of simulated nodes on loopback")
    group.add_argument("--lab-speed", type=positive_float, default=argparse.SUPPRESS, metavar="FACTOR",
                       help="divide the lab's pauses by FACTOR (default 1: a deploy takes about half a minute)")
    group.add_argument("--lab-fail", type=parse_lab_failure, action="append", default=argparse.SUPPRESS,
                       metavar="NODE:STEP", help="make that lab node fail that step (of a deploy, scale-out, upgrade or component job) for one whole job (repeatable)")


def engine_settings(args: argparse.Namespace) -> tuple[Path, bool, float, list[tuple[str, str]]]:
    """(state directory, lab, lab speed, lab failures) from options given before or after the command."""
    from engine.paths import default_state_dir

    lab = bool(getattr(args, "lab", False))
    state_dir = getattr(args, "state_dir", None) or default_state_dir(lab=lab)
    speed = getattr(args, "lab_speed", 1.0)
    failures = list(getattr(args, "lab_fail", []) or [])
    return Path(state_dir), lab, speed, failures


def configure_logging(state_dir: Path, *, to_stderr: bool = False) -> None:
    """Engine logs go to engine.log in the state directory, never onto the wizard's screen."""
    from engine.statelock import StateDirError

    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        handlers: list[logging.Handler] = [logging.FileHandler(state_dir / "engine.log", encoding="utf-8")]
    except OSError as error:
        raise StateDirError(f"cannot use state directory {state_dir}: {error.strerror}") from None
    if to_stderr:
        handlers.append(logging.StreamHandler())
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("asyncssh").setLevel(logging.WARNING)


def theme_name(value: str) -> str:
    from tui.themes import theme_names

    names = theme_names()
    if value not in names:
        raise argparse.ArgumentTypeError(f"'{value}' is not a theme; choose one of {', '.join(names)}")
    return value


def add_display_options(parser: argparse.ArgumentParser) -> None:
    """Options of the wizard's look: console mode and the theme."""
    group = parser.add_argument_group("display")
    group.add_argument("--console", action="store_true",
                       help="draw for a Linux console or serial line: ASCII frames, 16 colours, no animations "
                            "(automatic when TERM is linux, vt100, vt102, vt220 or dumb)")
    group.add_argument("--theme", type=theme_name, metavar="NAME",
                       help="colour theme: dark, light, high-contrast, console or mono (default: the one picked "
                            "with ctrl+t in the wizard, else console on a console, mono with NO_COLOR, else dark)")
