"""The configuration screen: the wizard that builds ConfigQingCloud's `config`, validates it, applies it.

Steps, moved through with F8 and F9: the file to start from, the zones,
each zone's variables, roles, VBC and EIP, and the review of the rendered
files before F7 applies. The screen owns the WizardState; every step edits
it, and ValidateQingCloudConfig checks it after each change.
"""

from __future__ import annotations

import copy
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import ContentSwitcher, DataTable, Footer, Input, Static

from engine.answers import AnswersError
from tui.i18n import N_, _
from tui.screens.base import InstallerScreen, is_ok, table_cell
from tui.screens.config_source import ConfigFileError
from tui.screens.job_watch import JobWatch
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.platform_line import PlatformLine
from tui.wizard.dialogs import ExportDialog
from tui.wizard.eip import EipSection
from tui.wizard.files import (
    ANSWERS_FORMAT,
    build_answers,
    default_answers_path,
    read_wizard_file,
    take_answers,
    write_answers,
)
from tui.wizard.issues import IssueIndex
from tui.wizard.review import ReviewSection
from tui.wizard.roles import RolesSection
from tui.wizard.start import StartSection
from tui.wizard.state import WizardState
from tui.wizard.variables import VariablesSection
from tui.wizard.vbc import VbcSection
from tui.wizard.widgets import StepBar, WizardSection, plain
from tui.wizard.zones import ZonesSection

SEVERITY_WORDS = {"error": N_("error"), "warning": N_("warning")}

SECTIONS: tuple[type[WizardSection], ...] = (
    StartSection, ZonesSection, VariablesSection, RolesSection, VbcSection, EipSection, ReviewSection,
)

#: Steps whose footer offers F7; elsewhere the status line points to the review step.
APPLY_STEPS = ("start", "review")


