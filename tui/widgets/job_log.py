"""A job's log pane that takes lines in bulk and paints them on a short timer."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import Log

from tui.i18n import _

#: Queued lines one flush writes at most; the rest waits for the next tick.
FLUSH_MAX_LINES = 1000
#: Characters one flush writes at most, counted after long lines are cut.
FLUSH_MAX_CHARS = 256 * 1024
#: Maximum characters of a line the pane shows. Log renders a visible line whole on every
#: frame, which took about 220 ms for a 5 MB line with textual 8.2.8 on a 2-core machine
#: (bench/job_log_pane.py), so longer lines are cut with a marker that counts the rest.
MAX_LINE_CHARS = 4096


class JobLog(Log):
    """A `Log` fed through a queue that is flushed every `flush_interval` seconds.

    Writing each line as it arrives costs a repaint per line and stalls the screen on
    busy jobs, so each flush writes the queued lines with one `write_lines`. One flush
    writes at most FLUSH_MAX_LINES lines and FLUSH_MAX_CHARS characters, so a burst
    never holds up the keys for long. When more lines are queued than that and than the
    pane keeps (`max_lines`), the oldest are skipped, because writing them would only
    push them out again, and a marker line counts them. The full log stays in the engine.
    """

    DEFAULT_CSS = """
    JobLog {
        height: 1fr;
        min-height: 2;
        border-top: solid $panel;
        background: $surface;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    JobLog:focus {
        border-top: solid $primary;
    }
    """

    def __init__(self, *, title: str = "", max_lines: int = 5000, flush_interval: float = 0.08,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(max_lines=max_lines, auto_scroll=True, id=id, classes=classes)
        self.border_title = title
        self.flush_interval = flush_interval
        self._pending: list[str] = []
        self._skipped = 0
        """Queued lines dropped since the last flush, which the next flush reports."""
        self.following = True
        """Whether new lines scroll the pane to the end; off while the operator reads older lines."""

    @property
    def allow_horizontal_scroll(self) -> bool:
        # Without a horizontal scrollbar (it would take one of few rows), the arrow
        # keys still scroll sideways through lines wider than the pane.
        return not self.is_disabled and self.max_scroll_x > 0

    def on_mount(self) -> None:
        self.set_interval(self.flush_interval, self.flush)

    def queue_lines(self, lines: Iterable[str]) -> None:
        """Add lines to be written at the next flush."""
        self._pending.extend(lines)

    def flush(self) -> None:
        """Write queued lines, at most one flush's worth; skip the oldest of a burst the pane cannot keep."""
        if not self._pending:
            return

        self._skip_burst()

        batch = self._take_batch()
        if self._skipped:
            batch.insert(0, _("[{count:,} lines skipped because they arrived faster than this pane can show "
                              "them. The engine keeps the full job log.]").format(count=self._skipped))
            self._skipped = 0

        self.write_lines(batch, scroll_end=self.following)
        if self.following:
            # The pane may have changed size since the last write (a resize, a panel
            # shown above it): scroll once more after the layout settles.
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)

    def _skip_burst(self) -> None:
        """Drop the oldest queued lines when one flush cannot write the queue and the pane cannot keep it."""
        if self.max_lines is None or len(self._pending) <= FLUSH_MAX_LINES:
            return

        # One line of the pane goes to the marker.
        excess = len(self._pending) - (self.max_lines - 1)
        if excess > 0:
            del self._pending[:excess]
            self._skipped += excess

    def _take_batch(self) -> list[str]:
        """Remove and return the next lines to write, long lines cut, within one flush's limits."""
        batch = []
        chars = 0
        entries_taken = 0
        for entry in self._pending:
            if entries_taken >= FLUSH_MAX_LINES or (batch and chars >= FLUSH_MAX_CHARS):
                break
            entries_taken += 1

            if len(entry) > MAX_LINE_CHARS:
                # Log splits an entry into lines itself; split here first so each line is cut on its own.
                lines = [cut_line(line) for line in entry.splitlines()]
                batch.extend(lines)
                chars += sum(len(line) for line in lines)
            else:
                batch.append(entry)
                chars += len(entry)

        del self._pending[:entries_taken]
        return batch

    def on_resize(self) -> None:
        if self.following:
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)

    # Following stops only when the operator scrolls up, and resumes at the end.
    def action_scroll_up(self) -> None:
        self.following = False
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self.following = False
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self.following = False
        super().action_scroll_home()

    def action_scroll_down(self) -> None:
        super().action_scroll_down()
        self.following = self.is_vertical_scroll_end

    def action_page_down(self) -> None:
        super().action_page_down()
        self.following = self.is_vertical_scroll_end

    def action_scroll_end(self) -> None:
        self.following = True
        super().action_scroll_end()

    def reset(self) -> None:
        """Drop queued and shown lines, for a new job."""
        self._pending = []
        self._skipped = 0
        self.following = True
        self.clear()

    @property
    def pending_count(self) -> int:
        return len(self._pending)


def cut_line(line: str) -> str:
    """Return line, or its first MAX_LINE_CHARS characters and a marker counting the rest."""
    if len(line) <= MAX_LINE_CHARS:
        return line
    rest = len(line) - MAX_LINE_CHARS
    return line[:MAX_LINE_CHARS] + " " + _("[line cut: {count:,} more characters]").format(count=rest)
