"""The dialog that starts a test run: the mode, explained, and the test cases of the catalog.

The cases come from DescribeQingCloudTestCases, each with its description in
the TUI's language. Every case starts selected; a run of every case is sent
without `tasks`, as the API takes it.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Label, OptionList, SelectionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from tui.i18n import ENGLISH, N_, _, current_language
from tui.screens.run_view import fit_cells
from tui.wizard.dialogs import WizardDialog
from tui.wizard.widgets import plain

#: TestQingCloud's modes and what each does before (or instead of) the cases.
MODES = (
    ("all", N_("Prepare the test user and resources, then run the cases")),
    ("user", N_("Prepare the test user only, then run the cases")),
    ("res", N_("Prepare the test resources only, then run the cases")),
    ("skip", N_("Run the cases without preparing anything")),
    ("clean", N_("Remove the test user and resources; no case runs")),
)

#: The mode that runs no case, so the case list does not apply to it.
CLEAN_MODE = "clean"

#: Cells of the case name column in the list; the longest name of the demo catalog has 21.
CASE_NAME_WIDTH = 22

#: Cells a case's line may take in the dialog, inside its border and the list's check box.
CASE_LINE_WIDTH = 64


def case_description(case: dict[str, Any]) -> str:
    """Return a case's description in the TUI's language, or in the other one when that is empty."""
    english = str(case.get("description_en") or "")
    chinese = str(case.get("description") or "")
    if current_language() == ENGLISH:
        return english or chinese
    return chinese or english


def case_line(case: dict[str, Any]) -> Content:
    name = str(case.get("test", ""))
    width = max(CASE_NAME_WIDTH, cell_len(name) + 1)
    return Content.assemble((fit_cells(name, width), "bold"),
                            fit_cells(case_description(case), CASE_LINE_WIDTH - width).rstrip())


class StartTestsDialog(WizardDialog[tuple[str, list[str] | None]]):
    """Returns (mode, the chosen cases or None for every case), or None when cancelled."""

    HELP_TITLE = N_("Start a test run")
    HELP = N_("Up and down choose the mode, which says what is prepared before the cases run. Tab moves to "
              "the cases, where Space ticks or clears one; with every case ticked the run takes them all. "
              "Enter starts the run; Esc closes the dialog without starting anything.")

    DEFAULT_CSS = """
    StartTestsDialog > #dialog {
        max-height: 21;
    }
    StartTestsDialog #tests-mode {
        height: 5;
    }
    StartTestsDialog #tests-cases {
        height: auto;
        max-height: 8;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, cases: list[dict[str, Any]], runner_hostname: str, *, mode: str = "all",
                 selected: list[str] | None = None) -> None:
        super().__init__()
        self.cases = list(cases)
        self.runner_hostname = runner_hostname
        self.initial_mode = mode
        self.initial_selected = selected

    def compose_body(self) -> ComposeResult:
        yield Label(_("Start a test run"), classes="dialog-title")
        options = [Option(Content.assemble((f"{mode:<7}", "bold"), _(text)), id=mode) for mode, text in MODES]
        yield OptionList(*options, id="tests-mode", compact=True)
        yield Label(_("Test cases (tab moves here, space selects):"))
        selected = set(self.initial_selected) if self.initial_selected is not None else None
        yield SelectionList[str](*(Selection(case_line(case), str(case.get("test")),
                                             selected is None or case.get("test") in selected)
                                   for case in self.cases), id="tests-cases", compact=True)
        if self.runner_hostname:
            runner = _("The cases run on node {hostname}.").format(hostname=self.runner_hostname)
        else:
            runner = _("No deployed node can run the tests yet; the engine will say why.")
        yield Static(plain(runner), classes="dialog-note")
        yield Static("", id="tests-start-problem", classes="dialog-message")

    def on_mount(self) -> None:
        modes = self.query_one("#tests-mode", OptionList)
        modes.highlighted = next((index for index, (mode, _text) in enumerate(MODES) if mode == self.initial_mode), 0)
        cases = self.query_one("#tests-cases", SelectionList)
        if self.cases:
            cases.highlighted = 0
        modes.focus()

    @property
    def mode(self) -> str:
        option = self.query_one("#tests-mode", OptionList).highlighted_option
        return option.id if option is not None and option.id else MODES[0][0]

    @on(OptionList.OptionHighlighted, "#tests-mode")
    def mode_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.query_one("#tests-cases", SelectionList).disabled = event.option.id == CLEAN_MODE
        self.query_one("#tests-start-problem", Static).update("")

    def action_confirm(self) -> None:
        mode = self.mode
        if mode == CLEAN_MODE:
            self.dismiss((mode, None))
            return

        chosen = list(self.query_one("#tests-cases", SelectionList).selected)
        if not chosen:
            self.query_one("#tests-start-problem", Static).update(
                _("Select at least one test case (space), or choose the clean mode."))
            return

        names = [str(case.get("test")) for case in self.cases]
        every_case = set(chosen) == set(names)
        # The list's order, not the order of ticking, so the run lists cases as the catalog does.
        self.dismiss((mode, None if every_case else [name for name in names if name in chosen]))
