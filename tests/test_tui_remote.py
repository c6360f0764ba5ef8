"""The wizard on a laptop: a real `serve --lab` behind a link that drops mid-deploy.

The link is a TCP relay on loopback that the test cuts and restores, so the
server and its job keep running while the wizard loses every connection.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from textual.widgets import SelectionList, Static

from engine.client import HttpClient
from tests.tui_fakes import wait_until
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.deploy import DeployScreen
from tui.screens.overview import OverviewScreen
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.job_log import JobLog

SIZE = (80, 24)
SEED_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Relay:
    """Forwards loopback TCP connections to the server until cut."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.cut = False
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def drop(self) -> None:
        """Close every open connection and refuse new ones until restore()."""
        self.cut = True
        for writer in list(self.writers):
            writer.close()

    def restore(self) -> None:
        self.cut = False

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.cut:
            client_writer.close()
            return
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers.update({client_writer, server_writer})

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        await asyncio.gather(pump(client_reader, server_writer), pump(server_reader, client_writer))
        self.writers.difference_update({client_writer, server_writer})

    async def stop(self) -> None:
        self.drop()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
def lab_server(tmp_path):
    """`qc-installer serve --lab` on loopback, configured with the reference's two zones."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "qc_cli.main", "serve", "--lab", "--lab-speed", "4", "--state-dir",
         str(tmp_path / "state"), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "serve.err", "wb"), env={**os.environ},
    )
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

    def call(action: str, **params) -> dict:
        return http.post("/", json={"action": action, "request_type": "QingCloud", **params}).json()

    deadline = time.monotonic() + 60
    while True:
        try:
            if http.post("/", json={"action": "DescribeNodes", "request_type": "Node"}).json()["total_count"] == 21:
                break
        except (httpx.TransportError, KeyError):
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"serve --lab did not start: {(tmp_path / 'serve.err').read_text()}")
        time.sleep(0.2)

    config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
    job_id = call("ConfigQingCloud", config=config)["job_id"]
    while call("GetStatus", job_action="ConfigQingCloud", job_id=job_id)["status"] not in ("successful", "failed"):
        time.sleep(0.1)

    yield port, call
    http.close()
    server.terminate()
    server.wait(timeout=30)


async def test_dropped_link_mid_deploy_loses_no_line(lab_server):
    port, call = lab_server
    relay = Relay(port)
    await relay.start()
    url = f"http://127.0.0.1:{relay.port}"
    client = HttpClient(url, timeout=5)

    async def connect() -> HttpClient:
        return client

    app = InstallerApp(connect, lang="en", poll_interval=0.1)
    app.animation_level = "none"
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows", timeout=30)
            await pilot.press("f5")
            await wait_until(pilot, lambda: isinstance(app.screen, DeployScreen), "the deploy screen shows")
            screen = app.screen
            await wait_until(pilot, lambda: screen.query_one("#deploy-nodes", SelectionList).option_count == 13,
                             "the 13 nodes with a role are listed", timeout=30)
            await pilot.press("f8")
            await wait_until(pilot, lambda: len(screen.query_one(JobLog).lines) > 5, "log lines arrive", timeout=30)

            relay.drop()
            await wait_until(pilot, lambda: screen.query_one(ConnectionBanner).display, "the banner shows",
                             timeout=30)
            assert "lost" in str(screen.query_one(ConnectionBanner).render())
            relay.restore()

            await wait_until(pilot, lambda: not screen.query_one(ConnectionBanner).display, "the banner hides",
                             timeout=30)
            await wait_until(pilot, lambda: "finished successfully" in str(
                screen.query_one("#deploy-outcome-text", Static).render()), "the deploy ends", timeout=120)
            await wait_until(pilot, lambda: screen.query_one(JobLog).pending_count == 0, "the log is flushed")

            job_id = call("GetStatus", job_action="DeployQingCloud")["job_id"]
            server_lines = list(call("GetLog", job_action="DeployQingCloud", job_id=job_id)["log"].values())
            shown = [line for line in screen.query_one(JobLog).lines if not line.startswith("---")]
            assert shown == server_lines, "every line of the server's log shows once, in order"
    finally:
        await relay.stop()
        set_language("en")
