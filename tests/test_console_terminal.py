"""The real terminal path: the TUI in tmux with TERM=linux at 80x24, and on a pty that reports 0x0.

tmux runs the app as an operator would on a server's console, and the test
reads the screen back with `tmux capture-pane`. The text must stay within
tui.console.CONSOLE_CHARACTERS (printable ASCII plus the box lines, blocks and
arrows that both the kernel's VGA font and console-setup's fonts draw), and
the colours within the eight basic ones. Under CI=1 a missing tmux fails.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tui.console import unsupported_characters

ROOT = Path(__file__).resolve().parent.parent
TMUX = shutil.which("tmux") or "/usr/bin/tmux"
SIZE = (80, 24)

# The app over the scripted client, opened the way `qc-installer` opens it: language,
# console mode, theme and settings come from the environment.
FAKE_ENTRY = """
import argparse, sys
sys.path.insert(0, {root!r})
from tests.tui_fakes import TourFakeClient
from qc_cli.tui import display_options
from tui.app import run_tui

client = TourFakeClient()

async def connect():
    return client

options = display_options(argparse.Namespace(lang=None, console=False, theme=None))
sys.exit(run_tui(connect, **options))
"""

# Reports the size the app got, then quits.
SIZE_ENTRY = """
import json, os, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.tui_fakes import TourFakeClient
from tui.app import InstallerApp
from tui.console import detect_display

client = TourFakeClient()

async def connect():
    return client

class SizeReport(InstallerApp):
    # Textual finds CSS next to the class's source file, which code given with -c has not.
    CSS_PATH = str(Path(sys.modules["tui.app"].__file__).parent / "app.tcss")

    def on_mount(self):
        self.set_interval(0.1, self.report)

    def report(self):
        if self.client is not None:
            with open({out!r}, "w") as handle:
                json.dump([self.size.width, self.size.height, self.display_mode.console], handle)
            self.exit()

