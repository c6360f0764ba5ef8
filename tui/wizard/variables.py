"""The variables step: a form of the zone variables in the field catalog.

Only variables the operator changed are written, so a zone keeps exactly the
variables it was given. A flat zone gets them at the top of `variables`. A
grouped zone (common, base, advanced) shows its merged values with the group
each came from, and its edits go into `advanced`.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from engine.config.merge import DEFAULTS_SOURCE
from tui.i18n import N_, _
from tui.wizard.checks import check_variable, split_pools
from tui.wizard.fields import CHOICE, POOLS, VARIABLE_FIELDS, FIELDS_BY_NAME
from tui.wizard.issues import variable_paths
from tui.wizard.state import WizardState
from tui.wizard.widgets import FieldRow, FormScroll, WizardSection, issue_lines, plain

SOURCE_WORDS = {
    "variables": N_("set"),
    "variables.common": N_("from common"),
    "variables.base": N_("from base"),
    "variables.advanced": N_("from advanced"),
}


def show_value(value: Any) -> str:
    """Return a variable's value as the form shows it; lists of pools are joined with commas."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def read_value(name: str, text: str) -> Any:
    """Return what the form writes for a field's text; None unsets the variable."""
    if text.strip() == "":
        return None
    if FIELDS_BY_NAME[name].kind == POOLS:
        return split_pools(text)
    return text


class VariablesSection(WizardSection):
    """The zone variables form; enter writes the form into the wizard, escape restores it."""

    SECTION = "variables"
    TITLE = N_("Variables")

    BINDINGS = [Binding("escape", "discard", N_("Discard"))]

    DEFAULT_CSS = """
    VariablesSection #variables-note {
        height: auto;
        color: $text-warning;
    }
    VariablesSection #variables-form {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.initial: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="variables-note")
        with FormScroll(id="variables-form"):
            for field in VARIABLE_FIELDS:
                suggester = SuggestFromList(field.choices) if field.kind == CHOICE else None
                yield FieldRow(field.name, field.name, _(field.help), input_id=f"var-{field.name}",
                               suggester=suggester)

    def row(self, name: str) -> FieldRow:
        return self.query_one(f"#row-var-{name}", FieldRow)

    def reload(self) -> None:
        zone_id = self.zone_id
        self.initial = {}
        self.disabled = zone_id is None
        if zone_id is None:
            self.query_one("#variables-note", Static).update(_("No zone yet: add one in the Zones step (F8)."))
            for field in VARIABLE_FIELDS:
                self.row(field.name).set_value("")
            return

        wizard = self.host.wizard
        merged = wizard.merged_variables(zone_id)
        if wizard.is_grouped(zone_id):
            note = _("Zone {zone_id} has grouped variables (common, base, advanced). Values are shown merged; "
                     "your changes are written into advanced.").format(zone_id=zone_id)
        else:
            note = _("Zone {zone_id}: only the variables you fill in are written; empty ones take the default. "
                     "Enter saves, escape restores.").format(zone_id=zone_id)
        self.query_one("#variables-note", Static).update(plain(note))

        for field in VARIABLE_FIELDS:
            source = merged.sources.get(field.name, DEFAULTS_SOURCE)
            text = "" if source == DEFAULTS_SOURCE else show_value(merged.values.get(field.name))
            self.initial[field.name] = text

            row = self.row(field.name)
            row.set_value(text)
            default = field.default(zone_id)
            row.input.placeholder = default or ""
            default_text = (_("default {value}").format(value=default) if default is not None
                            else _("no default"))
            word = SOURCE_WORDS.get(source)
            row.set_note(_("{source}, {default}").format(source=_(word), default=default_text) if word
                         else default_text)
        self.show_issues()

    def has_draft(self) -> bool:
        return any(self.row(name).value != text for name, text in self.initial.items())

    def changes(self) -> dict[str, Any]:
        return {name: read_value(name, self.row(name).value)
                for name, text in self.initial.items() if self.row(name).value != text}

    def apply_draft(self, state: WizardState) -> None:
        if self.zone_id is None or self.zone_id not in state.config:
            return
        changes = self.changes()
        if changes:
            state.set_variables(self.zone_id, changes)

    def show_issues(self) -> None:
        zone_id = self.zone_id
        for field in VARIABLE_FIELDS:
            row = self.row(field.name)
            messages = []
            inline = check_variable(field, row.value, zone_id) if zone_id else None
            if inline:
                messages.append(inline)
            if zone_id:
                messages += issue_lines(self.host.issues.at(zone_id, *variable_paths(field.name)))
            row.set_messages(messages)

    def focus_first(self) -> None:
        self.row(VARIABLE_FIELDS[0].name).input.focus()

    @on(Input.Changed)
    def field_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.show_issues()
        self.post_message(self.DraftChanged())

    @on(Input.Submitted)
    def field_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.CommitRequested())
        self.screen.focus_next()

    def action_discard(self) -> None:
        self.reload()
        self.post_message(self.DraftChanged())
