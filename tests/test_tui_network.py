"""What an operator sees when the connection to a remote engine drops during a deploy.

The engine is FlakyFakeClient, whose calls raise httpx.ConnectError while the test
keeps the connection cut; the app is the real one, driven by Pilot.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from textual.widgets import SelectionList, Static

from tests.tui_fakes import FlakyFakeClient, make_app, wait_until
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.base import retry_delay
from tui.screens.deploy import DeployScreen
from tui.screens.job_watch import JobWatch
from tui.screens.overview import OverviewScreen
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.job_log import JobLog

SIZE = (80, 24)
URL = "http://127.0.0.1:9/"


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def banner(app: InstallerApp) -> ConnectionBanner:
    return app.screen.query_one(ConnectionBanner)


def banner_text(app: InstallerApp) -> str:
    return str(banner(app).render())


async def open_deploy(pilot, app: InstallerApp) -> DeployScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
    await pilot.press("f5")
    await wait_until(pilot, lambda: isinstance(app.screen, DeployScreen), "the deploy screen shows")
    await wait_until(pilot, lambda: app.screen.query_one("#deploy-nodes", SelectionList).option_count > 0,
                     "the deploy screen lists the nodes")
    return app.screen


def test_retry_delay_doubles_up_to_ten_seconds():
    assert [retry_delay(attempt) for attempt in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]


async def test_outage_during_deploy_keeps_every_log_line(caplog):
    caplog.set_level(logging.INFO, logger="tui.widgets.connection_banner")
    client = FlakyFakeClient(cut_after_deploy_polls=3)
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_deploy(pilot, app)
        assert not banner(app).display, "no banner while the engine answers"

        await pilot.press("f8")
        await wait_until(pilot, lambda: banner(app).display, "the connection banner shows")
        assert f"Connection to {URL} lost; retrying in 0.5 s (attempt 1)" in banner_text(app)

        await wait_until(pilot, lambda: len(client.failed_calls) >= 2, "the call is retried")
        await wait_until(pilot, lambda: "(attempt 2)" in banner_text(app), "the banner counts the retries")
        assert "retrying in 1 s" in banner_text(app)

        # The banner is app-wide: another screen shows it too.
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
        await wait_until(pilot, lambda: banner(app).display, "the overview shows the banner")
        await pilot.press("f5")
        await wait_until(pilot, lambda: app.screen is screen, "the deploy screen shows again")

        client.connected = True
        await wait_until(pilot, lambda: not banner(app).display, "the banner hides once the engine answers",
                         timeout=30)
        await wait_until(pilot, lambda: "finished successfully" in str(
            screen.query_one("#deploy-outcome-text", Static).render()), "the deploy job ends")

        # The overview reads the platform when it shows, so its call was retried as well.
        assert set(client.failed_calls) == {"GetLog", "DescribeQingCloud"}, "only calls made during the outage failed"
        await wait_until(pilot, lambda: screen.query_one(JobLog).pending_count == 0, "the log buffer is flushed")
        job_lines = [line for _status, line in client.jobs[-1].lines]
        assert screen.query_one(JobLog).lines[1:] == job_lines, "each log line shows once, in order"
        offsets = [params["offset"] for params in client.calls_of("GetLog") if "job_status" not in params]
        assert offsets == sorted(set(offsets)), "each GetLog starts where the previous one ended"
        assert not screen.error_panel.display, "a retried call is not reported as failed"

    messages = [record.getMessage() for record in caplog.records]
    assert len([message for message in messages if "lost" in message]) == 1, messages
    assert len([message for message in messages if message.endswith("is back")]) == 1, messages


async def test_banner_speaks_chinese():
    client = FlakyFakeClient(cut_after_deploy_polls=2)
    app = make_app(client, lang="zh_CN")

    async with app.run_test(size=SIZE) as pilot:
        await open_deploy(pilot, app)
        await pilot.press("f8")
        await wait_until(pilot, lambda: banner(app).display, "the connection banner shows")
        assert f"与 {URL} 的连接已断开，0.5 秒后重试（第 1 次）" in banner_text(app)

        client.connected = True
        await wait_until(pilot, lambda: not banner(app).display, "the banner hides once the engine answers")


async def test_failed_page_does_not_move_log_offset():
    pages = {0: ["a", "b"], 2: None}

    async def call_api(action: str, params: dict[str, Any]) -> dict[str, Any] | None:
        lines = pages[params["offset"]]
        if lines is None:
            return None
        offset = params["offset"]
        return {"ret_code": 0, "log": {f"{offset + number:03d}": line for number, line in enumerate(lines, 1)},
                "next_offset": offset + len(lines), "total_count": 4}

    watch = JobWatch(call_api, "DeployQingCloud", "j-1")
    assert await watch.read_new_lines() is None
    assert watch.offset == 0, "lines of the first page are read again next time"

    pages[2] = ["c", "d"]
    assert await watch.read_new_lines() == ["a", "b", "c", "d"]
    assert watch.offset == 4
