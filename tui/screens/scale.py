"""The scale-out screen: new nodes for a deployed zone, from their roles to ScaleQingCloud and the VBC routes.

F8 and F9 move through five stages:

1. Zone: the deployed zone to scale out.
2. Nodes: the nodes that join it. F6 registers new ones with the nodes
   screen's dialog, Enter gives one a role, or a configuration file of the
   zone gives the roles.
3. Check: ValidateQingCloudConfig of the zone's stored configuration with
   those roles added.
4. Run: F7 applies that configuration (ConfigQingCloud of this zone only),
   then F7 starts ScaleQingCloud.
5. Routes: the VBC routes the job produced, which F6 saves to a file.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Footer, Input, Label, OptionList, Static

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen, is_ok
from tui.screens.node_add import NodeAddScreen
from tui.screens.placement_job import (
    SCALE,
    apply_zone_config,
    follow_placement,
    growth_config_path,
    read_routes,
    refresh_platform,
    start_placement,
)
from tui.screens.scale_plan import ZoneFileError, ZonePlan, job_zone_and_new_nodes, read_zone_file
from tui.screens.scale_stages import CheckPanel, JoiningNodesTable, ZoneList, check_summary, nodes_summary
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.job_panes import JobPanes, newest_unfinished_job
from tui.widgets.platform_line import PlatformLine
from tui.widgets.route_panel import RoutesPanel
from tui.wizard.dialogs import RoleDialog
from tui.wizard.widgets import StepBar, plain

STAGES = ("zone", "nodes", "check", "run", "routes")
STAGE_TITLES = {
    "zone": N_("Zone"),
    "nodes": N_("Nodes"),
    "check": N_("Check"),
    "run": N_("Run"),
    "routes": N_("Routes"),
}

#: The screen's own actions, hidden while a job runs.
STAGE_ACTIONS = ("add_nodes", "save_routes", "apply", "start", "rerun", "previous_stage", "next_stage")


class ScaleScreen(InstallerScreen):
    """Guides a scale-out of one deployed zone; see the module docstring."""

    CSS_PATH = "scale.tcss"

    HELP = N_(
        "Adds nodes to a zone that is deployed already (ScaleQingCloud), and shows the VBC routes the "
        "scale-out produced.\n"
        "\n"
        "1. Zone: choose the deployed zone; F9 goes on.\n"
        "2. Nodes: F6 registers new nodes; Enter gives the highlighted node its role, or Enter in the From "
        "file field takes the zone's roles from a configuration file; F9 goes on.\n"
        "3. Check: the zone's configuration with the new roles is validated; F7 applies it to this zone "
        "only.\n"
        "4. Run: F7 starts the scale-out and its steps and log follow; after a failure F7 runs it again "
        "from the failed step.\n"
        "5. Routes: the VBC routes for the network team; F6 saves them to the file named below them.\n"
        "F8 goes back a stage; ^R reads the zones and nodes again."
    )

    # One key does different things by stage. check_action hides the bindings that do not
    # apply, so the footer shows at most three of the screen's keys beside the app's.
    BINDINGS = [
        Binding("ctrl+r", "refresh", N_("Refresh"), show=False),
        Binding("f6", "add_nodes", N_("Add nodes")),
        Binding("f6", "save_routes", N_("Save")),
        Binding("f7", "apply", N_("Apply")),
        Binding("f7", "start", N_("Start")),
        Binding("f7", "rerun", N_("Re-run")),
        Binding("f8", "previous_stage", N_("Back")),
        Binding("f9", "next_stage", N_("Next")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.stage = 0
        self.zones: dict[str, dict[str, Any]] = {}
        self.nodes: list[dict[str, Any]] = []
        self.plan: ZonePlan | None = None
        self.validated: dict[str, Any] | None = None
        """The planned zone configuration the shown check is about."""
        self.valid = False
        self.job_running = False
        self.job_failed = False
        self.job_node_ids: list[str] = []
        self.scale_job_id = ""
        self.routes_job_id = ""
        """The job whose routes the routes stage shows."""
        self.dialog_open = False
        """True from pushing a dialog until the screen resumes after it."""

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        yield StepBar(id="scale-stages")
        yield Static("", id="scale-state")
        with ContentSwitcher(initial="stage-zone", id="scale-body"):
            with Vertical(id="stage-zone"):
                yield Label(_("Deployed zones (up and down choose, Enter goes on):"))
                yield ZoneList(id="scale-zones", markup=False, compact=True)
            with Vertical(id="stage-nodes"):
                yield JoiningNodesTable(id="scale-nodes", cursor_type="row", zebra_stripes=True)
                with Horizontal(id="scale-file-row"):
                    yield Label(_("From file:"), id="scale-file-label")
                    field = Input(placeholder=_("a configuration of the zone, then Enter"), id="scale-file",
                                  compact=True)
                    field.cursor_blink = False
                    yield field
            yield CheckPanel(id="stage-check")
            yield JobPanes(id="stage-run")
            yield RoutesPanel(id="stage-routes")
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.query_one("#scale-file", Input).value = growth_config_path(self.app, SCALE)
        self.show_stage()

    def on_screen_resume(self) -> None:
        # A dialog of this screen closing resumes it too; the dialog's callback updates the screen.
        if self.dialog_open:
            self.dialog_open = False
            return
        # Nodes registered or configured on other screens meanwhile change the choices.
        if not self.job_running:
            self.load()

    def push_dialog(self, dialog: Screen[Any], callback: Callable[[Any], None]) -> None:
        self.dialog_open = True
        self.app.push_screen(dialog, callback)

    # Stages.

    @property
    def stage_name(self) -> str:
        return STAGES[self.stage]

    def show_stage(self) -> None:
        self.query_one(ContentSwitcher).current = f"stage-{self.stage_name}"
        self.query_one(StepBar).show_steps([_(STAGE_TITLES[name]) for name in STAGES], self.stage, self.zone_id)
        self.refresh_bindings()

    def go_to_stage(self, name: str) -> None:
        self.stage = STAGES.index(name)
        self.show_stage()
        if name == "zone":
            self.query_one("#scale-zones", OptionList).focus()
            self.show_zone_state()
        elif name == "nodes":
            self.show_nodes()
            self.query_one("#scale-nodes", DataTable).focus()
        elif name == "check":
            self.show_state(_("Checking the configuration of zone {zone_id}...").format(zone_id=self.zone_id))
            self.run_check()
        elif name == "run" and not self.job_running:
            self.show_run_state()
        elif name == "routes":
            self.query_one("#routes-path", Input).focus()

    @property
    def zone_id(self) -> str | None:
        return self.plan.zone_id if self.plan is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides a key; None shows it dimmed because it belongs to this stage but cannot run yet.
        stage = self.stage_name
        if self.job_running and action in STAGE_ACTIONS:
            return False
        if action == "add_nodes":
            return stage == "nodes"
        if action == "save_routes":
            return stage == "routes"
        if action == "apply":
            if stage != "check" or self.plan is None or not self.plan.changed:
                return False
            return True if self.valid and self.validated == self.plan.planned else None
        if action == "start":
            return stage == "run" and not self.job_failed and self.can_start()
        if action == "rerun":
            return stage == "run" and self.job_failed
        if action == "previous_stage":
            return self.stage > 0
        if action == "next_stage":
            return self.can_go_on()
        return True

    def can_start(self) -> bool:
        plan = self.plan
        return plan is not None and not plan.changed and bool(plan.joining_node_ids(self.nodes))

    def can_go_on(self) -> bool:
        stage = self.stage_name
        if stage == "zone":
            return self.query_one("#scale-zones", OptionList).highlighted is not None
        if stage == "nodes":
            return self.plan is not None and bool(self.plan.joining_node_ids(self.nodes))
        if stage == "check":
            # With nothing left to apply, the next stage starts the scale-out.
            return self.valid and self.plan is not None and not self.plan.changed
        if stage == "run":
            return bool(self.routes_job_id) and self.routes_job_id == self.scale_job_id
        return False

    def action_previous_stage(self) -> None:
        if self.stage > 0 and not self.job_running:
            self.error_panel.clear()
            self.go_to_stage(STAGES[self.stage - 1])

    def action_next_stage(self) -> None:
        if self.job_running or not self.can_go_on():
            return
        self.error_panel.clear()
        if self.stage_name == "zone":
            self.enter_nodes()
            return
        self.go_to_stage(STAGES[self.stage + 1])

    def show_run_state(self) -> None:
        plan = self.plan
        if self.job_failed:
            self.show_state(_("Scale-out job {job_id} failed. Press F7 to run it again.").format(
                job_id=self.scale_job_id), "$text-error")
        elif plan is not None and self.can_start():
            self.show_state(_("Press F7 to add {count} node(s) to zone {zone_id}: {nodes}.").format(
                count=len(plan.joining_node_ids(self.nodes)), zone_id=plan.zone_id,
                nodes=", ".join(plan.joining_node_ids(self.nodes))))

    def show_state(self, text: str, style: str = "") -> None:
        self.query_one("#scale-state", Static).update(plain(text, style))

    # Reading the zones, nodes and the chosen zone's configuration.

    def action_refresh(self) -> None:
        if self.job_running:
            return
        self.error_panel.clear()
        self.load()

    @work(exclusive=True, group="scale-load")
    async def load(self) -> None:
        platform = await refresh_platform(self)
        if platform is not None:
            zone_info = platform.get("zone_info") or {}
            self.zones = {zone_id: zone for zone_id, zone in zone_info.items() if zone.get("is_zone_deployed")}
            self.show_zones()

        await self.load_nodes()
        if self.plan is not None:
            await self.load_stored_config(self.plan.zone_id)

        running = await newest_unfinished_job(self.call_api, SCALE)
        if running is not None:
            await self.resume_job(running)
            return

        if self.stage_name == "nodes":
            self.show_nodes()
        elif self.stage_name == "check":
            self.run_check()
        elif self.stage_name == "zone":
            self.show_zone_state()
        self.refresh_bindings()

    async def load_nodes(self) -> None:
        response = await self.call_api("DescribeNodes", {}, "Node")
        if is_ok(response):
            self.nodes = list(response.get("node_set") or [])

    async def load_stored_config(self, zone_id: str) -> bool:
        """Read the zone's applied configuration into the plan; return False when it could not be read."""
        response = await self.call_api("DescribeQingCloudConfig", {"zone_ids": [zone_id]})
        if not is_ok(response):
            return False
        stored = (response.get("config") or {}).get(zone_id)
        if not isinstance(stored, dict):
            self.show_state(_("The engine returned no configuration for zone {zone_id}.").format(zone_id=zone_id),
                            "$text-error")
            return False

        if self.plan is None or self.plan.zone_id != zone_id:
            self.plan = ZonePlan(zone_id, stored)
        else:
            self.plan.take_stored(stored)
        return True

    def show_zones(self) -> None:
        self.query_one("#scale-zones", ZoneList).show_zones(self.zones, self.zone_id)
        self.show_zone_state()
        self.refresh_bindings()

    def show_zone_state(self) -> None:
        if self.stage_name != "zone":
            return
        if self.zones:
            self.show_state(_("Choose the deployed zone that gets new nodes, then press F9."))
        else:
            self.show_state(_("No zone is deployed yet. Deploy the first zone (F5); a scale-out adds nodes "
                              "to a deployed zone."), "$text-warning")

    @on(OptionList.OptionSelected, "#scale-zones")
    def zone_selected(self) -> None:
        self.action_next_stage()

    @on(OptionList.OptionHighlighted, "#scale-zones")
    def zone_highlighted(self) -> None:
        self.refresh_bindings()

    # The nodes that join the zone.

    def enter_nodes(self) -> None:
        zone_id = self.query_one("#scale-zones", OptionList).highlighted_option
        if zone_id is None or zone_id.id is None:
            return
        self.open_zone(zone_id.id)

    @work(exclusive=True, group="scale-load")
    async def open_zone(self, zone_id: str) -> None:
        if self.plan is not None and self.plan.zone_id != zone_id:
            self.plan = None
            self.valid = False
            self.validated = None
        if not await self.load_stored_config(zone_id):
            return
        self.go_to_stage("nodes")

    def show_nodes(self) -> None:
        plan = self.plan
        table = self.query_one("#scale-nodes", JoiningNodesTable)
        table.show_plan(plan, self.nodes)
        if plan is None:
            return

        self.show_state(*nodes_summary(plan, self.nodes, table.row_count))
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#scale-nodes")
    def edit_role(self, event: DataTable.RowSelected) -> None:
        plan = self.plan
        node_id = event.row_key.value
        if plan is None or node_id is None or self.job_running:
            return
        node = next((record for record in self.nodes if record.get("node_id") == node_id), {"node_id": node_id})
        role, sub_roles = plan.role_of(node_id)
        deploy_mode = plan.deploy_mode(self.zones.get(plan.zone_id) or {})

        def role_chosen(result: tuple[str | None, list[str]] | None) -> None:
            if result is None or self.plan is not plan:
                return
            plan.set_role(node_id, *result)
            self.valid = False
            self.show_nodes()

        self.push_dialog(RoleDialog(node, plan.zone_id, role, sub_roles, deploy_mode, None), role_chosen)

    @on(Input.Submitted, "#scale-file")
    def load_file(self) -> None:
        plan = self.plan
        path_text = self.query_one("#scale-file", Input).value.strip()
        if plan is None or not path_text:
            return
        try:
            plan.take_planned(read_zone_file(path_text, plan.zone_id))
        except ZoneFileError as error:
            self.show_state(str(error), "$text-error")
            return
        self.valid = False
        self.show_nodes()

    def action_add_nodes(self) -> None:
        if self.stage_name != "nodes" or self.job_running:
            return
        self.error_panel.clear()
        self.push_dialog(NodeAddScreen(), self.nodes_added)

    def nodes_added(self, response: dict[str, Any] | None) -> None:
        if not response:
            return
        added = [str(node.get("hostname") or node.get("node_id")) for node in response.get("node_set") or []]
        self.after_nodes_added(added)

    @work(exclusive=True, group="scale-load")
    async def after_nodes_added(self, added: list[str]) -> None:
        await self.load_nodes()
        self.show_nodes()
        self.show_state(_("Registered {count} node(s): {nodes}. Give them a role with Enter.").format(
            count=len(added), nodes=", ".join(added)), "$text-success")

    # Checking.

    @work(exclusive=True, group="scale-check")
    async def run_check(self) -> None:
        plan = self.plan
        if plan is None:
            return
        planned = copy.deepcopy(plan.planned)
        panel = self.query_one(CheckPanel)
        panel.show_changes(plan, self.nodes)

        response = await self.call_api("ValidateQingCloudConfig", {"config": {plan.zone_id: planned}})
        if not is_ok(response):
            self.show_state(_("Validation could not run; see the error below."), "$text-error")
            return

        self.validated = planned
        self.valid = bool(response.get("valid"))
        panel.show_result(response, plan.zone_id)
        self.show_state(*check_summary(response, plan, len(plan.joining_node_ids(self.nodes))))
        self.refresh_bindings()

    # Running: applying the configuration, then the scale-out.

    def set_running(self, running: bool) -> None:
        self.job_running = running
        self.refresh_bindings()

    def action_apply(self) -> None:
        plan = self.plan
        if plan is None or self.job_running or self.check_action("apply", ()) is not True:
            return
        self.error_panel.clear()
        self.set_running(True)
        self.go_to_stage("run")
        self.apply_config(plan, copy.deepcopy(plan.planned))

    @work(exclusive=True, group="scale-job")
    async def apply_config(self, plan: ZonePlan, planned: dict[str, Any]) -> None:
        try:
            self.show_state(_("Applying the configuration of zone {zone_id}...").format(zone_id=plan.zone_id))
            job_id = await apply_zone_config(self, self.query_one(JobPanes), plan.zone_id, planned)
            if job_id is None:
                self.show_state(_("The configuration was not applied."), "$text-error")
                return

            await self.load_stored_config(plan.zone_id)
            await self.load_nodes()
            count = len(plan.joining_node_ids(self.nodes))
            self.show_state(_("Configuration of zone {zone_id} applied (job {job_id}). Press F7 to add "
                              "{count} node(s) to the zone.").format(zone_id=plan.zone_id, job_id=job_id,
                                                                    count=count), "$text-success")
        finally:
            self.set_running(False)

    def action_start(self) -> None:
        if self.job_running or self.plan is None or not self.can_start():
            return
        self.start_scale(self.plan.joining_node_ids(self.nodes))

    def action_rerun(self) -> None:
        if self.job_running or not self.job_failed or not self.job_node_ids:
            return
        self.start_scale(self.job_node_ids)

    def start_scale(self, node_ids: list[str]) -> None:
        # Marked running before the worker starts, so a second key press cannot start another job.
        self.error_panel.clear()
        self.set_running(True)
        self.run_scale(node_ids)

    @work(exclusive=True, group="scale-job")
    async def run_scale(self, node_ids: list[str]) -> None:
        plan = self.plan
        try:
            if plan is None:
                return
            self.show_state(_("Starting the scale-out of zone {zone_id}: {nodes}").format(
                zone_id=plan.zone_id, nodes=", ".join(node_ids)))
            job_id = await start_placement(self, SCALE, plan.zone_id, node_ids)
            if job_id is None:
                self.show_state(_("The scale-out did not start; the engine's reason is below."), "$text-error")
                return
            self.job_node_ids = node_ids
            await self.follow_scale(plan.zone_id, job_id)
        finally:
            self.set_running(False)

    async def resume_job(self, status: dict[str, Any]) -> None:
        """Follow a ScaleQingCloud job that was started before this screen was (re)opened."""
        zone_id, self.job_node_ids = job_zone_and_new_nodes(status, self.nodes)
        if zone_id and (self.plan is None or self.plan.zone_id != zone_id):
            await self.load_stored_config(zone_id)
        self.set_running(True)
        self.go_to_stage("run")
        try:
            await self.follow_scale(zone_id, str(status["job_id"]))
        finally:
            self.set_running(False)

    async def follow_scale(self, zone_id: str, job_id: str) -> None:
        panes = self.query_one(JobPanes)
        self.scale_job_id = job_id
        self.job_failed = False
        self.show_state(_("Scale-out job {job_id} of zone {zone_id} is running.").format(
            job_id=job_id, zone_id=zone_id))

        status, _watch = await follow_placement(self, panes, SCALE, job_id)
        if status is None:
            return
        if status.get("status") != "successful":
            self.job_failed = True
            self.show_state(_("Scale-out job {job_id} failed.").format(job_id=job_id), "$text-error")
            return

        await refresh_platform(self)
        await self.load_nodes()
        routes = await read_routes(self, job_id)
        text = _("Scale-out job {job_id} finished successfully.").format(job_id=job_id)
        panes.show_outcome([text], "-success")
        self.show_state(text, "$text-success")
        if routes is None:
            return
        self.query_one(RoutesPanel).show_routes(zone_id, job_id, routes)
        self.routes_job_id = job_id
        self.go_to_stage("routes")

    # Routes.

    def action_save_routes(self) -> None:
        if self.stage_name == "routes":
            self.query_one(RoutesPanel).save()
