"""The job log pane under bursts: bounded work per flush, skipped lines and cut lines shown as such."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from tui.i18n import set_language
from tui.widgets.job_log import FLUSH_MAX_CHARS, FLUSH_MAX_LINES, MAX_LINE_CHARS, JobLog


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


class LogApp(App):
    def __init__(self, max_lines: int) -> None:
        super().__init__()
        self.max_lines = max_lines

    def compose(self) -> ComposeResult:
        # A long flush interval keeps the timer out of the way; the tests flush by hand.
        yield JobLog(max_lines=self.max_lines, flush_interval=60)


def record_writes(job_log: JobLog) -> list[list[str]]:
    """Wrap write_lines so that each call's lines are recorded."""
    writes: list[list[str]] = []
    original = job_log.write_lines

    def write_lines(lines, scroll_end=None):
        lines = list(lines)
        writes.append(lines)
        return original(lines, scroll_end)

    job_log.write_lines = write_lines
    return writes


async def test_burst_keeps_newest_lines_and_counts_skipped():
    app = LogApp(max_lines=100)

    async with app.run_test(size=(80, 24)) as pilot:
        job_log = app.query_one(JobLog)
        writes = record_writes(job_log)
        job_log.queue_lines(f"line {number}" for number in range(20000))

        job_log.flush()
        await pilot.pause()

        assert len(writes) == 1
        assert job_log.line_count == 100
        assert job_log.lines[0] == ("[19,901 lines skipped because they arrived faster than this pane can show "
                                    "them. The engine keeps the full job log.]")
        assert job_log.lines[1] == "line 19901"
        assert job_log.lines[-1] == "line 19999"
        assert job_log.pending_count == 0


async def test_skipped_lines_marker_in_chinese():
    set_language("zh_CN")
    app = LogApp(max_lines=100)

    async with app.run_test(size=(80, 24)) as pilot:
        job_log = app.query_one(JobLog)
        job_log.queue_lines(f"line {number}" for number in range(3000))

        job_log.flush()
        await pilot.pause()

        assert job_log.lines[0] == "[跳过了 2,901 行，因为日志到达的速度超过了本窗格的显示速度。完整的任务日志保存在引擎中。]"
        assert job_log.lines[-1] == "line 2999"


async def test_flush_writes_at_most_its_share():
    app = LogApp(max_lines=5000)

    async with app.run_test(size=(80, 24)) as pilot:
        job_log = app.query_one(JobLog)
        writes = record_writes(job_log)
        job_log.queue_lines(f"line {number}" for number in range(2500))

        job_log.flush()
        await pilot.pause()
        left_after_first = job_log.pending_count
        job_log.flush()
        job_log.flush()
        await pilot.pause()

        assert [len(lines) for lines in writes] == [FLUSH_MAX_LINES, FLUSH_MAX_LINES, 500]
        assert left_after_first == 1500
        assert list(job_log.lines) == [f"line {number}" for number in range(2500)], "every line once, in order"


async def test_flush_bounds_characters_of_long_lines():
    app = LogApp(max_lines=5000)

    async with app.run_test(size=(80, 24)) as pilot:
        job_log = app.query_one(JobLog)
        writes = record_writes(job_log)
        lines = [f"{number:04d}" + "y" * (MAX_LINE_CHARS - 4) for number in range(200)]
        job_log.queue_lines(lines)

        while job_log.pending_count:
            job_log.flush()
        await pilot.pause()

        assert len(writes) > 1
        for written in writes:
            assert sum(len(line) for line in written) < FLUSH_MAX_CHARS + MAX_LINE_CHARS
        assert list(job_log.lines) == lines


async def test_long_line_cut_with_marker():
    app = LogApp(max_lines=100)

    async with app.run_test(size=(80, 24)) as pilot:
        job_log = app.query_one(JobLog)
        huge = "x" * (5 * 1024 * 1024)
        job_log.queue_lines(["before", huge, "after\n" + "z" * (MAX_LINE_CHARS + 10) + "\nlast"])

        job_log.flush()
        await pilot.pause()

        assert job_log.lines[0] == "before"
        assert job_log.lines[1] == "x" * MAX_LINE_CHARS + " [line cut: 5,238,784 more characters]"
        assert job_log.lines[2] == "after"
        assert job_log.lines[3] == "z" * MAX_LINE_CHARS + " [line cut: 10 more characters]"
        assert job_log.lines[4] == "last"
        assert job_log.line_count == 5
