"""The frame of the nodes screen's dialogs, and the confirmation before DeleteNodes."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen
from tui.screens.node_addresses import format_address


class NodeModal(InstallerScreen, ModalScreen[Any]):
    """A dialog over the nodes screen: Escape cancels, and its keys show in its own footer.

    Dialogs that confirm something confirm with F9, a key that opens none of them,
    so a repeated or held key cannot confirm the dialog it has just opened.

    As an InstallerScreen it translates the footer and can call the engine, showing
    a failed call in its own ApiErrorPanel when it has one.
    """

    CSS_PATH = "nodes.tcss"

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), key_display="Esc")]

    def action_cancel(self) -> None:
        self.dismiss(None)

    def compose_footer(self) -> ComposeResult:
        yield Footer(show_command_palette=False, compact=True)


def describe_node_name(node: dict[str, Any]) -> str:
    """Return `hostname (node_id)`, or the node id alone before the node reported a hostname."""
    node_id = str(node.get("node_id") or "-")
    hostname = node.get("hostname")
    if not hostname or hostname == node_id:
        return node_id
    return f"{hostname} ({node_id})"


class DeleteNodeScreen(NodeModal):
    """Asks before DeleteNodes; dismisses with True when the operator confirms with F9."""

    HELP_TITLE = N_("Delete node")
    HELP = N_(
        "The installer forgets the node and its host keys; nothing changes on the node itself. F9 "
        "deletes it, Esc keeps it."
    )

    BINDINGS = [Binding("f9", "confirm", N_("Delete"), priority=True)]

    def __init__(self, node: dict[str, Any]) -> None:
        super().__init__()
        self.node = node

    def compose(self) -> ComposeResult:
        node = self.node
        address = format_address(str(node.get("ssh_host") or "-"), node.get("ssh_port") or "-")
        lines = [
            _("Delete node {name}, SSH address {address}?").format(name=describe_node_name(node), address=address),
            "",
            _("The installer forgets the node and its host keys. To use the node again, add it with F6."),
        ]
        if node.get("status") == "deployed":
            lines += ["", _("This node is deployed. The engine refuses to delete a deployed node.")]

        with Vertical(classes="node-dialog", id="delete-dialog") as dialog:
            dialog.border_title = _("Delete node")
            yield Static(Content("\n".join(lines)), id="delete-question")
            yield Static(_("F9 deletes the node, Esc keeps it."), classes="dialog-keys")
        yield from self.compose_footer()

    def action_confirm(self) -> None:
        self.dismiss(True)
