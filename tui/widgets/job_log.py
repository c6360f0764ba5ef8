"""A job's log pane that takes lines in bulk and paints them on a short timer."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import Log


class JobLog(Log):
    """A `Log` fed through a buffer that is flushed every `flush_interval` seconds.

    Writing each line as it arrives costs a repaint per line and stalls the screen on
    busy jobs, so each flush writes the whole buffer with one `write_lines`. The widget
    keeps at most `max_lines`, and the full log stays in the engine.
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
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        # Follow the tail unless the operator is in the pane reading older lines.
        follow = self.is_vertical_scroll_end or not self.has_focus
        self.write_lines(lines, scroll_end=follow)

    def reset(self) -> None:
        """Drop buffered and shown lines, for a new job."""
        self._pending = []
        self.clear()

    @property
    def pending_count(self) -> int:
        return len(self._pending)
