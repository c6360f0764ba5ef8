"""Registered nodes with their hardware facts and host key fingerprints (DescribeNodes)."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Static

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen, is_ok, table_cell
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.platform_line import PlatformLine


class NodesScreen(InstallerScreen):
    """The node inventory: where SSH reaches each node and what it reported."""

    BINDINGS = [Binding("ctrl+r", "refresh", N_("Refresh"))]

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        with Vertical(id="nodes-body"):
            yield Static(_("Reading the nodes..."), id="nodes-state")
            yield DataTable(id="node-table", cursor_type="row", zebra_stripes=True, cell_padding=0)
            yield Static("", id="node-detail")
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#node-table", DataTable)
        for key, label in (("node_id", _("Node")), ("hostname", _("Hostname")), ("cpus", _("CPUs")),
                           ("mem", _("Memory MB")), ("virt", _("Virt")), ("status", _("Status"))):
            table.add_column(f"{label} ", key=key)
        self.node_set: list[dict[str, Any]] = []

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.error_panel.clear()
        self.load_nodes()

    @work(exclusive=True, group="nodes")
    async def load_nodes(self) -> None:
        response = await self.call_api("DescribeNodes", {}, "Node")
        if not is_ok(response):
            return
        self.node_set = response.get("node_set") or []
        self.show_nodes()

    def show_nodes(self) -> None:
        table = self.query_one("#node-table", DataTable)
        table.clear()
        for node in self.node_set:
            cells = (node.get("node_id"), node.get("hostname"), node.get("cpus"), node.get("mem_mb"),
                     _("yes") if node.get("cpu_virt") else _("no"), node.get("status"))
            table.add_row(*(table_cell(f"{cell} ") for cell in cells), key=node.get("node_id"))
        self.query_one("#nodes-state", Static).update(
            _("{count} node(s) registered.").format(count=len(self.node_set)))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        node_id = event.row_key.value if event.row_key is not None else None
        node = next((entry for entry in self.node_set if entry.get("node_id") == node_id), None)
        if node is None:
            return
        fingerprints = ", ".join(node.get("host_key_fingerprints") or []) or "-"
        detail = _("{node_id}: SSH {user}@{host}:{port}, management address {mgmt_ip}, host key {fingerprints}").format(
            node_id=node_id, user=node.get("ssh_user", ""), host=node.get("ssh_host", ""),
            port=node.get("ssh_port", ""), mgmt_ip=node.get("mgmt_ip", ""), fingerprints=fingerprints)
        self.query_one("#node-detail", Static).update(detail)
