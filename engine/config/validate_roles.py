"""Checks of a zone's `settings.roles`: node ids, roles and sub-roles, deploy-mode needs, inventory facts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.config.catalog import DeployModeSpec, RoleCatalog
from engine.config.report import IssueSink, NodeFacts

NODE_ID = re.compile(r"n-[A-Za-z0-9]{4,32}")

_ROLES_EXAMPLE = '{"n-pek3a01r01": {"role": "ks-vm", "sub_roles": "seed,vbr,snapshot"}}'


def check_roles(
    zone_id: str,
    settings: Mapping[str, Any],
    catalog: RoleCatalog,
    sink: IssueSink,
) -> tuple[dict[str, tuple[str, list[str]]], dict[str, str]]:
    """Check `settings.roles` and return (node id -> (role, sub-roles), node id -> kind).

    Only entries that pass their checks are returned, so a node with an
    unknown role appears in neither mapping.
    """
    roles: dict[str, tuple[str, list[str]]] = {}
    kinds: dict[str, str] = {}

    roles_data = settings.get("roles")
    if roles_data is None:
        sink.error(
            zone_id,
            "settings.roles",
            f"roles is missing; map each node id to its role, e.g. {_ROLES_EXAMPLE}",
        )
        return roles, kinds
    if not isinstance(roles_data, Mapping):
        sink.error(
            zone_id,
            "settings.roles",
            f"roles must be a mapping of node ids to roles, got {type(roles_data).__name__}; e.g. {_ROLES_EXAMPLE}",
        )
        return roles, kinds
    if not roles_data:
        sink.error(zone_id, "settings.roles", f"roles is empty; map each node id to its role, e.g. {_ROLES_EXAMPLE}")
        return roles, kinds

    for node_id, entry in roles_data.items():
        checked = _check_role_entry(zone_id, node_id, entry, catalog, sink)
        if checked is not None:
            role, sub_roles = checked
            roles[node_id] = (role, sub_roles)
            kinds[node_id] = catalog.roles[role].kind
    return roles, kinds


def check_deploy_mode_needs(
    zone_id: str,
    mode: DeployModeSpec,
    roles: Mapping[str, tuple[str, list[str]]],
    kinds: Mapping[str, str],
    catalog: RoleCatalog,
    sink: IssueSink,
) -> None:
    """Check that the zone has the node kinds and hyper sub-roles its deploy mode needs."""
    for kind in mode.requires_kinds:
        if kind not in kinds.values():
            role_names = ", ".join(catalog.roles_of_kind(kind))
            sink.error(
                zone_id,
                "settings.roles",
                f"deploy mode {mode.name} needs at least one {kind} node (role {role_names}), but none is configured",
            )

    for node_id, kind in kinds.items():
        if mode.requires_kinds and kind not in mode.requires_kinds:
            sink.warning(
                zone_id,
                f"settings.roles.{node_id}.role",
                f"role {roles[node_id][0]} is of kind {kind}, which deploy mode {mode.name} does not use "
                f"(it uses {', '.join(mode.requires_kinds)})",
            )

    hyper_nodes = [node_id for node_id, kind in kinds.items() if kind == "hyper"]
    for sub_role in mode.hyper_sub_roles:
        if not any(sub_role in roles[node_id][1] for node_id in hyper_nodes):
            sink.error(
                zone_id,
                "settings.roles",
                f"deploy mode {mode.name} needs sub-role {sub_role} on a hyper node, but no hyper node carries it",
            )


def check_inventory_facts(
    zone_id: str,
    roles: Mapping[str, tuple[str, list[str]]],
    inventory: Mapping[str, NodeFacts],
    sink: IssueSink,
) -> None:
    """Warn about zone nodes that are not registered, misnamed, or recorded with another role."""
    hostname_pattern = re.compile(rf"{re.escape(zone_id)}r[0-9]+n[0-9]+")

    for node_id, (role, _sub_roles) in roles.items():
        path = f"settings.roles.{node_id}"
        facts = inventory.get(node_id)
        if facts is None:
            sink.warning(zone_id, path, f"node {node_id} is not registered; add it with AddNodes before deploying")
            continue

        if facts.hostname and not hostname_pattern.fullmatch(facts.hostname):
            sink.warning(
                zone_id,
                path,
                f'hostname "{facts.hostname}" of node {node_id} does not follow <zone_id>r<rack>n<slot>, '
                f"e.g. {zone_id}r01n01",
            )

        if facts.role and facts.role != role:
            sink.warning(
                zone_id,
                f"{path}.role",
                f"node {node_id} is recorded with role {facts.role}; this configuration gives it role {role}",
            )


def _check_role_entry(
    zone_id: str, node_id: object, entry: object, catalog: RoleCatalog, sink: IssueSink
) -> tuple[str, list[str]] | None:
    path = f"settings.roles.{node_id}"
    if not isinstance(node_id, str) or not NODE_ID.fullmatch(node_id):
        sink.error(
            zone_id,
            path,
            f'node id "{node_id}" is not valid; expected n- followed by 4 to 32 letters or digits, e.g. n-pek3a01r01',
        )
        return None
    if not isinstance(entry, Mapping):
        sink.error(
            zone_id,
            path,
            f'expected a mapping with role and sub_roles, e.g. {{"role": "vg", "sub_roles": "vgateway"}}, '
            f"got {type(entry).__name__}",
        )
        return None

    role_names = ", ".join(catalog.roles)
    role = entry.get("role")
    if role is None:
        sink.error(zone_id, f"{path}.role", f"role is missing; expected one of {role_names}")
        return None
    spec = catalog.role(role) if isinstance(role, str) else None
    if spec is None:
        sink.error(zone_id, f"{path}.role", f'role "{role}" is not in the role catalog; expected one of {role_names}')
        return None

    sub_roles = _check_sub_roles(zone_id, f"{path}.sub_roles", role, entry.get("sub_roles"), spec.sub_roles, sink)
    if sub_roles is None:
        return None
    return role, sub_roles


def _check_sub_roles(
    zone_id: str,
    path: str,
    role: str,
    value: object,
    allowed: tuple[str, ...],
    sink: IssueSink,
) -> list[str] | None:
    expected = f"a comma-separated subset of {', '.join(allowed)}, e.g. \"{','.join(allowed)}\""
    if value is None:
        sink.error(zone_id, path, f"sub_roles is missing; expected {expected}")
        return None
    if not isinstance(value, str):
        sink.error(zone_id, path, f"sub_roles must be a string, got {type(value).__name__}; expected {expected}")
        return None
    if value == "":
        sink.error(zone_id, path, f"sub_roles is empty; expected {expected}")
        return None

    sub_roles: list[str] = []
    for item in value.split(","):
        if item == "":
            sink.error(zone_id, path, f'sub_roles "{value}" has an empty item; expected {expected}')
            return None
        if item != item.strip():
            sink.error(zone_id, path, f'sub-role "{item}" has surrounding whitespace; expected {expected}')
            return None
        if item not in allowed:
            sink.error(
                zone_id,
                path,
                f'sub-role "{item}" is not one of the sub-roles of role {role} ({", ".join(allowed)})',
            )
            return None
        if item in sub_roles:
            sink.error(zone_id, path, f"sub-role {item} is listed twice in \"{value}\"")
            return None
        sub_roles.append(item)
    return sub_roles
