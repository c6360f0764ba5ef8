"""The role catalog: which roles and sub-roles exist and what each deploy mode needs.

An installer package's recipe supplies the catalog as a plain mapping;
`DEFAULT_ROLE_CATALOG` matches the demo recipe and serves tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_ROLE_CATALOG",
    "CatalogError",
    "DeployModeSpec",
    "RoleCatalog",
    "RoleSpec",
]

DEFAULT_ROLE_CATALOG: dict[str, Any] = {
    "roles": {
        "ks-vm": {"kind": "ks", "sub_roles": ["seed", "vbr", "snapshot"]},
        "vg": {"kind": "vg", "sub_roles": ["vgateway"]},
        "hyper-repl": {"kind": "hyper", "sub_roles": ["hyper", "seed", "vbr", "snapshot"]},
        "hyper": {"kind": "hyper", "sub_roles": ["hyper", "seed", "vbr", "snapshot"]},
    },
    "deploy_modes": {
        "standard": {"requires_kinds": ["ks", "vg", "hyper"]},
        "fusion": {"requires_kinds": ["vg", "hyper"], "hyper_sub_roles": ["seed", "vbr", "snapshot"]},
    },
}


class CatalogError(ValueError):
    """A role catalog that is malformed; the message names the entry at fault."""


@dataclass(frozen=True)
class RoleSpec:
    """One role: its kind (ks, vg, hyper, ...) and the sub-roles it may carry."""

    name: str
    kind: str
    sub_roles: tuple[str, ...]


@dataclass(frozen=True)
class DeployModeSpec:
    """One deploy mode and what a zone in that mode must contain."""

    name: str
    #: Kinds of which the zone needs at least one node.
    requires_kinds: tuple[str, ...]
    #: Sub-roles that some node of kind hyper must carry, each at least once.
    hyper_sub_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleCatalog:
    """Roles and deploy modes, keyed by name."""

    roles: Mapping[str, RoleSpec]
    deploy_modes: Mapping[str, DeployModeSpec]
    kinds: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        kinds = dict.fromkeys(spec.kind for spec in self.roles.values())
        object.__setattr__(self, "kinds", tuple(kinds))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoleCatalog:
        """Build a catalog from `{"roles": {...}, "deploy_modes": {...}}`; raise CatalogError if malformed."""
        if not isinstance(data, Mapping):
            raise CatalogError(f"role catalog must be a mapping, got {type(data).__name__}")

        roles_data = _mapping(data.get("roles"), "roles")
        if not roles_data:
            raise CatalogError("role catalog: roles is empty; it needs at least one role")
        roles = {name: _role_spec(name, entry) for name, entry in roles_data.items()}

        modes_data = _mapping(data.get("deploy_modes"), "deploy_modes")
        if not modes_data:
            raise CatalogError("role catalog: deploy_modes is empty; it needs at least one deploy mode")
        modes = {name: _mode_spec(name, entry) for name, entry in modes_data.items()}

        known_kinds = {spec.kind for spec in roles.values()}
        for mode in modes.values():
            unknown = [kind for kind in mode.requires_kinds if kind not in known_kinds]
            if unknown:
                raise CatalogError(
                    f"role catalog: deploy_modes.{mode.name}.requires_kinds names {', '.join(unknown)}, "
                    f"which no role has; known kinds: {', '.join(sorted(known_kinds))}"
                )
        return cls(roles=roles, deploy_modes=modes)

    def role(self, name: str) -> RoleSpec | None:
        return self.roles.get(name)

    def roles_of_kind(self, kind: str) -> list[str]:
        return [name for name, spec in self.roles.items() if spec.kind == kind]


def _role_spec(name: object, entry: object) -> RoleSpec:
    if not isinstance(name, str) or not name:
        raise CatalogError(f"role catalog: role name {name!r} must be a non-empty string")
    entry = _mapping(entry, f"roles.{name}")

    kind = entry.get("kind")
    if not isinstance(kind, str) or not kind:
        raise CatalogError(f"role catalog: roles.{name}.kind must be a non-empty string, got {kind!r}")

    sub_roles = _names(entry.get("sub_roles", []), f"roles.{name}.sub_roles")
    return RoleSpec(name=name, kind=kind, sub_roles=sub_roles)


def _mode_spec(name: object, entry: object) -> DeployModeSpec:
    if not isinstance(name, str) or not name:
        raise CatalogError(f"role catalog: deploy mode name {name!r} must be a non-empty string")
    entry = _mapping(entry, f"deploy_modes.{name}")

    requires_kinds = _names(entry.get("requires_kinds", []), f"deploy_modes.{name}.requires_kinds")
    hyper_sub_roles = _names(entry.get("hyper_sub_roles", []), f"deploy_modes.{name}.hyper_sub_roles")
    return DeployModeSpec(name=name, requires_kinds=requires_kinds, hyper_sub_roles=hyper_sub_roles)


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CatalogError(f"role catalog: {where} must be a mapping, got {type(value).__name__}")
    return value


def _names(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
        raise CatalogError(f"role catalog: {where} must be a list of non-empty strings, got {value!r}")
    return tuple(value)
