"""Matching ValidateQingCloudConfig's issues to the wizard's fields.

An issue's path starts with the zone id (`pek3b.settings.vbc.ipv4_vip`, or
`pek3b.variables.mgmt_network_pools[0]`). A field shows the issues at its own
path, at an item of it (`[0]`), and the issues whose message names its path,
so an overlap between two fields shows beside both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.config.merge import VARIABLE_GROUPS

_ITEM_SUFFIX = re.compile(r"\[[0-9]+\]$")


@dataclass(frozen=True)
class WizardIssue:
    severity: str
    zone: str
    #: Path relative to the zone, e.g. `settings.vbc.ipv4_vip`; "" for the zone itself.
    path: str
    message: str


def variable_paths(name: str) -> tuple[str, ...]:
    """Return the paths at which a zone variable may be reported: flat or in any group."""
    return (f"variables.{name}", *(f"variables.{group}.{name}" for group in VARIABLE_GROUPS))


class IssueIndex:
    """The issues of one validation, looked up by zone and field path."""

    def __init__(self, issues: list[dict[str, Any]] | None = None) -> None:
        self.issues: list[WizardIssue] = []
        for issue in issues or []:
            zone = str(issue.get("zone") or "")
            full_path = str(issue.get("path") or "")
            path = full_path[len(zone) + 1:] if zone and full_path.startswith(f"{zone}.") else ""
            if zone and full_path == zone:
                path = ""
            self.issues.append(WizardIssue(str(issue.get("severity") or ""), zone, path, str(issue.get("message") or "")))

    def of_zone(self, zone_id: str) -> list[WizardIssue]:
        return [issue for issue in self.issues if issue.zone == zone_id]

    def at(self, zone_id: str, *paths: str) -> list[WizardIssue]:
        """Return the zone's issues at any of `paths` or an item of one, or whose message names one of them."""
        found = []
        for issue in self.of_zone(zone_id):
            own_path = _ITEM_SUFFIX.sub("", issue.path)
            if own_path in paths or any(_names_path(issue.message, path) for path in paths):
                found.append(issue)
        return found

    def under(self, zone_id: str, prefix: str) -> list[WizardIssue]:
        """Return the zone's issues at `prefix` or below it (`settings.roles` and `settings.roles.n-x.role`)."""
        return [issue for issue in self.of_zone(zone_id)
                if issue.path == prefix or issue.path.startswith((f"{prefix}.", f"{prefix}["))]


def _names_path(message: str, path: str) -> bool:
    # A path is named when it appears whole: "variables.mgmt_network_pools[0]" names
    # variables.mgmt_network_pools, "settings.vbc.ipv4_vbc6" would not name ipv4_vbc.
    return re.search(rf"(?<![\w.]){re.escape(path)}(?![\w])", message) is not None
