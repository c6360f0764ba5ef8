"""The earlier changes of a file, as DescribeConfigurationChanges returns them, with their diffs."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import ScrollableContainer, Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from tui.i18n import N_, _
from tui.screens.base import table_cell
from tui.screens.config_files_view import diff_content
from tui.widgets.step_list import state_word

MODIFY = "ModifyConfiguration"
RESTORE = "RestoreConfiguration"

ACTION_WORDS = {MODIFY: N_("change"), RESTORE: N_("restore")}


def describe_change(change: dict[str, Any]) -> str:
    """Return one line about a change: who made it and when, or which change a restore undid."""
    if change.get("job_action") == RESTORE:
        return _("{job_id} put back the files as they were before {other}.").format(
            job_id=change.get("job_id"), other=change.get("restores_job_id", "-"))
    text = _("{job_id} by {owner} at {time}.").format(
        job_id=change.get("job_id"), owner=change.get("owner", "-"), time=change.get("create_time", "-"))
    if change.get("restorable"):
        text += " " + _("F8 restores the file as it was before.")
    return text


class ChangeHistory(Vertical):
    """A table of changes, newest first, and the diffs of the highlighted one."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.changes: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield DataTable(id="files-change-table", cursor_type="row", zebra_stripes=True, cell_padding=0)
        yield Static("", id="files-change-title")
        with ScrollableContainer(id="files-change-scroll"):
            yield Static("", id="files-change-diff")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # The time goes last: it is the widest column, and the one a narrow pane may cut.
        for key, label in (("job", _("Job")), ("what", _("Action")), ("status", _("Status")),
                           ("restorable", _("Restorable")), ("time", _("Time"))):
            table.add_column(f"{label} ", key=key)

    def focus_table(self) -> None:
        self.query_one(DataTable).focus()

    def show_changes(self, changes: list[dict[str, Any]], zone_id: str, file_name: str) -> None:
        self.changes = list(changes)
        table = self.query_one(DataTable)
        table.clear()
        for change in self.changes:
            table.add_row(
                table_cell(f"{change.get('job_id', '')} "),
                table_cell(f"{_(ACTION_WORDS.get(change.get('job_action', ''), '-'))} "),
                table_cell(f"{state_word(str(change.get('status', '')))} "),
                table_cell(f"{_('yes') if change.get('restorable') else '-'} "),
                table_cell(f"{change.get('create_time', '')} "),
                key=change.get("job_id"),
            )

        if not self.changes:
            self.query_one("#files-change-title", Static).update(Content(
                _("No change of {file} in zone {zone} yet.").format(file=file_name, zone=zone_id)))
            self.query_one("#files-change-diff", Static).update("")
        self.show_highlighted()

    def highlighted(self) -> dict[str, Any]:
        """Return the highlighted change, or an empty dict when there is none."""
        row = self.query_one(DataTable).cursor_row
        if not self.changes or row is None or not 0 <= row < len(self.changes):
            return {}
        return self.changes[row]

    @on(DataTable.RowHighlighted)
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_highlighted()

    def show_highlighted(self) -> None:
        change = self.highlighted()
        if change:
            self.query_one("#files-change-title", Static).update(Content(describe_change(change)))
            diff = diff_content(change["diffs"]) if change.get("diffs") else Content(_("This job changed no file."))
            self.query_one("#files-change-diff", Static).update(diff)
        # Whether F8 restores depends on the highlighted change.
        self.screen.refresh_bindings()
