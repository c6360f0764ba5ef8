"""The dialog that starts a health check: which nodes, and whether every service is listed.

The nodes are DescribeNodes' nodes that hold a role, all selected at first.
A check of every one of them is sent as `nodes: "all"`, as the API takes it.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Checkbox, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from tui.i18n import N_, _
from tui.screens.run_view import fit_cells
from tui.wizard.dialogs import WizardDialog

#: CheckQingCloud's value for every node.
ALL_NODES = "all"


def node_line(node: dict[str, Any]) -> Content:
    return Content.assemble(
        (fit_cells(str(node.get("hostname") or node.get("node_id")), 16), "bold"),
        fit_cells(str(node.get("role") or "-"), 12),
        (str(node.get("zone_id") or "-"), "$text-muted"),
    )


class StartCheckDialog(WizardDialog[tuple[str, str]]):
    """Returns (nodes, verbose) as CheckQingCloud takes them, or None when cancelled."""

    HELP_TITLE = N_("Check the platform's services")
    HELP = N_("Space ticks or clears a node; with every node ticked the check covers all of them. Tab moves "
              "to the box below the list: cleared, the result lists only the services that are not Normal. "
              "Enter starts the check; Esc closes the dialog without starting anything.")

    DEFAULT_CSS = """
    StartCheckDialog #check-nodes {
        height: auto;
        max-height: 12;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, nodes: list[dict[str, Any]], *, selected: list[str] | None = None, verbose: bool = True) -> None:
        super().__init__()
        self.nodes = [node for node in nodes if node.get("hostname")]
        self.initial_selected = selected
        self.initial_verbose = verbose

    def compose_body(self) -> ComposeResult:
        yield Label(_("Check the platform's services"), classes="dialog-title")
        yield Label(_("Nodes (space selects; all selected checks every node):"))
        selected = set(self.initial_selected) if self.initial_selected is not None else None
        yield SelectionList[str](*(Selection(node_line(node), str(node["hostname"]),
                                             selected is None or node["hostname"] in selected)
                                   for node in self.nodes), id="check-nodes", compact=True)
        yield Checkbox(_("List every service, not only those that are not Normal"), self.initial_verbose,
                       id="check-verbose", compact=True)
        yield Static("", id="check-start-problem", classes="dialog-message")

    def on_mount(self) -> None:
        nodes = self.query_one("#check-nodes", SelectionList)
        if self.nodes:
            nodes.highlighted = 0
        nodes.focus()

    def action_confirm(self) -> None:
        chosen = list(self.query_one("#check-nodes", SelectionList).selected)
        if self.nodes and not chosen:
            self.query_one("#check-start-problem", Static).update(_("Select at least one node (space)."))
            return

        names = [str(node["hostname"]) for node in self.nodes]
        nodes = ALL_NODES if not self.nodes or set(chosen) == set(names) else ",".join(
            name for name in names if name in chosen)
        verbose = "1" if self.query_one("#check-verbose", Checkbox).value else "0"
        self.dismiss((nodes, verbose))
