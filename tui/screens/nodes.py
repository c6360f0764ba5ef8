"""The nodes screen: registered nodes, and adding, re-trusting and deleting them.

The table comes from DescribeNodes, the details of the highlighted node below it.
F6 opens the "Add nodes" dialog (node_add.py). F7 scans the highlighted node and,
when its host key changed, shows a confirmation before TrustNodeHostKey. F8 shows
a confirmation before DeleteNodes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Footer, Static

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen, is_ok, table_cell
from tui.screens.host_keys import TrustKeyScreen, is_reachable
from tui.screens.node_add import NodeAddScreen
from tui.screens.node_addresses import format_address
from tui.screens.node_detail import describe_failure, describe_node, table_row
from tui.screens.node_modal import DeleteNodeScreen, describe_node_name
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.platform_line import PlatformLine

COLUMNS = (
    ("node_id", N_("Node")),
    ("hostname", N_("Hostname")),
    ("mgmt_ip", N_("Mgmt IP")),
    ("zone", N_("Zone")),
    ("role", N_("Role")),
    ("status", N_("Status")),
    ("hardware", N_("CPU/Mem")),
)

# DeleteNodes' ret_code for a node it keeps because the node is deployed.
WRONG_STATE = 5200


class NodesScreen(InstallerScreen):
    """The node inventory, with the keys that add nodes, trust a changed host key and delete a node."""

    HELP = N_(
        "The registered nodes, with the highlighted node's hardware and host key below the table.\n"
        "\n"
        "1. F6 adds nodes: give their SSH addresses, scan their host keys and confirm the fingerprints.\n"
        "2. F7 reads the highlighted node's host key again and, when it changed, asks before trusting"
        " the new one.\n"
        "3. F8 deletes the highlighted node after asking; the engine keeps a deployed node.\n"
        "4. ^R reads the table again."
    )

    CSS_PATH = "nodes.tcss"

    # The table also reloads by itself whenever the screen shows and after every change made here.
    BINDINGS = [
        Binding("ctrl+r", "refresh", N_("Refresh")),
        Binding("f6", "add", N_("Add")),
        Binding("f7", "trust_key", N_("Trust key")),
        Binding("f8", "delete", N_("Delete")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.node_set: list[dict[str, Any]] = []
        self.busy = False
        """True while F7 or F8 waits for the engine or the operator."""

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        with Vertical(id="nodes-body"):
            yield Static(_("Reading the nodes..."), id="nodes-state")
            yield DataTable(id="node-table", cursor_type="row", zebra_stripes=True, cell_padding=0)
            with VerticalScroll(id="node-detail-scroll"):
                yield Static("", id="node-detail")
            with VerticalScroll(id="nodes-outcome"):
                yield Static("", id="nodes-outcome-text")
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        # cell_padding=0 with one trailing space per cell keeps the seven columns
        # within 80 cells for lab-sized values; wider tables scroll sideways.
        table = self.query_one("#node-table", DataTable)
        for key, label in COLUMNS:
            table.add_column(f"{_(label)} ", key=key)
        self.query_one("#nodes-outcome").display = False

    def on_screen_resume(self) -> None:
        # A dialog of F7 or F8 resumes this screen when it closes; the flow reloads itself.
        if not self.busy:
            self.action_refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("trust_key", "delete"):
            return None if self.busy or self.highlighted_node() is None else True
        if action == "add":
            return None if self.busy else True
        return True

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.refresh_bindings()

    # The table and the details.

    def action_refresh(self) -> None:
        self.error_panel.clear()
        self.load_nodes()

    @work(exclusive=True, group="nodes")
    async def load_nodes(self) -> None:
        await self.reload()

    async def reload(self) -> None:
        response = await self.call_api("DescribeNodes", {}, "Node")
        if not is_ok(response):
            return
        self.node_set = response.get("node_set") or []
        self.show_nodes()

    def show_nodes(self) -> None:
        table = self.query_one("#node-table", DataTable)
        highlighted = self.highlighted_node()
        table.clear()

        for node in self.node_set:
            table.add_row(*(table_cell(f"{cell} ") for cell in table_row(node)), key=node.get("node_id"))

        node_ids = [node.get("node_id") for node in self.node_set]
        if highlighted is not None and highlighted.get("node_id") in node_ids:
            table.move_cursor(row=node_ids.index(highlighted.get("node_id")))

        self.show_count()
        self.show_detail()
        self.refresh_bindings()

    def show_count(self) -> None:
        if self.node_set:
            state = _("{count} node(s) registered.").format(count=len(self.node_set))
        else:
            state = _("No node is registered yet. Press F6 to add nodes.")
        self.query_one("#nodes-state", Static).update(Content(state))

    def highlighted_node(self) -> dict[str, Any] | None:
        table = self.query_one("#node-table", DataTable)
        if not self.node_set or table.row_count == 0:
            return None
        row = table.cursor_row
        if not 0 <= row < len(self.node_set):
            return None
        return self.node_set[row]

    def show_detail(self) -> None:
        node = self.highlighted_node()
        detail = self.query_one("#node-detail", Static)
        self.query_one("#node-detail-scroll").display = node is not None
        detail.update(describe_node(node) if node is not None else "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()
        self.refresh_bindings()

    def show_outcome(self, lines: list[str | Content], kind: str) -> None:
        outcome = self.query_one("#nodes-outcome")
        outcome.set_classes(kind)
        self.query_one("#nodes-outcome-text", Static).update(Content("\n").join(lines))
        outcome.display = True

    def hide_outcome(self) -> None:
        self.query_one("#nodes-outcome").display = False

    # F6: adding nodes.

    def action_add(self) -> None:
        if self.busy:
            return
        self.error_panel.clear()
        self.hide_outcome()
        self.app.push_screen(NodeAddScreen(), callback=self.nodes_added)

    def nodes_added(self, response: dict[str, Any] | None) -> None:
        if not response:
            return

        added = response.get("node_set") or []
        lines: list[str | Content] = [_("Registered {count} node(s):").format(count=len(added))]
        warned = False
        for node in added:
            name = describe_node_name(node)
            if node.get("ssh_host"):
                name = f"{name}  {format_address(str(node['ssh_host']), node.get('ssh_port') or '-')}"
            lines.append(Content("  " + name))
            for warning in node.get("warnings") or []:
                warned = True
                lines.append(Content.styled(f"    ! {warning}", "$text-warning"))

        self.show_outcome(lines, "-warning" if warned else "-success")
        self.load_nodes()

    # F7 and F8 change the highlighted node, one change at a time.

    def change_highlighted_node(self, change: Callable[[dict[str, Any], str], Awaitable[None]]) -> None:
        node = self.highlighted_node()
        if self.busy or node is None:
            return
        self.error_panel.clear()
        self.hide_outcome()
        self.set_busy(True)
        self.run_node_change(change, node, self.app.current_mode)

    @work(exclusive=True, group="nodes-change")
    async def run_node_change(self, change: Callable[[dict[str, Any], str], Awaitable[None]],
                              node: dict[str, Any], mode: str) -> None:
        try:
            await change(node, mode)
        finally:
            self.set_busy(False)

    # F7: trusting the new host key of a node.

    def action_trust_key(self) -> None:
        self.change_highlighted_node(self.confirm_and_trust)

    async def confirm_and_trust(self, node: dict[str, Any], mode: str) -> None:
        name = describe_node_name(node)
        self.query_one("#nodes-state", Static).update(Content(_("Reading the host key of {name}...").format(name=name)))

        scan = await self.call_api("ScanNodeHostKeys", {
            "nodes": [{"ssh_host": node.get("ssh_host"), "ssh_port": node.get("ssh_port")}]}, "Node")
        self.show_count()
        if not is_ok(scan):
            return

        entry = next(iter(scan.get("host_keys") or []), None)
        if entry is None or not is_reachable(entry):
            error = (entry or {}).get("error") or _("no host key offered")
            self.show_outcome([_("The host key of {name} could not be read: {error}").format(name=name, error=error)],
                              "-error")
            return
        if entry.get("state") == "trusted":
            self.show_outcome([_("The host key of {name} has not changed, so there is nothing to trust.").format(
                name=name)], "-success")
            return

        fingerprint = await self.app.push_screen_wait(TrustKeyScreen(node, entry), mode=mode)
        if not fingerprint:
            self.show_outcome([_("The old host key of {name} stays trusted.").format(name=name)], "-warning")
            return

        response = await self.call_api("TrustNodeHostKey", {"node_id": node.get("node_id"), "fingerprint": fingerprint},
                                       "Node", show_error=False)
        if response is None:
            return
        if not is_ok(response):
            hint = _("The old host key of {name} stays trusted.").format(name=name)
            self.error_panel.show_text(describe_failure(response, hint))
            return

        self.show_outcome([_("{name} now has the trusted host key {fingerprint}.").format(
            name=name, fingerprint=fingerprint)], "-success")
        await self.reload()

    # F8: deleting a node.

    def action_delete(self) -> None:
        self.change_highlighted_node(self.confirm_and_delete)

    async def confirm_and_delete(self, node: dict[str, Any], mode: str) -> None:
        name = describe_node_name(node)
        if not await self.app.push_screen_wait(DeleteNodeScreen(node), mode=mode):
            return

        response = await self.call_api("DeleteNodes", {"node_ids": [node.get("node_id")]}, "Node", show_error=False)
        if response is None:
            return
        if not is_ok(response):
            self.show_delete_failure(node, response)
            return

        self.show_outcome([_("Node {name} deleted.").format(name=name)], "-success")
        await self.reload()

    def show_delete_failure(self, node: dict[str, Any], response: dict[str, Any]) -> None:
        if response.get("ret_code") != WRONG_STATE:
            self.error_panel.show_response(response)
            return

        hint = _("{name} is deployed and part of the running platform, so the installer keeps it.").format(
            name=describe_node_name(node))
        self.error_panel.show_text(describe_failure(response, hint))
