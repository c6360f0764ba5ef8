"""The TUI's live log pane under load: key-to-screen delay and peak memory, headless.

A JobLog (tui/widgets/job_log.py) receives 200,000 lines in chunks, as the deploy screen feeds
it from GetLog, plus one single 5 MB line halfway. Meanwhile a key (page up, then page down) is
pressed every 50 ms. This runs ROUNDS times, and then keys are pressed while the 5 MB line is on
screen. The delay of a key is the time from posting it to the first screen update after the
pane handled it. Textual renders in headless mode too; only the terminal write is skipped, so
the delay covers the compositor's work.
"""

from __future__ import annotations

import asyncio
import time

from textual import events
from textual.app import App, ComposeResult

from bench.memory import peak_resident_mb, reset_peak_resident
from tui.widgets.job_log import JobLog

TOTAL_LINES = 200_000
CHUNK_LINES = 2_000
CHUNK_INTERVAL = 0.02
BIG_WRITE_BYTES = 5 * 1024 * 1024
KEY_INTERVAL = 0.05
KEYS = ("pageup", "pagedown")
#: Streaming runs, each in a new app; the machine's other work makes single runs vary.
ROUNDS = 3
BIG_LINE_KEYS = 10
BIG_LINE_KEY_DEADLINE = 30.0


class TimedJobLog(JobLog):
    """A JobLog that records when it handled a page key."""

    handled_at: float | None = None

    def action_page_up(self) -> None:
        super().action_page_up()
        self.handled_at = time.perf_counter()

    def action_page_down(self) -> None:
        super().action_page_down()
        self.handled_at = time.perf_counter()


class LogPaneApp(App[None]):
    """One job log pane filling the screen; records the delay from each key to the next screen update."""

    def __init__(self) -> None:
        super().__init__()
        self.pressed_at: float | None = None
        self.delays: list[float] = []

    def compose(self) -> ComposeResult:
        yield TimedJobLog(title="DeployQingCloud", id="log")

    # NOTE: _display is Textual's private hook for each screen update; this benchmark wraps it
    # to time updates, which no public API exposes.
    def _display(self, screen, renderable) -> None:  # type: ignore[no-untyped-def]
        super()._display(screen, renderable)
        pane = self.query_one(TimedJobLog)
        if renderable is not None and self.pressed_at is not None and pane.handled_at is not None:
            self.delays.append(time.perf_counter() - self.pressed_at)
            self.pressed_at = None
            pane.handled_at = None


def log_line(number: int) -> str:
    return f"pek3ar01n{number % 13 + 1:02d} | Unpacking pitrix-package-{number} (20181001-1) ... line {number}"


async def stream_round() -> tuple[list[float], float, int]:
    """Stream the lines while pressing keys; return the key delays, the streaming time and the lines kept."""
    app = LogPaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(TimedJobLog)
        pane.focus()
        streaming = True
        started = time.perf_counter()

        async def feed() -> None:
            nonlocal streaming
            for first in range(0, TOTAL_LINES, CHUNK_LINES):
                pane.queue_lines(log_line(number) for number in range(first, first + CHUNK_LINES))
                if first == TOTAL_LINES // 2:
                    pane.queue_lines(["x" * BIG_WRITE_BYTES])
                await asyncio.sleep(CHUNK_INTERVAL)
            while pane.pending_count:
                await asyncio.sleep(CHUNK_INTERVAL)
            streaming = False

        async def press() -> None:
            count = 0
            while streaming:
                if app.pressed_at is None:
                    app.pressed_at = time.perf_counter()
                    app.post_message(events.Key(KEYS[count % len(KEYS)], None))
                    count += 1
                await asyncio.sleep(KEY_INTERVAL)

        await asyncio.gather(feed(), press())
        elapsed = time.perf_counter() - started
        await pilot.pause()
        shown = pane.line_count
    return app.delays, elapsed, shown


async def big_line_in_view() -> list[float]:
    """Press keys while the 5 MB line stays on screen; return the key delays.

    In the streaming rounds the big line scrolls out of view within a flush or two, so
    whether a key meets it on screen depends on timing. Here the pane contains 30 lines, the
    big line and 30 more lines, so page up and page down both show it.
    """
    app = LogPaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(TimedJobLog)
        pane.focus()
        pane.queue_lines(log_line(number) for number in range(30))
        pane.queue_lines(["x" * BIG_WRITE_BYTES])
        pane.queue_lines(log_line(number) for number in range(30, 60))
        while pane.pending_count:
            await pilot.pause()
        await pilot.pause()

        for count in range(BIG_LINE_KEYS):
            app.pressed_at = time.perf_counter()
            app.post_message(events.Key(KEYS[count % len(KEYS)], None))
            deadline = time.perf_counter() + BIG_LINE_KEY_DEADLINE
            while app.pressed_at is not None:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"a key in view of the big line did not reach the screen "
                                       f"within {BIG_LINE_KEY_DEADLINE:g} s")
                await asyncio.sleep(0.005)
    return app.delays


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def run() -> list[str]:
    reset_peak_resident()
    delays: list[float] = []
    round_worst = []
    elapsed = []
    shown = 0
    for _ in range(ROUNDS):
        round_delays, round_elapsed, shown = await stream_round()
        if not round_delays:
            raise RuntimeError("no key press reached the screen")
        delays += round_delays
        round_worst.append(max(round_delays))
        elapsed.append(round_elapsed)
    in_view = sorted(await big_line_in_view())

    delays.sort()
    return [
        f"{TOTAL_LINES:,} lines plus one {BIG_WRITE_BYTES // (1024 * 1024)} MB line streamed {ROUNDS} times, in "
        f"{', '.join(f'{seconds:.1f}' for seconds in elapsed)} s; {len(delays)} keys pressed; "
        f"pane keeps {shown:,} lines",
        f"key-to-screen delay: median {milliseconds(delays[len(delays) // 2])}, worst {milliseconds(delays[-1])} "
        f"(worst of each round {', '.join(milliseconds(worst) for worst in round_worst)}; target < 100 ms)",
        f"with the 5 MB line in view, {len(in_view)} keys: median {milliseconds(in_view[len(in_view) // 2])}, "
        f"worst {milliseconds(in_view[-1])}",
        f"peak resident memory {peak_resident_mb():.0f} MB (target < 300 MB)",
    ]


def main() -> list[str]:
    return asyncio.run(run())
