"""The wizard's dialogs: a node's role, removing a zone, the path of an answers file.

Enter confirms and escape cancels in every dialog. A dialog returns its
result to the section that opened it, which alone writes into the state, so a
cancelled dialog changes nothing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Label, OptionList, SelectionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from tui.i18n import N_, _
from tui.screens.base import key_order
from tui.wizard.fields import ROLE_CHOICES, ROLES_BY_NAME
from tui.wizard.widgets import plain

ResultType = TypeVar("ResultType")

#: Option id of "no role" in the role list.
NO_ROLE = "-"


class WizardDialog(ModalScreen[ResultType]):
    """A centred box over the wizard with its own footer; enter confirms, escape cancels."""

    HELP_TITLE = N_("Dialog")
    HELP = N_(
        "A question of the configuration wizard. Enter confirms and Esc cancels; Tab moves between "
        "the dialog's fields."
    )

    DEFAULT_CSS = """
    WizardDialog {
        align: center middle;
    }
    WizardDialog > #dialog {
        width: 74;
        height: auto;
        max-height: 20;
        padding: 0 1;
        border: solid $primary;
        background: $surface;
    }
    WizardDialog .dialog-title {
        text-style: bold;
        width: 100%;
    }
    WizardDialog .dialog-note {
        color: $text-muted;
    }
    WizardDialog .dialog-message {
        color: $text-error;
    }
    """

    BINDINGS = [
        # Priority, so that enter confirms even from a list, where it would toggle an option.
        Binding("enter", "confirm", N_("OK"), priority=True),
        Binding("escape", "cancel", N_("Cancel")),
    ]

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        # Descriptions are English message ids until shown, as on the installer's screens.
        bindings = sorted(Screen.active_bindings.fget(self).items(), key=lambda item: key_order(item[0]))  # type: ignore[attr-defined]
        return {key: active._replace(binding=dataclasses.replace(active.binding, description=_(active.binding.description)))
                for key, active in bindings}

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield from self.compose_body()
        yield Footer(show_command_palette=False, compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def action_confirm(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.dismiss(None)


class RoleDialog(WizardDialog[tuple[str | None, list[str]]]):
    """Choose a node's role in the zone and its sub-roles; returns (role or None, sub-roles)."""

    DEFAULT_CSS = """
    RoleDialog #role-choice {
        height: 6;
    }
    RoleDialog #sub-role-choice {
        height: 5;
    }
    """

    def __init__(self, node: dict[str, Any], zone_id: str, role: str | None, sub_roles: list[str],
                 deploy_mode: str | None, other_zone: str | None) -> None:
        super().__init__()
        self.node = node
        self.zone_id = zone_id
        self.initial_role = role
        self.initial_sub_roles = sub_roles
        self.deploy_mode = deploy_mode
        self.other_zone = other_zone

    def compose_body(self) -> ComposeResult:
        node = self.node
        yield Label(plain(_("Role of {node_id} ({hostname}, {mgmt_ip}) in zone {zone_id}").format(
            node_id=node.get("node_id", ""), hostname=node.get("hostname") or "-",
            mgmt_ip=node.get("mgmt_ip") or "-", zone_id=self.zone_id)), classes="dialog-title")
        yield Label(_("Role (choose with up and down):"))
        options = [Option(_("no role in this zone"), id=NO_ROLE)]
        options += [Option(role.name, id=role.name) for role in ROLE_CHOICES]
        yield OptionList(*options, id="role-choice", markup=False, compact=True)
        yield Label(_("Sub-roles (space toggles; the role's defaults are ticked):"))
        yield SelectionList[str](id="sub-role-choice", compact=True)
        if self.other_zone:
            yield Static(_("This node has a role in zone {zone_id}; saving moves it to this zone.").format(
                zone_id=self.other_zone), classes="dialog-note")
        if self.initial_role and self.initial_role not in ROLES_BY_NAME:
            yield Static(plain(_("Its role {role} is not offered here; choose another or cancel.").format(
                role=self.initial_role)), classes="dialog-message")

    def on_mount(self) -> None:
        roles = self.query_one("#role-choice", OptionList)
        initial = self.initial_role if self.initial_role in ROLES_BY_NAME else NO_ROLE
        roles.highlighted = roles.get_option_index(initial)
        self.show_sub_roles(initial, self.initial_sub_roles if initial == self.initial_role else None)
        roles.focus()

    @on(OptionList.OptionHighlighted, "#role-choice")
    def role_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        role = event.option.id or NO_ROLE
        keep = self.initial_sub_roles if role == self.initial_role else None
        self.show_sub_roles(role, keep)

    def show_sub_roles(self, role: str, selected: list[str] | None) -> None:
        """List the sub-roles a role may carry; tick `selected`, or the role's defaults when None."""
        sub_roles = self.query_one("#sub-role-choice", SelectionList)
        sub_roles.clear_options()
        choice = ROLES_BY_NAME.get(role)
        if choice is None:
            return
        ticked = selected if selected is not None else list(choice.default_sub_roles(self.deploy_mode))
        sub_roles.add_options([Selection(name, name, name in ticked) for name in choice.sub_roles])

    def action_confirm(self) -> None:
        roles = self.query_one("#role-choice", OptionList)
        option = roles.highlighted_option
        role = option.id if option is not None and option.id != NO_ROLE else None
        if role is None:
            self.dismiss((None, []))
            return

        sub_roles = self.query_one("#sub-role-choice", SelectionList)
        selected = set(sub_roles.selected)
        ordered = [name for name in ROLES_BY_NAME[role].sub_roles if name in selected]
        self.dismiss((role, ordered))


class ConfirmDialog(WizardDialog[bool]):
    """Ask before something that cannot be undone; returns True to go ahead."""

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose_body(self) -> ComposeResult:
        yield Label(plain(self.title_text), classes="dialog-title")
        yield Static(plain(self.text))
        yield Static(_("Enter: go ahead. Escape: keep everything as it is."), classes="dialog-note")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class ExportDialog(WizardDialog[str]):
    """Ask where to write the answers file; returns the path."""

    def __init__(self, default_path: str) -> None:
        super().__init__()
        self.default_path = default_path

    def compose_body(self) -> ComposeResult:
        yield Label(_("Export the wizard's answers to a YAML file"), classes="dialog-title")
        yield Static(_("It holds the configuration of every zone, the SSH settings and the nodes with a role, "
                       "for `qc-installer apply` or to load again with F6."), classes="dialog-note")
        field = Input(value=self.default_path, compact=True, id="export-path")
        field.cursor_blink = False
        yield field
        yield Static("", id="export-state", classes="dialog-note")

    def on_mount(self) -> None:
        self.show_path_state(self.default_path)
        self.query_one("#export-path", Input).focus()

    @on(Input.Changed, "#export-path")
    def path_changed(self, event: Input.Changed) -> None:
        self.show_path_state(event.value)

    def show_path_state(self, path_text: str) -> None:
        path = Path(path_text.strip()).expanduser() if path_text.strip() else None
        if path is None:
            text = _("Enter the path of the file to write.")
        elif path.is_dir():
            text = _("{path} is a directory; add a file name.").format(path=path)
        elif path.is_file():
            text = _("{path} exists: it is updated and keeps its comments.").format(path=path)
        elif not path.parent.is_dir():
            text = _("The directory {directory} does not exist.").format(directory=path.parent)
        else:
            text = _("{path} is created.").format(path=path)
        self.query_one("#export-state", Static).update(plain(text))

    def action_confirm(self) -> None:
        path_text = self.query_one("#export-path", Input).value.strip()
        if path_text:
            self.dismiss(path_text)
