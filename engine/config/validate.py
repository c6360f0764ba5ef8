"""Validation of the `config` parameter of ConfigQingCloud.

`validate_config` checks the shape of each zone, its merged variables, its
roles against the role catalog, its addresses, and what zones must agree on
(one region, no node in two zones, no address assigned twice). Where the node
inventory records the nodes' management addresses, addresses are also checked
against the nodes' roles.
A bad configuration does not raise: every finding becomes an `Issue`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from engine.config.catalog import DeployModeSpec, RoleCatalog
from engine.config.errors import ConfigValueError
from engine.config.merge import MergedVariables, merge_variables_traced, zone_defaults
from engine.config.netparse import parse_ipv4, parse_network
from engine.config.report import IssueSink, NodeFacts, ValidationReport, ZoneConfig
from engine.config.overlaps import ZoneNetworks, check_between_zones
from engine.config.validate_network import check_zone_network
from engine.config.validate_roles import check_deploy_mode_needs, check_inventory_facts, check_roles

__all__ = ["ZONE_ID", "validate_config"]

ZONE_ID = re.compile(r"[a-z][a-z0-9]{1,31}")
REGION_ID = re.compile(r"[a-z][a-z0-9]{0,31}")

_FLAG_VALUES = ("0", "1", 0, 1)
_KNOWN_NETWORK_MODES = ("nfv", "vlan")
_COUNTED_KINDS = ("ks", "vg", "hyper")


def validate_config(
    config: object,
    *,
    catalog: RoleCatalog,
    inventory: Mapping[str, NodeFacts] | None = None,
) -> ValidationReport:
    """Check a ConfigQingCloud `config` (zone id -> {"variables", "settings"}) and report every issue.

    `inventory` maps node ids to what the node inventory records; None skips
    the checks that need it, and nodes missing from it are skipped one by one.
    """
    report = ValidationReport()
    sink = IssueSink(report.issues)

    if not isinstance(config, Mapping):
        sink.error("", "config", f"config must map zone ids to variables and settings, got {type(config).__name__}")
        return report
    if not config:
        sink.error(
            "",
            "config",
            'config is empty; give at least one zone, e.g. {"pek3a": {"variables": {...}, "settings": {...}}}',
        )
        return report

    zone_networks: list[ZoneNetworks] = []
    region_paths: dict[str, str] = {}
    zone_of_node: dict[str, str] = {}
    for zone_id, zone_data in config.items():
        checked = _check_zone(zone_id, zone_data, catalog, inventory, sink)
        if checked is None:
            continue
        zone, networks, variables = checked

        report.zones[zone_id] = zone
        zone_networks.append(networks)
        region_paths[zone_id] = variables.path_of("region_id")

        for node_id in zone.roles:
            if node_id in zone_of_node:
                sink.error(
                    zone_id,
                    f"settings.roles.{node_id}",
                    f"node {node_id} already has a role in zone {zone_of_node[node_id]}; a node belongs to one zone",
                )
            else:
                zone_of_node[node_id] = zone_id

    _check_one_region(report.zones, region_paths, sink)
    check_between_zones(zone_networks, sink)
    return report


def _check_zone(
    zone_id: object,
    zone_data: object,
    catalog: RoleCatalog,
    inventory: Mapping[str, NodeFacts] | None,
    sink: IssueSink,
) -> tuple[ZoneConfig, ZoneNetworks, MergedVariables] | None:
    if not isinstance(zone_id, str) or not ZONE_ID.fullmatch(zone_id):
        sink.error(
            str(zone_id),
            "",
            f'zone id "{zone_id}" is not valid; expected 2 to 32 lowercase letters and digits '
            "starting with a letter, e.g. pek3a",
        )
        return None

    parts = _zone_parts(zone_id, zone_data, sink)
    if parts is None:
        return None
    variables_data, settings = parts

    try:
        variables = merge_variables_traced(variables_data, zone_defaults(zone_id))
    except ConfigValueError as error:
        sink.error(zone_id, error.path or "variables", error.message)
        return None
    for override in variables.overrides:
        group = override.winner.rsplit(".", 1)[-1]
        sink.warning(
            zone_id,
            f"variables.{override.key}",
            f"{override.key} {override.value!r} is overridden by {override.winner}.{override.key} "
            f"({override.winner_value!r}); move the value into {group} or remove it",
        )

    mode = _check_variables(zone_id, variables, catalog, sink)
    roles, kinds = check_roles(zone_id, settings, catalog, sink)
    # Without any roles, the deploy-mode check would only repeat the
    # missing-roles error once for every kind the mode needs.
    roles_given = isinstance(settings.get("roles"), Mapping) and bool(settings.get("roles"))
    if mode is not None and roles_given:
        check_deploy_mode_needs(zone_id, mode, roles, kinds, catalog, sink)
    if inventory is not None:
        check_inventory_facts(zone_id, roles, inventory, sink)

    values = variables.values
    vbc_required = values.get("network_mode") == "nfv" and str(values.get("installer_allocate_vbc")) != "1"
    networks = check_zone_network(
        zone_id, variables, settings, roles, kinds, inventory, vbc_required=vbc_required, sink=sink
    )

    counts = dict.fromkeys((*_COUNTED_KINDS, *catalog.kinds), 0)
    for kind in kinds.values():
        counts[kind] += 1
    counts["total"] = len(kinds)

    zone = ZoneConfig(
        zone_id=zone_id,
        variables=values,
        settings=copy.deepcopy(dict(settings)),
        roles=roles,
        kinds=kinds,
        counts=counts,
    )
    return zone, networks, variables


def _zone_parts(
    zone_id: str, zone_data: object, sink: IssueSink
) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    if not isinstance(zone_data, Mapping):
        sink.error(zone_id, "", f"expected a mapping with variables and settings, got {type(zone_data).__name__}")
        return None

    parts = []
    for name in ("variables", "settings"):
        value = zone_data.get(name)
        if value is None:
            sink.error(zone_id, name, f"{name} is missing; each zone needs variables and settings")
        elif not isinstance(value, Mapping):
            sink.error(zone_id, name, f"{name} must be a mapping, got {type(value).__name__}")
        else:
            parts.append(value)

    if len(parts) != 2:
        return None
    return parts[0], parts[1]


def _check_variables(
    zone_id: str, variables: MergedVariables, catalog: RoleCatalog, sink: IssueSink
) -> DeployModeSpec | None:
    """Check the merged variables and return the zone's deploy mode, if valid."""
    values = variables.values

    if values.get("zone_id") != zone_id:
        sink.error(
            zone_id,
            variables.path_of("zone_id"),
            f"zone_id {values.get('zone_id')!r} differs from the zone's key {zone_id}; "
            f"set it to {zone_id} or remove it",
        )

    for name in ("is_region", "installer_allocate_vbc"):
        value = values.get(name)
        if isinstance(value, bool) or value not in _FLAG_VALUES:
            sink.error(zone_id, variables.path_of(name), f'{name} must be "0" or "1", got {value!r}')

    network_mode = values.get("network_mode")
    if network_mode not in _KNOWN_NETWORK_MODES:
        sink.warning(
            zone_id,
            variables.path_of("network_mode"),
            f"network_mode {network_mode!r} is not one of {', '.join(_KNOWN_NETWORK_MODES)}; "
            "the VBC and route checks assume nfv",
        )

    _check_region_id(zone_id, variables, sink)
    _check_vbc_allocation(zone_id, variables, sink)
    return _deploy_mode(zone_id, variables, catalog, sink)


