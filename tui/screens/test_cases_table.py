"""The table of a test run's cases: status, tries, start and time of each, failed cases marked.

Rows are GetQingCloudTestCasesStatus's `result` entries. The table is updated
in place while a run goes on, so the highlighted case (whose log is shown
below it) stays highlighted.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

from tui.i18n import N_, _
from tui.screens.platform_tests_start import case_description
from tui.screens.run_view import elapsed_seconds, format_duration, theme_style
from tui.widgets.step_list import state_word

COLUMNS = (
    ("test", N_("Case")),
    ("status", N_("Status")),
    ("attempts", N_("Tries")),
    ("start", N_("Started")),
    ("duration", N_("Time")),
    ("description", N_("Description")),
)

#: Case statuses of GetQingCloudTestCasesStatus.
CASE_STATUSES = ("pending", "running", "successful", "failed", "skipped")

#: Cells of the values of the fixed-width columns, each with its trailing space: tries up
#: to 99, a start as hh:mm:ss, a time up to 9:59:59.
VALUE_WIDTHS = {"attempts": 3, "start": 9, "duration": 8}

#: Case statuses in the order the summary counts them: what needs the operator first.
SUMMARY_ORDER = ("failed", "running", "pending", "successful", "skipped")

#: Marker after the status of a failed case, visible on a console without colours too.
FAILED_MARK = " !"


def count_statuses(rows: list[dict[str, Any]]) -> str:
    """Return "failed 1, running 2, successful 9" for the rows, in SUMMARY_ORDER; unknown statuses last."""
    counted = Counter(str(row.get("status", "")) for row in rows)
    order = [status for status in SUMMARY_ORDER if status in counted]
    order += sorted(status for status in counted if status not in SUMMARY_ORDER)
    return ", ".join(f"{state_word(status)} {counted[status]}" for status in order)


def failed_cases(rows: list[dict[str, Any]]) -> list[str]:
    return [str(row.get("test", "")) for row in rows if row.get("status") == "failed"]


def start_clock(start_time: str) -> str:
    """Return the time of day of an API time ("2024-05-01 10:00:01" gives "10:00:01"), or "-"."""
    return start_time.split(" ")[-1] if start_time else "-"


class CaseTable(DataTable):
    """The cases of one test run, one row each, keyed by case name."""

    DEFAULT_CSS = """
    CaseTable {
        height: auto;
        max-height: 11;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cell_padding=0)
        self.rows_by_test: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []

    def on_mount(self) -> None:
        # Cells are updated in place without widening their column, so every column
        # whose values change is as wide as its widest value from the start.
        widths = dict(VALUE_WIDTHS)
        widths["status"] = max(cell_len(state_word(status) + (FAILED_MARK if status == "failed" else ""))
                               for status in CASE_STATUSES) + 1
        for key, label in COLUMNS:
            title = f"{_(label)} "
            width = max(widths[key], cell_len(title)) if key in widths else None
            self.add_column(title, key=key, width=width)

    @property
    def highlighted_test(self) -> str | None:
        if not self.order or not 0 <= self.cursor_row < len(self.order):
            return None
        return self.order[self.cursor_row]

    def row_of(self, test: str) -> dict[str, Any]:
        return self.rows_by_test.get(test, {})

    def cells(self, row: dict[str, Any], now: datetime | None = None) -> list[Text]:
        status = str(row.get("status", ""))
        start_time = str(row.get("start_time") or "")
        end_time = str(row.get("end_time") or "")

        row_style = theme_style(self.app, "text-error", bold=True) if status == "failed" else ""
        status_style = {"running": theme_style(self.app, "text-warning", bold=True),
                        "successful": theme_style(self.app, "text-success")}.get(status, row_style)
        status_text = state_word(status) + (FAILED_MARK if status == "failed" else "")

        seconds = elapsed_seconds(start_time, end_time, now) if status != "pending" else None
        values = [
            (str(row.get("test", "")), row_style),
            (status_text, status_style),
            (str(row.get("attempts") or "-"), row_style),
            (start_clock(start_time), row_style),
            (format_duration(seconds), row_style),
            (case_description(row), row_style),
        ]
        return [Text(f"{value} ", style=style) for value, style in values]

    def show_rows(self, rows: list[dict[str, Any]], now: datetime | None = None) -> None:
        """Show a run's rows: in place when the cases are the same, rebuilt otherwise."""
        order = [str(row.get("test", "")) for row in rows]
        self.rows_by_test = {str(row.get("test", "")): row for row in rows}

        if order == self.order:
            for row in rows:
                for (column, _label), cell in zip(COLUMNS, self.cells(row, now)):
                    self.update_cell(str(row.get("test", "")), column, cell)
            return

        highlighted = self.highlighted_test
        self.order = order
        self.clear()
        for row in rows:
            self.add_row(*self.cells(row, now), key=str(row.get("test", "")))
        if highlighted in order:
            self.move_cursor(row=order.index(highlighted))

    def highlight(self, test: str) -> None:
        if test in self.order:
            self.move_cursor(row=self.order.index(test))
