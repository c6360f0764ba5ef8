"""The deploy screen: pick nodes, run DeployQingCloud, watch its steps, nodes and log."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.cells import cell_len
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Footer, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen, is_ok
from tui.screens.job_watch import JobWatch, failed_step, is_finished
from tui.screens.overview import yes_no
from tui.status_words import status_label
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.job_log import JobLog
from tui.widgets.job_panes import failed_hostnames, node_state
from tui.widgets.platform_line import PlatformLine
from tui.widgets.step_list import StepList, state_style, state_word, step_title

DEPLOY = "DeployQingCloud"

# Lines of the failed step's log shown under the failure.
FAILED_STEP_TAIL = 10

# Titles of the node list. The third column of a node's line is its zone until a job's
# progress replaces it with the node's state, and the title follows that column.
NODES_BY_ZONE_TITLE = N_("Host, role, zone (Space selects)")
NODES_BY_STATE_TITLE = N_("Host, role, state (Space selects)")

NO_ROLE_NODES_HINT = N_("No registered node holds a role. Apply a configuration first (F4).")


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - cell_len(text))


def node_prompt(node: dict[str, Any], progress: dict[str, Any] | None) -> Content:
    """Return a node's line in the selection list: hostname, role, then its zone, or its state in the current step.

    The list title names which of the two the third column shows.
    """
    hostname = _pad(str(node.get("hostname") or node.get("node_id")), 12)
    role = _pad(str(node.get("role") or "-"), 11)

    if progress is None:
        return Content.assemble(hostname, role, (str(node.get("zone_id") or ""), "$text-muted"))

    state = str(progress.get("state", ""))
    return Content.assemble(hostname, role, (state_word(state), state_style(state)))


def summarize_platform(platform: dict[str, Any]) -> list[str]:
    """Return lines summing up DescribeQingCloud's `qingcloud` after a deploy."""
    lines = [_("Platform {name}: status {status}, deployed: {deployed}.").format(
        name=platform.get("platform_name") or "-", status=status_label(platform.get("status")),
        deployed=yes_no(platform.get("is_deployed")))]

    zone_info = platform.get("zone_info") or {}
    for zone_id in platform.get("zone_ids") or list(zone_info):
        zone = zone_info.get(zone_id) or {}
        lines.append(_("Zone {zone}: {mode} mode, role nodes: {count}, deployed: {deployed}.").format(
            zone=zone_id, mode=zone.get("deploy_mode") or "-", count=zone.get("role_node_num", 0),
            deployed=yes_no(zone.get("is_zone_deployed"))))

    return lines


