"""The zones step: the zones in the wizard, the one being worked on, adding and removing zones."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.i18n import N_, _
from tui.wizard.checks import check_zone_id
from tui.wizard.dialogs import ConfirmDialog
from tui.wizard.widgets import ClearableInputs, RemovableList, WizardSection, issue_lines, plain


class ZonesSection(WizardSection):
    """Lists the wizard's zones; the highlighted one is the zone the next steps edit."""

    SECTION = "zones"
    TITLE = N_("Zones")

    DEFAULT_CSS = """
    ZonesSection #zone-list {
        height: 1fr;
        min-height: 3;
    }
    ZonesSection #new-zone-row {
        height: 1;
        margin-top: 1;
    }
    ZonesSection #new-zone-row Label {
        width: auto;
        padding-right: 1;
    }
    ZonesSection #new-zone {
        width: 20;
    }
    ZonesSection #new-zone-message {
        color: $text-error;
    }
    ZonesSection .section-help {
        color: $text-muted;
    }
    """

    class ZoneChosen(Message):
        def __init__(self, zone_id: str | None) -> None:
            super().__init__()
            self.zone_id = zone_id

    def compose(self) -> ComposeResult:
        yield Label(_("Zones in the wizard (up and down choose the zone the next steps edit):"))
        yield RemovableList(id="zone-list")
        with ClearableInputs(id="new-zone-row"):
            yield Label(_("Add a zone, id:"))
            field = Input(placeholder="pek3b", compact=True, id="new-zone")
            field.cursor_blink = False
            yield field
        yield Static("", id="new-zone-message")
        yield Static(_("Enter adds the zone; ctrl+d removes the highlighted zone after you confirm."),
                     classes="section-help")

    def reload(self) -> None:
        wizard = self.host.wizard
        zone_list = self.query_one("#zone-list", RemovableList)
        zone_list.clear_options()
        for zone_id in wizard.zone_ids:
            zone_list.add_option(Option(self.describe_zone(zone_id), id=zone_id))
        if self.zone_id in wizard.zone_ids:
            with zone_list.prevent(OptionList.OptionHighlighted):
                zone_list.highlighted = wizard.zone_ids.index(self.zone_id)

    def describe_zone(self, zone_id: str) -> str:
        wizard = self.host.wizard
        merged = wizard.merged_variables(zone_id).values
        layout = _("grouped variables") if wizard.is_grouped(zone_id) else _("flat variables")
        errors = sum(1 for issue in self.host.issues.of_zone(zone_id) if issue.severity == "error")
        return _("{zone_id}  mode {mode}  {count} node(s) with a role  {layout}  errors: {errors}").format(
            zone_id=zone_id, mode=merged.get("deploy_mode") or "-", count=len(wizard.roles(zone_id)),
            layout=layout, errors=errors)

    def show_issues(self) -> None:
        zone_list = self.query_one("#zone-list", RemovableList)
        for zone_id in self.host.wizard.zone_ids:
            if zone_list.get_option(zone_id) is not None:
                zone_list.replace_option_prompt(zone_id, self.describe_zone(zone_id))
        zone_issues = [issue for issue in self.host.issues.of_zone(self.zone_id or "") if issue.path == ""]
        self.query_one("#new-zone-message", Static).update(plain("\n".join(issue_lines(zone_issues))))

    def focus_first(self) -> None:
        zone_list = self.query_one("#zone-list", RemovableList)
        (zone_list if zone_list.option_count else self.query_one("#new-zone", Input)).focus()

    @on(OptionList.OptionHighlighted, "#zone-list")
    def zone_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.post_message(self.ZoneChosen(event.option.id))

    @on(Input.Changed, "#new-zone")
    def new_zone_changed(self, event: Input.Changed) -> None:
        message = check_zone_id(event.value, self.host.wizard.zone_ids) if event.value else None
        self.query_one("#new-zone-message", Static).update(plain(message or ""))

    @on(Input.Submitted, "#new-zone")
    def add_zone(self, event: Input.Submitted) -> None:
        zone_id = event.value.strip()
        message = check_zone_id(zone_id, self.host.wizard.zone_ids)
        if message is not None:
            self.query_one("#new-zone-message", Static).update(plain(message))
            return

        self.host.wizard.add_zone(zone_id)
        event.input.value = ""
        self.post_message(self.ZoneChosen(zone_id))
        self.post_message(self.Committed())

    @on(RemovableList.RemoveRequested, "#zone-list")
    def remove_zone(self, event: RemovableList.RemoveRequested) -> None:
        option = event.option_list.get_option_at_index(event.index)
        zone_id = option.id
        if zone_id is None:
            return

        def removal_confirmed(confirmed: bool | None) -> None:
            if not confirmed or zone_id not in self.host.wizard.zone_ids:
                return
            self.host.wizard.remove_zone(zone_id)
            remaining = self.host.wizard.zone_ids
            self.post_message(self.ZoneChosen(remaining[min(event.index, len(remaining) - 1)] if remaining else None))
            self.post_message(self.Committed())

        self.app.push_screen(ConfirmDialog(
            _("Remove zone {zone_id}?").format(zone_id=zone_id),
            _("Its variables, roles, VBC and EIP settings leave the wizard. "
              "A configuration applied before stays in the engine until you apply again."),
        ), removal_confirmed)

    @on(ClearableInputs.Cleared)
    def new_zone_cleared(self) -> None:
        self.query_one("#new-zone-message", Static).update("")
