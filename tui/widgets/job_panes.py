"""Live panes of one engine job: its nodes' states, its steps, the outcome and the log.

The scale-out, new zone, upgrade and components screens follow their jobs with
these panes, as the deploy screen does with its own: `JobPanes.follow` polls
GetStatus and tails GetLog through a `JobWatch` until the job ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Label, Static

from tui.i18n import _
from tui.screens.job_watch import CallApi, JobWatch, failed_step, is_finished
from tui.widgets.job_log import JobLog
from tui.widgets.step_list import StepList, state_style, state_word, step_title

# Lines of the failed step's log shown under a failure.
FAILED_STEP_TAIL = 10

# Cells of the hostname column in the nodes pane.
HOSTNAME_WIDTH = 13


def node_state(progress: dict[str, Any], running_status: str | None) -> str:
    """Return a node's state to show while the job is in `running_status` (a step such as "step2").

    A node's entry keeps the state of the last step it took part in, so a node
    that the running step has not reached yet is pending in that step.
    """
    state = str(progress.get("state", ""))
    if running_status is not None and progress.get("step") not in (None, "", running_status):
        return "pending"
    return state


def failed_hostnames(status: dict[str, Any]) -> list[str]:
    """Return the hostnames (or node ids) of the nodes a job's status reports as failed."""
    return [str(progress.get("hostname") or node_id)
            for node_id, progress in (status.get("nodes") or {}).items()
            if progress.get("state") == "failed"]


async def newest_unfinished_job(call_api: CallApi, job_action: str) -> dict[str, Any] | None:
    """Return GetStatus of the newest job of `job_action` while it still runs, else None.

    A screen that is opened again, or refreshed, picks up a job it started before.
    """
    response = await call_api("GetStatus", {"job_action": job_action}, show_error=False)
    if response is None or response.get("ret_code") != 0 or not response.get("job_id"):
        return None
    if is_finished(response):
        return None
    return response


