"""Earlier test runs or checks in a dialog: the jobs DescribeJobs lists for one action, newest first.

The tests and health check screens read the jobs themselves, so that a failed
call shows in their error panel, and open this dialog with the list. Enter
returns the highlighted job's id; the screen then shows that run's results.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Label, Static

from tui.i18n import N_, _
from tui.screens.base import table_cell
from tui.status_words import status_label
from tui.widgets.step_list import state_word
from tui.wizard.dialogs import WizardDialog
from tui.wizard.widgets import plain

#: Jobs asked for at once; an installation runs tests and checks a few times, not hundreds.
HISTORY_LIMIT = 100


def status_word(status: str) -> str:
    """Translate a test case, check or job status."""
    word = state_word(status)
    return word if word != status else status_label(status)


def job_summary(job: dict[str, Any]) -> str:
    """Return the outcome a job's resources record: the test mode, the platform status, the counts.

    The installer's engine records them when a test run or check ends. A job without them gives "-".
    """
    resources = job.get("resources") or {}
    parts = []
    if resources.get("mode"):
        parts.append(_("mode {mode}").format(mode=resources["mode"]))
    if resources.get("qingcloud_status"):
        parts.append(status_label(resources["qingcloud_status"]))
    counts = resources.get("counts")
    if isinstance(counts, dict):
        counted = ", ".join(f"{status_word(str(status))} {number}" for status, number in counts.items() if number)
        if counted:
            parts.append(counted)
    return "; ".join(parts) or "-"


class RunHistoryScreen(WizardDialog[str]):
    """A table of jobs (id, start, status, outcome, owner); returns the id of the one to open, or None."""

    HELP_TITLE = N_("Earlier runs")
    HELP = N_("Lists the jobs of this kind, newest first. Up and down move; Enter shows the highlighted "
              "one's results on the screen below; Esc closes the list.")

    DEFAULT_CSS = """
    RunHistoryScreen #history-table {
        height: auto;
        max-height: 14;
        scrollbar-size-vertical: 1;
    }
    """

    BINDINGS = [
        Binding("enter", "confirm", N_("Open"), priority=True),
        Binding("escape", "cancel", N_("Close")),
    ]

    def __init__(self, title: str, jobs: list[dict[str, Any]], shown_job_id: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.jobs = list(jobs)
        self.shown_job_id = shown_job_id

    def compose_body(self) -> ComposeResult:
        yield Label(plain(self.title_text), classes="dialog-title")
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True, cell_padding=0)
        if self.jobs:
            note = _("Enter shows the highlighted one; * marks the one shown now. Times are UTC.")
        else:
            note = _("None recorded yet.")
        yield Static(note, id="history-note", classes="dialog-note")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        columns = (("job", _("Job")), ("time", _("Started")), ("status", _("Status")), ("result", _("Result")),
                   ("owner", _("Owner")))
        for key, label in columns:
            table.add_column(f"{label} ", key=key)

        for job in self.jobs:
            job_id = str(job.get("job_id", ""))
            marker = "*" if job_id == self.shown_job_id else " "
            table.add_row(
                table_cell(f"{marker}{job_id} "),
                table_cell(f"{job.get('create_time') or '-'} "),
                table_cell(f"{status_label(job.get('status'))} "),
                table_cell(f"{job_summary(job)} "),
                table_cell(f"{job.get('owner') or '-'} "),
                key=job_id,
            )

        shown = next((index for index, job in enumerate(self.jobs) if job.get("job_id") == self.shown_job_id), 0)
        if self.jobs:
            table.move_cursor(row=shown)
        table.focus()

    def action_confirm(self) -> None:
        table = self.query_one(DataTable)
        if not self.jobs or not 0 <= table.cursor_row < len(self.jobs):
            self.dismiss(None)
            return
        self.dismiss(str(self.jobs[table.cursor_row].get("job_id", "")))