class DeployScreen(InstallerScreen):
    """Runs DeployQingCloud on the chosen nodes and follows the job to its end."""

    HELP = N_(
        "Deploys the configured zones with DeployQingCloud and follows the job: its steps, each "
        "node's state and the log.\n"
        "\n"
        "1. The nodes that hold a role are ticked; Space ticks or unticks the highlighted one.\n"
        "2. F8 starts the deploy. The steps fill in on the right and the log below.\n"
        "3. If a step fails, the failed nodes and the step's last log lines are shown; F9 runs the "
        "deploy again from that step.\n"
        "4. ^R reads the nodes and the latest deploy job again."
    )

    BINDINGS = [
        Binding("ctrl+r", "refresh", N_("Refresh")),
        Binding("f8", "start", N_("Start")),
        Binding("f9", "rerun", N_("Re-run")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.nodes: dict[str, dict[str, Any]] = {}
        self.job_node_ids: list[str] = []
        self.followed_job_id: str | None = None
        self.job_running = False
        self.job_failed = False

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        with Horizontal(id="deploy-top"):
            with Vertical(id="deploy-nodes-panel"):
                yield Label(_(NODES_BY_ZONE_TITLE), id="deploy-nodes-title", classes="section-title")
                yield SelectionList[str](id="deploy-nodes", compact=True)
            with Vertical(id="deploy-steps-panel"):
                yield Label(_("Steps"), classes="section-title")
                yield Static(_("No deploy job yet."), id="deploy-job")
                yield StepList(id="deploy-steps")
        with VerticalScroll(id="deploy-outcome"):
            yield Static("", id="deploy-outcome-text")
        yield JobLog(title=_("Log"), id="deploy-log", max_lines=5000)
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.query_one("#deploy-outcome").display = False

    def on_screen_resume(self) -> None:
        # A configuration applied on another screen changes which nodes hold a role.
        if not self.job_running:
            self.prepare()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("start", "refresh"):
            return None if self.job_running else True
        if action == "rerun":
            # Hidden unless there is a failed job to resume.
            return self.job_failed and not self.job_running
        return True

    # Preparing: the nodes to choose from, and a deploy job that may already run.

    @work(exclusive=True, group="deploy-job")
    async def prepare(self) -> None:
        await self.load_nodes()

        newest = await self.call_api("GetStatus", {"job_action": DEPLOY}, show_error=False)
        if not is_ok(newest) or not newest.get("job_id"):
            return

        if newest["job_id"] == self.followed_job_id and is_finished(newest):
            # Its log and outcome are on screen already; only the node lines were reset.
            self.show_status(newest["job_id"], newest)
            return

        self.job_node_ids = list((newest.get("nodes") or {}).keys())
        await self.follow(JobWatch(self.call_api, DEPLOY, newest["job_id"]))

    async def load_nodes(self) -> None:
        response = await self.call_api("DescribeNodes", {}, "Node")
        if not is_ok(response):
            return

        selection = self.query_one("#deploy-nodes", SelectionList)
        known = set(self.nodes)
        unselected = known - set(selection.selected)
        self.nodes = {node["node_id"]: node for node in response.get("node_set") or [] if node.get("role")}

        # New nodes start selected; a node the operator unselected stays unselected.
        selection.clear_options()
        selection.add_options(Selection(node_prompt(node, None), node_id, node_id not in unselected, id=node_id)
                              for node_id, node in self.nodes.items())
        if self.nodes:
            # Space toggles the highlighted node, so start with one highlighted.
            selection.highlighted = 0

        self.query_one("#deploy-nodes-title", Label).update(_(NODES_BY_ZONE_TITLE))

        if not self.nodes:
            self.show_outcome([_(NO_ROLE_NODES_HINT)], "-warning")

    def action_refresh(self) -> None:
        if self.job_running:
            return
        self.error_panel.clear()
        self.prepare()

    # Starting and re-running.

    def action_start(self) -> None:
        if self.job_running:
            return
        node_ids = list(self.query_one("#deploy-nodes", SelectionList).selected)
        if not node_ids:
            # With no role nodes there is nothing to select, and applying a configuration is the next step.
            hint = _("Select at least one node (Space), then press F8.") if self.nodes else _(NO_ROLE_NODES_HINT)
            self.show_outcome([hint], "-warning")
            return
        # Marked running before the worker starts, so a second key press cannot start another.
        self.set_running(True)
        self.start_deploy(node_ids)

    def action_rerun(self) -> None:
        if self.job_running or not self.job_failed or not self.job_node_ids:
            return
        # The engine resumes a re-run deploy at the step that failed.
        self.set_running(True)
        self.start_deploy(self.job_node_ids)

    @work(exclusive=True, group="deploy-job")
    async def start_deploy(self, node_ids: list[str]) -> None:
        self.error_panel.clear()

        response = await self.call_api(DEPLOY, {"node_ids": node_ids})
        if not is_ok(response):
            self.set_running(False)
            return

        self.job_node_ids = node_ids
        await self.follow(JobWatch(self.call_api, DEPLOY, response["job_id"]))

    # Following a job.

    def set_running(self, running: bool) -> None:
        self.job_running = running
        self.query_one("#deploy-nodes", SelectionList).disabled = running
        self.refresh_bindings()

    async def follow(self, watch: JobWatch) -> None:
        job_log = self.query_one("#deploy-log", JobLog)
        job_log.queue_lines([_("--- deploy job {job_id} ---").format(job_id=watch.job_id)])
        self.followed_job_id = watch.job_id
        self.job_failed = False
        self.query_one("#deploy-outcome").display = False
        self.set_running(True)

        try:
            while True:
                status = await watch.read_status()
                lines = await watch.read_new_lines()
                if status is None or lines is None:
                    self.show_outcome([_("Lost track of job {job_id}. Press ctrl+r to look again.").format(
                        job_id=watch.job_id)], "-error")
                    return

                job_log.queue_lines(lines)
                self.show_status(watch.job_id, status)
                if is_finished(status):
                    break
                await asyncio.sleep(self.app.poll_interval)  # type: ignore[attr-defined]
        finally:
            self.set_running(False)

        if status.get("status") == "successful":
            await self.show_success(watch)
        else:
            await self.show_failure(watch, status)

    def show_status(self, job_id: str, status: dict[str, Any]) -> None:
        steps = status.get("steps") or []
        self.query_one("#deploy-steps", StepList).show_steps(steps)

        job_status = str(status.get("status", ""))
        current = next((step for step in steps if step.get("status") == job_status), None)
        if current is not None:
            position = steps.index(current) + 1
            text = _("Job {job_id}: step {position} of {count}, {title}").format(
                job_id=job_id, position=position, count=len(steps), title=step_title(str(current.get("name"))))
        else:
            text = _("Job {job_id}: {status}").format(job_id=job_id, status=state_word(job_status))
        self.query_one("#deploy-job", Static).update(Content(text))

        self.query_one("#deploy-nodes-title", Label).update(_(NODES_BY_STATE_TITLE))
        selection = self.query_one("#deploy-nodes", SelectionList)
        running_status = job_status if current is not None else None
        for node_id, progress in (status.get("nodes") or {}).items():
            if node_id not in self.nodes:
                continue
            progress = {**progress, "state": node_state(progress, running_status)}
            selection.replace_option_prompt(node_id, node_prompt(self.nodes[node_id], progress))

    async def show_success(self, watch: JobWatch) -> None:
        lines = [_("Deploy job {job_id} finished successfully.").format(job_id=watch.job_id)]

        described = await self.call_api("DescribeQingCloud")
        if is_ok(described):
            platform = described.get("qingcloud") or {}
            self.app.platform = platform  # type: ignore[attr-defined]
            lines.extend(summarize_platform(platform))

        self.show_outcome(lines, "-success")

    async def show_failure(self, watch: JobWatch, status: dict[str, Any]) -> None:
        self.job_failed = True
        self.refresh_bindings()

        step = failed_step(status)
        failed_nodes = failed_hostnames(status)

        if step is None:
            lines = [_("Deploy job {job_id} failed.").format(job_id=watch.job_id)]
            tail: list[str] = []
        else:
            name = str(step.get("name", ""))
            lines = [_("Step {title} ({name}) failed on: {nodes}.").format(
                title=step_title(name), name=name, nodes=", ".join(failed_nodes) or "-")]
            tail = await watch.read_step_tail(str(step.get("status")), FAILED_STEP_TAIL, failed_nodes)

        lines.append(_("Press F9 to re-run from the failed step. Last lines of the step's log:"))
        lines.extend(tail)

        self.show_outcome(lines, "-error")

    def show_outcome(self, lines: list[str], kind: str) -> None:
        outcome = self.query_one("#deploy-outcome")
        outcome.set_classes(kind)
        self.query_one("#deploy-outcome-text", Static).update(Content("\n".join(lines)))
        outcome.display = True
