"""The tests screen: start a test run, follow its cases live, read each case's log, rerun failures, clean up.

F8 opens the dialog that chooses the mode and the cases (platform_tests_start.py)
and sends TestQingCloud. While a job runs, the case table is read again on every
poll and the highlighted case's log shows below it. The job's own log is one
ctrl+n away, or beside the case log on a terminal of run_view.ROOMY_HEIGHT rows.
F9 reruns the failed cases of the newest run, F7 sends CleanQingCloudTest, F6
lists earlier runs, and ctrl+o writes a report of the run shown.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Static

from engine.errors import NOT_FOUND
from tui.i18n import N_, _
from tui.screens.base import is_ok
from tui.screens.job_watch import JobWatch, is_finished, log_lines
from tui.screens.platform_tests_start import CLEAN_MODE, StartTestsDialog
from tui.screens.report_export import TEST as TEST_REPORT
from tui.screens.report_export import export_report
from tui.screens.run_history import HISTORY_LIMIT, RunHistoryScreen
from tui.screens.run_view import RunScreen, describe_job
from tui.screens.test_cases_table import CaseTable, count_statuses, failed_cases
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.job_log import JobLog
from tui.widgets.platform_line import PlatformLine
from tui.wizard.dialogs import ConfirmDialog

TEST = "TestQingCloud"
RERUN = "RerunQingCloudTestCase"
CLEAN = "CleanQingCloudTest"

CASE_LOG = "case"
JOB_LOG = "job"


class PlatformTestsScreen(RunScreen):
    """Runs TestQingCloud and follows it; see the module docstring for the keys."""

    CSS_PATH = "checks.tcss"

    HELP = N_(
        "Runs the platform's test cases on the runner node and shows each case's result and log.\n"
        "\n"
        "1. F8 chooses the mode and the cases; Enter starts the test run.\n"
        "2. The table follows the cases. The log of the highlighted case shows below it; ^N switches "
        "to the job's own log and back.\n"
        "3. F9 reruns the failed cases of the newest run. F7 removes the test user and resources once "
        "the tests are done.\n"
        "4. F6 opens an earlier run, and ^O writes a report of the run shown as Markdown, JSON, "
        "JUnit XML or HTML."
    )

    # With the app's keys, the footer is full at 80 columns in English. ctrl+r and
    # ctrl+n stay off it: F1 lists them, and the log pane's title names ctrl+n.
    BINDINGS = [
        Binding("ctrl+r", "refresh", N_("Refresh"), show=False),
        Binding("f6", "history", N_("History")),
        Binding("f7", "clean", N_("Clean")),
        Binding("f8", "start", N_("Start")),
        Binding("f9", "rerun_failed", N_("Rerun failed")),
        Binding("ctrl+o", "export", N_("Export")),
        Binding("ctrl+n", "show_job_log", N_("Job log"), show=False),
        Binding("ctrl+n", "show_case_log", N_("Case log"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.catalog: list[dict[str, Any]] = []
        self.runner_hostname = ""
        self.run_id: str | None = None
        """The test run whose cases the table shows."""
        self.run_mode = ""
        self.newest_run_id: str | None = None
        self.log_view = CASE_LOG
        self.log_key: tuple[str, str, Any] | None = None
        """(run, case, attempts) of the case log shown: new lines of the same try are added to it."""
        self.log_state: tuple[Any, ...] | None = None
        """(run, case, attempts, status) when the case log was last read, to tell whether to read it again."""
        self.case_log_lines: list[str] = []
        self.case_log_title = _("Case log")
        self.rows: list[dict[str, Any]] = []
        """The shown run's cases, as GetQingCloudTestCasesStatus returned them."""
        self.rerun_state: tuple[Any, ...] = ()
        """(run, newest run, whether a case failed) when the footer was last refreshed for F9."""
        self.last_choice: tuple[str, list[str] | None] = ("all", None)

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        with Vertical(id="tests-body"):
            yield Static(_("Reading the test runs..."), id="tests-run", classes="run-line")
            yield Static("", id="tests-message", classes="run-message")
            yield CaseTable(id="tests-cases")
            with Vertical(id="tests-logs"):
                yield JobLog(title=_("Case log"), id="tests-case-log", max_lines=5000)
                yield JobLog(title=_("Job log"), id="tests-job-log", max_lines=5000)
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.show_logs()

    def on_screen_resume(self) -> None:
        if self.reload_on_resume:
            self.prepare()

    def on_resize(self) -> None:
        self.show_logs()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rerun_failed":
            return (not self.job_running and self.run_id is not None and self.run_id == self.newest_run_id
                    and bool(failed_cases(self.rows)))
        if action in ("clean", "start"):
            return None if self.job_running else True
        if action == "export":
            return self.run_id is not None
        if action == "show_job_log":
            return not self.roomy and self.log_view == CASE_LOG
        if action == "show_case_log":
            return not self.roomy and self.log_view == JOB_LOG
        return True

    # Reading what there is: the catalog, a job that runs, the newest run.

    @work(exclusive=True, group="tests-job")
    async def prepare(self) -> None:
        await self.load_catalog()

        running: tuple[str, str] | None = None
        for action in (TEST, RERUN, CLEAN):
            status = await self.call_api("GetStatus", {"job_action": action}, show_error=False)
            if is_ok(status) and status.get("job_id") and not is_finished(status):
                running = (action, str(status["job_id"]))

        newest = await self.call_api("GetQingCloudTestCasesStatus", {}, show_error=False)
        if is_ok(newest):
            self.newest_run_id = str(newest.get("job_id") or "") or None
            if self.run_id is None or self.run_id == self.newest_run_id:
                self.show_run(newest)
        elif newest is not None and newest.get("ret_code") == NOT_FOUND:
            self.set_line("#tests-run", _("No test run yet. F8 starts one."))
        elif newest is not None:
            self.error_panel.show_response(newest)
        self.refresh_bindings()

        if running is not None:
            action, job_id = running
            await self.follow(action, job_id, job_id if action == TEST else self.newest_run_id)

    async def load_catalog(self) -> None:
        response = await self.call_api("DescribeQingCloudTestCases", {})
        if is_ok(response):
            self.catalog = list(response.get("test_set") or [])
            self.runner_hostname = str(response.get("runner_hostname") or "")

    async def load_run(self, run_id: str) -> bool:
        """Read a run's cases and show them; False when the call failed, which the error panel shows."""
        response = await self.call_api("GetQingCloudTestCasesStatus", {"job_id": run_id})
        if not is_ok(response):
            return False
        self.show_run(response)
        return True

    def show_run(self, response: dict[str, Any]) -> None:
        self.run_id = str(response.get("job_id") or "") or None
        self.run_mode = str(response.get("mode") or "")
        rows = [row for row in response.get("result") or [] if isinstance(row, dict)]
        self.rows = rows
        self.query_one(CaseTable).show_rows(rows)

        counts = count_statuses(rows) or _("no case")
        if self.run_id == self.newest_run_id:
            text = _("Test run {job_id} (newest), mode {mode}: {counts}").format(
                job_id=self.run_id, mode=self.run_mode or "-", counts=counts)
        else:
            text = _("Test run {job_id} (earlier; F6 lists them), mode {mode}: {counts}").format(
                job_id=self.run_id, mode=self.run_mode or "-", counts=counts)
        self.set_line("#tests-run", text)
        # Only what F9 depends on: refreshing the footer on every poll would redraw it each time.
        rerun_state = (self.run_id, self.newest_run_id, bool(failed_cases(rows)))
        if rerun_state != self.rerun_state:
            self.rerun_state = rerun_state
            self.refresh_bindings()
        self.refresh_case_log()

    def action_refresh(self) -> None:
        self.error_panel.clear()
        if self.job_running:
            if self.run_id:
                self.reload_shown_run()
            return
        self.prepare()

    @work(exclusive=True, group="tests-history")
    async def reload_shown_run(self) -> None:
        if self.run_id:
            await self.load_run(self.run_id)

    # Starting, rerunning, cleaning.

    def action_start(self) -> None:
        if not self.job_running:
            self.choose_and_start()

    @work(exclusive=True, group="tests-job")
    async def choose_and_start(self) -> None:
        with self.dialog_flow():
            if not self.catalog:
                await self.load_catalog()
            mode, selected = self.last_choice
            choice = await self.app.push_screen_wait(
                StartTestsDialog(self.catalog, self.runner_hostname, mode=mode, selected=selected))
            if not choice or self.job_running:
                return
            self.last_choice = choice

            mode, tasks = choice
            params: dict[str, Any] = {"mode": mode}
            if tasks is not None:
                params["tasks"] = ",".join(tasks)
            self.set_running(True)

        if mode == CLEAN_MODE:
            # A run that only cleans has no case whose log could show.
            self.show_log_view(JOB_LOG)
        await self.start_job(TEST, params)

    def action_rerun_failed(self) -> None:
        if self.check_action("rerun_failed", ()) and self.run_id:
            self.set_running(True)
            self.start_rerun(self.run_id, failed_cases(self.rows))

    @work(exclusive=True, group="tests-job")
    async def start_rerun(self, run_id: str, tasks: list[str]) -> None:
        await self.start_job(RERUN, {"tasks": ",".join(tasks)}, run_id)

    def action_clean(self) -> None:
        if self.check_action("clean", ()):
            self.confirm_and_clean()

    @work(exclusive=True, group="tests-job")
    async def confirm_and_clean(self) -> None:
        with self.dialog_flow():
            confirmed = await self.app.push_screen_wait(ConfirmDialog(
                _("Remove the test user and resources?"),
                _("CleanQingCloudTest deletes what the test runs created on the runner node. "
                  "Cases cannot be rerun afterwards without preparing again.")))
            if not confirmed or self.job_running:
                return
            self.set_running(True)

        self.show_log_view(JOB_LOG)
        await self.start_job(CLEAN, {})

    async def start_job(self, action: str, params: dict[str, Any], run_id: str | None = None) -> None:
        """Send a job-starting action and follow the job; `run_id` is the run whose cases it changes."""
        self.error_panel.clear()
        self.set_running(True)
        response = await self.call_api(action, params)
        if not is_ok(response):
            self.set_running(False)
            return

        job_id = str(response["job_id"])
        if action == TEST:
            run_id = self.newest_run_id = self.run_id = job_id
        await self.follow(action, job_id, run_id)

    # Following a job.

    async def follow(self, action: str, job_id: str, run_id: str | None) -> None:
        watch = JobWatch(self.call_api, action, job_id)
        job_log = self.query_one("#tests-job-log", JobLog)
        job_log.queue_lines([_("--- {action} job {job_id} ---").format(action=action, job_id=job_id)])
        self.set_running(True)

        try:
            while True:
                status = await watch.read_status()
                lines = await watch.read_new_lines()
                if status is None or lines is None:
                    text = _("Lost track of job {job_id}. Press ctrl+r to look again.")
                    self.set_line("#tests-message", text.format(job_id=job_id), "$text-error")
                    return

                job_log.queue_lines(lines)
                # The table follows the job's run only while that run is the one shown.
                if run_id is not None and self.run_id in (None, run_id):
                    await self.load_run(run_id)
                self.set_line("#tests-message", describe_job(action, job_id, status))
                if is_finished(status):
                    break
                await asyncio.sleep(self.app.poll_interval)  # type: ignore[attr-defined]
        finally:
            self.set_running(False)

        rows: list[dict[str, Any]] = []
        if run_id is not None:
            rows = self.rows if self.run_id == run_id else await self.read_rows(run_id)
        self.show_outcome(action, job_id, status, rows, shown=self.run_id == run_id)

    async def read_rows(self, run_id: str) -> list[dict[str, Any]]:
        """Return a run's cases without showing them, or [] when the call failed."""
        response = await self.call_api("GetQingCloudTestCasesStatus", {"job_id": run_id})
        return list(response.get("result") or []) if is_ok(response) else []

    def show_outcome(self, action: str, job_id: str, status: dict[str, Any], rows: list[dict[str, Any]],
                     *, shown: bool) -> None:
        succeeded = status.get("status") == "successful"
        failed = failed_cases(rows)

        if action == CLEAN:
            if succeeded:
                text = _("Clean job {job_id} finished: the test user and resources are removed.")
                self.set_line("#tests-message", text.format(job_id=job_id), "$text-success")
            else:
                text = _("Clean job {job_id} failed; the job log (ctrl+n) says why.")
                self.set_line("#tests-message", text.format(job_id=job_id), "$text-error")
            return

        if failed:
            if shown:
                # Its log shows below the table at once.
                self.query_one(CaseTable).highlight(failed[0])
            text = _("Job {job_id} finished; failed cases: {cases}. F9 reruns them.").format(
                job_id=job_id, cases=", ".join(failed))
            self.set_line("#tests-message", text, "$text-error")
        elif succeeded:
            self.set_line("#tests-message", _("Job {job_id} finished: {counts}.").format(
                job_id=job_id, counts=count_statuses(rows) or _("no case")), "$text-success")
        else:
            text = _("Job {job_id} failed before its cases ended; the job log (ctrl+n) says why.")
            self.set_line("#tests-message", text.format(job_id=job_id), "$text-error")
            self.show_log_view(JOB_LOG)

    # The case log and the job log.

    @on(DataTable.RowHighlighted, "#tests-cases")
    def case_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_case_log()

    def refresh_case_log(self) -> None:
        """Read the highlighted case's log when it is another case, another try, or still running."""
        table = self.query_one(CaseTable)
        test = table.highlighted_test
        if test is None or self.run_id is None:
            return
        row = table.row_of(test)
        state = (self.run_id, test, row.get("attempts"), row.get("status"))
        # A running case writes on; any other case's log changes only with its state.
        if state == self.log_state and row.get("status") != "running":
            return
        self.log_state = state
        self.load_case_log(self.run_id, test, row)

    @work(exclusive=True, group="tests-case-log")
    async def load_case_log(self, run_id: str, test: str, row: dict[str, Any]) -> None:
        case_log = self.query_one("#tests-case-log", JobLog)
        key = (run_id, test, row.get("attempts"))

        if row.get("status") == "pending" and not row.get("start_time"):
            lines: list[str] = [_("The case has not started yet.")]
        else:
            response = await self.call_api("GetQingCloudTestCasesLog", {"task": test, "job_id": run_id},
                                           show_error=False)
            if is_ok(response):
                lines = log_lines(response)
            else:
                message = (response or {}).get("message") or _("(no message)")
                lines = [_("The log of {case} was not read: {message}").format(case=test, message=message)]

        attempts = row.get("attempts") or 1
        self.case_log_title = _("Log of {case}, try {attempts}").format(case=test, attempts=attempts)
        self.show_log_titles()
        if key == self.log_key and lines[:len(self.case_log_lines)] == self.case_log_lines:
            case_log.queue_lines(lines[len(self.case_log_lines):])
        else:
            case_log.reset()
            case_log.queue_lines(lines)
        self.log_key = key
        self.case_log_lines = lines

    def action_show_job_log(self) -> None:
        self.show_log_view(JOB_LOG)

    def action_show_case_log(self) -> None:
        self.show_log_view(CASE_LOG)

    def show_log_view(self, view: str) -> None:
        self.log_view = view
        self.show_logs()
        self.refresh_bindings()

    def show_logs(self) -> None:
        self.query_one("#tests-case-log").display = self.roomy or self.log_view == CASE_LOG
        self.query_one("#tests-job-log").display = self.roomy or self.log_view == JOB_LOG
        self.show_log_titles()

    def show_log_titles(self) -> None:
        """Title each log pane; while only one shows, its title names the key that shows the other."""
        case_title = self.case_log_title
        job_title = _("Job log")
        if not self.roomy:
            case_title = _("{title} (^N: job log)").format(title=case_title)
            job_title = _("{title} (^N: case log)").format(title=job_title)
        self.query_one("#tests-case-log", JobLog).border_title = case_title
        self.query_one("#tests-job-log", JobLog).border_title = job_title

    # Earlier runs and reports.

    def action_history(self) -> None:
        self.open_history()

    @work(exclusive=True, group="tests-history")
    async def open_history(self) -> None:
        response = await self.call_api("DescribeJobs", {"job_action": TEST, "limit": HISTORY_LIMIT}, "Job")
        if not is_ok(response):
            return
        with self.dialog_flow():
            job_id = await self.app.push_screen_wait(RunHistoryScreen(
                _("Test runs, newest first"), list(response.get("job_set") or []), self.run_id))
            if job_id:
                await self.load_run(job_id)

    def action_export(self) -> None:
        if self.run_id is not None:
            self.export(self.run_id)

    @work(exclusive=True, group="tests-export")
    async def export(self, run_id: str) -> None:
        with self.dialog_flow():
            outcome = await export_report(self, TEST_REPORT, run_id)
        if outcome is not None:
            self.set_line("#tests-message", outcome.text, "$text-success" if outcome.ok else "$text-error")
