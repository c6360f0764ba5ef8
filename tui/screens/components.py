"""The components screen: deploy VDI and V2V into a deployed zone with DeployQingCloudComponent.

The zones come from DescribeQingCloud, whose `zone_info[].components` lists
the components each zone runs already. The operator picks a zone and the
components to deploy there; F7 sends DeployQingCloudComponent for that zone
and follows the job. A component is never removed: one left unselected is
only left out of the job.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Footer, Label, OptionList, SelectionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen, is_ok
from tui.screens.job_watch import JobWatch
from tui.screens.placement_job import refresh_platform
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.job_panes import JobPanes, newest_unfinished_job
from tui.widgets.platform_line import PlatformLine
from tui.wizard.widgets import plain

DEPLOY_COMPONENT = "DeployQingCloudComponent"

#: Descriptions of the components in the selection list; a component not listed here shows by name only.
COMPONENT_DESCRIPTIONS = {
    "vdi": N_("virtual desktops"),
    "v2v": N_("moving VMs from other platforms"),
}


def component_request(zone_id: str, names: list[str], chosen: list[str]) -> dict[str, Any]:
    """Return DeployQingCloudComponent's `config`: "1" for each chosen component of the zone, "0" for the others."""
    variables = {name: {f"deploy_{name}": "1" if name in chosen else "0"} for name in names}
    return {zone_id: {"variables": variables}}


def component_prompt(name: str, deployed: bool) -> Content:
    description = COMPONENT_DESCRIPTIONS.get(name)
    # The deployed mark comes before the description, which the list may cut at its edge.
    parts: list[str | tuple[str, str]] = [(f"{name.upper():<5}", "bold")]
    if deployed:
        parts += [(_("(deployed)"), "$text-success"), " "]
    parts.append(_(description) if description else "")
    return Content.assemble(*parts)


def zone_prompt(zone_id: str, zone: dict[str, Any]) -> str:
    components = zone.get("components") or {}
    deployed = [name.upper() for name, flag in components.items() if flag]
    return _("{zone_id}  deployed: {components}").format(zone_id=zone_id, components=", ".join(deployed) or "-")


