"""The overview screen: the platform, its zones and the registered nodes."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Footer, Label, Static

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen, is_ok, table_cell
from tui.status_words import status_label
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.platform_line import PlatformLine


def yes_no(flag: Any) -> str:
    return _("yes") if flag in (1, True, "1") else _("no")


def describe_platform_state(platform: dict[str, Any]) -> str:
    """Return one line about the platform as a whole."""
    if not platform.get("zone_ids"):
        return _("No zone is configured yet. Press F4 to load a configuration.")
    return _("Platform {name} in region {region}: status {status}, deployed: {deployed}.").format(
        name=platform.get("platform_name") or "-",
        region=platform.get("region_id") or "-",
        status=status_label(platform.get("status")),
        deployed=yes_no(platform.get("is_deployed")),
    )


class OverviewScreen(InstallerScreen):
    """The platform as DescribeQingCloud returns it, per zone, and the nodes from DescribeNodes."""

    HELP = N_(
        "The platform at a glance: its state, its zones with their node counts per role, and every "
        "registered node.\n"
        "\n"
        "1. F3 registers the nodes, F4 writes and applies the configuration, F5 deploys it.\n"
        "2. Come back here to see each zone's deploy state; ^R reads everything again.\n"
        "3. ^G lists every other screen: scale-out, new zones, upgrades, components, tests, health "
        "checks, licenses and files."
    )

    BINDINGS = [
        Binding("ctrl+r", "refresh", N_("Refresh")),
        # The app handles F3 to F5 on every screen. These entries only show them in the
        # footer of this first screen, where there is room. They have priority like the
        # app's own bindings, because those would otherwise take their place in the footer.
        Binding("f3", "app.show_mode('nodes')", N_("Nodes"), priority=True),
        Binding("f4", "app.show_mode('configuration')", N_("Config"), priority=True),
        Binding("f5", "app.show_mode('deploy')", N_("Deploy"), priority=True),
    ]

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        with Vertical(id="overview-body"):
            yield Static(_("Reading the platform..."), id="platform-state")
            yield Label(_("Zones"), classes="section-title")
            yield DataTable(id="zones", cursor_type="row", zebra_stripes=True)
            yield Label(_("Nodes"), classes="section-title")
            yield DataTable(id="nodes", cursor_type="row", zebra_stripes=True, cell_padding=0)
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        zones = self.query_one("#zones", DataTable)
        zones.add_column(_("Zone"), key="zone")
        zones.add_column(_("Mode"), key="deploy_mode")
        zones.add_column(_("KS"), key="ks")
        zones.add_column(_("VG"), key="vg")
        zones.add_column(_("Hyper"), key="hyper")
        zones.add_column(_("Role nodes"), key="role")
        zones.add_column(_("Free"), key="free")
        zones.add_column(_("Deployed"), key="deployed")

        # cell_padding=0 with one trailing space per column keeps the six columns within
        # 80 cells for lab-sized values, and wider tables scroll sideways. The SSH address
        # is left to the nodes screen, so that the status column stays whole at 80 columns.
        nodes = self.query_one("#nodes", DataTable)
        for key, label in (("node_id", _("Node")), ("hostname", _("Hostname")), ("mgmt_ip", _("Mgmt IP")),
                           ("zone", _("Zone")), ("role", _("Role")), ("status", _("Status"))):
            nodes.add_column(f"{label} ", key=key)

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.error_panel.clear()
        self.load_overview()

    @work(exclusive=True, group="overview")
    async def load_overview(self) -> None:
        described = await self.call_api("DescribeQingCloud")
        if is_ok(described):
            platform = described.get("qingcloud") or {}
            self.app.platform = platform  # type: ignore[attr-defined]
            self.show_platform(platform)

        nodes = await self.call_api("DescribeNodes", {}, "Node")
        if is_ok(nodes):
            self.show_nodes(nodes.get("node_set") or [])

    def show_platform(self, platform: dict[str, Any]) -> None:
        self.query_one("#platform-state", Static).update(Content(describe_platform_state(platform)))

        table = self.query_one("#zones", DataTable)
        table.clear()
        zone_info = platform.get("zone_info") or {}
        for zone_id in platform.get("zone_ids") or list(zone_info):
            zone = zone_info.get(zone_id) or {}
            cells = (zone_id, zone.get("deploy_mode"), zone.get("ks_node_num", 0), zone.get("vg_node_num", 0),
                     zone.get("hyper_node_num", 0), zone.get("role_node_num", 0), zone.get("free_node_num", 0),
                     yes_no(zone.get("is_zone_deployed")))
            table.add_row(*(table_cell(cell) for cell in cells), key=zone_id)

    def show_nodes(self, node_set: list[dict[str, Any]]) -> None:
        table = self.query_one("#nodes", DataTable)
        table.clear()
        for node in node_set:
            cells = (node.get("node_id"), node.get("hostname"), node.get("mgmt_ip"), node.get("zone_id"),
                     node.get("role"), status_label(node.get("status")))
            table.add_row(*(table_cell(f"{cell or '-'} ") for cell in cells), key=node.get("node_id"))
