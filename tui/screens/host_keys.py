"""Dialogs that show SSH host key fingerprints before the operator trusts them.

`HostKeysScreen` lists what ScanNodeHostKeys found for every address of an
AddNodes request; `TrustKeyScreen` shows the old and new keys of one node whose
key changed. Neither calls the engine: each returns what the operator confirmed.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.i18n import N_, _
from tui.screens.node_addresses import format_address
from tui.screens.node_modal import NodeModal, describe_node_name

STATE_WORDS = {
    "new": N_("new key, not trusted yet"),
    "trusted": N_("key already trusted"),
    "changed": N_("KEY CHANGED"),
}

STATE_STYLES = {
    "new": "bold $text-warning",
    "trusted": "$text-success",
    "changed": "bold $text-error",
}

INDENT = "    "


def is_reachable(entry: dict[str, Any]) -> bool:
    """Tell whether the scan reached the address and got at least one host key."""
    return not entry.get("error") and bool(entry.get("fingerprints"))


def can_add(entry: dict[str, Any]) -> bool:
    """Tell whether AddNodes can take the address: reachable, and not a registered node whose key changed.

    AddNodes refuses a changed key even when its fingerprint is confirmed, because
    only TrustNodeHostKey replaces the keys pinned for a node.
    """
    return is_reachable(entry) and entry.get("state") != "changed"


def new_fingerprints(entry: dict[str, Any]) -> list[str]:
    """Return the offered fingerprints that the engine does not trust yet."""
    trusted = set(entry.get("trusted_fingerprints") or [])
    return [fingerprint for fingerprint in entry.get("fingerprints") or [] if fingerprint not in trusted]


def describe_scan_entry(entry: dict[str, Any]) -> list[Content]:
    """Return the lines of one scanned address: address, state, then its fingerprints or error."""
    address = format_address(str(entry.get("ssh_host", "")), entry.get("ssh_port", ""))
    if entry.get("node_id"):
        address = f"{address} ({entry['node_id']})"

    if not is_reachable(entry):
        error = str(entry.get("error") or _("no host key offered"))
        return [Content.assemble((address, "bold"), "  ", (_("unreachable"), "bold $text-error")),
                Content(INDENT + error)]

    state = str(entry.get("state", ""))
    word = _(STATE_WORDS[state]) if state in STATE_WORDS else state
    lines = [Content.assemble((address, "bold"), "  ", (word, STATE_STYLES.get(state, "")))]

    if state == "changed":
        for fingerprint in entry.get("trusted_fingerprints") or []:
            lines.append(Content(INDENT + _("trusted until now: {fingerprint}").format(fingerprint=fingerprint)))
        for fingerprint in entry.get("fingerprints") or []:
            lines.append(Content(INDENT + _("offered now: {fingerprint}").format(fingerprint=fingerprint)))
    else:
        lines.extend(Content(INDENT + str(fingerprint)) for fingerprint in entry.get("fingerprints") or [])

    return lines


def summarize_scan(entries: list[dict[str, Any]]) -> str:
    """Return lines on what confirming will do with the scanned addresses, and which of them it leaves out."""
    addable = [entry for entry in entries if can_add(entry)]
    unreachable = sum(1 for entry in entries if not is_reachable(entry))
    changed = sum(1 for entry in entries if is_reachable(entry) and entry.get("state") == "changed")

    if addable:
        sentences = [_("F9 trusts the keys above and adds {count} node(s); Esc cancels and adds nothing.").format(
            count=len(addable))]
    else:
        sentences = [_("No address can be added. Press Esc to go back and fix the list.")]
    if unreachable:
        sentences.append(_("{count} unreachable address(es) are left out.").format(count=unreachable))
    if changed:
        sentences.append(_("{count} node(s) with a changed key are left out: trust the new key with F7 "
                           "on the nodes screen.").format(count=changed))
    return "\n".join(sentences)


class HostKeysScreen(NodeModal):
    """Lists every scanned address with its fingerprints; F9 dismisses with the entries AddNodes can take."""

    HELP_TITLE = N_("Confirm host keys")
    HELP = N_(
        "The host key fingerprints that the addresses offered. Compare each with the fingerprint on "
        "the node's own console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub).\n"
        "F9 trusts them and adds the nodes; Esc goes back without adding any."
    )

    BINDINGS = [Binding("f9", "confirm", N_("Trust and add"), priority=True)]

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        super().__init__()
        self.entries = entries
        self.addable = [entry for entry in entries if can_add(entry)]

    def compose(self) -> ComposeResult:
        lines: list[Content] = []
        for entry in self.entries:
            lines.extend(describe_scan_entry(entry))

        with Vertical(classes="node-dialog", id="host-keys-dialog") as dialog:
            dialog.border_title = _("Confirm host keys")
            yield Static(_("Compare each fingerprint with the one the node's own console shows "
                           "(ssh-keygen -lf on its host key files)."), classes="dialog-help")
            with VerticalScroll(id="host-key-list", classes="dialog-scroll"):
                yield Static(Content("\n").join(lines), id="host-key-lines")
            yield Static(summarize_scan(self.entries), id="host-key-summary", classes="dialog-keys")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        # Focused so that the arrow and page keys scroll a long list.
        self.query_one("#host-key-list").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm" and not self.addable:
            return None
        return True

    def action_confirm(self) -> None:
        if self.addable:
            self.dismiss(self.addable)


class TrustKeyScreen(NodeModal):
    """Shows a node's trusted and offered fingerprints; F9 dismisses with the offered one picked.

    The engine pins only the key whose fingerprint TrustNodeHostKey names, so the operator
    picks the fingerprint that the node's console shows, one key type out of those offered.
    """

    HELP_TITLE = N_("Host key changed")
    HELP = N_(
        "The node offers a host key other than the trusted one. A reinstall does that, and so does "
        "another machine answering at the node's address.\n"
        "Check the new fingerprint on the node's console; F9 trusts the highlighted key, Esc keeps "
        "the old one."
    )

    BINDINGS = [Binding("f9", "confirm", N_("Trust new key"), priority=True)]

    def __init__(self, node: dict[str, Any], entry: dict[str, Any]) -> None:
        super().__init__()
        self.node = node
        self.entry = entry
        self.offered = new_fingerprints(entry) or list(entry.get("fingerprints") or [])

    def compose(self) -> ComposeResult:
        node = self.node
        trusted = self.entry.get("trusted_fingerprints") or node.get("host_key_fingerprints") or []
        address = format_address(str(node.get("ssh_host") or "-"), node.get("ssh_port") or "-")

        lines = [
            Content(_("Node {name}, SSH address {address}").format(name=describe_node_name(node), address=address)),
            Content.styled(_("Trusted until now:"), "bold"),
            *(Content(INDENT + str(fingerprint)) for fingerprint in trusted),
            Content.styled(_("Offered now (pick the one the node's console shows):"), "bold $text-warning"),
        ]

        with Vertical(classes="node-dialog", id="trust-dialog") as dialog:
            dialog.border_title = _("Host key changed")
            yield Static(Content("\n").join(lines), id="trust-key-lines")
            yield OptionList(*(Option(INDENT + fingerprint, id=fingerprint) for fingerprint in self.offered),
                             id="offered-keys", compact=True)
            yield Static(_("Trust the new key only if the node was reinstalled or its host keys were replaced on "
                           "purpose. Otherwise another machine may be answering at this address."),
                         classes="dialog-help")
            yield Static(_("F9 trusts the highlighted key, Esc keeps the old one."), classes="dialog-keys")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        offered = self.query_one("#offered-keys", OptionList)
        offered.highlighted = 0 if self.offered else None
        offered.focus()

    def action_confirm(self) -> None:
        offered = self.query_one("#offered-keys", OptionList)
        if offered.highlighted is None:
            return
        self.dismiss(self.offered[offered.highlighted])
