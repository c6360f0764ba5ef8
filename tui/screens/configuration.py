"""The configuration screen: load a file, validate it, apply it with ConfigQingCloud."""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Footer, Input, Label, Static

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen, is_ok, table_cell
from tui.screens.config_source import ConfigFile, ConfigFileError, read_config_file
from tui.screens.job_watch import JobWatch, is_finished
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.job_log import JobLog
from tui.widgets.platform_line import PlatformLine
from tui.widgets.step_list import state_style, state_word

SEVERITY_WORDS = {"error": N_("error"), "warning": N_("warning")}


class ConfigurationScreen(InstallerScreen):
    """Loads a configuration file, shows ValidateQingCloudConfig's verdict, applies it."""

    BINDINGS = [
        Binding("f6", "load", N_("Load file")),
        Binding("f7", "apply", N_("Apply")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.loaded: ConfigFile | None = None
        self.issues: list[dict[str, Any]] = []
        self.valid = False
        self.job_running = False

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        with Vertical(id="configuration-body"):
            with Horizontal(id="path-row"):
                yield Label(_("File:"), id="path-label")
                yield Input(placeholder=_("path of a JSON or YAML file, then Enter or F6"),
                            id="config-path", compact=True)
            yield Static("", id="load-result")
            yield DataTable(id="config-zones", cursor_type="row", show_cursor=False)
            yield Label(_("Issues"), classes="section-title")
            yield DataTable(id="issues", cursor_type="row", zebra_stripes=True)
            yield Static("", id="issue-detail")
            yield Static("", id="apply-result")
            yield JobLog(title=_("Log"), id="config-log", max_lines=5000)
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        # A blinking cursor repaints twice a second, a cost a serial console feels.
        self.query_one("#config-path", Input).cursor_blink = False

        zones = self.query_one("#config-zones", DataTable)
        zones.add_column(_("Zone"), key="zone")
        zones.add_column(_("Mode"), key="deploy_mode")
        zones.add_column(_("KS"), key="ks")
        zones.add_column(_("VG"), key="vg")
        zones.add_column(_("Hyper"), key="hyper")
        zones.add_column(_("Role nodes"), key="role")

        issues = self.query_one("#issues", DataTable)
        issues.add_column(_("Severity"), key="severity")
        issues.add_column(_("Path"), key="path")
        issues.add_column(_("Message"), key="message")

        self.query_one("#config-log", JobLog).display = False
        path_input = self.query_one("#config-path", Input)
        path_input.value = getattr(self.app, "config_path", "")
        path_input.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
            # Shown but dimmed until a valid file is loaded, so the operator sees the step.
            return True if (self.valid and not self.job_running) else None
        if action == "load":
            return True if not self.job_running else None
        return True

    @on(Input.Submitted, "#config-path")
    def submit_path(self) -> None:
        self.action_load()

    def action_load(self) -> None:
        if self.job_running:
            return
        self.load_file(self.query_one("#config-path", Input).value.strip())

    def action_apply(self) -> None:
        if self.loaded is None or not self.valid or self.job_running:
            return
        # Marked running before the worker starts, so a second key press cannot apply twice.
        self.job_running = True
        self.refresh_bindings()
        self.apply_config(self.loaded.config)

    def set_result(self, widget_id: str, text: str, style: str = "") -> None:
        self.query_one(widget_id, Static).update(Content.styled(text, style) if style else Content(text))

    def forget_loaded(self) -> None:
        self.loaded = None
        self.issues = []
        self.valid = False
        self.query_one("#config-zones", DataTable).clear()
        self.query_one("#issues", DataTable).clear()
        self.set_result("#issue-detail", "")
        self.set_result("#apply-result", "")
        self.refresh_bindings()

    @work(exclusive=True, group="configuration")
    async def load_file(self, path_text: str) -> None:
        self.error_panel.clear()
        # A file that fails to load must not leave the previous file ready to apply.
        self.forget_loaded()

        if not path_text:
            self.set_result("#load-result", _("Enter the path of a configuration file (JSON or YAML)."), "$text-warning")
            return

        try:
            loaded = read_config_file(path_text)
        except ConfigFileError as error:
            self.set_result("#load-result", _("{path}: {problem}").format(path=path_text, problem=error.describe()),
                            "$text-error")
            return

        self.set_result("#load-result", _("Read {path} ({format}); validating...").format(
            path=loaded.path, format=loaded.format.upper()))

        response = await self.call_api("ValidateQingCloudConfig", {"config": loaded.config})
        if not is_ok(response):
            self.set_result("#load-result", _("Validation could not run; see the error below."), "$text-error")
            return

        self.loaded = loaded
        self.valid = bool(response.get("valid"))
        self.show_validation(response)
        self.refresh_bindings()

    def show_validation(self, response: dict[str, Any]) -> None:
        issues = response.get("issues") or []
        errors = sum(1 for issue in issues if issue.get("severity") == "error")
        warnings = sum(1 for issue in issues if issue.get("severity") == "warning")

        if self.valid:
            text = _("Valid (warnings: {warnings}). Press F7 to apply it.").format(warnings=warnings)
            self.set_result("#load-result", text, "$text-success")
        else:
            text = _("Not valid (errors: {errors}, warnings: {warnings}). Fix the file and load it again.").format(
                errors=errors, warnings=warnings)
            self.set_result("#load-result", text, "$text-error")

        zones = self.query_one("#config-zones", DataTable)
        zones.clear()
        for zone_id, zone in (response.get("zones") or {}).items():
            cells = (zone_id, zone.get("deploy_mode"), zone.get("ks_node_num", 0), zone.get("vg_node_num", 0),
                     zone.get("hyper_node_num", 0), zone.get("role_node_num", 0))
            zones.add_row(*(table_cell(cell) for cell in cells), key=zone_id)

        self.issues = issues
        table = self.query_one("#issues", DataTable)
        table.clear()
        for index, issue in enumerate(issues):
            severity = str(issue.get("severity", ""))
            word = SEVERITY_WORDS.get(severity)
            # Rich text in a table cannot use theme colours, so errors stand out in bold.
            table.add_row(table_cell(_(word) if word else severity, "bold" if severity == "error" else ""),
                          table_cell(issue.get("path") or issue.get("zone")), table_cell(issue.get("message")),
                          key=str(index))

    @on(DataTable.RowHighlighted, "#issues")
    def show_issue_detail(self, event: DataTable.RowHighlighted) -> None:
        # The table cuts long messages at the screen's edge; the line below shows all of it.
        if event.row_key.value is None:
            return
        issue = self.issues[int(event.row_key.value)]
        self.set_result("#issue-detail", "{path}: {message}".format(
            path=issue.get("path") or issue.get("zone") or "-", message=issue.get("message") or ""))

    @work(exclusive=True, group="configuration")
    async def apply_config(self, config: dict[str, Any]) -> None:
        self.error_panel.clear()
        job_log = self.query_one("#config-log", JobLog)
        job_log.reset()
        job_log.display = True

        response = await self.call_api("ConfigQingCloud", {"config": config})
        if not is_ok(response):
            self.set_result("#apply-result", _("The configuration was not applied."), "$text-error")
            self.job_running = False
            self.refresh_bindings()
            return

        try:
            await self.follow_job(JobWatch(self.call_api, "ConfigQingCloud", response["job_id"]))
        finally:
            self.job_running = False
            self.refresh_bindings()

    async def follow_job(self, watch: JobWatch) -> None:
        job_log = self.query_one("#config-log", JobLog)

        while True:
            status = await watch.read_status()
            lines = await watch.read_new_lines()
            if status is None or lines is None:
                self.set_result("#apply-result", _("Lost track of job {job_id}.").format(job_id=watch.job_id),
                                "$text-error")
                return

            job_log.queue_lines(lines)
            self.show_job_status(watch.job_id, status)
            if is_finished(status):
                break
            await asyncio.sleep(self.app.poll_interval)  # type: ignore[attr-defined]

        if status.get("status") == "successful":
            described = await self.call_api("DescribeQingCloud")
            if is_ok(described):
                self.app.platform = described.get("qingcloud") or {}  # type: ignore[attr-defined]

    def show_job_status(self, job_id: str, status: dict[str, Any]) -> None:
        job_status = str(status.get("status", ""))

        if job_status == "successful":
            self.set_result("#apply-result", _("Configuration applied (job {job_id}). Press F5 to deploy.").format(
                job_id=job_id), "$text-success")
        elif job_status == "failed":
            self.set_result("#apply-result", _("Job {job_id} failed; its log is below.").format(job_id=job_id),
                            "$text-error")
        else:
            running = [step for step in status.get("steps") or [] if step.get("state") == "running"]
            step = running[0].get("name") if running else job_status
            self.set_result("#apply-result", _("Job {job_id}: {step} {state}").format(
                job_id=job_id, step=step, state=state_word("running")), state_style("running"))
