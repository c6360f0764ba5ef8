"""The validator's inputs from the node inventory and its results: issues and checked zones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Issue", "IssueSink", "NodeFacts", "ValidationReport", "ZoneConfig"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class NodeFacts:
    """Facts about a node from the node inventory, as far as validation needs them."""

    node_id: str
    hostname: str | None
    #: Management address, the one the configuration names; may differ from the SSH address.
    mgmt_ip: str | None
    #: Role recorded by an earlier configuration or deploy, if any.
    role: str | None = None


@dataclass(frozen=True)
class Issue:
    """One finding: an error stops a Config, a warning is shown and recorded."""

    severity: Severity
    zone: str
    #: Dotted location starting with the zone id, e.g. `pek3a.settings.vbc.ipv4_vip`;
    #: "config" for findings about the whole parameter.
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class ZoneConfig:
    """A zone's configuration after merging, as rendered and as DescribeQingCloud counts it."""

    zone_id: str
    #: Merged variables over the zone defaults, values as given.
    variables: dict[str, Any]
    #: The zone's settings, copied as given.
    settings: dict[str, Any]
    #: Node id -> (role, sub-roles) from `settings.roles`.
    roles: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    #: Node id -> kind from the role catalog, for nodes whose role is in the catalog.
    kinds: dict[str, str] = field(default_factory=dict)
    #: Nodes per kind plus "total"; "ks", "vg" and "hyper" are always present.
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def deploy_mode(self) -> str | None:
        value = self.variables.get("deploy_mode")
        return value if isinstance(value, str) else None

    @property
    def region_id(self) -> str | None:
        value = self.variables.get("region_id")
        return value if isinstance(value, str) else None

    def nodes_of_kind(self, kind: str) -> list[str]:
        return [node_id for node_id, node_kind in self.kinds.items() if node_kind == kind]


@dataclass
class ValidationReport:
    """Everything `validate_config` found, and the zones it could read."""

    issues: list[Issue] = field(default_factory=list)
    #: Zones whose variables and settings could be read, in the order of the configuration.
    #: A zone appears here even when it has errors, so check `ok` before using it.
    zones: dict[str, ZoneConfig] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == "warning"]

    def first_error(self) -> Issue | None:
        return next(iter(self.errors), None)

    def issues_at(self, path: str) -> list[Issue]:
        """Return the issues recorded at exactly `path`."""
        return [issue for issue in self.issues if issue.path == path]


class IssueSink:
    """Collects issues for one report; paths given to it are relative to the zone."""

    def __init__(self, issues: list[Issue]) -> None:
        self._issues = issues

    def error(self, zone: str, path: str, message: str) -> None:
        self._add("error", zone, path, message)

    def warning(self, zone: str, path: str, message: str) -> None:
        self._add("warning", zone, path, message)

    def _add(self, severity: Severity, zone: str, path: str, message: str) -> None:
        full_path = f"{zone}.{path}" if zone and path else (zone or path)
        self._issues.append(Issue(severity=severity, zone=zone, path=full_path, message=message))
