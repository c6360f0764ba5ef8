"""The VBC step: who allocates the VBC networks, and otherwise the zone's `settings.vbc`.

With `installer_allocate_vbc` off, the operator picks `mgmt_ips` from the
management addresses of the zone's hyper nodes, gives `ipv4_vbc`, and the VIP
with its master (one of `mgmt_ips`), written `vip|master`. The IPv6 network
and VIP may stay empty. All five keys are written together.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Checkbox, Input, Label, OptionList, SelectionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from tui.i18n import N_, _
from tui.wizard.checks import check_address, check_network, check_vip
from tui.wizard.fields import role_kind
from tui.wizard.state import WizardState
from tui.wizard.widgets import FieldRow, FormScroll, WizardSection, issue_lines, plain

VBC_KEYS = ("mgmt_ips", "ipv4_vbc", "ipv4_vip", "ipv6_vbc", "ipv6_vip")


def address_order(text: str) -> tuple[int, int, str]:
    """Sort addresses by number, with anything that does not parse last."""
    try:
        address = ip_address(text)
    except ValueError:
        return 2, 0, text
    return address.version - 4, int(address), text


def split_vip(text: Any) -> tuple[str, str]:
    """Split `vip|master` into its parts; text without a bar is a VIP without master."""
    vip, _bar, master = str(text or "").partition("|")
    return vip, master


class VbcSection(WizardSection):
    """The VBC form; enter in a field or leaving the step writes it, escape restores it."""

    SECTION = "vbc"
    TITLE = N_("VBC")

    BINDINGS = [Binding("escape", "discard", N_("Discard"))]

    DEFAULT_CSS = """
    VbcSection #vbc-note {
        height: auto;
        color: $text-muted;
    }
    VbcSection #vbc-form {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    VbcSection #vbc-mgmt-ips {
        height: auto;
        max-height: 5;
    }
    VbcSection #vbc-master {
        height: auto;
        max-height: 4;
    }
    VbcSection .vbc-message {
        padding-left: 2;
        color: $text-error;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: (allocate, vbc) as last read from the state; None until the first reload.
        self.initial: tuple[bool, dict[str, Any]] | None = None
        self.master = ""

    def compose(self) -> ComposeResult:
        yield Checkbox(_("installer_allocate_vbc: let the installer allocate the VBC networks"),
                       id="vbc-allocate", compact=True)
        yield Static("", id="vbc-note")
        with FormScroll(id="vbc-form"):
            yield Label(_("mgmt_ips: hyper nodes that carry the VBC (space ticks an address)"))
            yield SelectionList[str](id="vbc-mgmt-ips", compact=True)
            yield Static("", id="vbc-mgmt-ips-message", classes="vbc-message")
            yield FieldRow("ipv4_vbc", "ipv4_vbc", _("IPv4 network of the VBC, e.g. 10.10.50.0/24."),
                           input_id="vbc-ipv4-vbc")
            yield FieldRow("ipv4_vip", _("ipv4_vip: VIP"), _("Virtual address of the VBC, e.g. 172.16.80.100."),
                           input_id="vbc-ipv4-vip")
            yield Label(_("ipv4_vip: master, one of mgmt_ips (up and down choose)"))
            yield OptionList(id="vbc-master", markup=False, compact=True)
            yield Static("", id="vbc-master-message", classes="vbc-message")
            yield FieldRow("ipv6_vbc", "ipv6_vbc", _("IPv6 network of the VBC; may stay empty."),
                           input_id="vbc-ipv6-vbc")
            yield FieldRow("ipv6_vip", "ipv6_vip",
                           _("IPv6 VIP, or vip|master; without a master the IPv4 master is used. May stay empty."),
                           input_id="vbc-ipv6-vip")

    def row(self, input_id: str) -> FieldRow:
        return self.query_one(f"#row-{input_id}", FieldRow)

    # Reading the state.

    def hyper_addresses(self) -> list[str]:
        """Return the management addresses of the zone's hyper nodes, by number."""
        if self.zone_id is None:
            return []
        addresses = []
        inventory = {node.get("node_id"): node for node in self.host.inventory}
        for node_id, entry in self.host.wizard.roles(self.zone_id).items():
            if isinstance(entry, dict) and role_kind(str(entry.get("role"))) == "hyper":
                mgmt_ip = (inventory.get(node_id) or {}).get("mgmt_ip")
                if mgmt_ip:
                    addresses.append(str(mgmt_ip))
        return sorted(set(addresses), key=address_order)

    def reload(self) -> None:
        zone_id = self.zone_id
        self.disabled = zone_id is None
        wizard = self.host.wizard
        vbc: dict[str, Any] = {}
        allocate = False
        if zone_id is not None:
            allocate = str(wizard.merged_variables(zone_id).values.get("installer_allocate_vbc")) == "1"
            stored = wizard.settings(zone_id).get("vbc")
            vbc = stored if isinstance(stored, dict) else {}

        checkbox = self.query_one("#vbc-allocate", Checkbox)
        with checkbox.prevent(Checkbox.Changed):
            checkbox.value = allocate

        mgmt_ips = [str(address) for address in vbc.get("mgmt_ips") or []] if isinstance(
            vbc.get("mgmt_ips"), list) else []
        choices = sorted(set(self.hyper_addresses()) | set(mgmt_ips), key=address_order)
        selection = self.query_one("#vbc-mgmt-ips", SelectionList)
        with selection.prevent(SelectionList.SelectedChanged):
            selection.clear_options()
            selection.add_options([Selection(plain(address), address, address in mgmt_ips) for address in choices])
            # Highlighted from the start, so that space ticks the first address without a down first.
            selection.highlighted = 0 if choices else None

        vip, self.master = split_vip(vbc.get("ipv4_vip"))
        ipv6_vip, ipv6_master = split_vip(vbc.get("ipv6_vip"))
        self.row("vbc-ipv4-vbc").set_value(str(vbc.get("ipv4_vbc") or ""))
        self.row("vbc-ipv4-vip").set_value(vip)
        self.row("vbc-ipv6-vbc").set_value(str(vbc.get("ipv6_vbc") or ""))
        self.row("vbc-ipv6-vip").set_value(ipv6_vip if not ipv6_master or ipv6_master == self.master
                                           else f"{ipv6_vip}|{ipv6_master}")
        self.show_masters()
        self.initial = self.draft()
        self.show_state()

    # The draft.

    def selected_ips(self) -> list[str]:
        selection = self.query_one("#vbc-mgmt-ips", SelectionList)
        chosen = set(selection.selected)
        return [str(selection.get_option_at_index(index).value) for index in range(selection.option_count)
                if selection.get_option_at_index(index).value in chosen]

    def draft(self) -> tuple[bool, dict[str, Any]]:
        """Return (allocate, vbc) as the form shows them."""
        vip = self.row("vbc-ipv4-vip").value
        ipv6_vip = self.row("vbc-ipv6-vip").value
        if ipv6_vip and "|" not in ipv6_vip and self.master:
            ipv6_vip = f"{ipv6_vip}|{self.master}"
        vbc = {
            "mgmt_ips": self.selected_ips(),
            "ipv4_vbc": self.row("vbc-ipv4-vbc").value,
            "ipv4_vip": f"{vip}|{self.master}" if vip and self.master else vip,
            "ipv6_vbc": self.row("vbc-ipv6-vbc").value,
            "ipv6_vip": ipv6_vip,
        }
        return self.query_one("#vbc-allocate", Checkbox).value, vbc

    def has_draft(self) -> bool:
        return self.initial is not None and self.zone_id is not None and self.draft() != self.initial

    def apply_draft(self, state: WizardState) -> None:
        zone_id = self.zone_id
        if zone_id is None or zone_id not in state.config or self.initial is None:
            return
        allocate, vbc = self.draft()
        initial_allocate, initial_vbc = self.initial

        if allocate != initial_allocate:
            state.set_variables(zone_id, {"installer_allocate_vbc": "1" if allocate else "0"})
        if allocate:
            # The installer allocates the networks, so a VBC of the operator's would contradict it.
            if allocate != initial_allocate:
                state.set_vbc(zone_id, None)
        elif vbc != initial_vbc:
            state.set_vbc(zone_id, vbc)

    # Showing.

    def show_masters(self) -> None:
        """List the chosen mgmt_ips as candidates for the VIP's master, marking the master."""
        masters = self.query_one("#vbc-master", OptionList)
        selected = self.selected_ips()
        if self.master and self.master not in selected:
            selected.append(self.master)
        with masters.prevent(OptionList.OptionHighlighted):
            masters.clear_options()
            masters.add_options([Option(f"({'*' if address == self.master else ' '}) {address}", id=address)
                                 for address in selected])
            if self.master in selected:
                masters.highlighted = selected.index(self.master)

    def show_state(self) -> None:
        allocate = self.query_one("#vbc-allocate", Checkbox).value
        self.query_one("#vbc-form", FormScroll).disabled = allocate
        if self.zone_id is None:
            note = _("No zone yet: add one in the Zones step (F8).")
        elif allocate:
            note = _("The installer allocates the VBC networks from vm_base_network_start (Variables step); "
                     "settings.vbc is not written.")
        elif not self.hyper_addresses():
            note = _("No hyper node of this zone has a management address yet: give nodes a hyper role first.")
        else:
            note = _("Enter saves the form, escape restores it.")
        self.query_one("#vbc-note", Static).update(plain(note))
        self.show_issues()

    def show_issues(self) -> None:
        zone_id = self.zone_id or ""
        issues = self.host.issues
        _allocate, vbc = self.draft()
        vip, _master = split_vip(vbc["ipv4_vip"])
        ipv6_vip, ipv6_master = split_vip(vbc["ipv6_vip"])

        self.row("vbc-ipv4-vbc").set_messages(
            [message for message in [check_network(vbc["ipv4_vbc"], 4)] if message]
            + issue_lines(issues.at(zone_id, "settings.vbc.ipv4_vbc")))
        self.row("vbc-ipv4-vip").set_messages(
            [message for message in [check_vip(vip, self.master, 4)] if message]
            + issue_lines(issues.at(zone_id, "settings.vbc.ipv4_vip")))
        self.row("vbc-ipv6-vbc").set_messages(
            [message for message in [check_network(vbc["ipv6_vbc"], 6)] if message]
            + issue_lines(issues.at(zone_id, "settings.vbc.ipv6_vbc")))
        self.row("vbc-ipv6-vip").set_messages(
            [message for message in [check_vip(ipv6_vip, ipv6_master, 6)] if message]
            + issue_lines(issues.at(zone_id, "settings.vbc.ipv6_vip")))

        ip_messages = [message for address in vbc["mgmt_ips"] for message in [check_address(address)] if message]
        ip_messages += issue_lines(issues.at(zone_id, "settings.vbc.mgmt_ips", "settings.vbc"))
        self.query_one("#vbc-mgmt-ips-message", Static).update(plain("\n".join(dict.fromkeys(ip_messages))))
        master_message = ""
        if vip and not self.master:
            master_message = _("Choose the master of the VIP from mgmt_ips.")
        self.query_one("#vbc-master-message", Static).update(plain(master_message))

    def focus_first(self) -> None:
        self.query_one("#vbc-allocate", Checkbox).focus()

    # Events.

    def draft_changed(self) -> None:
        self.show_issues()
        self.post_message(self.DraftChanged())

    @on(Checkbox.Changed, "#vbc-allocate")
    def allocate_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.show_state()
        self.post_message(self.DraftChanged())

    @on(SelectionList.SelectedChanged, "#vbc-mgmt-ips")
    def mgmt_ips_changed(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        if self.master and self.master not in self.selected_ips():
            self.master = ""
        self.show_masters()
        self.draft_changed()

    @on(OptionList.OptionHighlighted, "#vbc-master")
    def master_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id and event.option.id != self.master:
            self.master = event.option.id
            self.show_masters()
            self.draft_changed()

    @on(Input.Changed)
    def field_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.draft_changed()

    @on(Input.Submitted)
    def field_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.CommitRequested())
        self.screen.focus_next()

    def action_discard(self) -> None:
        self.reload()
        self.post_message(self.DraftChanged())