SizeReport(connect, display_mode=detect_display(os.environ)).run(mouse=False)
"""


def require_tmux() -> None:
    if os.path.exists(TMUX):
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI needs tmux at {TMUX} for the console tests; .ci/run installs it")
    pytest.skip("tmux is not installed")


class Pane:
    """One tmux session on a private socket, with a single 80x24 pane running a command."""

    def __init__(self, directory: Path, command: list[str], environment: dict[str, str]) -> None:
        self.socket = str(directory / "tmux.sock")
        self.alive = False
        env_words = [f"{name}={value}" for name, value in environment.items()]
        shell_command = " ".join(_quote(word) for word in ["env", "-i", *env_words, *command])
        self.tmux("new-session", "-d", "-s", "qc", "-x", str(SIZE[0]), "-y", str(SIZE[1]), "-c", str(ROOT),
                  shell_command)
        self.alive = True

    def tmux(self, *arguments: str) -> str:
        result = subprocess.run([TMUX, "-S", self.socket, "-f", "/dev/null", *arguments], capture_output=True,
                                text=True, timeout=30, check=True)
        return result.stdout

    def running(self) -> bool:
        result = subprocess.run([TMUX, "-S", self.socket, "has-session", "-t", "qc"], capture_output=True,
                                timeout=30)
        return result.returncode == 0

    def lines(self) -> list[str]:
        return self.tmux("capture-pane", "-p", "-t", "qc").splitlines()

    def styled(self) -> str:
        return self.tmux("capture-pane", "-p", "-e", "-t", "qc")

    def press(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "qc", key)

    def wait(self, condition: Callable[[list[str]], bool], what: str, timeout: float = 60.0) -> list[str]:
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        while time.monotonic() < deadline:
            if not self.running():
                raise AssertionError(f"the app ended while waiting for {what}; last screen:\n" + "\n".join(lines))
            lines = self.lines()
            if condition(lines):
                return lines
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; screen:\n" + "\n".join(lines))

    def close(self) -> None:
        if self.alive and self.running():
            subprocess.run([TMUX, "-S", self.socket, "kill-server"], capture_output=True, timeout=30)
        self.alive = False


def _quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


def shows(*texts: str) -> Callable[[list[str]], bool]:
    return lambda lines: all(any(text in line for line in lines) for text in texts)


def assert_console_text(lines: list[str], where: str) -> None:
    bad = sorted(set().union(*(unsupported_characters(line) for line in lines)))
    assert bad == [], f"{where}: characters a console font lacks: {bad}\n" + "\n".join(lines)
    assert len(lines) <= SIZE[1] and all(len(line) <= SIZE[0] for line in lines), f"{where}: larger than 80x24"


def sgr_parameters(styled: str) -> list[list[str]]:
    return [match.split(";") for match in re.findall(r"\x1b\[([0-9;:]*)m", styled)]


def colour_codes(styled: str) -> set[str]:
    """Return the colour parameters of every SGR sequence; extended colours as '38;5' and the like."""
    codes = set()
    for parameters in sgr_parameters(styled):
        index = 0
        while index < len(parameters):
            code = parameters[index]
            if code in ("38", "48"):
                codes.add(f"{code};{parameters[index + 1] if index + 1 < len(parameters) else ''}")
                index += 3 if index + 1 < len(parameters) and parameters[index + 1] == "5" else 5
                continue
            if code.isdigit() and (30 <= int(code) <= 49 or 90 <= int(code) <= 107):
                codes.add(code)
            index += 1
    return codes


def base_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "TERM": "linux",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
    }
    environment.update(extra)
    return environment


@pytest.fixture
def pane_factory(tmp_path):
    panes: list[Pane] = []

    def start(command: list[str], environment: dict[str, str]) -> Pane:
        require_tmux()
        pane = Pane(tmp_path, command, environment)
        panes.append(pane)
        return pane

    yield start

    for pane in panes:
        pane.close()


def test_lab_install_on_linux_console(tmp_path, pane_factory):
    """A newcomer installs the lab on TERM=linux at 80x24, keys only: configure, apply, deploy, quit."""
    pane = pane_factory([sys.executable, "-m", "qc_cli.main", "--lab", "--state-dir", str(tmp_path / "lab"),
                         "--lab-speed", "50"], base_environment(tmp_path))

    overview = pane.wait(shows("Zones", "pek3ar01n01", "F1 Help"), "the overview with the lab's nodes", timeout=120)
    assert_console_text(overview, "overview")
    assert "platform:" in overview[0]
    assert shows("F3 Nodes", "F4 Config", "F5 Deploy", "F10 Quit", "^G Menu", "^R Refresh")(overview)
    assert colour_codes(pane.styled()) <= {str(code) for code in (*range(30, 38), 39, *range(40, 48), 49)}, (
        "only the eight basic colours")

    pane.press("F4")
    pane.wait(shows("File: /", "F6 Load file"), "the configuration screen with the lab's sample named")
    pane.press("F6")
    pane.wait(shows("Valid"), "the sample to validate")
    pane.press("F7")
    configured = pane.wait(shows("Configuration applied"), "the configuration job to end", timeout=120)
    assert_console_text(configured, "configuration")

    pane.press("F5")
    deploy = pane.wait(shows("Host, role, zone", "Steps", "F8 Start"), "the deploy screen with its nodes")
    assert_console_text(deploy, "deploy")
    assert sum("[X]" in line for line in deploy) >= 5, "the role nodes are ticked, in ASCII"

    pane.press("F8")
    deployed = pane.wait(shows("finished successfully"), "the lab deploy to end", timeout=240)
    assert_console_text(deployed, "deploy after the job")
    assert shows("deployed: yes")(deployed)

    pane.press("F10")
    deadline = time.monotonic() + 60
    while pane.running() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pane.running(), "F10 quits when no job runs"


def test_chinese_locale_on_linux_console_says_how(tmp_path, pane_factory):
    """With LANG=zh_CN on the Linux console the TUI is English, explains why, and NO_COLOR drops every colour."""
    pane = pane_factory([sys.executable, "-c", FAKE_ENTRY.format(root=str(ROOT))],
                        base_environment(tmp_path, LANG="zh_CN.UTF-8", NO_COLOR="1"))

    lines = pane.wait(shows("F1 Help", "The Linux console cannot draw"), "the English overview with the language note")
    assert_console_text(lines, "overview with the note")
    assert shows("--lang zh_CN")(lines)
    assert colour_codes(pane.styled()) <= {"39", "49"}, "NO_COLOR: no colours at all"

    pane.press("F1")
    help_lines = pane.wait(shows("Help: Overview"), "the help")
    assert_console_text(help_lines, "help")
    pane.press("Escape", "F10")


def test_zero_size_terminal_gets_80x24(tmp_path):
    """An unconfigured serial line reports 0x0; the TUI then lays out for 80x24."""
    out = tmp_path / "size.json"
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
    environment = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    environment.update(TERM="vt220", XDG_CONFIG_HOME=str(tmp_path / "config"))

    process = subprocess.Popen([sys.executable, "-c", SIZE_ENTRY.format(root=str(ROOT), out=str(out))],
                               stdin=terminal, stdout=terminal, stderr=terminal, env=environment, cwd=ROOT,
                               start_new_session=True)
    os.close(terminal)
    output = bytearray()
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            # The app's output has to be read, or it blocks once the pty's buffer is full.
            readable, _writable, _failed = select.select([controller], [], [], 0.2)
            if not readable:
                continue
            try:
                output += os.read(controller, 65536)
            except OSError:
                break
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("the app did not quit on its own; output:\n" + output.decode(errors="replace")[-2000:])
    finally:
        process.wait(timeout=30)
        os.close(controller)

    assert out.exists(), "the app never connected; output:\n" + output.decode(errors="replace")[-2000:]
    width, height, console = json.loads(out.read_text())
    assert (width, height) == SIZE
    assert console is True, "TERM=vt220 is console mode"
