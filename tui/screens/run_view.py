"""Shared parts of the tests and health check screens: their base class, row styles and time helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from textual.app import App
from textual.color import Color, ColorParseError
from textual.widgets import Static

from tui.i18n import _
from tui.screens.base import InstallerScreen
from tui.status_words import status_label
from tui.wizard.widgets import plain

#: Time format of the API: UTC, like jobs' create_time.
API_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

#: Terminal rows from which a screen shows the job's log beside its results instead of behind a key.
ROOMY_HEIGHT = 36


def parse_api_time(text: str) -> datetime | None:
    """Return an API time as an aware UTC datetime, or None for an empty or malformed one."""
    try:
        return datetime.strptime(text, API_TIME_FORMAT).replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def format_duration(seconds: float | None) -> str:
    """Show seconds as m:ss, or h:mm:ss from one hour on; "-" when unknown."""
    if seconds is None:
        return "-"
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def elapsed_seconds(start_time: str, end_time: str, now: datetime | None = None) -> float | None:
    """Return the seconds from start to end; a started case without an end counts up to `now`."""
    started = parse_api_time(start_time)
    if started is None:
        return None
    ended = parse_api_time(end_time) if end_time else (now or datetime.now(timezone.utc))
    if ended is None:
        return None
    return (ended - started).total_seconds()


def fit_cells(text: str, width: int) -> str:
    """Pad or cut `text` to `width` terminal cells; a cut text ends with "~" so the operator sees it goes on.

    Cells, not characters: a Chinese character takes two.
    """
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "~"


def theme_style(app: App, variable: str, *, bold: bool = False) -> Style:
    """Return a Rich style in the colour of a theme variable, for DataTable cells.

    DataTable shows Rich text, which has no theme variables, so the colour is
    read from the app's theme when the row is built. A variable whose value is
    not a plain colour (e.g. "auto 60%") leaves the colour to the table.
    NOTE: rows keep the colours of the theme they were built in until they are built again.
    """
    value = app.theme_variables.get(variable, "")
    try:
        color = Color.parse(value).rich_color if value else None
    except ColorParseError:
        color = None
    return Style(color=color, bold=bold)


def describe_job(action: str, job_id: str, status: dict[str, Any]) -> str:
    """Return one line about a job: its action, id and the step it is in, or how it ended."""
    steps = status.get("steps") or []
    job_status = str(status.get("status", ""))
    current = next((step for step in steps if step.get("status") == job_status), None)
    if current is not None:
        where = _("step {position} of {count}, {name}").format(
            position=steps.index(current) + 1, count=len(steps), name=current.get("name", ""))
    else:
        where = status_label(job_status)
    return _("{action} job {job_id}: {status}").format(action=action, job_id=job_id, status=where)


class RunScreen(InstallerScreen):
    """A screen that starts jobs and shows their results, with dialogs in between.

    Closing a dialog resumes the screen below it, like coming back from another
    screen does. `dialog_flows` counts the workers that wait for a dialog or
    act on its result, so that a screen reloads on resume only when none does.
    """

    def __init__(self) -> None:
        super().__init__()
        self.job_running = False
        self.dialog_flows = 0

    @contextmanager
    def dialog_flow(self) -> Iterator[None]:
        """Mark the worker as waiting for a dialog or acting on its result."""
        self.dialog_flows += 1
        try:
            yield
        finally:
            self.dialog_flows -= 1

    @property
    def reload_on_resume(self) -> bool:
        return not self.job_running and not self.dialog_flows

    @property
    def roomy(self) -> bool:
        return self.size.height >= ROOMY_HEIGHT

    def set_running(self, running: bool) -> None:
        self.job_running = running
        self.refresh_bindings()

    def set_line(self, selector: str, text: str, style: str = "") -> None:
        """Show engine or operator text on a Static; brackets in it are not markup."""
        self.query_one(selector, Static).update(plain(text, style))
