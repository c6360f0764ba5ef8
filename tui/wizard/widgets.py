"""Building blocks of the wizard's sections: the section base class, a form row, the step bar, lists with a remove key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static

from tui.i18n import N_, _
from tui.wizard.issues import IssueIndex, WizardIssue

if TYPE_CHECKING:
    from tui.wizard.state import WizardState


class WizardHost(Protocol):
    """What sections need from the screen they are on."""

    wizard: WizardState
    inventory: list[dict[str, Any]]
    zone_id: str | None
    issues: IssueIndex


def plain(text: str, style: str = "") -> Content:
    """Return text for a Static as plain content: engine text may contain [brackets]."""
    return Content.styled(text, style) if style else Content(text)


def issue_lines(issues: list[WizardIssue]) -> list[str]:
    words = {"error": _("error"), "warning": _("warning")}
    return [f"{words.get(issue.severity, issue.severity)}: {issue.message}" for issue in issues]


class WizardSection(Vertical):
    """One step of the wizard over the screen's WizardState.

    A section shows the state of the current zone. Editors that need several
    inputs keep a draft. `apply_draft` writes it into a state, which is the
    screen's or a copy to validate a preview, and `reload` drops it.
    """

    SECTION: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""

    class DraftChanged(Message):
        """The section's draft changed; the screen validates a preview after a short pause."""

    class CommitRequested(Message):
        """The operator submitted the draft; the screen writes it into the state."""

    class Committed(Message):
        """The section wrote into the state itself (a dialog or a list edit)."""

    @property
    def host(self) -> WizardHost:
        return self.screen  # type: ignore[return-value]

    @property
    def zone_id(self) -> str | None:
        return self.host.zone_id

    def reload(self) -> None:
        """Show the state of the current zone, dropping any draft."""

    def has_draft(self) -> bool:
        return False

    def apply_draft(self, state: WizardState) -> None:
        """Write the draft into `state`."""

    def show_issues(self) -> None:
        """Show the screen's latest issues beside the fields they concern."""

    def focus_first(self) -> None:
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return


class FieldRow(Vertical):
    """A labelled input with a note (default or source), a help line and a message line."""

    DEFAULT_CSS = """
    FieldRow {
        height: auto;
    }
    FieldRow > Horizontal {
        height: 1;
    }
    FieldRow .field-label {
        width: 23;
    }
    FieldRow Input {
        width: 26;
    }
    FieldRow .field-note {
        width: 1fr;
        padding-left: 1;
        color: $text-muted;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    FieldRow .field-help {
        padding-left: 2;
        color: $text-muted;
    }
    FieldRow .field-message {
        display: none;
        padding-left: 2;
        color: $text-error;
    }
    FieldRow .field-message.-shown {
        display: block;
    }
    """

    def __init__(self, name: str, label: str, help_text: str = "", *, placeholder: str = "",
                 input_id: str | None = None, suggester: Any = None) -> None:
        super().__init__(id=f"row-{input_id}" if input_id else None)
        self.field_name = name
        self.label = label
        self.help_text = help_text
        self.input = Input(placeholder=placeholder, compact=True, id=input_id, suggester=suggester)
        self.input.cursor_blink = False
        self._message_text = ""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(plain(self.label), classes="field-label")
            yield self.input
            yield Static("", classes="field-note")
        if self.help_text:
            yield Static(plain(self.help_text), classes="field-help")
        yield Static("", classes="field-message")

    @property
    def value(self) -> str:
        return self.input.value

    def set_value(self, text: str) -> None:
        """Show a value without reporting it as an edit."""
        with self.input.prevent(Input.Changed):
            self.input.value = text
        self.input.cursor_position = len(text)

    def set_note(self, text: str) -> None:
        self.query_one(".field-note", Static).update(plain(text))

    def set_messages(self, messages: list[str]) -> None:
        text = "\n".join(dict.fromkeys(messages))
        # Skipping unchanged text spares a relayout of the form on every key press.
        if text == self._message_text:
            return
        self._message_text = text
        message = self.query_one(".field-message", Static)
        message.update(plain(text))
        message.set_class(bool(text), "-shown")

    @property
    def message_text(self) -> str:
        """The messages shown below the field, one per line."""
        return self._message_text


class FormScroll(VerticalScroll, can_focus=False):
    """A scrolling form that tab passes through: it follows the focused field instead of taking focus."""


class StepBar(Static):
    """The wizard's steps in one line, the current one highlighted, then the zone being configured."""

    DEFAULT_CSS = """
    StepBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def show_steps(self, titles: list[str], current: int, zone_id: str | None) -> None:
        parts: list[tuple[str, str] | str] = []
        for index, title in enumerate(titles):
            if index:
                parts.append(" > ")
            parts.append((f" {title} ", "bold reverse") if index == current else title)
        parts.append("   ")
        parts.append(_("zone: {zone_id}").format(zone_id=zone_id) if zone_id else _("zone: none"))
        self.update(Content.assemble(*parts))


class RemovableList(OptionList):
    """An option list whose highlighted option ctrl+d removes (the owner decides how)."""

    BINDINGS = [Binding("ctrl+d", "remove", N_("Remove"))]

    class RemoveRequested(Message):
        def __init__(self, option_list: RemovableList, index: int) -> None:
            super().__init__()
            self.option_list = option_list
            self.index = index

        @property
        def control(self) -> RemovableList:
            return self.option_list

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(markup=False, compact=True, id=id)

    def action_remove(self) -> None:
        if self.highlighted is not None:
            self.post_message(self.RemoveRequested(self, self.highlighted))


class ClearableInputs(Horizontal):
    """A row of inputs edited together; escape empties them, which cancels the edit."""

    BINDINGS = [Binding("escape", "clear", N_("Discard"))]

    class Cleared(Message):
        pass

    def action_clear(self) -> None:
        for field in self.query(Input):
            field.value = ""
        self.post_message(self.Cleared())