class JobPanes(Vertical):
    """The nodes and steps of a job side by side, its outcome below them, then its log."""

    DEFAULT_CSS = """
    JobPanes {
        height: 1fr;
    }
    JobPanes #job-top {
        height: 7;
    }
    JobPanes #job-nodes-panel {
        width: 28;
    }
    JobPanes #job-nodes {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    JobPanes #job-steps-panel {
        width: 1fr;
        padding-left: 1;
        border-left: vkey $panel;
    }
    JobPanes #job-line {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    JobPanes #job-outcome {
        display: none;
        height: auto;
        max-height: 8;
        padding: 0 1;
        border-left: thick $panel;
        scrollbar-size-vertical: 1;
    }
    JobPanes #job-outcome.-shown {
        display: block;
    }
    JobPanes #job-outcome.-success {
        border-left: thick $success;
    }
    JobPanes #job-outcome.-warning {
        border-left: thick $warning;
    }
    JobPanes #job-outcome.-error {
        border-left: thick $error;
    }
    JobPanes #job-log {
        min-height: 3;
    }
    App.-console JobPanes #job-steps-panel, App.-console JobPanes #job-outcome {
        border-left: ascii $border-blurred;
    }
    App.-console JobPanes #job-outcome.-success {
        border-left: ascii $success;
    }
    App.-console JobPanes #job-outcome.-warning {
        border-left: ascii $warning;
    }
    App.-console JobPanes #job-outcome.-error {
        border-left: ascii $error;
    }
    """

    # Unscoped, so that the console rules can name the app's `-console` class, which the app sets
    # on a terminal whose font lacks the eighth blocks of the vkey and thick borders.
    # Every selector names JobPanes itself.
    SCOPED_CSS = False

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.last_line = ""
        """The newest log line of the followed job: a failed job's last line is the engine's reason."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="job-top"):
            with Vertical(id="job-nodes-panel"):
                yield Label(_("Nodes"), classes="section-title")
                with VerticalScroll(id="job-nodes"):
                    yield Static("", id="job-nodes-text")
            with Vertical(id="job-steps-panel"):
                yield Label(_("Steps"), classes="section-title")
                yield Static(_("No job yet."), id="job-line")
                yield StepList(id="job-steps")
        with VerticalScroll(id="job-outcome"):
            yield Static("", id="job-outcome-text")
        yield JobLog(title=_("Log"), id="job-log", max_lines=5000)

    @property
    def job_log(self) -> JobLog:
        return self.query_one("#job-log", JobLog)

    async def follow(self, watch: JobWatch, poll_interval: float) -> dict[str, Any] | None:
        """Show the job's status and log until it ends; return its last status, or None when it was lost.

        A lost job (a failed GetStatus or GetLog) is reported in the outcome pane;
        the call's own error is in the screen's error panel already.
        """
        self.job_log.queue_lines([_("--- {action} job {job_id} ---").format(
            action=watch.job_action, job_id=watch.job_id)])
        self.hide_outcome()

        while True:
            status = await watch.read_status()
            lines = await watch.read_new_lines()
            if status is None or lines is None:
                self.show_outcome([_("Lost track of job {job_id}. Press ctrl+r to look again.").format(
                    job_id=watch.job_id)], "-error")
                return None

            self.queue_lines(lines)
            self.show_status(watch.job_id, status)
            if is_finished(status):
                return status
            await asyncio.sleep(poll_interval)

    def queue_lines(self, lines: Iterable[str]) -> None:
        lines = list(lines)
        if lines:
            self.last_line = lines[-1]
        self.job_log.queue_lines(lines)

    def show_status(self, job_id: str, status: dict[str, Any]) -> None:
        steps = status.get("steps") or []
        self.query_one("#job-steps", StepList).show_steps(steps)

        job_status = str(status.get("status", ""))
        current = next((step for step in steps if step.get("status") == job_status), None)
        if current is not None:
            text = _("Job {job_id}: step {position} of {count}, {title}").format(
                job_id=job_id, position=steps.index(current) + 1, count=len(steps),
                title=step_title(str(current.get("name"))))
        else:
            text = _("Job {job_id}: {status}").format(job_id=job_id, status=state_word(job_status))
        self.query_one("#job-line", Static).update(Content(text))

        running_status = job_status if current is not None else None
        lines = []
        for node_id, progress in (status.get("nodes") or {}).items():
            hostname = str(progress.get("hostname") or node_id)
            state = node_state(progress, running_status)
            padding = " " * max(1, HOSTNAME_WIDTH - cell_len(hostname))
            lines.append(Content.assemble(hostname, padding, (state_word(state), state_style(state))))
        self.query_one("#job-nodes-text", Static).update(Content("\n").join(lines))

    async def describe_failure(self, watch: JobWatch, status: dict[str, Any]) -> tuple[list[str], list[str]]:
        """Return the lines that name a failed job's step and nodes, and the last lines of that step's log."""
        step = failed_step(status)
        if step is None:
            return [_("{action} job {job_id} failed.").format(action=watch.job_action, job_id=watch.job_id)], []

        name = str(step.get("name", ""))
        hostnames = failed_hostnames(status)
        summary = [_("Step {title} ({name}) failed on: {nodes}.").format(
            title=step_title(name), name=name, nodes=", ".join(hostnames) or "-")]
        tail = await watch.read_step_tail(str(step.get("status")), FAILED_STEP_TAIL, hostnames)
        return summary, tail

    def show_outcome(self, lines: list[str], kind: str) -> None:
        outcome = self.query_one("#job-outcome")
        outcome.set_classes(f"-shown {kind}")
        self.query_one("#job-outcome-text", Static).update(Content("\n".join(lines)))
        outcome.scroll_home(animate=False)

    def hide_outcome(self) -> None:
        self.query_one("#job-outcome").set_classes("")

    @property
    def outcome_text(self) -> str:
        """The outcome pane's text, or "" while it is hidden."""
        if not self.query_one("#job-outcome").has_class("-shown"):
            return ""
        return str(self.query_one("#job-outcome-text", Static).render())

    def reset(self) -> None:
        """Forget the previous job: its steps, nodes, outcome and log."""
        self.last_line = ""
        self.query_one("#job-steps", StepList).show_steps([])
        self.query_one("#job-line", Static).update(_("No job yet."))
        self.query_one("#job-nodes-text", Static).update("")
        self.hide_outcome()
        self.job_log.reset()
