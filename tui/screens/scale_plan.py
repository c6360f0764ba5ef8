"""The plan of a scale-out: a deployed zone's applied configuration and the one with its new nodes.

`ZonePlan` keeps what DescribeQingCloudConfig returned for the zone next to
the configuration to apply, which differs from it by the roles given on the
scale-out screen (or by a configuration file of the zone). Roles are written
through `WizardState`, as the configuration wizard writes them.
"""

from __future__ import annotations

import copy
from typing import Any

from rich.text import Text

from tui.i18n import _
from tui.screens.base import table_cell
from tui.screens.config_source import ConfigFileError
from tui.wizard.files import read_wizard_file
from tui.wizard.state import WizardState

RoleEntry = tuple[str, list[str]]


def parse_roles(roles: dict[str, Any]) -> dict[str, RoleEntry]:
    """Return `settings.roles` as node id -> (role, sub-roles)."""
    parsed = {}
    for node_id, entry in roles.items():
        if isinstance(entry, dict):
            sub_roles = str(entry.get("sub_roles") or "")
            parsed[node_id] = (str(entry.get("role") or ""), [name for name in sub_roles.split(",") if name])
    return parsed


class ZonePlan:
    """One zone's applied configuration (`stored`) and the configuration planned for the scale-out."""

    def __init__(self, zone_id: str, stored: dict[str, Any]) -> None:
        self.zone_id = zone_id
        self.stored = copy.deepcopy(stored)
        self.planned = copy.deepcopy(stored)

    @property
    def changed(self) -> bool:
        """Whether the planned configuration still has to be applied."""
        return self.planned != self.stored

    def take_stored(self, stored: dict[str, Any]) -> None:
        """Take the zone's configuration as read again; a plan without changes follows it."""
        unchanged = not self.changed
        self.stored = copy.deepcopy(stored)
        if unchanged:
            self.planned = copy.deepcopy(stored)

    def take_planned(self, zone: dict[str, Any]) -> None:
        """Plan a whole configuration of the zone, e.g. one read from a file."""
        self.planned = copy.deepcopy(zone)

    def state(self) -> WizardState:
        return WizardState({self.zone_id: self.planned})

    def stored_roles(self) -> dict[str, RoleEntry]:
        return parse_roles(WizardState({self.zone_id: self.stored}).roles(self.zone_id))

    def planned_roles(self) -> dict[str, RoleEntry]:
        return parse_roles(self.state().roles(self.zone_id))

    def role_of(self, node_id: str) -> tuple[str | None, list[str]]:
        role, sub_roles = self.planned_roles().get(node_id, (None, []))
        return role, sub_roles

    def set_role(self, node_id: str, role: str | None, sub_roles: list[str]) -> None:
        state = self.state()
        state.set_role(self.zone_id, node_id, role, sub_roles)
        self.planned = state.config[self.zone_id]

    def deploy_mode(self, zone_info: dict[str, Any]) -> str | None:
        """Return the zone's deploy mode as DescribeQingCloud reports it, else as its variables set it."""
        mode = zone_info.get("deploy_mode") or self.state().merged_variables(self.zone_id).values.get("deploy_mode")
        return mode if isinstance(mode, str) else None

    def joining_node_ids(self, nodes: list[dict[str, Any]]) -> list[str]:
        """Return the registered nodes with a planned role in the zone that are not deployed yet."""
        status = {node.get("node_id"): node.get("status") for node in nodes}
        return [node_id for node_id in self.planned_roles()
                if node_id in status and status[node_id] != "deployed"]

    def node_rows(self, nodes: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str, list[str]]]:
        """Return the nodes a scale-out of the zone can take, each with its planned role and sub-roles.

        Those are the nodes not deployed yet that have a role in the zone's plan
        or its applied configuration, or no role anywhere. Joining nodes come
        first, then nodes registered in this zone, without a zone, in another zone.
        Node ids of the plan that are not registered come last.
        """
        planned = self.planned_roles()
        stored = self.stored_roles()
        rows = []
        for node in nodes:
            node_id = node.get("node_id")
            if node.get("status") == "deployed":
                continue
            if node_id in planned or node_id in stored or not node.get("role"):
                role, sub_roles = planned.get(node_id, ("", []))
                rows.append((node, role, sub_roles))

        def rank(row: tuple[dict[str, Any], str, list[str]]) -> int:
            node = row[0]
            if node.get("node_id") in planned:
                return 0
            if node.get("zone_id") == self.zone_id:
                return 1
            return 2 if not node.get("zone_id") else 3

        rows.sort(key=rank)
        registered = {node.get("node_id") for node in nodes}
        for node_id, (role, sub_roles) in planned.items():
            if node_id not in registered:
                rows.append(({"node_id": node_id}, role, sub_roles))
        return rows


