"""The health check screen: check the nodes' services, follow the job, read the result by node.

F8 opens the dialog that chooses the nodes and verbose (health_start.py) and
sends CheckQingCloud. The job's log shows while the check runs. When it ends,
the result of GetQingCloudCheckResult fills the table with problems first (see
health_results.py), and the platform's overall status heads the screen. The
filter narrows the table by host or service, F7 leaves out the Normal services,
F6 lists earlier checks, and ctrl+o writes a report of the check shown.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Checkbox, DataTable, Footer, Input, Static

from engine.errors import NOT_FOUND
from tui.i18n import N_, _
from tui.screens.base import is_ok
from tui.screens.health_results import ATTENTION_STATUSES, NORMAL, HealthTable, count_services, service_rows
from tui.screens.health_start import StartCheckDialog
from tui.screens.job_watch import JobWatch, is_finished
from tui.screens.report_export import CHECK as CHECK_REPORT
from tui.screens.report_export import export_report
from tui.screens.run_history import HISTORY_LIMIT, RunHistoryScreen
from tui.screens.run_view import RunScreen, describe_job
from tui.status_words import status_label
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.job_log import JobLog
from tui.widgets.platform_line import PlatformLine

CHECK = "CheckQingCloud"

RESULTS = "results"
JOB_LOG = "job"


class HealthCheckScreen(RunScreen):
    """Runs CheckQingCloud and shows its result; see the module docstring for the keys."""

    CSS_PATH = "checks.tcss"

    HELP = N_(
        "Checks the services of the platform's nodes and shows the result by node, problems first.\n"
        "\n"
        "1. F8 chooses the nodes and whether every service is listed; Enter starts the check.\n"
        "2. The job's log shows while the check runs, and the result replaces it when it ends; ^N "
        "switches between them.\n"
        "3. Type part of a host or service name in the filter to narrow the table; F7 hides the "
        "Normal services.\n"
        "4. F6 opens an earlier check, and ^O writes a report of the check shown."
    )

    # ctrl+r and ctrl+n stay off the footer, which the app's keys and these fill
    # to about 75 of 80 columns in English; F1 lists them.
    BINDINGS = [
        Binding("ctrl+r", "refresh", N_("Refresh"), show=False),
        Binding("f6", "history", N_("History")),
        Binding("f7", "toggle_not_normal", N_("Only not Normal")),
        Binding("f8", "start", N_("Start")),
        Binding("ctrl+o", "export", N_("Export")),
        Binding("ctrl+n", "show_job_log", N_("Job log"), show=False),
        Binding("ctrl+n", "show_results", N_("Results"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.result: dict[str, Any] = {}
        """GetQingCloudCheckResult's response for the check shown, or {} before one is shown."""
        self.job_id: str | None = None
        self.newest_job_id: str | None = None
        self.view = RESULTS
        self.last_choice: tuple[list[str] | None, bool] = (None, True)
        """Hostnames ticked in the dialog last time (None: every node) and its verbose."""

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        with Vertical(id="health-body"):
            yield Static(_("Reading the checks..."), id="health-status", classes="run-line")
            yield Static("", id="health-message", classes="run-message")
            with Horizontal(id="health-filter-row"):
                yield Input(placeholder=_("filter: part of a host or service name"), id="health-filter", compact=True)
                yield Checkbox(_("Only not Normal"), id="health-not-normal", compact=True)
            yield HealthTable(id="health-table")
            yield JobLog(title=_("Job log"), id="health-job-log", max_lines=5000)
            yield Static("", id="health-detail")
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.show_view()

    def on_screen_resume(self) -> None:
        if self.reload_on_resume:
            self.prepare()

    def on_resize(self) -> None:
        self.show_view()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return None if self.job_running else True
        if action == "export":
            return self.job_id is not None
        if action == "toggle_not_normal":
            return bool(self.result)
        if action == "show_job_log":
            return not self.roomy and self.view == RESULTS
        if action == "show_results":
            return not self.roomy and self.view == JOB_LOG
        return True

    # Reading what there is: a check that runs, the newest result.

    @work(exclusive=True, group="health-job")
    async def prepare(self) -> None:
        status = await self.call_api("GetStatus", {"job_action": CHECK}, show_error=False)
        running = is_ok(status) and status.get("job_id") and not is_finished(status)

        newest = await self.call_api("GetQingCloudCheckResult", {}, show_error=False)
        if is_ok(newest):
            self.newest_job_id = str(newest.get("job_id") or "") or None
            if self.job_id is None or self.job_id == self.newest_job_id:
                self.show_result(newest)
        elif newest is not None and newest.get("ret_code") == NOT_FOUND:
            self.set_line("#health-status", _("No check yet. F8 checks the platform."))
        elif newest is not None:
            self.error_panel.show_response(newest)
        self.refresh_bindings()

        if running:
            await self.follow(str(status["job_id"]))

    async def load_result(self, job_id: str, *, show_error: bool = True) -> bool:
        response = await self.call_api("GetQingCloudCheckResult", {"job_id": job_id}, show_error=show_error)
        if not is_ok(response):
            return False
        self.show_result(response)
        return True

    def show_result(self, response: dict[str, Any]) -> None:
        self.result = response
        self.job_id = str(response.get("job_id") or "") or None
        overall = str(response.get("qingcloud_status") or "")
        style = "bold $text-success" if overall == NORMAL else "bold $text-error"

        if self.job_id == self.newest_job_id:
            heading = _("check {job_id} (newest), {time} UTC")
        else:
            heading = _("check {job_id} (earlier; F6 lists them), {time} UTC")
        self.query_one("#health-status", Static).update(Content.assemble(
            _("Platform status: "), (status_label(overall), style), " | ",
            heading.format(job_id=self.job_id, time=response.get("check_time") or "-")))

        self.set_line("#health-message", self.result_summary())
        self.apply_filter()
        self.refresh_bindings()

    def result_summary(self) -> str:
        """Return the counts of the shown result per status, noting a result that lists only problems."""
        counts = count_services(self.result.get("result") or []) or _("no service listed")
        if str(self.result.get("verbose", "1")) == "0":
            counts = _("{counts} (only services that are not Normal were listed)").format(counts=counts)
        return counts

    def action_refresh(self) -> None:
        self.error_panel.clear()
        if not self.job_running:
            self.prepare()

    # The filter and the highlighted service.

    @on(Input.Changed, "#health-filter")
    @on(Checkbox.Changed, "#health-not-normal")
    def filter_changed(self) -> None:
        self.apply_filter()

    def action_toggle_not_normal(self) -> None:
        checkbox = self.query_one("#health-not-normal", Checkbox)
        checkbox.value = not checkbox.value

    def apply_filter(self) -> None:
        text = self.query_one("#health-filter", Input).value
        only_not_normal = self.query_one("#health-not-normal", Checkbox).value
        rows = service_rows(self.result.get("result") or [], text, only_not_normal)
        self.query_one(HealthTable).show_rows(rows)
        self.show_detail()

    @on(DataTable.RowHighlighted, "#health-table")
    def row_highlighted(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        table = self.query_one(HealthTable)
        row = table.highlighted_row
        if row is None:
            text = _("No service matches the filter.") if self.result else ""
            self.set_line("#health-detail", text)
            return
        style = "$text-error" if row.status in ATTENTION_STATUSES else ""
        self.set_line("#health-detail", _("{host} ({role}, zone {zone}) {service}: {status}. {detail}").format(
            host=row.hostname, role=row.role or "-", zone=row.zone_id or "-", service=row.service or "-",
            status=status_label(row.status), detail=row.detail or ""), style)

    # Starting and following a check.

    def action_start(self) -> None:
        if not self.job_running:
            self.choose_and_start()

    @work(exclusive=True, group="health-job")
    async def choose_and_start(self) -> None:
        with self.dialog_flow():
            response = await self.call_api("DescribeNodes", {}, "Node")
            if not is_ok(response):
                return
            nodes = [node for node in response.get("node_set") or [] if node.get("role")]
            selected, verbose = self.last_choice
            choice = await self.app.push_screen_wait(StartCheckDialog(nodes, selected=selected, verbose=verbose))
            if not choice or self.job_running:
                return
            node_names, verbose_flag = choice
            self.last_choice = (None if node_names == "all" else node_names.split(","), verbose_flag == "1")
            self.set_running(True)

        self.error_panel.clear()
        started = await self.call_api(CHECK, {"nodes": node_names, "verbose": verbose_flag})
        if not is_ok(started):
            self.set_running(False)
            return
        await self.follow(str(started["job_id"]))

    async def follow(self, job_id: str) -> None:
        watch = JobWatch(self.call_api, CHECK, job_id)
        job_log = self.query_one("#health-job-log", JobLog)
        job_log.queue_lines([_("--- {action} job {job_id} ---").format(action=CHECK, job_id=job_id)])
        self.set_running(True)
        self.show_view(JOB_LOG)

        try:
            while True:
                status = await watch.read_status()
                lines = await watch.read_new_lines()
                if status is None or lines is None:
                    text = _("Lost track of job {job_id}. Press ctrl+r to look again.")
                    self.set_line("#health-message", text.format(job_id=job_id), "$text-error")
                    return

                job_log.queue_lines(lines)
                self.set_line("#health-message", describe_job(CHECK, job_id, status))
                if is_finished(status):
                    break
                await asyncio.sleep(self.app.poll_interval)  # type: ignore[attr-defined]
        finally:
            self.set_running(False)

        # A check that ended in failure may still have recorded what it found.
        self.newest_job_id = job_id
        if await self.load_result(job_id, show_error=status.get("status") == "successful"):
            self.show_view(RESULTS)
        if status.get("status") != "successful":
            self.set_line("#health-message", _("Check job {job_id} failed; the job log (ctrl+n) says why.").format(
                job_id=job_id), "$text-error")
        elif not self.roomy and self.job_id == job_id:
            self.set_line("#health-message", _("Check {job_id} finished: {counts}. ^N shows its log.").format(
                job_id=job_id, counts=self.result_summary()))

    # Views: the result table or the job's log.

    def action_show_job_log(self) -> None:
        self.show_view(JOB_LOG)

    def action_show_results(self) -> None:
        self.show_view(RESULTS)

    def show_view(self, view: str | None = None) -> None:
        if view is not None:
            self.view = view
        self.query_one(HealthTable).display = self.roomy or self.view == RESULTS
        job_log = self.query_one("#health-job-log", JobLog)
        job_log.display = self.roomy or self.view == JOB_LOG
        job_log.border_title = _("Job log") if self.roomy else _("{title} (^N: results)").format(title=_("Job log"))
        self.refresh_bindings()

    # Earlier checks and reports.

    def action_history(self) -> None:
        self.open_history()

    @work(exclusive=True, group="health-history")
    async def open_history(self) -> None:
        response = await self.call_api("DescribeJobs", {"job_action": CHECK, "limit": HISTORY_LIMIT}, "Job")
        if not is_ok(response):
            return
        with self.dialog_flow():
            job_id = await self.app.push_screen_wait(RunHistoryScreen(
                _("Checks, newest first"), list(response.get("job_set") or []), self.job_id))
            if job_id and await self.load_result(job_id):
                self.show_view(RESULTS)

    def action_export(self) -> None:
        if self.job_id is not None:
            self.export(self.job_id)

    @work(exclusive=True, group="health-export")
    async def export(self, job_id: str) -> None:
        with self.dialog_flow():
            outcome = await export_report(self, CHECK_REPORT, job_id)
        if outcome is not None:
            self.set_line("#health-message", outcome.text, "$text-success" if outcome.ok else "$text-error")