class ConfigurationScreen(InstallerScreen):
    """The configuration wizard; see the module docstring."""

    HELP = N_(
        "The configuration wizard: it builds the zones' configuration step by step, checks it after "
        "every change and applies it with ConfigQingCloud.\n"
        "\n"
        "1. Start: F6 reads the configuration or answers file named in the File field; F9 starts from"
        " scratch.\n"
        "2. Zones, Variables, Roles, VBC and EIP: F9 and F8 move forward and back; the problems found"
        " are listed under the form.\n"
        "3. Review: the files the configuration writes and what changes in them; F7 applies it, ^O "
        "exports an answers file.\n"
        "4. Nothing reaches the nodes before F7; deploying (F5) comes after."
    )

    BINDINGS = [
        Binding("f6", "load", N_("Load file")),
        Binding("f7", "apply", N_("Apply")),
        Binding("f8", "previous_step", N_("Back")),
        Binding("f9", "next_step", N_("Next")),
        Binding("ctrl+o", "export", N_("Export")),
    ]

    DEFAULT_CSS = """
    ConfigurationScreen #wizard-body {
        height: 1fr;
        padding: 0 1;
    }
    ConfigurationScreen #load-result {
        height: auto;
        max-height: 2;
        padding: 0 1;
    }
    ConfigurationScreen #issues-panel {
        height: 3;
        padding: 0 1;
    }
    ConfigurationScreen #issues {
        scrollbar-size-horizontal: 0;
        scrollbar-size-vertical: 1;
    }
    ConfigurationScreen #issue-detail {
        padding: 0 1;
        color: $text-muted;
    }
    ConfigurationScreen #load-result.-empty, ConfigurationScreen #issues-panel.-empty,
    ConfigurationScreen #issue-detail.-empty {
        display: none;
    }
    """

    #: Seconds of quiet after an edit before the whole state is validated.
    VALIDATE_DELAY = 0.3

    def __init__(self) -> None:
        super().__init__()
        self.wizard = WizardState()
        self.inventory: list[dict[str, Any]] = []
        self.zone_id: str | None = None
        self.issues = IssueIndex()
        self.issue_rows: list[dict[str, Any]] = []
        self.valid = False
        #: The configuration the shown issues belong to, to tell whether F7 may apply the state as it is.
        self.validated_config: dict[str, Any] | None = None
        self.validation_counts = (0, 0)
        self.validation_number = 0
        #: Steps to rebuild from the state when they are shown next.
        self.stale_sections: set[str] = set()
        self.step = 0
        self.job_running = False
        self.answers_path = ""
        self._validate_timer: Timer | None = None
        #: True from an edit until its debounced validation starts.
        self.validation_pending = False

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        yield StepBar(id="wizard-steps")
        yield Static("", id="load-result", classes="-empty")
        with ContentSwitcher(initial=f"section-{SECTIONS[0].SECTION}", id="wizard-body"):
            for section in SECTIONS:
                yield section(id=f"section-{section.SECTION}")
        with Vertical(id="issues-panel", classes="-empty"):
            yield DataTable(id="issues", cursor_type="row", zebra_stripes=True, show_header=False)
        yield Static("", id="issue-detail", classes="-empty")
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        issues = self.query_one("#issues", DataTable)
        issues.add_column(_("Severity"), key="severity")
        issues.add_column(_("Path"), key="path")
        issues.add_column(_("Message"), key="message")

        path_input = self.query_one("#config-path", Input)
        path_input.value = self.offered_config_path()
        self.reload_sections()
        self.show_step()
        path_input.focus()

    def on_screen_resume(self) -> None:
        # Nodes registered on the nodes screen meanwhile become choices of the roles step.
        self.load_inventory()

    def offered_config_path(self) -> str:
        """Return the file the Start step offers: the app's configuration file, if it has one."""
        return getattr(self.app, "config_path", "")

    def configuration_applied(self, config: dict[str, Any], job_id: str) -> None:
        """Go on once ConfigQingCloud applied `config` in job `job_id`; the review step shows that already."""

    # The steps.

    @property
    def sections(self) -> list[WizardSection]:
        return [self.query_one(f"#section-{section.SECTION}", WizardSection) for section in SECTIONS]

    @property
    def current_section(self) -> WizardSection:
        return self.sections[self.step]

    def section(self, section_type: type[WizardSection]) -> Any:
        return self.query_one(f"#section-{section_type.SECTION}", section_type)

    def show_step(self) -> None:
        section = self.current_section
        if section.SECTION in self.stale_sections and not section.has_draft():
            self.stale_sections.discard(section.SECTION)
            section.reload()
        self.query_one(ContentSwitcher).current = f"section-{section.SECTION}"
        self.query_one(StepBar).show_steps([_(section.TITLE) for section in SECTIONS], self.step, self.zone_id)
        self.show_status()
        self.refresh_bindings()

    def go_to_step(self, step: int) -> None:
        self.commit_draft()
        self.step = max(0, min(step, len(SECTIONS) - 1))
        self.show_step()
        self.current_section.focus_first()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides a key; None shows it dimmed, so the operator sees the step it belongs to.
        section = SECTIONS[self.step].SECTION
        if action == "load":
            if section != "start":
                return False
            return True if not self.job_running else None
        if action == "apply":
            if section not in APPLY_STEPS:
                return False
            return True if (self.valid and not self.job_running) else None
        if action == "previous_step":
            return self.step > 0
        if action == "next_step":
            return self.step < len(SECTIONS) - 1
        if action == "export":
            if section != "review":
                return False
            return True if (self.wizard.config and not self.job_running) else None
        return True

    def action_previous_step(self) -> None:
        self.go_to_step(self.step - 1)

    def action_next_step(self) -> None:
        self.go_to_step(self.step + 1)

    # Changes of the state.

    def reload_sections(self) -> None:
        """Show the state in the current step, unless its draft is not written yet; the others on return.

        Rebuilding hidden steps at once would cost a relayout per step on every commit.
        """
        current = self.current_section
        self.stale_sections.update(section.SECTION for section in SECTIONS if section.SECTION != current.SECTION)
        if not current.has_draft():
            current.reload()

    def commit_draft(self) -> None:
        section = self.current_section
        if section.has_draft():
            section.apply_draft(self.wizard)
            section.reload()
            self.state_changed()

    def state_changed(self) -> None:
        self.reload_sections()
        if not self.job_running:
            self.section(ReviewSection).show_files()
        self.query_one(StepBar).show_steps([_(section.TITLE) for section in SECTIONS], self.step, self.zone_id)
        self.refresh_bindings()
        self.validate_now(self.wizard.config)

    def choose_zone(self, zone_id: str | None) -> None:
        if zone_id == self.zone_id:
            return
        self.commit_draft()
        self.zone_id = zone_id
        self.reload_sections()
        self.show_step()

    @on(WizardSection.DraftChanged)
    def draft_changed(self) -> None:
        self.schedule_validation()

    @on(WizardSection.CommitRequested)
    def commit_requested(self) -> None:
        self.commit_draft()

    @on(WizardSection.Committed)
    def section_committed(self) -> None:
        self.state_changed()

    @on(ZonesSection.ZoneChosen)
    def zone_chosen(self, event: ZonesSection.ZoneChosen) -> None:
        self.choose_zone(event.zone_id)

    # Validation.

    def schedule_validation(self) -> None:
        if self._validate_timer is not None:
            self._validate_timer.stop()
        self._validate_timer = self.set_timer(self.VALIDATE_DELAY, self.validate_preview)
        self.validation_pending = True

    def validate_preview(self) -> None:
        """Validate the state as it would be with the current step's draft written."""
        preview = self.wizard.copy()
        section = self.current_section
        if section.has_draft():
            section.apply_draft(preview)
        self.validate_now(preview.config)

    def validate_now(self, config: dict[str, Any]) -> None:
        if self._validate_timer is not None:
            self._validate_timer.stop()
            self._validate_timer = None
        self.validation_pending = False
        self.validation_number += 1
        self.run_validation(copy.deepcopy(config), self.validation_number)

    @work(exclusive=True, group="validation")
    async def run_validation(self, config: dict[str, Any], number: int) -> None:
        await self.validate(config, number)

    async def validate(self, config: dict[str, Any], number: int) -> bool:
        """Validate `config` and show the result unless a newer validation started; return whether it ran."""
        response = await self.call_api("ValidateQingCloudConfig", {"config": config})
        if number != self.validation_number:
            return False
        if not is_ok(response):
            self.set_result("#load-result", _("Validation could not run; see the error below."), "$text-error")
            return False
        self.show_validation(response, config)
        return True

    def show_validation(self, response: dict[str, Any], config: dict[str, Any]) -> None:
        issues = response.get("issues") or []
        self.validated_config = config
        self.valid = bool(response.get("valid")) and config == self.wizard.config
        self.validation_counts = (sum(1 for issue in issues if issue.get("severity") == "error"),
                                  sum(1 for issue in issues if issue.get("severity") == "warning"))
        self.issues = IssueIndex(issues)
        self.show_issue_table(issues)
        current = self.current_section
        current.show_issues()
        # Hidden steps show the issues when they are shown again, as they reload.
        self.stale_sections.update(section.SECTION for section in SECTIONS if section.SECTION != current.SECTION)
        self.section(ReviewSection).show_validation(response)
        self.show_status()
        self.refresh_bindings()

    def show_status(self) -> None:
        if self.validated_config is None:
            return
        errors, warnings = self.validation_counts
        if self.valid and SECTIONS[self.step].SECTION in APPLY_STEPS:
            self.set_result("#load-result", _("Valid (warnings: {warnings}). Press F7 to apply it.").format(
                warnings=warnings), "$text-success")
        elif self.valid or (errors == 0 and self.validated_config != self.wizard.config):
            self.set_result("#load-result", _("Valid (warnings: {warnings}). Apply it from the Review step.").format(
                warnings=warnings), "$text-success")
        else:
            self.set_result("#load-result", _("Not valid (errors: {errors}, warnings: {warnings}). "
                                              "Fix the issues listed below.").format(errors=errors, warnings=warnings),
                            "$text-error")

    def show_issue_table(self, issues: list[dict[str, Any]]) -> None:
        self.issue_rows = issues
        self.query_one("#issues-panel").set_class(not issues, "-empty")
        table = self.query_one("#issues", DataTable)
        table.clear()
        self.set_result("#issue-detail", "")
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
        if event.row_key.value is None or int(event.row_key.value) >= len(self.issue_rows):
            return
        issue = self.issue_rows[int(event.row_key.value)]
        self.set_result("#issue-detail", "{path}: {message}".format(
            path=issue.get("path") or issue.get("zone") or "-", message=issue.get("message") or ""))

    def set_result(self, widget_id: str, text: str, style: str = "") -> None:
        widget = self.query_one(widget_id, Static)
        widget.update(plain(text, style))
        widget.set_class(not text, "-empty")

    # Nodes.

    @work(exclusive=True, group="inventory")
    async def load_inventory(self) -> None:
        response = await self.call_api("DescribeNodes", {}, "Node")
        if is_ok(response):
            self.inventory = list(response.get("node_set") or [])
            self.reload_sections()

    # Files.

    @on(Input.Submitted, "#config-path")
    def submit_path(self) -> None:
        self.action_load()

    def action_load(self) -> None:
        if self.job_running:
            return
        self.load_file(self.query_one("#config-path", Input).value.strip())

    @work(exclusive=True, group="configuration")
    async def load_file(self, path_text: str) -> None:
        self.error_panel.clear()
        if not path_text:
            self.set_result("#load-result", _("Enter the path of a configuration file (JSON or YAML)."),
                            "$text-warning")
            return

        try:
            loaded = read_wizard_file(path_text)
            zone_ids = self.wizard.copy().fill(loaded.config)
        except ConfigFileError as error:
            self.set_result("#load-result", _("{path}: {problem}").format(path=path_text, problem=error.describe()),
                            "$text-error")
            return
        except ValueError as error:
            self.set_result("#load-result", _("{path}: {problem}").format(path=path_text, problem=str(error)),
                            "$text-error")
            return

        # What the file contains replaces what was entered before, drafts included.
        self.wizard.fill(loaded.config)
        if loaded.answers is not None:
            take_answers(self.wizard, loaded.answers)
            self.answers_path = str(loaded.path)
        file_format = _("answers file") if loaded.format == ANSWERS_FORMAT else loaded.format.upper()
        self.set_result("#load-result", _("Read {path} ({format}); validating...").format(
            path=loaded.path, format=file_format))

        if self.zone_id not in zone_ids:
            self.zone_id = zone_ids[0]
        self.reload_sections()
        self.show_step()
        self.validation_number += 1
        await self.validate(copy.deepcopy(self.wizard.config), self.validation_number)

    def action_export(self) -> None:
        self.commit_draft()
        default = self.answers_path or default_answers_path(self.query_one("#config-path", Input).value)
        self.app.push_screen(ExportDialog(default), self.export_answers)

    def export_answers(self, path_text: str | None) -> None:
        if not path_text:
            return
        answers = build_answers(self.wizard, self.inventory)
        try:
            path = write_answers(path_text, answers)
        except (AnswersError, OSError) as error:
            self.set_result("#load-result", _("The answers were not written: {error}").format(error=error),
                            "$text-error")
            return
        self.answers_path = str(path)
        self.set_result("#load-result", _("Answers written to {path}: {zones} zone(s), {nodes} node(s).").format(
            path=path, zones=len(answers.config), nodes=len(answers.nodes)), "$text-success")

    # Applying.

    def action_apply(self) -> None:
        if not self.valid or self.job_running:
            return
        self.commit_draft()
        # Marked running before the worker starts, so a second key press cannot apply twice.
        self.job_running = True
        self.refresh_bindings()
        self.apply_config(copy.deepcopy(self.wizard.config))

    @work(exclusive=True, group="configuration")
    async def apply_config(self, config: dict[str, Any]) -> None:
        self.error_panel.clear()
        try:
            if config != self.validated_config or not self.valid:
                self.validation_number += 1
                await self.validate(config, self.validation_number)
                if not self.valid:
                    return

            self.step = SECTIONS.index(ReviewSection)
            self.show_step()
            review = self.section(ReviewSection)
            review.show_job().focus()
            response = await self.call_api("ConfigQingCloud", {"config": config})
            if not is_ok(response):
                review.set_apply_result(_("The configuration was not applied."), "$text-error")
                return

            watch = JobWatch(self.call_api, "ConfigQingCloud", response["job_id"])
            status = await review.follow_job(watch, self.app.poll_interval)  # type: ignore[attr-defined]
            if status is not None and status.get("status") == "successful":
                described = await self.call_api("DescribeQingCloud")
                if is_ok(described):
                    self.app.platform = described.get("qingcloud") or {}  # type: ignore[attr-defined]
                self.load_inventory()
                self.configuration_applied(config, watch.job_id)
        finally:
            self.job_running = False
            self.refresh_bindings()