class ZoneFileError(Exception):
    """A configuration file that cannot be read or does not configure the zone; the message names the problem."""


def read_zone_file(path_text: str, zone_id: str) -> dict[str, Any]:
    """Return the configuration of `zone_id` in a configuration or answers file; raise ZoneFileError."""
    try:
        loaded = read_wizard_file(path_text)
    except ConfigFileError as error:
        raise ZoneFileError(_("{path}: {problem}").format(path=path_text, problem=error.describe())) from None

    zone = loaded.config.get(zone_id)
    if not isinstance(zone, dict):
        raise ZoneFileError(_("{path} has no configuration of zone {zone_id}; it configures: {zones}.").format(
            path=loaded.path, zone_id=zone_id, zones=", ".join(loaded.config) or "-"))
    return zone


def job_zone_and_new_nodes(status: dict[str, Any], nodes: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """Return the zone of a ScaleQingCloud job's nodes, and those of them not deployed yet (the new ones).

    The job's status also lists the zone's deployed nodes it refreshes, so only
    the nodes that are not deployed yet are the ones a re-run adds.
    """
    by_id = {node.get("node_id"): node for node in nodes}
    node_ids = [node_id for node_id in status.get("nodes") or {} if node_id in by_id]
    zone_id = next((str(by_id[node_id].get("zone_id")) for node_id in node_ids if by_id[node_id].get("zone_id")), "")
    return zone_id, [node_id for node_id in node_ids if by_id[node_id].get("status") != "deployed"]


def describe_zone(zone_id: str, zone: dict[str, Any]) -> str:
    """Return a deployed zone's line in the zone list."""
    return _("{zone_id}  mode {mode}  role nodes {count}  hyper nodes {hyper}  free nodes {free}").format(
        zone_id=zone_id, mode=zone.get("deploy_mode") or "-", count=zone.get("role_node_num", 0),
        hyper=zone.get("hyper_node_num", 0), free=zone.get("free_node_num", 0))


def role_changes(stored: dict[str, RoleEntry], planned: dict[str, RoleEntry], nodes: list[dict[str, Any]]) -> list[str]:
    """Return one line per node whose role the plan adds, removes or changes."""
    hostnames = {node.get("node_id"): node.get("hostname") for node in nodes}

    def name(node_id: str) -> str:
        hostname = hostnames.get(node_id)
        return f"{node_id} ({hostname})" if hostname and hostname != node_id else node_id

    lines = []
    for node_id, (role, sub_roles) in planned.items():
        if node_id not in stored:
            lines.append(_("+ {node}: {role} ({sub_roles})").format(
                node=name(node_id), role=role, sub_roles=",".join(sub_roles) or "-"))
        elif stored[node_id] != (role, sub_roles):
            old_role, old_sub_roles = stored[node_id]
            lines.append(_("~ {node}: {old_role} ({old_sub_roles}) becomes {role} ({sub_roles})").format(
                node=name(node_id), old_role=old_role, old_sub_roles=",".join(old_sub_roles) or "-",
                role=role, sub_roles=",".join(sub_roles) or "-"))
    for node_id, (role, _sub_roles) in stored.items():
        if node_id not in planned:
            lines.append(_("- {node}: no role any more (was {role})").format(node=name(node_id), role=role))
    return lines


def issue_rows(issues: list[dict[str, Any]]) -> list[tuple[Text, Text, Text]]:
    """Return the cells of ValidateQingCloudConfig's issues: severity, path, message."""
    words = {"error": _("error"), "warning": _("warning")}
    rows = []
    for issue in issues:
        severity = str(issue.get("severity", ""))
        # Rich text in a table cannot use theme colours, so errors stand out in bold.
        rows.append((table_cell(words.get(severity, severity), "bold" if severity == "error" else ""),
                     table_cell(issue.get("path") or issue.get("zone")), table_cell(issue.get("message"))))
    return rows
