"""The "Add nodes" dialog: addresses, SSH login, a host key check, then AddNodes.

Nothing reaches AddNodes before the operator has seen every host key fingerprint
in HostKeysScreen and confirmed them. The optional password is sent once, with
AddNodes, so that the engine can install the installer's own key. The dialog
clears it right after that call, whatever its outcome.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Label, Static, TextArea

from tui.i18n import N_, _
from tui.screens.base import is_ok
from tui.screens.host_keys import HostKeysScreen
from tui.screens.node_addresses import AddressList, parse_addresses
from tui.screens.node_detail import describe_failure
from tui.screens.node_modal import NodeModal
from tui.widgets.api_error import ApiErrorPanel

log = logging.getLogger(__name__)

DEFAULT_PORT = 22
DEFAULT_USER = "root"

# Problems listed under the address box; the rest are counted.
SHOWN_PROBLEMS = 3


def describe_address_check(checked: AddressList) -> Content:
    """Return the line(s) under the address box: problems first, else how many addresses are ready."""
    if checked.problems:
        lines = [problem.message for problem in checked.problems[:SHOWN_PROBLEMS]]
        hidden = len(checked.problems) - SHOWN_PROBLEMS
        if hidden > 0:
            lines.append(_("... and {count} more problem(s)").format(count=hidden))
        return Content.styled("\n".join(lines), "$text-error")

    if not checked.addresses:
        return Content.styled(_("No address yet."), "$text-muted")

    return Content.styled(_("{count} address(es) ready.").format(count=len(checked.addresses)), "$text-success")


class NodeAddScreen(NodeModal):
    """Collects addresses and login, scans host keys, confirms them, sends AddNodes.

    Dismisses with AddNodes' response once nodes are registered, or None when the
    operator closes it. A failed call stays in the dialog, so the list can be fixed.
    """

    HELP_TITLE = N_("Add nodes")
    HELP = N_(
        "Registers nodes with AddNodes once you have checked their host keys.\n"
        "\n"
        "1. Type the nodes' SSH addresses, one per line, or name a file of addresses and press Enter.\n"
        "2. Set the SSH port and user, and a private key or a password if the installer's own key is "
        "not on the nodes yet; the password is used once and not kept.\n"
        "3. F6 scans the host keys. Compare each fingerprint with the one the node's console shows "
        "(ssh-keygen -lf), then F9 trusts them and adds the nodes."
    )

    BINDINGS = [Binding("f6", "scan", N_("Scan keys"), priority=True)]

    def __init__(self) -> None:
        super().__init__()
        self.checked = AddressList([], [])
        self.stage = ""
        """Empty while the form can be edited, else "scanning", "confirming" or "adding"."""
        self.result: dict[str, Any] | None = None
        self.mode = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="node-dialog", id="add-dialog") as dialog:
            dialog.border_title = _("Add nodes")
            yield Static(_("SSH addresses, one per line or separated by spaces or commas. "
                           "host:port sets the port, # starts a comment."), classes="dialog-help")
            yield TextArea(id="addresses", compact=True, show_line_numbers=True, soft_wrap=False)
            yield Static("", id="address-check")
            with Horizontal(classes="form-row"):
                yield Label(_("File:"), classes="form-label")
                yield Input(placeholder=_("or a file with addresses, then Enter"), id="address-file", compact=True)
            with Horizontal(classes="form-row"):
                yield Label(_("SSH port:"), classes="form-label")
                yield Input(str(DEFAULT_PORT), id="ssh-port", type="integer", max_length=5, compact=True)
                yield Label(_("User:"), classes="form-label-inner")
                yield Input(DEFAULT_USER, id="ssh-user", compact=True)
            with Horizontal(classes="form-row"):
                yield Label(_("Key file:"), classes="form-label")
                yield Input(placeholder=_("empty: the installer's own key"), id="ssh-key", compact=True)
            with Horizontal(classes="form-row"):
                yield Label(_("Password:"), classes="form-label")
                yield Input(placeholder=_("optional, used once to install the installer's key"),
                            id="ssh-password", password=True, compact=True)
            yield Static("", id="add-state")
            # AddNodes names every node it rejects, so its error can be longer than the dialog.
            with VerticalScroll(id="add-error"):
                yield ApiErrorPanel()
        yield from self.compose_footer()

    def on_mount(self) -> None:
        # The dialog opens over the nodes screen, so this is the mode its dialogs belong to.
        self.mode = self.app.current_mode
        for widget in self.query(Input):
            # A blinking cursor repaints twice a second, a cost a serial console feels.
            widget.cursor_blink = False
        self.query_one("#addresses", TextArea).cursor_blink = False
        self.check_addresses()
        self.show_state("")
        self.query_one("#addresses", TextArea).focus()

    def on_screen_resume(self) -> None:
        # Nodes registered while the operator was on another screen close the dialog on return.
        if self.result is not None:
            self.dismiss(self.result)

    # Checking the form as it is typed.

    @on(TextArea.Changed, "#addresses")
    @on(Input.Changed, "#ssh-port")
    def check_addresses(self) -> None:
        text = self.query_one("#addresses", TextArea).text
        self.checked = parse_addresses(text, self.default_port() or DEFAULT_PORT)
        self.query_one("#address-check", Static).update(describe_address_check(self.checked))

    def default_port(self) -> int | None:
        text = self.query_one("#ssh-port", Input).value.strip()
        if text.isdigit() and 1 <= int(text) <= 65535:
            return int(text)
        return None

    @on(Input.Submitted, "#address-file")
    def load_address_file(self) -> bool:
        """Put the named file's text into the address box; return False when it cannot be read."""
        path_text = self.query_one("#address-file", Input).value.strip()
        if not path_text:
            return False

        path = Path(path_text).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.show_state(_("The address file {path} was not found.").format(path=path), "$text-error")
            return False
        except (OSError, UnicodeDecodeError) as error:
            self.show_state(_("The address file {path} could not be read: {error}").format(path=path, error=error),
                            "$text-error")
            return False

        self.query_one("#addresses", TextArea).load_text(text)
        self.check_addresses()
        self.show_state(_("Read {path}.").format(path=path), "$text-muted")
        return True

    def show_state(self, text: str, style: str = "") -> None:
        state = self.query_one("#add-state", Static)
        state.update(Content.styled(text, style))
        state.display = bool(text)

    # Scanning, confirming and adding.

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "scan":
            return None if self.stage else True
        if action == "cancel":
            # Closing the dialog while AddNodes runs would hide whether the nodes were added.
            return None if self.stage == "adding" else True
        return True

    def set_stage(self, stage: str) -> None:
        self.stage = stage
        self.refresh_bindings()

    def action_cancel(self) -> None:
        if self.stage == "adding":
            return
        self.clear_password()
        self.dismiss(None)

    def action_scan(self) -> None:
        if self.stage:
            return

        if not self.query_one("#addresses", TextArea).text.strip() and not self.load_address_file():
            self.show_state(_("Enter at least one address, or the path of a file with addresses."), "$text-error")
            return

        request = self.read_login()
        if request is None:
            return

        self.check_addresses()
        if not self.checked.valid:
            self.show_state(_("Fix the address list first."), "$text-error")
            self.query_one("#addresses", TextArea).focus()
            return

        self.error_panel.clear()
        self.set_stage("scanning")
        self.add_nodes(request)

    def read_login(self) -> dict[str, Any] | None:
        """Return AddNodes' login parameters from the form, or None after showing what is wrong."""
        if self.default_port() is None:
            self.show_state(_("SSH port: enter a number from 1 to 65535."), "$text-error")
            self.query_one("#ssh-port", Input).focus()
            return None

        user = self.query_one("#ssh-user", Input).value.strip()
        if not user:
            self.show_state(_("User: enter the SSH login user, for example root."), "$text-error")
            self.query_one("#ssh-user", Input).focus()
            return None

        login: dict[str, Any] = {"ssh_user": user}
        key_file = self.query_one("#ssh-key", Input).value.strip()
        if key_file and self.query_one("#ssh-password", Input).value:
            # The password only serves to install the installer's own key, which a key file replaces.
            self.show_state(_("Give a key file or a password, not both: the password installs the "
                              "installer's own key."), "$text-error")
            self.query_one("#ssh-key", Input).focus()
            return None
        if key_file:
            login["ssh_key_file"] = key_file
        return login

    @work(exclusive=True, group="node-add")
    async def add_nodes(self, login: dict[str, Any]) -> None:
        try:
            await self.scan_and_add(login)
        finally:
            self.set_stage("")

    async def scan_and_add(self, login: dict[str, Any]) -> None:
        addresses = [{"ssh_host": address.host, "ssh_port": address.port} for address in self.checked.addresses]
        self.show_state(_("Reading the host keys of {count} address(es)...").format(count=len(addresses)))

        scan = await self.call_api("ScanNodeHostKeys", {"nodes": addresses}, "Node")
        if not is_ok(scan):
            self.show_state("")
            return

        self.set_stage("confirming")
        self.show_state(_("Waiting for the host keys to be confirmed..."))
        confirmed = await self.app.push_screen_wait(HostKeysScreen(scan.get("host_keys") or []), mode=self.mode)
        if not confirmed:
            self.show_state(_("Host keys not confirmed, so no node was added."), "$text-warning")
            return

        params: dict[str, Any] = {
            "nodes": [{"ssh_host": entry.get("ssh_host"), "ssh_port": entry.get("ssh_port"),
                       "ssh_user": login["ssh_user"]} for entry in confirmed],
            "trusted_fingerprints": [fingerprint for entry in confirmed for fingerprint in entry.get("fingerprints") or []],
            "trust_new_host_keys": False,
        }
        if "ssh_key_file" in login:
            params["ssh_key_file"] = login["ssh_key_file"]

        if self.query_one("#ssh-password", Input).value:
            params["ssh_password"] = self.query_one("#ssh-password", Input).value

        self.set_stage("adding")
        self.show_state(_("Adding {count} node(s)...").format(count=len(params["nodes"])))
        log.info("adding %d node(s) as %s", len(params["nodes"]), login["ssh_user"])
        try:
            response = await self.call_api("AddNodes", params, "Node", show_error=False)
        finally:
            params.pop("ssh_password", None)
            self.clear_password()

        self.show_state("")
        if response is None:
            return
        if not is_ok(response):
            self.show_add_failure(response)
            return

        self.finish(response)

    def show_add_failure(self, response: dict[str, Any]) -> None:
        # AddNodes registers all the nodes or none, so the whole list can be sent again.
        hint = _("No node was added. Fix what the message names, then press F6 to scan and add again.")
        self.error_panel.show_text(describe_failure(response, hint))

    def clear_password(self) -> None:
        # NOTE: Python strings cannot be wiped, so the typed password stays in this
        # process's memory until it is garbage collected; only the references go.
        self.query_one("#ssh-password", Input).value = ""

    def finish(self, response: dict[str, Any]) -> None:
        # Dismissing pops the current mode's screen, which is this dialog only while it
        # is shown; otherwise the dialog closes when the operator comes back.
        self.result = response
        if self.is_active:
            self.dismiss(response)
