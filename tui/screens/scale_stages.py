"""Widgets of the scale-out screen's stages: the nodes that can join the zone, and the check of the plan."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Log, OptionList, Static
from textual.widgets.option_list import Option

from tui.i18n import N_, _
from tui.screens.base import table_cell
from tui.screens.scale_plan import ZonePlan, describe_zone, issue_rows, role_changes
from tui.status_words import status_label
from tui.wizard.widgets import plain

NODE_COLUMNS = (N_("Node"), N_("Hostname"), N_("Mgmt IP"), N_("Role"), N_("Status"), N_("Sub-roles"), N_("Zone"))

#: Issues of the check shown at once; the table scrolls to the others.
MAX_ISSUE_ROWS = 5


class ZoneList(OptionList):
    """The deployed zones, one line each; the highlighted one is the zone to scale out."""

    def show_zones(self, zones: dict[str, dict[str, Any]], highlighted: str | None) -> None:
        self.clear_options()
        for zone_id, zone in zones.items():
            self.add_option(Option(describe_zone(zone_id, zone), id=zone_id))
        if zones:
            zone_ids = list(zones)
            self.highlighted = zone_ids.index(highlighted) if highlighted in zone_ids else 0


class JoiningNodesTable(DataTable):
    """The nodes a scale-out of the zone can take, with their planned roles; Enter edits the highlighted one."""

    def on_mount(self) -> None:
        for label in NODE_COLUMNS:
            self.add_column(_(label))

    def show_plan(self, plan: ZonePlan | None, nodes: list[dict[str, Any]]) -> None:
        cursor_row = self.cursor_row
        self.clear()
        if plan is None:
            return

        for node, role, sub_roles in plan.node_rows(nodes):
            status = status_label(node.get("status")) if node.get("status") else _("not registered")
            cells = (node.get("node_id"), node.get("hostname"), node.get("mgmt_ip"), role, status,
                     ",".join(sub_roles), node.get("zone_id"))
            self.add_row(*(table_cell(cell) for cell in cells), key=str(node.get("node_id")))
        if self.row_count:
            self.move_cursor(row=min(cursor_row, self.row_count - 1))


def nodes_summary(plan: ZonePlan, nodes: list[dict[str, Any]], row_count: int) -> tuple[str, str]:
    """Return the line that names the nodes joining the zone (or how to get some), and its style."""
    joining = plan.joining_node_ids(nodes)
    if joining:
        return _("{count} node(s) join zone {zone_id}: {nodes}. Enter changes the highlighted node's role; F9 "
                 "checks the configuration.").format(count=len(joining), zone_id=plan.zone_id,
                                                    nodes=", ".join(joining)), ""
    if row_count:
        return _("Enter gives the highlighted node a role in zone {zone_id}; F6 registers more nodes.").format(
            zone_id=plan.zone_id), ""
    return _("No registered node is free to join zone {zone_id}. Press F6 to register new nodes.").format(
        zone_id=plan.zone_id), "$text-warning"


def check_summary(response: dict[str, Any], plan: ZonePlan, count: int) -> tuple[str, str]:
    """Return the line that sums up ValidateQingCloudConfig's response for the plan, and its style."""
    issues = response.get("issues") or []
    errors = sum(1 for issue in issues if issue.get("severity") == "error")
    warnings = len(issues) - errors

    if not response.get("valid"):
        return _("Not valid (errors: {errors}, warnings: {warnings}). Press F8 to change the roles.").format(
            errors=errors, warnings=warnings), "$text-error"
    if plan.changed:
        return _("Valid (warnings: {warnings}). F7 applies zone {zone_id}'s configuration with {count} new "
                 "node(s).").format(warnings=warnings, zone_id=plan.zone_id, count=count), "$text-success"
    return _("Valid (warnings: {warnings}). The roles are applied already; F9 goes on to the scale-out of "
             "{count} node(s).").format(warnings=warnings, count=count), "$text-success"


class CheckPanel(Vertical):
    """The issues ValidateQingCloudConfig found in the plan, and the changes the plan makes to the zone."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.issues: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield DataTable(id="scale-issues", cursor_type="row", zebra_stripes=True, show_header=False)
        yield Static("", id="scale-issue-detail")
        yield Log(id="scale-changes", max_lines=20000, auto_scroll=False)

    def on_mount(self) -> None:
        issues = self.query_one("#scale-issues", DataTable)
        for key in ("severity", "path", "message"):
            issues.add_column(key, key=key)

    def show_changes(self, plan: ZonePlan, nodes: list[dict[str, Any]]) -> None:
        """Show the role changes the plan makes, before the engine's check returns."""
        changes = self.query_one("#scale-changes", Log)
        changes.clear()
        lines = role_changes(plan.stored_roles(), plan.planned_roles(), nodes)
        changes.write_lines([_("Roles in zone {zone_id} that this scale-out changes:").format(zone_id=plan.zone_id),
                             *(lines or [_("(no changes)")])])

    def show_result(self, response: dict[str, Any], zone_id: str) -> None:
        """Show the check's issues, and the engine's diff of the zone's files when it returned one."""
        self.issues = list(response.get("issues") or [])
        table = self.query_one("#scale-issues", DataTable)
        table.clear()
        table.display = bool(self.issues)
        # A DataTable of auto height shows no rows here, so the height follows the issues, up to five.
        table.styles.height = min(len(self.issues), MAX_ISSUE_ROWS)
        for index, cells in enumerate(issue_rows(self.issues)):
            table.add_row(*cells, key=str(index))
        self.query_one("#scale-issue-detail", Static).update("")

        diff = str((response.get("diff") or {}).get(zone_id) or "")
        if diff:
            self.query_one("#scale-changes", Log).write_lines([
                "", _("=== zone {zone_id}: changes against the applied configuration ===").format(zone_id=zone_id),
                *diff.splitlines()])

    @on(DataTable.RowHighlighted, "#scale-issues")
    def show_issue_detail(self, event: DataTable.RowHighlighted) -> None:
        # The table cuts long messages at the screen's edge; the line below shows all of it.
        if event.row_key.value is None or int(event.row_key.value) >= len(self.issues):
            return
        issue = self.issues[int(event.row_key.value)]
        self.query_one("#scale-issue-detail", Static).update(plain("{path}: {message}".format(
            path=issue.get("path") or issue.get("zone") or "-", message=issue.get("message") or "")))
