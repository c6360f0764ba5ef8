"""The review step: per zone the files ConfigQingCloud would write, their diff, then the configuration job."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable, Log, Static

from tui.i18n import N_, _
from tui.screens.base import table_cell
from tui.screens.job_watch import JobWatch, is_finished
from tui.widgets.job_log import JobLog
from tui.widgets.step_list import state_style, state_word
from tui.wizard.widgets import WizardSection, plain


def review_lines(response: dict[str, Any]) -> list[str]:
    """Return the rendered files and diffs of a valid ValidateQingCloudConfig response as plain lines."""
    lines: list[str] = []
    files = response.get("files") or {}
    diffs = response.get("diff") or {}

    for zone_id in sorted(set(files) | set(diffs)):
        for name, text in (files.get(zone_id) or {}).items():
            lines.append(_("=== zone {zone_id}: {name} ===").format(zone_id=zone_id, name=name))
            lines.extend(str(text).splitlines())
            lines.append("")
        diff = str(diffs.get(zone_id) or "")
        lines.append(_("=== zone {zone_id}: changes against the applied configuration ===").format(zone_id=zone_id))
        lines.extend(diff.splitlines() if diff else [_("(no changes)")])
        lines.append("")
    return lines


class ReviewSection(WizardSection):
    """The zones as the engine counts them, the rendered files and the apply job's progress."""

    SECTION = "review"
    TITLE = N_("Review")

    DEFAULT_CSS = """
    ReviewSection #review-files {
        height: 1fr;
        min-height: 3;
        border-top: solid $panel;
        scrollbar-size-vertical: 1;
    }
    ReviewSection #review-files:focus {
        border-top: solid $primary;
    }
    ReviewSection #review-note {
        height: auto;
        color: $text-muted;
    }
    """

    def compose(self) -> ComposeResult:
        yield DataTable(id="config-zones", cursor_type="row", show_cursor=False)
        yield Static("", id="review-note")
        yield Log(id="review-files", max_lines=20000, auto_scroll=False)
        yield Static("", id="apply-result")
        yield JobLog(title=_("Log"), id="config-log", max_lines=5000)

    def on_mount(self) -> None:
        zones = self.query_one("#config-zones", DataTable)
        zones.add_column(_("Zone"), key="zone")
        zones.add_column(_("Mode"), key="deploy_mode")
        zones.add_column(_("KS"), key="ks")
        zones.add_column(_("VG"), key="vg")
        zones.add_column(_("Hyper"), key="hyper")
        zones.add_column(_("Role nodes"), key="role")
        self.query_one("#config-log", JobLog).display = False
        self.query_one("#review-note", Static).update(_("Nothing validated yet."))

    def show_validation(self, response: dict[str, Any]) -> None:
        """Show a ValidateQingCloudConfig response: the zone counts, and the files when it is valid."""
        zones = self.query_one("#config-zones", DataTable)
        zones.clear()
        for zone_id, zone in (response.get("zones") or {}).items():
            cells = (zone_id, zone.get("deploy_mode"), zone.get("ks_node_num", 0), zone.get("vg_node_num", 0),
                     zone.get("hyper_node_num", 0), zone.get("role_node_num", 0))
            zones.add_row(*(table_cell(cell) for cell in cells), key=zone_id)

        files = self.query_one("#review-files", Log)
        files.clear()
        note = self.query_one("#review-note", Static)
        if not response.get("valid"):
            note.update(_("The files are rendered once the configuration is valid; the issues are listed below."))
            return
        lines = review_lines(response)
        if lines:
            note.update(_("Files ConfigQingCloud writes, then the changes against the applied configuration:"))
            files.write_lines(lines)
            files.scroll_home(animate=False)
        else:
            note.update(_("Valid; this engine returned no rendered files to show."))

    def show_job(self) -> JobLog:
        """Make room for the configuration job's log and return it."""
        self.query_one("#review-files", Log).display = False
        self.query_one("#review-note", Static).display = False
        job_log = self.query_one("#config-log", JobLog)
        job_log.reset()
        job_log.display = True
        return job_log

    def show_files(self) -> None:
        """Show the files again after a job, when the configuration changed since."""
        self.query_one("#review-files", Log).display = True
        self.query_one("#review-note", Static).display = True
        self.query_one("#config-log", JobLog).display = False

    def set_apply_result(self, text: str, style: str = "") -> None:
        self.query_one("#apply-result", Static).update(plain(text, style))

    def focus_first(self) -> None:
        self.query_one("#review-files", Log).focus()

    async def follow_job(self, watch: JobWatch, poll_interval: float) -> dict[str, Any] | None:
        """Show the job's status and log until it ends; return its last status, or None if it was lost."""
        job_log = self.query_one("#config-log", JobLog)

        while True:
            status = await watch.read_status()
            lines = await watch.read_new_lines()
            if status is None or lines is None:
                self.set_apply_result(_("Lost track of job {job_id}.").format(job_id=watch.job_id), "$text-error")
                return None

            job_log.queue_lines(lines)
            self.show_job_status(watch.job_id, status)
            if is_finished(status):
                return status
            await asyncio.sleep(poll_interval)

    def show_job_status(self, job_id: str, status: dict[str, Any]) -> None:
        job_status = str(status.get("status", ""))

        if job_status == "successful":
            self.set_apply_result(_("Configuration applied (job {job_id}). Press F5 to deploy.").format(
                job_id=job_id), "$text-success")
        elif job_status == "failed":
            self.set_apply_result(_("Job {job_id} failed; its log is below.").format(job_id=job_id), "$text-error")
        else:
            running = [step for step in status.get("steps") or [] if step.get("state") == "running"]
            step = running[0].get("name") if running else job_status
            self.set_apply_result(_("Job {job_id}: {step} {state}").format(
                job_id=job_id, step=step, state=state_word("running")), state_style("running"))