def _check_region_id(zone_id: str, variables: MergedVariables, sink: IssueSink) -> None:
    region_id = variables.values.get("region_id")
    path = variables.path_of("region_id")

    if region_id is None:
        if str(variables.values.get("is_region")) == "1":
            sink.error(
                zone_id,
                path,
                "region_id is missing; a zone with is_region 1 needs its region's id, e.g. pek3",
            )
        return
    if not isinstance(region_id, str) or not REGION_ID.fullmatch(region_id):
        sink.error(
            zone_id,
            path,
            f"region_id {region_id!r} is not valid; expected lowercase letters and digits, e.g. pek3",
        )
        return
    if not zone_id.startswith(region_id):
        sink.warning(
            zone_id,
            path,
            f"zone id {zone_id} does not start with region_id {region_id}, as zone ids usually do",
        )


def _check_vbc_allocation(zone_id: str, variables: MergedVariables, sink: IssueSink) -> None:
    if str(variables.values.get("installer_allocate_vbc")) != "1":
        return

    start = variables.values.get("vm_base_network_start")
    path = variables.path_of("vm_base_network_start")
    if start is None:
        sink.error(
            zone_id,
            path,
            "vm_base_network_start is missing; installer_allocate_vbc 1 allocates VBC networks from it, "
            "e.g. 10.10.0.0/16",
        )
        return
    try:
        if isinstance(start, str) and "/" in start:
            parse_network(start, version=4)
        else:
            parse_ipv4(start)
    except ConfigValueError as error:
        sink.error(zone_id, path, error.message)


def _deploy_mode(
    zone_id: str, variables: MergedVariables, catalog: RoleCatalog, sink: IssueSink
) -> DeployModeSpec | None:
    mode_names = ", ".join(catalog.deploy_modes)
    mode = variables.values.get("deploy_mode")
    path = variables.path_of("deploy_mode")

    if mode is None:
        sink.error(zone_id, path, f"deploy_mode is missing; expected one of {mode_names}")
        return None
    spec = catalog.deploy_modes.get(mode) if isinstance(mode, str) else None
    if spec is None:
        sink.error(zone_id, path, f"deploy_mode {mode!r} is not in the role catalog; expected one of {mode_names}")
    return spec


def _check_one_region(zones: Mapping[str, ZoneConfig], region_paths: Mapping[str, str], sink: IssueSink) -> None:
    first_zone: str | None = None
    for zone_id, zone in zones.items():
        region_id = zone.region_id
        if region_id is None or not REGION_ID.fullmatch(region_id):
            continue
        if first_zone is None:
            first_zone = zone_id
            continue

        expected = zones[first_zone].region_id
        if region_id != expected:
            sink.error(
                zone_id,
                region_paths[zone_id],
                f"region_id {region_id} differs from region_id {expected} of zone {first_zone}; "
                "all zones of a platform belong to one region",
            )
