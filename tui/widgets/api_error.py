"""A panel that shows a failed API call: ret_code, the engine's message, what it means and what to do."""

from __future__ import annotations

import re
from typing import Any

from textual.content import Content
from textual.widgets import Static

from tui.i18n import N_, _

# Explanations of the error families an operator meets while installing. The panel
# shows them below the engine's own message, which is in English.
RET_CODE_EXPLANATIONS = {
    1100: N_("The request was rejected: a parameter is missing or invalid."),
    1200: N_("The server did not accept the login. Check the user and the password (QCI_PASSWORD), "
             "or wait if it locked the user out after failed attempts."),
    1400: N_("Your user may only look: this action changes the platform and needs a user with the role admin."),
    2100: N_("Something the request names was not found: check the job, zone or node ids."),
    2400: N_("A limit was reached: the licensed number of hyper nodes, or the size of a request."),
    5000: N_("The engine failed inside. Its log (engine.log in the state directory) has the details under "
             "the trace id in the message."),
    5100: N_("The engine is busy with another job on this platform or zone. Wait for it to finish, then try again."),
    5200: N_("The platform is not in the right state for this action, for example a deploy before the configuration was applied."),
}

# Advice for the messages an operator meets most, matched in the engine's English
# message. The first match is shown between the message and the ret_code's explanation.
MESSAGE_HINTS = (
    (re.compile(r"not registered"),
     N_("Register the node first: F3 opens the nodes screen, where F6 adds nodes.")),
    (re.compile(r"before ConfigQingCloud|no zone is configured yet|not configured; ConfigQingCloud"),
     N_("Apply a configuration first: F4 opens the configuration wizard, and F7 applies it.")),
    (re.compile(r"none is deployed yet|run DeployQingCloud first"),
     N_("Nothing is deployed yet: F5 opens the deploy screen, where F8 deploys.")),
    (re.compile(r"is still running"),
     N_("A job is still running. Wait for it to end, then try again.")),
    (re.compile(r"licensed hyper nodes exceeded"),
     N_("^L opens the licenses screen: F6 requests a license for more hyper nodes and F7 activates it.")),
    (re.compile(r"host key"),
     N_("Compare the host key with the node's console before you trust it: F3 opens the nodes screen, where "
        "F7 reads the key again.")),
)


def explain_ret_code(ret_code: int) -> str | None:
    """Return the translated explanation of a known ret_code, or None."""
    explanation = RET_CODE_EXPLANATIONS.get(ret_code)
    return _(explanation) if explanation else None


def message_hint(message: str) -> str | None:
    """Return the translated advice for a message that MESSAGE_HINTS matches, or None."""
    for pattern, hint in MESSAGE_HINTS:
        if pattern.search(message):
            return _(hint)
    return None


def describe_error_response(response: dict[str, Any]) -> str:
    """Build the text shown for an error response (ret_code other than 0)."""
    action = str(response.get("action", "")).removesuffix("Response") or _("The call")
    ret_code = response.get("ret_code")
    message = response.get("message") or _("(no message)")

    lines = [_("{action} failed with ret_code {ret_code}: {message}").format(
        action=action, ret_code=ret_code, message=message)]

    # The advice for this very message first; the family's explanation stays last, where
    # node_detail.describe_failure replaces it with a hint of its own.
    hint = message_hint(str(response.get("message") or ""))
    if hint:
        lines.append(hint)

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
        /* The message, the ret_code's explanation and a hint, each may take two lines at 80 columns. */
        max-height: 8;
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
