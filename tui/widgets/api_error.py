"""A panel that shows a failed API call: ret_code, the engine's message, what it means."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

from tui.i18n import N_, _

# Explanations of the error families an operator meets while installing. The panel
# shows them below the engine's own message, which is in English.
RET_CODE_EXPLANATIONS = {
    1100: N_("The request was rejected: a parameter is missing or invalid."),
    2100: N_("Something the request names was not found: check the job, zone or node ids."),
    5100: N_("The engine is busy with another job on this platform or zone. Wait for it to finish, then try again."),
    5200: N_("The platform is not in the right state for this action, for example a deploy before the configuration was applied."),
}


def explain_ret_code(ret_code: int) -> str | None:
    """Return the translated explanation of a known ret_code, or None."""
    explanation = RET_CODE_EXPLANATIONS.get(ret_code)
    return _(explanation) if explanation else None


def describe_error_response(response: dict[str, Any]) -> str:
    """Build the text shown for an error response (ret_code other than 0)."""
    action = str(response.get("action", "")).removesuffix("Response") or _("The call")
    ret_code = response.get("ret_code")
    message = response.get("message") or _("(no message)")

    lines = [_("{action} failed with ret_code {ret_code}: {message}").format(
        action=action, ret_code=ret_code, message=message)]

    if isinstance(ret_code, int):
        explanation = explain_ret_code(ret_code)
        if explanation:
            lines.append(explanation)

    return "\n".join(lines)


class ApiErrorPanel(Static):
    """Shows the last failed API call of a screen; hidden while there is none."""

    DEFAULT_CSS = """
    ApiErrorPanel {
        display: none;
        height: auto;
        max-height: 6;
        padding: 0 1;
        border: solid $error;
        color: $text-error;
        background: $error-muted;
    }
    ApiErrorPanel.-visible {
        display: block;
    }
    """

    def show_response(self, response: dict[str, Any]) -> None:
        self.update(Content(describe_error_response(response)))
        self.add_class("-visible")

    def show_failure(self, action: str, error: BaseException) -> None:
        """Show a call that failed before any response arrived (connection lost, timeout)."""
        self.update(Content(_("{action} failed before the engine answered: {error}").format(
            action=action, error=str(error) or type(error).__name__)))
        self.add_class("-visible")

    def show_text(self, text: str) -> None:
        self.update(Content(text))
        self.add_class("-visible")

    def clear(self) -> None:
        self.update("")
        self.remove_class("-visible")
