"""Writing the report of the shown test run or check from the TUI: collect it, ask where, write it.

The report is the one `qc-installer report` writes: `engine.reports` collects
it through the API and renders it, and the file is replaced in one rename.
`export_report` runs the whole exchange with the operator from a screen's
worker and returns the message for the screen to show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from engine.reports import FORMATS, render_report, report_file_name
from engine.reports.collect import ReportError, collect_check_report, collect_test_report
from engine.reports.files import write_report_file
from engine.reports.model import CheckReport, TestReport
from tui.i18n import N_, _
from tui.wizard.dialogs import ConfirmDialog, WizardDialog
from tui.wizard.widgets import plain

log = logging.getLogger(__name__)

FORMAT_LABELS = {
    "md": N_("Markdown, for a ticket or a wiki page"),
    "json": N_("JSON, for other tools"),
    "junit": N_("JUnit XML, for a CI server"),
    "html": N_("HTML, one file to open in a browser"),
}

#: Kinds of report: a test run (TestQingCloud job) or a check (CheckQingCloud job).
TEST = "test"
CHECK = "check"


class ScreenClient:
    """A client for the report collector that sends each call through a screen's retrying sender.

    While the engine cannot be reached, calls are repeated and the connection
    banner shows, as for the screen's own calls.
    """

    def __init__(self, screen: Any) -> None:
        self.screen = screen
        self.description = screen.client.description

    async def call(self, action: str, params: dict[str, Any] | None = None,
                   request_type: str = "QingCloud") -> dict[str, Any]:
        return await self.screen.send_until_connected(action, params, request_type)


def default_report_path(report: TestReport | CheckReport, report_format: str, directory: Path | None = None) -> str:
    """Return the suggested file: the report's usual name in `directory`, the working directory by default."""
    return str((directory or Path.cwd()) / report_file_name(report, report_format))


def path_problem(path_text: str) -> str | None:
    """Return why a report cannot be written to the path, or None when it can be tried."""
    if not path_text.strip():
        return _("Enter the path of the file to write.")
    path = Path(path_text.strip()).expanduser()
    if path.is_dir():
        return _("{path} is a directory; add a file name.").format(path=path)
    if not path.parent.is_dir():
        return _("The directory {directory} does not exist.").format(directory=path.parent)
    return None


class ExportReportDialog(WizardDialog[tuple[str, str]]):
    """Choose the format and the file; returns (format, path text), or None when cancelled."""

    HELP_TITLE = N_("Export a report")
    HELP = N_("Up and down choose the format, and the suggested file name follows it. Tab moves to the file: "
              "a relative path starts in the directory the installer was started from. Enter writes the "
              "report, asking first when the file exists; Esc closes the dialog without writing.")

    DEFAULT_CSS = """
    ExportReportDialog #export-format {
        height: 4;
    }
    ExportReportDialog #export-state {
        height: auto;
        max-height: 3;
    }
    """

    def __init__(self, report: TestReport | CheckReport, directory: Path | None = None) -> None:
        super().__init__()
        self.report = report
        self.directory = directory
        self.report_format = FORMATS[0]

    def compose_body(self) -> ComposeResult:
        if isinstance(self.report, TestReport):
            title = _("Export the report of test run {job_id}").format(job_id=self.report.run_id)
        else:
            title = _("Export the report of check {job_id}").format(job_id=self.report.job_id)
        yield Label(plain(title), classes="dialog-title")
        yield Label(_("Format (up and down):"))
        options = [Option(f"{name:<6}{_(FORMAT_LABELS[name])}", id=name) for name in FORMATS]
        yield OptionList(*options, id="export-format", markup=False, compact=True)
        yield Label(_("File (tab moves here):"))
        yield Input(value=default_report_path(self.report, self.report_format, self.directory),
                    compact=True, id="export-path")
        yield Static("", id="export-state", classes="dialog-note")

    def on_mount(self) -> None:
        formats = self.query_one("#export-format", OptionList)
        formats.highlighted = 0
        formats.focus()
        self.show_path_state(self.query_one("#export-path", Input).value)

    @on(OptionList.OptionHighlighted, "#export-format")
    def format_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        new_format = event.option.id or FORMATS[0]
        path_input = self.query_one("#export-path", Input)
        # A suggested name follows the format; a path the operator typed stays as it is.
        if path_input.value == default_report_path(self.report, self.report_format, self.directory):
            path_input.value = default_report_path(self.report, new_format, self.directory)
        self.report_format = new_format

    @on(Input.Changed, "#export-path")
    def path_changed(self, event: Input.Changed) -> None:
        self.show_path_state(event.value)

    def show_path_state(self, path_text: str) -> None:
        problem = path_problem(path_text)
        if problem is not None:
            self.query_one("#export-state", Static).update(plain(problem, "$text-error"))
            return
        path = Path(path_text.strip()).expanduser()
        if path.exists():
            text = _("{path} exists; you are asked before it is replaced.").format(path=path)
        else:
            text = _("{path} is created.").format(path=path)
        self.query_one("#export-state", Static).update(plain(text))

    def action_confirm(self) -> None:
        path_text = self.query_one("#export-path", Input).value.strip()
        if path_problem(path_text) is None:
            self.dismiss((self.report_format, path_text))


@dataclass(frozen=True)
class ExportOutcome:
    """Outcome of an export, for the screen's message line."""

    text: str
    ok: bool


async def collect(screen: Any, kind: str, job_id: str) -> TestReport | CheckReport:
    """Collect the report of a test run or a check through the screen's connection."""
    client = ScreenClient(screen)
    if kind == TEST:
        return await collect_test_report(client, job_id)
    return await collect_check_report(client, job_id)


def write(report: TestReport | CheckReport, report_format: str, path_text: str) -> Path:
    """Render the report and replace the file with it in one rename; return the absolute path."""
    return write_report_file(Path(path_text).expanduser(), render_report(report, report_format))


async def export_report(screen: Any, kind: str, job_id: str, directory: Path | None = None) -> ExportOutcome | None:
    """Collect the report, ask for the format and file, ask before replacing a file, and write it.

    Must run in a worker of `screen`, because it waits for the operator's
    dialogs. Returns None when the operator cancelled.
    """
    try:
        report = await collect(screen, kind, job_id)
    except ReportError as error:
        log.warning("report of %s %s not collected: %s", kind, job_id, error)
        return ExportOutcome(_("The report was not written: {error}").format(error=error), False)
    except httpx.HTTPError as error:
        log.warning("report of %s %s not collected: %s", kind, job_id, error)
        return ExportOutcome(_("The report was not written: {error}").format(error=error), False)

    choice = await screen.app.push_screen_wait(ExportReportDialog(report, directory))
    if not choice:
        return None
    report_format, path_text = choice

    path = Path(path_text).expanduser()
    if path.exists():
        replace = await screen.app.push_screen_wait(ConfirmDialog(
            _("Replace {path}?").format(path=path),
            _("The file exists. The new report replaces it as a whole.")))
        if not replace:
            return None

    try:
        written = write(report, report_format, path_text)
    except OSError as error:
        log.warning("report of %s %s not written to %s: %s", kind, job_id, path, error)
        return ExportOutcome(_("The report was not written to {path}: {error}").format(
            path=path, error=error.strerror or error), False)

    log.info("report of %s %s written to %s as %s", kind, job_id, written, report_format)
    return ExportOutcome(_("Report written to {path} ({format}).").format(path=written, format=report_format), True)
