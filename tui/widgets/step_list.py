"""The steps of a job, one line each: translated title, step name and state."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.content import Content
from textual.widgets import Static

from tui.i18n import N_, _

# Titles of the steps of the installer's jobs (the demo recipe's and the engine's own).
# A step not listed here, e.g. of another package's recipe, is shown by its name only.
STEP_TITLES = {
    "preflight": N_("Preflight checks"),
    "distribute_config": N_("Distribute config"),
    "install": N_("Install roles"),
    "configure_network": N_("Set up networks"),
    "start_services": N_("Start services"),
    "verify": N_("Verify"),
    "refresh_zone": N_("Refresh the zone"),
    "backup_state": N_("Back up installer state"),
    "distribute_package": N_("Copy the package"),
    "upgrade_nodes": N_("Upgrade nodes"),
    "install_components": N_("Install components"),
    "verify_components": N_("Verify components"),
    "prepare_user": N_("Prepare test user"),
    "prepare_resources": N_("Prepare test resources"),
    "run_tests": N_("Run test cases"),
    "clean_resources": N_("Clean test resources"),
    "check_services": N_("Check services"),
}

STATE_WORDS = {
    "done": N_("done"),
    "running": N_("running"),
    "pending": N_("pending"),
    "failed": N_("failed"),
    "skipped": N_("skipped"),
    "successful": N_("successful"),
}

STATE_STYLES = {
    "done": "$text-success",
    "running": "bold $text-warning",
    "pending": "$text-muted",
    "failed": "bold $text-error",
    "skipped": "$text-muted",
    "successful": "$text-success",
}


def step_title(name: str) -> str:
    """Return the translated title of a step, or its name when it has none."""
    title = STEP_TITLES.get(name)
    return _(title) if title else name


def state_word(state: str) -> str:
    """Return the translated word for a step, node or job state; unknown states stay as they are."""
    word = STATE_WORDS.get(state)
    return _(word) if word else state


def state_style(state: str) -> str:
    return STATE_STYLES.get(state, "")


def _pad(text: str, width: int) -> str:
    # Pad by terminal cells, not characters: a Chinese character takes two cells.
    return text + " " * max(0, width - cell_len(text))


class StepList(Static):
    """Lines of a job's steps from GetStatus's `steps`, coloured by state."""

    DEFAULT_CSS = """
    StepList {
        height: auto;
        width: 100%;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.steps: list[dict[str, Any]] = []

    def on_mount(self) -> None:
        self.show_steps([])

    def show_steps(self, steps: list[dict[str, Any]]) -> None:
        self.steps = list(steps)

        if not self.steps:
            self.update("")
            return

        titles = [step_title(str(step.get("name", ""))) for step in self.steps]
        title_width = max(cell_len(title) for title in titles)
        name_width = max(len(str(step.get("name", ""))) for step in self.steps)

        lines = []
        for step, title in zip(self.steps, titles):
            name = str(step.get("name", ""))
            state = str(step.get("state", ""))
            lines.append(Content.assemble(
                (_pad(title, title_width), state_style(state) if state == "running" else ""),
                " ",
                (_pad(name, name_width), "$text-muted"),
                " ",
                (state_word(state), state_style(state)),
            ))

        self.update(Content("\n").join(lines))
