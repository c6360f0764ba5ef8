"""`qc-installer screenshots`: SVG screenshots of every screen of the TUI, taken against the lab.

    qc-installer screenshots [--out DIR] [--lang en,zh_CN] [--size 80x24,120x40] [--lab-speed FACTOR]

The lab starts on a temporary state directory, gets the lab's sample
configuration applied and deployed through the API, and the app is driven
headless with Textual's Pilot through every view in VIEWS, in each language
and size. Files are named `<view>.<lang>.<width>x<height>.svg`.

VIEWS and `show_view` are shared with the snapshot tests, which visit the same
views over a scripted client instead of the lab.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.pilot import Pilot

log = logging.getLogger(__name__)

DEFAULT_OUT = Path("screenshots")
DEFAULT_SIZES = ((80, 24), (120, 40))
DEFAULT_LANGUAGES = ("en", "zh_CN")

# Seconds the lab may take to deploy at the screenshots' speed before the command gives up.
DEPLOY_TIMEOUT = 300.0


@dataclass(frozen=True)
class View:
    """One screenshot: a mode of the app and the keys pressed once its screen shows."""

    name: str
    mode: str
    keys: tuple[str, ...] = ()


VIEWS: tuple[View, ...] = (
    View("overview", "overview"),
    View("nodes", "nodes"),
    View("nodes-add", "nodes", ("f6",)),
    View("configuration", "configuration", ("f6",)),
    View("deploy", "deploy"),
    View("licenses", "licenses"),
    View("files", "files"),
    View("scale", "scale"),
    View("new-zone", "new_zone"),
    View("upgrade", "upgrade"),
    View("components", "components"),
    View("tests", "tests"),
    View("checks", "checks"),
    View("menu", "overview", ("ctrl+g",)),
    View("help", "deploy", ("f1",)),
    View("themes", "overview", ("ctrl+t",)),
)


def view_available(view: View) -> bool:
    """Tell whether the view's screen exists in this build (screens are added one by one)."""
    from tui.operations import find

    operation = find(view.mode)
    if operation is None:
        return False
    module_name, class_name = operation.screen.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    return hasattr(module, class_name)


def available_views() -> list[View]:
    return [view for view in VIEWS if view_available(view)]


async def settle(pilot: Pilot[Any], app: Any, timeout: float = 20.0) -> None:
    """Let workers finish and the screen repaint, twice: a finished load often starts another.

    A worker cancelled on the way (an exclusive one replaced by a newer load) is
    not waited for, a failed one raises WorkerFailed, and one still running after
    `timeout` seconds (a screen that polls) is left running.
    """
    from textual.worker import WorkerCancelled

    async def finish(worker: Any) -> None:
        try:
            await worker.wait()
        except WorkerCancelled:
            pass

    for _round in range(2):
        waits = [asyncio.ensure_future(finish(worker)) for worker in list(app.workers)]
        if waits:
            done, pending = await asyncio.wait(waits, timeout=timeout)
            for task in pending:
                task.cancel()
            for task in done:
                task.result()
        await pilot.pause()


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Let the app run until `condition()` holds; raise TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await pilot.pause(0.05)


async def show_view(pilot: Pilot[Any], app: Any, view: View) -> None:
    """Bring the app to `view`: close the dialogs left open, switch mode, press the view's keys."""
    while app.screen.is_modal:
        app.pop_screen()
        await pilot.pause()

    if app.current_mode != view.mode:
        await app.switch_mode(view.mode)
    await settle(pilot, app)

    for key in view.keys:
        await pilot.press(key)
        await settle(pilot, app)


def screenshot_name(view: View, lang: str, size: tuple[int, int]) -> str:
    return f"{view.name}.{lang}.{size[0]}x{size[1]}.svg"


async def deploy_lab(client: Any) -> None:
    """Apply the lab's sample configuration and deploy it through the API, waiting for both jobs."""
    import json

    from engine.lab.session import SAMPLE_CONFIG

    request = json.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    for action, params in (("ConfigQingCloud", {"config": request["config"]}), ("DeployQingCloud", None)):
        if params is None:
            nodes = await client.call("DescribeNodes", {}, "Node")
            params = {"node_ids": [node["node_id"] for node in nodes.get("node_set") or [] if node.get("role")]}
        response = await client.call(action, params)
        if response.get("ret_code") != 0:
            raise RuntimeError(f"{action} failed: {response.get('message')}")
        await wait_for_job(client, action, response["job_id"])