class ComponentsScreen(InstallerScreen):
    """Picks a deployed zone and its components and runs DeployQingCloudComponent; see the module docstring."""

    CSS_PATH = "components.tcss"

    HELP = N_(
        "Deploys the add-on components VDI and V2V into a deployed zone (DeployQingCloudComponent).\n"
        "\n"
        "1. Choose the zone with up and down; each zone says which components it runs already.\n"
        "2. Enter moves to the components; Space ticks the ones to deploy.\n"
        "3. F7 deploys them; the job's steps and log follow. A component is never removed.\n"
        "4. ^R reads the zones again."
    )

    BINDINGS = [
        Binding("ctrl+r", "refresh", N_("Refresh")),
        # Not "Deploy": that is F5's name, the deploy screen.
        Binding("f7", "deploy", N_("Deploy selected")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.zones: dict[str, dict[str, Any]] = {}
        self.shown_zone: str | None = None
        """The zone whose components the selection list shows."""
        self.job_running = False

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        yield Static(_("Reading the zones..."), id="components-state")
        with Horizontal(id="components-top"):
            with Vertical(id="components-zones-panel"):
                yield Label(_("Deployed zones:"), classes="section-title")
                yield OptionList(id="components-zones", markup=False, compact=True)
            with Vertical(id="components-choice-panel"):
                yield Label(_("Components (Space selects):"), classes="section-title")
                yield SelectionList[str](id="components-choice", compact=True)
        yield JobPanes(id="components-job")
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_screen_resume(self) -> None:
        # A zone deployed on another screen meanwhile becomes a choice.
        if not self.job_running:
            self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("deploy", "refresh"):
            return None if self.job_running else True
        return True

    def show_state(self, text: str, style: str = "") -> None:
        self.query_one("#components-state", Static).update(plain(text, style))

    def set_running(self, running: bool) -> None:
        self.job_running = running
        self.query_one("#components-zones", OptionList).disabled = running
        self.query_one("#components-choice", SelectionList).disabled = running
        self.refresh_bindings()

    # Zones and their components.

    def action_refresh(self) -> None:
        if self.job_running:
            return
        self.error_panel.clear()
        self.load()

    @work(exclusive=True, group="components-load")
    async def load(self) -> None:
        running = await newest_unfinished_job(self.call_api, DEPLOY_COMPONENT)
        if running is not None:
            await self.follow_job(str(running["job_id"]), "")
            return
        await self.read_zones()

    async def read_zones(self) -> None:
        platform = await refresh_platform(self)
        if platform is None:
            return
        zone_info = platform.get("zone_info") or {}
        self.zones = {zone_id: zone for zone_id, zone in zone_info.items() if zone.get("is_zone_deployed")}

        zone_list = self.query_one("#components-zones", OptionList)
        highlighted = self.zone_id
        zone_list.clear_options()
        for zone_id, zone in self.zones.items():
            zone_list.add_option(Option(zone_prompt(zone_id, zone), id=zone_id))
        if not self.zones:
            self.query_one("#components-choice", SelectionList).clear_options()
            self.show_state(_("No zone is deployed yet. Components are deployed into a deployed zone (F5)."),
                            "$text-warning")
            return

        zone_ids = list(self.zones)
        zone_list.highlighted = zone_ids.index(highlighted) if highlighted in zone_ids else 0
        self.show_components()
        self.show_state(_("Choose a zone, select its components with Space, then press F7."))

    @property
    def zone_id(self) -> str | None:
        option = self.query_one("#components-zones", OptionList).highlighted_option
        return option.id if option is not None else None

    @on(OptionList.OptionHighlighted, "#components-zones")
    def zone_highlighted(self) -> None:
        self.show_components()

    @on(OptionList.OptionSelected, "#components-zones")
    def zone_selected(self) -> None:
        self.query_one("#components-choice", SelectionList).focus()

    def show_components(self) -> None:
        zone = self.zones.get(self.zone_id or "") or {}
        components = zone.get("components") or {}
        choice = self.query_one("#components-choice", SelectionList)
        # A refresh keeps what was selected in the same zone; another zone starts with nothing selected.
        chosen = set(choice.selected) if self.zone_id == self.shown_zone else set()
        self.shown_zone = self.zone_id
        choice.clear_options()
        # The zone reports every component the engine's recipe describes, deployed or not.
        choice.add_options([Selection(component_prompt(name, bool(flag)), name, name in chosen and not flag)
                            for name, flag in components.items()])
        if components:
            choice.highlighted = 0

    # Deploying.

    def action_deploy(self) -> None:
        if self.job_running:
            return
        zone_id = self.zone_id
        chosen = list(self.query_one("#components-choice", SelectionList).selected)
        if zone_id is None:
            self.show_state(_("There is no deployed zone to deploy components into."), "$text-warning")
            return
        if not chosen:
            self.show_state(_("Select at least one component (Space), then press F7."), "$text-warning")
            return
        self.error_panel.clear()
        self.set_running(True)
        names = list((self.zones.get(zone_id) or {}).get("components") or chosen)
        self.deploy(zone_id, names, chosen)

    @work(exclusive=True, group="components-job")
    async def deploy(self, zone_id: str, names: list[str], chosen: list[str]) -> None:
        try:
            response = await self.call_api(DEPLOY_COMPONENT, {"config": component_request(zone_id, names, chosen)})
            if not is_ok(response):
                self.show_state(_("The components were not deployed; the engine's reason is below."), "$text-error")
                return
            await self.follow_job(str(response["job_id"]), zone_id, chosen)
        finally:
            self.set_running(False)

    async def follow_job(self, job_id: str, zone_id: str, chosen: list[str] | None = None) -> None:
        panes = self.query_one(JobPanes)
        self.set_running(True)
        try:
            self.show_state(_("Job {job_id} deploys components.").format(job_id=job_id))
            watch = JobWatch(self.call_api, DEPLOY_COMPONENT, job_id)
            status = await panes.follow(watch, self.app.poll_interval)  # type: ignore[attr-defined]
            if status is None:
                return
            if status.get("status") != "successful":
                summary, tail = await panes.describe_failure(watch, status)
                panes.show_outcome([*summary, _("Press F7 to deploy them again. Last lines of the step's log:"),
                                    *tail], "-error")
                self.show_state(_("Job {job_id} failed.").format(job_id=job_id), "$text-error")
                return

            await self.read_zones()
            if zone_id and chosen:
                text = _("Job {job_id} finished successfully. Deployed in zone {zone_id}: {components}.").format(
                    job_id=job_id, zone_id=zone_id, components=", ".join(name.upper() for name in chosen))
            else:
                text = _("Job {job_id} finished successfully.").format(job_id=job_id)
            panes.show_outcome([text], "-success")
            self.show_state(text, "$text-success")
        finally:
            self.set_running(False)
