"""The TUI's widgets on their own: log batching, error text, step lines, header."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from tui.i18n import set_language
from tui.widgets.api_error import describe_error_response
from tui.widgets.job_log import JobLog
from tui.widgets.platform_line import describe_platform
from tui.widgets.step_list import StepList


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


class LogApp(App):
    def compose(self) -> ComposeResult:
        # A long flush interval keeps the timer out of the way; the test flushes by hand.
        yield JobLog(max_lines=100, flush_interval=60)


async def test_job_log_writes_buffer_in_one_call():
    app = LogApp()

    async with app.run_test(size=(80, 24)) as pilot:
        job_log = app.query_one(JobLog)
        writes = []
        original = job_log.write_lines
        job_log.write_lines = lambda lines, scroll_end=None: writes.append(list(lines)) or original(lines, scroll_end)

        job_log.queue_lines(f"line {number}" for number in range(150))
        job_log.queue_lines(["last line"])
        assert job_log.line_count == 0, "nothing is painted before the flush"

        job_log.flush()
        await pilot.pause()

        assert len(writes) == 1
        assert len(writes[0]) == 151
        assert job_log.line_count == 100, "max_lines keeps the newest lines"
        assert job_log.lines[-1] == "last line"
        assert job_log.pending_count == 0


async def test_job_log_follows_tail_after_resize_and_focus():
    app = LogApp()

    async with app.run_test(size=(80, 24)) as pilot:
        job_log = app.query_one(JobLog)
        job_log.focus()
        job_log.queue_lines(f"line {number}" for number in range(60))
        job_log.flush()
        await pilot.pause()

        # A smaller pane (a panel shown above it, a smaller terminal) moves the end down.
        await pilot.resize_terminal(80, 10)
        await pilot.pause()
        job_log.queue_lines(["newest line"])
        job_log.flush()
        await pilot.pause()
        await pilot.pause()

        assert job_log.is_vertical_scroll_end, "the newest line is in view"


async def test_job_log_stops_following_when_reading_back():
    app = LogApp()

    async with app.run_test(size=(80, 24)) as pilot:
        job_log = app.query_one(JobLog)
        job_log.focus()
        job_log.queue_lines(f"line {number}" for number in range(60))
        job_log.flush()
        await pilot.pause()

        await pilot.press("pageup")
        scroll_before = job_log.scroll_y
        job_log.queue_lines(["newer line"])
        job_log.flush()
        await pilot.pause()

        assert job_log.following is False
        assert job_log.scroll_y == scroll_before, "reading back is not interrupted"

        await pilot.press("end")
        assert job_log.following is True


@pytest.mark.parametrize(("ret_code", "explanation"), [
    (1100, "a parameter is missing or invalid"),
    (2100, "was not found"),
    (5100, "busy with another job"),
    (5200, "not in the right state"),
])
def test_error_text_explains_known_codes(ret_code, explanation):
    panel_text = describe_error_response({"action": "DeployQingCloudResponse", "ret_code": ret_code,
                                     "message": "node_ids: n-nope not registered"})

    assert panel_text.startswith(f"DeployQingCloud failed with ret_code {ret_code}: node_ids: n-nope not registered")
    assert explanation in panel_text


def test_error_text_unknown_code_has_no_explanation():
    panel_text = describe_error_response({"action": "GetLogResponse", "ret_code": 9999, "message": "internal error (trace t-1)"})

    assert panel_text == "GetLog failed with ret_code 9999: internal error (trace t-1)"


def test_error_text_in_chinese():
    set_language("zh_CN")

    panel_text = describe_error_response({"action": "ConfigQingCloudResponse", "ret_code": 1100, "message": "config: missing"})

    assert panel_text.splitlines() == ["ConfigQingCloud 失败，ret_code 为 1100：config: missing", "请求被拒绝：缺少参数或参数无效。"]


class StepApp(App):
    def compose(self) -> ComposeResult:
        yield StepList()


async def test_step_list_shows_title_name_state():
    app = StepApp()

    async with app.run_test(size=(80, 24)) as pilot:
        steps = app.query_one(StepList)
        steps.show_steps([
            {"status": "step0", "name": "preflight", "state": "done"},
            {"status": "step1", "name": "distribute_config", "state": "skipped"},
            {"status": "step2", "name": "install", "state": "running"},
            {"status": "step3", "name": "custom_step", "state": "pending"},
        ])
        await pilot.pause()

        lines = [line.rstrip() for line in str(steps.render()).splitlines()]
        assert lines == [
            "Preflight checks  preflight         done",
            "Distribute config distribute_config skipped",
            "Install roles     install           running",
            "custom_step       custom_step       pending",
        ]


def test_header_text():
    platform = {"platform_name": "qingcloud", "status": "configured", "zone_ids": ["pek3a", "pek3b"]}

    assert describe_platform(platform, "lab") == "platform: qingcloud (configured) | zones: pek3a, pek3b | engine: lab"
    assert describe_platform(None, "") == "platform: unknown | engine: connecting"