async def wait_for_job(client: Any, action: str, job_id: str) -> None:
    deadline = time.monotonic() + DEPLOY_TIMEOUT
    while True:
        status = await client.call("GetStatus", {"job_action": action, "job_id": job_id})
        if status.get("status") == "successful":
            return
        if status.get("status") == "failed":
            raise RuntimeError(f"{action} job {job_id} failed in the lab")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{action} job {job_id} did not end within {DEPLOY_TIMEOUT:g} s")
        await asyncio.sleep(0.2)


async def capture_lab(out_dir: Path, languages: list[str], sizes: list[tuple[int, int]], speed: float) -> list[Path]:
    """Start the lab, deploy it, and save every available view in every language and size."""
    from engine.client import LocalClient
    from engine.engine import Engine
    from engine.lab.session import LabSession
    from tui.app import InstallerApp

    written: list[Path] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    views = available_views()

    with tempfile.TemporaryDirectory(prefix="qc-installer-screenshots-") as state_dir:
        engine = Engine(Path(state_dir) / "lab")
        session = LabSession(engine, speed=speed)
        await session.start()
        try:
            client = LocalClient(engine, description="lab")
            await deploy_lab(client)

            async def connect() -> LocalClient:
                return client

            async def keep_lab() -> None:
                # The lab serves every language's run and stops once, below.
                return None

            for lang in languages:
                app = InstallerApp(connect, lang=lang, disconnect=keep_lab, poll_interval=0.1,
                                   config_path=str(LabSession.sample_config_location(engine)))
                app.animation_level = "none"
                app.cursor_blink = False
                async with app.run_test(size=sizes[0]) as pilot:
                    await wait_for(pilot, lambda: app.client is not None, "the app to connect to the lab")
                    for size in sizes:
                        await pilot.resize_terminal(*size)
                        for view in views:
                            await show_view(pilot, app, view)
                            name = screenshot_name(view, lang, size)
                            app.save_screenshot(name, str(out_dir))
                            written.append(out_dir / name)
                            log.info("wrote %s", out_dir / name)
        finally:
            await session.stop()
            await engine.stop()

    return written


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        width, sep, height = part.strip().lower().partition("x")
        if not sep or not width.isdigit() or not height.isdigit() or int(width) < 20 or int(height) < 10:
            raise argparse.ArgumentTypeError(f"'{part}' is not a size such as 80x24 (at least 20x10)")
        sizes.append((int(width), int(height)))
    return sizes


def parse_languages(text: str) -> list[str]:
    from tui.i18n import LANGUAGES

    languages = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown or not languages:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of languages from {', '.join(LANGUAGES)}")
    return languages


def add_screenshots_command(commands: Any) -> None:
    parser = commands.add_parser(
        "screenshots", help="write SVG screenshots of every screen of the wizard, taken against the lab",
        description="Start the lab on a temporary state directory, deploy it, and save every screen of the "
                    "wizard as SVG in each language and size.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help="directory for the SVG files (default: screenshots)")
    parser.add_argument("--lang", dest="screenshot_languages", type=parse_languages, default=list(DEFAULT_LANGUAGES),
                        metavar="LANG[,LANG]", help="languages (default: en,zh_CN)")
    parser.add_argument("--size", dest="screenshot_sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                        metavar="WxH[,WxH]", help="terminal sizes in columns x rows (default: 80x24,120x40)")
    parser.add_argument("--lab-speed", dest="screenshot_speed", type=float, default=50.0, metavar="FACTOR",
                        help="divide the lab's pauses by FACTOR (default 50)")


def run_screenshots(args: argparse.Namespace) -> int:
    # The engine's and the screens' own logs would bury the list of files written.
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
    written = asyncio.run(capture_lab(args.out, args.screenshot_languages, args.screenshot_sizes,
                                      args.screenshot_speed))
    log.info("%d screenshots in %s", len(written), args.out)
    return 0
