"""The EIP step: per VG node of the zone, keyed by its management address, the entries `cidr|.gateway[|HA-group]`.

An entry is built from three inputs and written when the operator presses
enter; escape empties the inputs and writes nothing.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.i18n import N_, _
from tui.wizard.checks import check_eip_entry
from tui.wizard.fields import role_kind
from tui.wizard.vbc import address_order
from tui.wizard.widgets import ClearableInputs, RemovableList, WizardSection, issue_lines, plain


def build_entry(cidr: str, gateway: str, ha_group: str) -> str:
    """Join the three inputs into an EIP entry; an empty HA group is left out."""
    parts = [cidr.strip(), gateway.strip()]
    if ha_group.strip():
        parts.append(ha_group.strip())
    return "|".join(parts)


class EipSection(WizardSection):
    """EIP entries of the zone's VG nodes; each added, replaced or removed entry is written at once."""

    SECTION = "eip"
    TITLE = N_("EIP")

    DEFAULT_CSS = """
    EipSection #eip-nodes {
        height: auto;
        max-height: 3;
    }
    EipSection #eip-entries {
        height: auto;
        min-height: 1;
        max-height: 4;
    }
    EipSection #eip-editor {
        height: 1;
        margin-top: 1;
    }
    EipSection #eip-editor Label {
        width: auto;
        padding: 0 1;
    }
    EipSection #eip-cidr {
        width: 20;
    }
    EipSection #eip-gateway {
        width: 16;
    }
    EipSection #eip-ha {
        width: 8;
    }
    EipSection #eip-preview {
        height: auto;
    }
    EipSection #eip-message, EipSection #eip-issues {
        height: auto;
        color: $text-error;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.address: str | None = None
        #: Index of the entry being replaced, or None when the inputs add a new entry.
        self.editing: int | None = None

    def compose(self) -> ComposeResult:
        yield Label(_("VG nodes of the zone, by management address (up and down choose):"), id="eip-nodes-label")
        yield OptionList(id="eip-nodes", markup=False, compact=True)
        yield Label("", id="eip-entries-label")
        yield RemovableList(id="eip-entries")
        with ClearableInputs(id="eip-editor"):
            yield Label(_("cidr"))
            yield Input(placeholder="139.198.10.0/24", compact=True, id="eip-cidr")
            yield Label(_("gateway"))
            yield Input(placeholder=".1", compact=True, id="eip-gateway")
            yield Label(_("HA group"))
            yield Input(placeholder="HA0", compact=True, id="eip-ha")
        yield Static("", id="eip-preview")
        yield Static("", id="eip-message")
        yield Static("", id="eip-issues")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False

    # Reading the state.

    def vg_addresses(self) -> list[tuple[str, str]]:
        """Return (management address, node id) of the zone's VG nodes, then eip keys of no known VG node."""
        if self.zone_id is None:
            return []
        inventory = {node.get("node_id"): node for node in self.host.inventory}
        found: dict[str, str] = {}
        for node_id, entry in self.host.wizard.roles(self.zone_id).items():
            if isinstance(entry, dict) and role_kind(str(entry.get("role"))) == "vg":
                mgmt_ip = (inventory.get(node_id) or {}).get("mgmt_ip")
                if mgmt_ip:
                    found[str(mgmt_ip)] = node_id
        for address in self.host.wizard.eip(self.zone_id):
            found.setdefault(str(address), "")
        return sorted(found.items(), key=lambda item: address_order(item[0]))

    def entries(self) -> list[str]:
        if self.zone_id is None or self.address is None:
            return []
        entries = self.host.wizard.eip(self.zone_id).get(self.address)
        return [str(entry) for entry in entries] if isinstance(entries, list) else []

    def reload(self) -> None:
        self.disabled = self.zone_id is None
        nodes = self.query_one("#eip-nodes", OptionList)
        addresses = self.vg_addresses()
        if self.address not in {address for address, _node_id in addresses}:
            self.address = addresses[0][0] if addresses else None

        with nodes.prevent(OptionList.OptionHighlighted):
            nodes.clear_options()
            for address, node_id in addresses:
                count = len(self.host.wizard.eip(self.zone_id or "").get(address) or [])
                owner = node_id or _("no vg node of this zone")
                nodes.add_option(Option(_("{address}  {node}  entries: {count}").format(
                    address=address, node=owner, count=count), id=address))
            if self.address is not None:
                nodes.highlighted = [address for address, _node_id in addresses].index(self.address)
        self.show_entries()

    def show_entries(self) -> None:
        label = self.query_one("#eip-entries-label", Label)
        if self.zone_id is None:
            label.update(_("No zone yet: add one in the Zones step (F8)."))
        elif self.address is None:
            label.update(_("No VG node in this zone: give nodes the vg role in the Roles step first."))
        else:
            label.update(plain(_("Entries of {address} (enter edits, ctrl+d removes):").format(address=self.address)))

        entry_list = self.query_one("#eip-entries", RemovableList)
        highlighted = entry_list.highlighted
        entry_list.clear_options()
        entry_list.add_options([Option(entry) for entry in self.entries()])
        if entry_list.option_count:
            entry_list.highlighted = min(highlighted or 0, entry_list.option_count - 1)
        self.show_draft()

    # The entry being edited.

    def draft_entry(self) -> str:
        return build_entry(self.query_one("#eip-cidr", Input).value, self.query_one("#eip-gateway", Input).value,
                           self.query_one("#eip-ha", Input).value)

    def editor_has_text(self) -> bool:
        # The entry inputs are not a draft of the step: only enter writes an entry.
        return any(field.value for field in self.query("#eip-editor Input").results(Input))

    def show_draft(self) -> None:
        preview = self.query_one("#eip-preview", Static)
        message = self.query_one("#eip-message", Static)
        if not self.editor_has_text():
            preview.update(_("New entry: type cidr, gateway (.1 or an address) and an optional HA group, then enter."))
            message.update("")
        else:
            entry = self.draft_entry()
            where = (_("replaces entry {number}").format(number=self.editing + 1) if self.editing is not None
                     else _("is added"))
            preview.update(plain(_("Entry: {entry} ({where})").format(entry=entry, where=where)))
            message.update(plain(check_eip_entry(entry) or ""))
        self.show_issues()

    def show_issues(self) -> None:
        if self.zone_id is None:
            return
        issues = self.host.issues.at(self.zone_id, "settings.eip")
        if self.address is not None:
            issues += self.host.issues.at(self.zone_id, f"settings.eip.{self.address}")
        self.query_one("#eip-issues", Static).update(plain("\n".join(issue_lines(issues))))

    def focus_first(self) -> None:
        nodes = self.query_one("#eip-nodes", OptionList)
        (nodes if nodes.option_count else self.query_one("#eip-cidr", Input)).focus()

    def write_entries(self, entries: list[str]) -> None:
        if self.zone_id is None or self.address is None:
            return
        self.host.wizard.set_eip_entries(self.zone_id, self.address, entries)
        self.post_message(self.Committed())

    def clear_editor(self) -> None:
        self.editing = None
        for field in self.query("#eip-editor Input").results(Input):
            with field.prevent(Input.Changed):
                field.value = ""
        self.show_draft()

    # Events.

    @on(OptionList.OptionHighlighted, "#eip-nodes")
    def node_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.address = event.option.id
        self.editing = None
        self.show_entries()

    @on(OptionList.OptionSelected, "#eip-entries")
    def edit_entry(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        cidr, _bar, rest = str(event.option.prompt).partition("|")
        gateway, _bar, ha_group = rest.partition("|")
        for selector, value in (("#eip-cidr", cidr), ("#eip-gateway", gateway), ("#eip-ha", ha_group)):
            field = self.query_one(selector, Input)
            with field.prevent(Input.Changed):
                field.value = value
        self.editing = event.option_index
        self.show_draft()
        self.query_one("#eip-cidr", Input).focus()

    @on(RemovableList.RemoveRequested, "#eip-entries")
    def remove_entry(self, event: RemovableList.RemoveRequested) -> None:
        event.stop()
        entries = self.entries()
        if 0 <= event.index < len(entries):
            del entries[event.index]
            self.editing = None
            self.write_entries(entries)

    @on(Input.Changed, "#eip-editor Input")
    def entry_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.show_draft()

    @on(Input.Submitted, "#eip-editor Input")
    def entry_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.address is None or not self.query_one("#eip-cidr", Input).value.strip():
            return

        entries = self.entries()
        entry = self.draft_entry()
        if self.editing is not None and self.editing < len(entries):
            entries[self.editing] = entry
        else:
            entries.append(entry)
        self.clear_editor()
        self.write_entries(entries)
        self.query_one("#eip-cidr", Input).focus()

    @on(ClearableInputs.Cleared)
    def editor_cleared(self, event: ClearableInputs.Cleared) -> None:
        event.stop()
        self.clear_editor()
