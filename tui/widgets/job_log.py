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
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        self.write_lines(lines, scroll_end=self.following)
        if self.following:
            # The pane may have changed size since the last write (a resize, a panel
            # shown above it): scroll once more after the layout settles.
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)

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
        """Drop buffered and shown lines, for a new job."""
        self._pending = []
        self.following = True
        self.clear()

    @property
    def pending_count(self) -> int:
        return len(self._pending)
