"""The roles step: registered nodes, and the role and sub-roles each has in the zone.

Writes `settings.roles` as {node_id: {role, sub_roles: "a,b", vms}}. Shows
how many nodes of each kind the zone has and checks the deploy mode's rule.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tui.i18n import N_, _
from tui.screens.base import table_cell
from tui.wizard.dialogs import RoleDialog
from tui.wizard.fields import DEPLOY_MODE_RULES, ROLE_KINDS, deploy_mode_problems, role_kind
from tui.wizard.widgets import WizardSection, issue_lines, plain

class RolesTable(DataTable):
    """The nodes table; enter opens the role dialog of the highlighted node."""

    BINDINGS = [Binding("enter", "edit_role", N_("Edit"))]

    def action_edit_role(self) -> None:
        if self.row_count:
            self.post_message(DataTable.RowSelected(self, self.cursor_row, self.coordinate_to_cell_key(
                self.cursor_coordinate).row_key))


class RolesSection(WizardSection):
    """Assigns registered nodes to the zone; each change is written when its dialog is confirmed."""

    SECTION = "roles"
    TITLE = N_("Roles")

    DEFAULT_CSS = """
    RolesSection #roles-rule, RolesSection #roles-counts {
        height: auto;
    }
    RolesSection #roles-rule.-broken {
        color: $text-error;
    }
    RolesSection #roles-table {
        height: 1fr;
        min-height: 3;
        scrollbar-size-vertical: 1;
    }
    RolesSection #roles-detail {
        height: auto;
        max-height: 3;
        color: $text-muted;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="roles-rule")
        yield Static("", id="roles-counts")
        yield RolesTable(id="roles-table", cursor_type="row", zebra_stripes=True, cell_padding=1)
        yield Static("", id="roles-detail")

    def on_mount(self) -> None:
        table = self.query_one("#roles-table", RolesTable)
        for key, label in (("node_id", _("Node")), ("mgmt_ip", _("Mgmt IP")), ("role", _("Role")),
                           ("sub_roles", _("Sub-roles")), ("zone", _("Zone")), ("status", _("Status")),
                           ("hostname", _("Hostname"))):
            table.add_column(label, key=key)

    def zone_roles(self) -> dict[str, tuple[str, list[str]]]:
        roles = self.host.wizard.roles(self.zone_id) if self.zone_id else {}
        parsed = {}
        for node_id, entry in roles.items():
            if isinstance(entry, dict):
                sub_roles = str(entry.get("sub_roles") or "")
                parsed[node_id] = (str(entry.get("role") or ""), [item for item in sub_roles.split(",") if item])
        return parsed

    def ordered_nodes(self) -> list[dict[str, Any]]:
        """Return the registered nodes: this zone's first, then those without a zone, then the others."""
        zone_id = self.zone_id
        roles = self.zone_roles()

        def rank(node: dict[str, Any]) -> int:
            if node.get("node_id") in roles or node.get("zone_id") == zone_id:
                return 0
            return 1 if not node.get("zone_id") else 2

        return sorted(self.host.inventory, key=rank)

    def reload(self) -> None:
        wizard = self.host.wizard
        zone_id = self.zone_id
        roles = self.zone_roles()
        table = self.query_one("#roles-table", RolesTable)
        cursor_row = table.cursor_row
        table.clear()

        for node in self.ordered_nodes():
            node_id = str(node.get("node_id") or "")
            role, sub_roles = roles.get(node_id, ("", []))
            # The zone the wizard gives the node, in brackets when it is another zone, else the registered one.
            other_zone = wizard.zone_of_node(node_id)
            zone_text = node.get("zone_id")
            if node_id in roles:
                zone_text = zone_id
            elif other_zone:
                zone_text = f"({other_zone})"
            cells = (node_id, node.get("mgmt_ip"), role, ",".join(sub_roles), zone_text, node.get("status"),
                     node.get("hostname"))
            table.add_row(*(table_cell(cell) for cell in cells), key=node_id)
        # Node ids without a registered node (from a loaded file) still show, so they can be removed.
        registered = {node.get("node_id") for node in self.host.inventory}
        for node_id, (role, sub_roles) in roles.items():
            if node_id not in registered:
                cells = (node_id, None, role, ",".join(sub_roles), zone_id, _("not registered"), None)
                table.add_row(*(table_cell(cell) for cell in cells), key=node_id)

        if table.row_count:
            table.move_cursor(row=min(cursor_row, table.row_count - 1))
        self.show_rule(roles)
        self.show_issues()

    def show_rule(self, roles: dict[str, tuple[str, list[str]]]) -> None:
        rule = self.query_one("#roles-rule", Static)
        counts = {kind: 0 for kind in ROLE_KINDS}
        for role, _sub_roles in roles.values():
            kind = role_kind(role)
            if kind in counts:
                counts[kind] += 1
        count_text = "   ".join(f"{kind} {counts[kind]}" for kind in ROLE_KINDS)
        self.query_one("#roles-counts", Static).update(plain(
            _("{counts}   nodes with a role: {total}").format(
                counts=count_text, total=len(roles))))

        if self.zone_id is None:
            rule.update(_("No zone yet: add one in the Zones step (F8)."))
            rule.remove_class("-broken")
            return
        mode = self.host.wizard.merged_variables(self.zone_id).values.get("deploy_mode")
        if mode not in DEPLOY_MODE_RULES:
            rule.update(_("Set deploy_mode (standard or fusion) in the Variables step to check the roles."))
            rule.add_class("-broken")
            return

        problems = deploy_mode_problems(mode, roles)
        missing = [_("no {kind} node").format(kind=name) if what == "kind"
                   else _("no hyper node with {sub_role}").format(sub_role=name) for what, name in problems]
        verdict = _("met") if not missing else _("missing: {missing}").format(missing=", ".join(missing))
        rule.update(plain(f"{_(DEPLOY_MODE_RULES[mode])} {verdict}"))
        rule.set_class(bool(missing), "-broken")

    def show_issues(self) -> None:
        self.show_detail()

    @on(DataTable.RowHighlighted, "#roles-table")
    def show_detail(self) -> None:
        table = self.query_one("#roles-table", RolesTable)
        detail = self.query_one("#roles-detail", Static)
        if not table.row_count or self.zone_id is None:
            detail.update(plain("\n".join(issue_lines(self.host.issues.at(self.zone_id or "", "settings.roles")))))
            return

        node_id = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        issues = self.host.issues.at(self.zone_id, "settings.roles") + self.host.issues.under(
            self.zone_id, f"settings.roles.{node_id}")
        detail.update(plain("\n".join(issue_lines(issues))))

    @on(DataTable.RowSelected, "#roles-table")
    def edit_role(self, event: DataTable.RowSelected) -> None:
        zone_id = self.zone_id
        if zone_id is None or event.row_key.value is None:
            return
        node_id = event.row_key.value
        node = next((record for record in self.host.inventory if record.get("node_id") == node_id),
                    {"node_id": node_id})
        role, sub_roles = self.zone_roles().get(node_id, (None, []))
        other_zone = self.host.wizard.zone_of_node(node_id)
        mode = self.host.wizard.merged_variables(zone_id).values.get("deploy_mode")

        def role_chosen(result: tuple[str | None, list[str]] | None) -> None:
            if result is None or zone_id not in self.host.wizard.zone_ids:
                return
            new_role, new_sub_roles = result
            self.host.wizard.set_role(zone_id, node_id, new_role, new_sub_roles)
            self.post_message(self.Committed())

        self.app.push_screen(RoleDialog(node, zone_id, role, sub_roles, mode if isinstance(mode, str) else None,
                                        other_zone if other_zone != zone_id else None), role_chosen)

    def focus_first(self) -> None:
        self.query_one("#roles-table", RolesTable).focus()
