"""The wizard's state: the ConfigQingCloud `config` being built and the answers-file settings around it.

`WizardState.config` maps zone ids to `{"variables": ..., "settings": ...}`,
exactly as ConfigQingCloud takes it. It is the single source for every
editor: editors read from it, keep their own draft, and write back through
the methods here only when the operator commits. A draft is checked by
applying it to a `copy()`, so the state itself never contains half an edit.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config.merge import VARIABLE_GROUPS, MergedVariables, merge_variables_traced, zone_defaults

#: The group that edits of a grouped zone's variables go into: it overrides `common` and `base`.
EDIT_GROUP = "advanced"


@dataclass
class AnswersSettings:
    """What an answers file carries besides `config`, kept so that an export writes it back."""

    ssh_user: str = "root"
    ssh_port: int = 22
    ssh_key_file: str = ""
    #: NodeAnswer objects of engine.answers, as imported.
    nodes: list[Any] = field(default_factory=list)
    deploy_node_ids: list[str] = field(default_factory=list)


class WizardState:
    """The zones being configured; see the module docstring for how editors use it."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, dict[str, Any]] = {}
        self.answers = AnswersSettings()
        if config:
            self.fill(config)

    def copy(self) -> WizardState:
        duplicate = WizardState()
        duplicate.config = copy.deepcopy(self.config)
        duplicate.answers = copy.deepcopy(self.answers)
        return duplicate

    # Zones.

    @property
    def zone_ids(self) -> list[str]:
        return list(self.config)

    def add_zone(self, zone_id: str) -> None:
        """Add an empty zone: nothing is written into its variables until the operator sets them."""
        if zone_id in self.config:
            raise ValueError(f"zone {zone_id} is already in the wizard")
        self.config[zone_id] = {"variables": {}, "settings": {}}

    def remove_zone(self, zone_id: str) -> None:
        self.config.pop(zone_id, None)

    def fill(self, config: Mapping[str, Any]) -> list[str]:
        """Take the zones of a loaded configuration; each replaces the wizard's zone of the same id.

        Zones the loaded configuration does not name stay as they are. Returns
        the zone ids taken, in the file's order. Raises ValueError, and takes
        nothing, when a zone is not a mapping.
        """
        for zone_id, zone in config.items():
            if not isinstance(zone, Mapping):
                raise ValueError(f"zone {zone_id} must be a mapping with variables and settings")
        for zone_id, zone in config.items():
            self.config[str(zone_id)] = copy.deepcopy(dict(zone))
        return [str(zone_id) for zone_id in config]

    def zone_for_update(self, zone_id: str) -> dict[str, Any]:
        """Return the zone's mapping for a write; a missing or malformed `variables` or `settings` becomes empty."""
        zone = self.config[zone_id]
        if not isinstance(zone.get("variables"), dict):
            zone["variables"] = {}
        if not isinstance(zone.get("settings"), dict):
            zone["settings"] = {}
        return zone

    def settings(self, zone_id: str) -> dict[str, Any]:
        """Return the zone's settings for reading; a missing or malformed one reads as empty."""
        settings = self.config.get(zone_id, {}).get("settings")
        return settings if isinstance(settings, dict) else {}

    # Variables.

    def is_grouped(self, zone_id: str) -> bool:
        """Tell whether the zone's variables use the common/base/advanced groups."""
        variables = self.config.get(zone_id, {}).get("variables")
        return isinstance(variables, Mapping) and any(group in variables for group in VARIABLE_GROUPS)

    def merged_variables(self, zone_id: str) -> MergedVariables:
        """Return the zone's variables merged over its defaults, with the layer each value came from.

        A zone whose variables cannot be merged (a group that is not a mapping)
        shows its defaults only; the validator reports the fault.
        """
        variables = self.config.get(zone_id, {}).get("variables") or {}
        try:
            return merge_variables_traced(variables, zone_defaults(zone_id))
        except ValueError:
            return merge_variables_traced({}, zone_defaults(zone_id))

    def set_variables(self, zone_id: str, changes: Mapping[str, Any]) -> None:
        """Write changed variables; a value of None unsets the variable.

        A flat zone gets the values at the top of its variables. A grouped zone
        gets them in `advanced`, which wins over `common` and `base`, so the
        merged value is the one written. Unsetting there removes the key from
        `advanced` only, so a value from `common` or `base` shows again.
        """
        variables = self.zone_for_update(zone_id)["variables"]
        target = variables
        if self.is_grouped(zone_id):
            target = variables.get(EDIT_GROUP)
            if not isinstance(target, dict):
                target = variables[EDIT_GROUP] = {}

        for name, value in changes.items():
            if value is None:
                target.pop(name, None)
            else:
                target[name] = copy.deepcopy(value)

    # Settings.

    def roles(self, zone_id: str) -> dict[str, dict[str, Any]]:
        roles = self.settings(zone_id).get("roles")
        return roles if isinstance(roles, dict) else {}

    def zone_of_node(self, node_id: str) -> str | None:
        """Return the zone whose roles name the node, if any."""
        for zone_id in self.config:
            if node_id in self.roles(zone_id):
                return zone_id
        return None

    def set_role(self, zone_id: str, node_id: str, role: str | None, sub_roles: list[str]) -> None:
        """Give a node a role in a zone, or take its role away with None.

        A node belongs to one zone, so a role here removes the node from any
        other zone of the wizard. An existing `vms` value is kept.
        """
        for other_zone in self.config:
            if other_zone != zone_id:
                self.roles(other_zone).pop(node_id, None)

        settings = self.zone_for_update(zone_id)["settings"]
        roles = settings.get("roles")
        if not isinstance(roles, dict):
            roles = settings["roles"] = {}

        if role is None:
            roles.pop(node_id, None)
            return
        previous = roles.get(node_id)
        vms = previous.get("vms", "") if isinstance(previous, dict) else ""
        roles[node_id] = {"role": role, "sub_roles": ",".join(sub_roles), "vms": vms}

    def set_vbc(self, zone_id: str, vbc: Mapping[str, Any] | None) -> None:
        """Replace the zone's `settings.vbc` as a whole, or remove it with None."""
        settings = self.zone_for_update(zone_id)["settings"]
        if vbc is None:
            settings.pop("vbc", None)
        else:
            settings["vbc"] = copy.deepcopy(dict(vbc))

    def eip(self, zone_id: str) -> dict[str, list[Any]]:
        eip = self.settings(zone_id).get("eip")
        return eip if isinstance(eip, dict) else {}

    def set_eip_entries(self, zone_id: str, address: str, entries: list[str]) -> None:
        """Replace the EIP entries of one VG address; no entries removes the address, and an empty eip goes."""
        settings = self.zone_for_update(zone_id)["settings"]
        eip = settings.get("eip")
        if not isinstance(eip, dict):
            eip = settings["eip"] = {}

        if entries:
            eip[address] = list(entries)
        else:
            eip.pop(address, None)
        if not eip:
            settings.pop("eip", None)
