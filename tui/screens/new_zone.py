"""The new zone screen: the configuration wizard for one zone, then ScaleQingCloudZone and its VBC routes.

`NewZoneScreen` is the configuration wizard (F4) restricted to one zone that
is not deployed yet: built step by step, or read from a file of that zone
(F6 on the Start step, which offers the lab's new zone when there is one).
F7 applies it with ConfigQingCloud of that zone only, which keeps the other
zones' configuration. F9 then opens `ZoneDeployScreen` over the wizard: the
zone's nodes, the ScaleQingCloudZone job, and the routes it produced.
"""

from __future__ import annotations

import copy
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import ContentSwitcher, Footer, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen, is_ok
from tui.screens.configuration import ConfigurationScreen
from tui.screens.job_watch import is_finished
from tui.screens.placement_job import (
    SCALE_ZONE,
    follow_placement,
    growth_config_path,
    read_routes,
    refresh_platform,
    start_placement,
)
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.job_panes import JobPanes
from tui.widgets.platform_line import PlatformLine
from tui.widgets.route_panel import RoutesPanel
from tui.wizard.review import ReviewSection
from tui.wizard.widgets import plain


class NewZoneScreen(ConfigurationScreen):
    """The configuration wizard for one new zone; see the module docstring."""

    HELP = N_(
        "Configures a new zone of the deployed region and deploys it with ScaleQingCloudZone.\n"
        "\n"
        "1. Start: F6 reads the new zone's configuration file, or F9 builds it step by step in the wizard.\n"
        "2. Review: F7 applies the zone's configuration; the other zones keep theirs.\n"
        "3. F9 then shows the zone's nodes: F7 deploys them, and the steps and log follow.\n"
        "4. When the zone is deployed, its VBC routes show; F6 saves them to a file, F8 goes back."
    )

    # The wizard's F9 moves to the next step; on the review step, once the zone is applied, it deploys the zone.
    BINDINGS = [
        Binding("f9", "next_step", N_("Next")),
        Binding("f9", "deploy_zone", N_("Deploy zone")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.deployed_zones: set[str] = set()
        self.applied_zone: str | None = None
        self.applied_config: dict[str, Any] | None = None
        """The wizard's configuration when `applied_zone` was applied; F9 deploys only that."""

    def on_mount(self) -> None:
        self.load_deployed_zones()

    def offered_config_path(self) -> str:
        return growth_config_path(self.app, SCALE_ZONE)

    @work(exclusive=True, group="new-zone-platform")
    async def load_deployed_zones(self) -> None:
        platform = await refresh_platform(self)
        if platform is not None:
            self.deployed_zones = {zone_id for zone_id, zone in (platform.get("zone_info") or {}).items()
                                   if zone.get("is_zone_deployed")}

    def new_zone_problem(self) -> str | None:
        """Return why the wizard's state is not one new zone, or None when it is."""
        zone_ids = self.wizard.zone_ids
        if len(zone_ids) != 1:
            return _("A new zone is applied on its own, but the wizard has {count} zone(s): {zones}. Remove "
                     "the others in the Zones step.").format(count=len(zone_ids), zones=", ".join(zone_ids) or "-")
        if zone_ids[0] in self.deployed_zones:
            return _("Zone {zone_id} is deployed already. To add nodes to it, use the scale-out screen "
                     "(ctrl+g).").format(zone_id=zone_ids[0])
        return None

    def action_apply(self) -> None:
        problem = self.new_zone_problem()
        if problem is not None:
            self.set_result("#load-result", problem, "$text-error")
            return
        super().action_apply()

    def configuration_applied(self, config: dict[str, Any], job_id: str) -> None:
        zone_id = next(iter(config))
        self.applied_zone = zone_id
        self.applied_config = copy.deepcopy(config)
        self.section(ReviewSection).set_apply_result(_(
            "Zone {zone_id} is configured (job {job_id}). Press F9 to choose its nodes and deploy it.").format(
            zone_id=zone_id, job_id=job_id), "$text-success")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "deploy_zone":
            return self.can_deploy_zone()
        # Once the zone is applied as it is, F9 deploys it; hiding F7 and the export keeps the footer
        # within 80 columns beside it.
        if action in ("apply", "export") and self.can_deploy_zone():
            return False
        return super().check_action(action, parameters)

    def can_deploy_zone(self) -> bool:
        return (self.applied_zone is not None and not self.job_running
                and self.current_section.SECTION == ReviewSection.SECTION and self.wizard.config == self.applied_config)

    def action_deploy_zone(self) -> None:
        if self.applied_zone is not None and self.can_deploy_zone():
            self.app.push_screen(ZoneDeployScreen(self.applied_zone))


class ZoneDeployScreen(InstallerScreen):
    """Deploys a configured zone into the deployed region with ScaleQingCloudZone, then shows its VBC routes.

    F8 closes it and returns to the wizard, unless the job is running.
    """

    CSS_PATH = "new_zone.tcss"

    HELP_TITLE = N_("Deploy the new zone")
    HELP = N_(
        "Deploys the configured new zone into the region with ScaleQingCloudZone.\n"
        "\n"
        "1. The nodes the zone's configuration names are ticked; the engine deploys a zone whole.\n"
        "2. F7 starts the job; its steps, the nodes' states and the log follow. After a failure F7 runs "
        "it again from the failed step.\n"
        "3. When it ends, the zone's VBC routes show; F6 saves them to the file named below them.\n"
        "4. F8 goes back to the wizard."
    )

    BINDINGS = [
        Binding("f6", "save_routes", N_("Save")),
        Binding("f7", "start", N_("Start")),
        Binding("f7", "rerun", N_("Re-run")),
        Binding("f8", "back", N_("Back")),
        Binding("f9", "show_routes", N_("Routes")),
    ]

    def __init__(self, zone_id: str) -> None:
        super().__init__()
        self.zone_id = zone_id
        self.nodes: dict[str, dict[str, Any]] = {}
        self.job_running = False
        self.job_failed = False
        self.job_id = ""
        self.job_node_ids: list[str] = []
        self.routes_job_id = ""

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        yield Static("", id="zone-deploy-state")
        with ContentSwitcher(initial="zone-deploy-run", id="zone-deploy-body"):
            with Vertical(id="zone-deploy-run"):
                yield Label(_("Nodes of zone {zone_id} (Space selects):").format(zone_id=self.zone_id),
                            classes="section-title")
                yield SelectionList[str](id="zone-nodes", compact=True)
                yield JobPanes()
            yield RoutesPanel(id="zone-deploy-routes")
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.load_nodes()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        showing_routes = self.query_one(ContentSwitcher).current == "zone-deploy-routes"
        if self.job_running:
            return False
        if action == "save_routes":
            return showing_routes
        if action == "start":
            return not showing_routes and not self.job_failed and not self.routes_job_id
        if action == "rerun":
            return not showing_routes and self.job_failed
        if action == "show_routes":
            return not showing_routes and bool(self.routes_job_id)
        return True

    def show_state(self, text: str, style: str = "") -> None:
        self.query_one("#zone-deploy-state", Static).update(plain(text, style))

    @work(exclusive=True, group="zone-deploy-nodes")
    async def load_nodes(self) -> None:
        response = await self.call_api("DescribeNodes", {}, "Node")
        if not is_ok(response):
            return
        self.nodes = {node["node_id"]: node for node in response.get("node_set") or []
                      if node.get("zone_id") == self.zone_id and node.get("role")}

        selection = self.query_one("#zone-nodes", SelectionList)
        selection.clear_options()
        selection.add_options(Selection(self.node_prompt(node), node_id, node.get("status") != "deployed", id=node_id)
                              for node_id, node in self.nodes.items())
        if self.nodes:
            selection.highlighted = 0
            selection.focus()
            self.show_state(_("ScaleQingCloudZone deploys zone {zone_id} with the {count} node(s) its "
                              "configuration names. Press F7 to start.").format(
                zone_id=self.zone_id, count=len(self.nodes)))
        else:
            self.show_state(_("No registered node has a role in zone {zone_id}. Give nodes roles in the "
                              "wizard's Roles step and apply again.").format(zone_id=self.zone_id), "$text-warning")
        self.refresh_bindings()
        await self.resume_latest_job()

    def node_prompt(self, node: dict[str, Any]) -> Content:
        hostname = str(node.get("hostname") or node.get("node_id"))
        return Content.assemble(f"{hostname:<13}", f"{node.get('role') or '-':<11}",
                                (str(node.get("sub_roles") or ""), "$text-muted"))

    def set_running(self, running: bool) -> None:
        self.job_running = running
        self.query_one("#zone-nodes", SelectionList).disabled = running
        self.refresh_bindings()

    def action_start(self) -> None:
        if self.job_running or self.routes_job_id:
            return
        node_ids = list(self.query_one("#zone-nodes", SelectionList).selected)
        if not node_ids:
            self.show_state(_("Select the zone's nodes (Space), then press F7."), "$text-warning")
            return
        self.error_panel.clear()
        self.set_running(True)
        self.run_job(node_ids)

    def action_rerun(self) -> None:
        if self.job_running or not self.job_failed:
            return
        self.error_panel.clear()
        self.set_running(True)
        self.run_job(self.job_node_ids)

    @work(exclusive=True, group="zone-deploy-job")
    async def run_job(self, node_ids: list[str]) -> None:
        try:
            job_id = await start_placement(self, SCALE_ZONE, self.zone_id, node_ids)
            if job_id is None:
                self.show_state(_("The deploy of zone {zone_id} did not start; the engine's reason is "
                                  "below.").format(zone_id=self.zone_id), "$text-error")
                return

            await self.follow_job(job_id, node_ids)
        finally:
            self.set_running(False)

    async def follow_job(self, job_id: str, node_ids: list[str]) -> None:
        panes = self.query_one(JobPanes)
        self.job_id = job_id
        self.job_node_ids = node_ids
        self.job_failed = False
        self.show_state(_("Job {job_id} deploys zone {zone_id}.").format(job_id=job_id, zone_id=self.zone_id))

        status, _watch = await follow_placement(self, panes, SCALE_ZONE, job_id)
        if status is None:
            return
        if status.get("status") != "successful":
            self.job_failed = True
            self.show_state(_("Job {job_id} failed; zone {zone_id} is not deployed.").format(
                job_id=job_id, zone_id=self.zone_id), "$text-error")
            return

        await refresh_platform(self)
        await self.show_deployed(job_id)

    async def show_deployed(self, job_id: str) -> None:
        text = _("Zone {zone_id} is deployed (job {job_id}).").format(zone_id=self.zone_id, job_id=job_id)
        self.query_one(JobPanes).show_outcome([text], "-success")
        self.show_state(text, "$text-success")
        routes = await read_routes(self, job_id)
        if routes is not None:
            self.query_one(RoutesPanel).show_routes(self.zone_id, job_id, routes)
            self.routes_job_id = job_id
            self.show_routes_view(True)

    async def resume_latest_job(self) -> None:
        """Show the zone's newest ScaleQingCloudZone job, if any: follow it while it runs, else show its end.

        So the screen, opened again after the zone was deployed, shows the zone's routes again.
        """
        status = await self.call_api("GetStatus", {"job_action": SCALE_ZONE}, show_error=False)
        node_ids = list((status or {}).get("nodes") or {})
        if not is_ok(status) or not set(node_ids) & set(self.nodes):
            return

        job_id = str(status["job_id"])
        self.query_one(JobPanes).show_status(job_id, status)
        if not is_finished(status):
            self.set_running(True)
            try:
                await self.follow_job(job_id, node_ids)
            finally:
                self.set_running(False)
        elif status.get("status") == "successful":
            self.job_id = job_id
            await self.show_deployed(job_id)
        else:
            self.job_id = job_id
            self.job_node_ids = node_ids
            self.job_failed = True
            self.show_state(_("Job {job_id} failed; zone {zone_id} is not deployed.").format(
                job_id=job_id, zone_id=self.zone_id), "$text-error")

    def show_routes_view(self, shown: bool) -> None:
        self.query_one(ContentSwitcher).current = "zone-deploy-routes" if shown else "zone-deploy-run"
        if shown:
            self.query_one("#routes-path").focus()
        self.refresh_bindings()

    def action_show_routes(self) -> None:
        if self.routes_job_id and not self.job_running:
            self.show_routes_view(True)

    def action_save_routes(self) -> None:
        if self.query_one(ContentSwitcher).current == "zone-deploy-routes":
            self.query_one(RoutesPanel).save()

    def action_back(self) -> None:
        if self.job_running:
            return
        if self.query_one(ContentSwitcher).current == "zone-deploy-routes":
            self.show_routes_view(False)
            return
        self.dismiss()
