"""Checks of a zone's addresses: management pools, `settings.vbc` and `settings.eip`.

Each check parses its values, reports what does not parse, and records the
rest as spans and points for the overlap checks of `engine.config.overlaps`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config.errors import ConfigValueError
from engine.config.merge import MergedVariables
from engine.config.netparse import (
    IPAddress,
    network_span,
    parse_eip,
    parse_ip,
    parse_network,
    parse_pool,
    parse_vip,
)
from engine.config.overlaps import Point, Span, ZoneNetworks, check_collisions
from engine.config.report import IssueSink, NodeFacts

_VBC_EXAMPLE = (
    '{"mgmt_ips": ["172.16.80.7"], "ipv4_vbc": "10.10.50.0/24", "ipv4_vip": "172.16.80.100|172.16.80.7", '
    '"ipv6_vbc": "", "ipv6_vip": ""}'
)


@dataclass
class _ZoneNodes:
    """Inventory facts about the nodes, seen from one zone."""

    zone_id: str
    roles: Mapping[str, tuple[str, list[str]]]
    kinds: Mapping[str, str]
    inventory: Mapping[str, NodeFacts] | None
    #: Management address -> node id, over the whole inventory.
    owners: dict[IPAddress, str] = field(default_factory=dict)

    def address_of(self, node_id: str) -> IPAddress | None:
        facts = self.inventory.get(node_id) if self.inventory is not None else None
        return _lenient_address(facts.mgmt_ip) if facts is not None else None


def check_zone_network(
    zone_id: str,
    variables: MergedVariables,
    settings: Mapping[str, Any],
    roles: Mapping[str, tuple[str, list[str]]],
    kinds: Mapping[str, str],
    inventory: Mapping[str, NodeFacts] | None,
    *,
    vbc_required: bool,
    sink: IssueSink,
) -> ZoneNetworks:
    """Parse and check the zone's pools, VBC and EIP settings; return what parsed."""
    networks = ZoneNetworks(zone_id=zone_id)
    nodes = _ZoneNodes(zone_id=zone_id, roles=roles, kinds=kinds, inventory=inventory)
    if inventory is not None:
        for facts in inventory.values():
            address = _lenient_address(facts.mgmt_ip)
            if address is not None:
                nodes.owners.setdefault(address, facts.node_id)

    # The order of the checks sets the order of spans, and an overlap is
    # reported at the earlier one: the VBC network, then pools, then EIP ranges.
    _check_vbc(zone_id, settings, nodes, networks, vbc_required, sink)
    _check_pools(zone_id, variables, networks, sink)
    _check_eip(zone_id, settings, nodes, networks, sink)

    for node_id in roles:
        address = nodes.address_of(node_id)
        if address is not None:
            label = f"the management address of node {node_id}"
            networks.points.append(Point(address, "node", label, f"settings.roles.{node_id}"))

    check_collisions(zone_id, networks, sink)
    return networks

def _check_pools(zone_id: str, variables: MergedVariables, networks: ZoneNetworks, sink: IssueSink) -> None:
    pools = variables.values.get("mgmt_network_pools")
    if pools is None:
        return

    path = variables.path_of("mgmt_network_pools")
    if not isinstance(pools, list):
        sink.error(
            zone_id,
            path,
            'mgmt_network_pools must be a list of pools, e.g. ["172.16.80.20-172.16.80.40"], '
            f"got {type(pools).__name__}",
        )
        return

    for index, text in enumerate(pools):
        item_path = f"{path}[{index}]"
        try:
            # NOTE: variables name no management network, so a pool must fit the /24 around its first address.
            pool = parse_pool(text)
        except ConfigValueError as error:
            sink.error(zone_id, item_path, error.message)
            continue
        start, end = pool.span()
        networks.spans.append(Span(start, end, pool.first.version, "pool", f"pool {pool}", item_path))


def _check_vbc(
    zone_id: str,
    settings: Mapping[str, Any],
    nodes: _ZoneNodes,
    networks: ZoneNetworks,
    required: bool,
    sink: IssueSink,
) -> None:
    vbc = settings.get("vbc")
    if vbc is None:
        if required:
            sink.error(
                zone_id,
                "settings.vbc",
                "vbc is missing; a zone in network mode nfv with installer_allocate_vbc 0 needs it, "
                f"e.g. {_VBC_EXAMPLE}",
            )
        return
    if not isinstance(vbc, Mapping):
        sink.error(zone_id, "settings.vbc", f"vbc must be a mapping, got {type(vbc).__name__}; e.g. {_VBC_EXAMPLE}")
        return

    mgmt_ips = _check_mgmt_ips(zone_id, vbc, nodes, networks, required, sink)

    text = vbc.get("ipv4_vbc")
    if text is None:
        if required:
            sink.error(
                zone_id,
                "settings.vbc.ipv4_vbc",
                "ipv4_vbc is missing; expected a network such as 10.10.50.0/24",
            )
    else:
        network = _parse_or_report(zone_id, "settings.vbc.ipv4_vbc", lambda: parse_network(text, version=4), sink)
        if network is not None:
            start, end = network_span(network)
            networks.spans.append(Span(start, end, 4, "vbc", f"ipv4_vbc {network}", "settings.vbc.ipv4_vbc"))

    text = vbc.get("ipv4_vip")
    if text is None:
        if required:
            sink.error(
                zone_id,
                "settings.vbc.ipv4_vip",
                "ipv4_vip is missing; expected vip|master, e.g. 172.16.80.100|172.16.80.8",
            )
    else:
        _check_vip(zone_id, "ipv4_vip", text, 4, mgmt_ips, networks, sink)

    ipv6_vbc = vbc.get("ipv6_vbc") or ""
    ipv6_vip = vbc.get("ipv6_vip") or ""
    if ipv6_vbc:
        network = _parse_or_report(zone_id, "settings.vbc.ipv6_vbc", lambda: parse_network(ipv6_vbc, version=6), sink)
        if network is not None:
            start, end = network_span(network)
            networks.spans.append(Span(start, end, 6, "vbc", f"ipv6_vbc {network}", "settings.vbc.ipv6_vbc"))
    if ipv6_vip:
        _check_vip(zone_id, "ipv6_vip", ipv6_vip, 6, mgmt_ips, networks, sink)

    if bool(ipv6_vbc) != bool(ipv6_vip):
        set_field, empty_field = ("ipv6_vbc", "ipv6_vip") if ipv6_vbc else ("ipv6_vip", "ipv6_vbc")
        sink.error(
            zone_id,
            f"settings.vbc.{empty_field}",
            f"{empty_field} is empty but {set_field} is set; set both or neither",
        )


def _check_mgmt_ips(
    zone_id: str,
    vbc: Mapping[str, Any],
    nodes: _ZoneNodes,
    networks: ZoneNetworks,
    required: bool,
    sink: IssueSink,
) -> list[IPAddress]:
    path = "settings.vbc.mgmt_ips"
    values = vbc.get("mgmt_ips")
    if values is None:
        if required:
            sink.error(
                zone_id,
                path,
                'mgmt_ips is missing; expected the hyper nodes\' management addresses, e.g. ["172.16.80.7"]',
            )
        return []
    if not isinstance(values, list):
        sink.error(
            zone_id,
            path,
            f'mgmt_ips must be a list of addresses, e.g. ["172.16.80.7"], got {type(values).__name__}',
        )
        return []
    if not values and required:
        sink.error(
            zone_id,
            path,
            "mgmt_ips is empty; list the management addresses of the hyper nodes that carry the VBC",
        )
        return []

    mgmt_ips: list[IPAddress] = []
    for index, text in enumerate(values):
        item_path = f"{path}[{index}]"
        address = _parse_or_report(zone_id, item_path, lambda: parse_ip(text), sink)
        if address is None:
            continue
        if address in mgmt_ips:
            first = mgmt_ips.index(address)
            sink.error(zone_id, item_path, f"{address} is listed twice in mgmt_ips (first at mgmt_ips[{first}])")
            continue

        mgmt_ips.append(address)
        networks.points.append(Point(address, "hyper-mgmt", f"mgmt_ips[{index}]", item_path))
        _check_owner(address, item_path, "hyper", "mgmt_ips", nodes, sink)
    return mgmt_ips


def _check_vip(
    zone_id: str,
    name: str,
    text: object,
    version: int,
    mgmt_ips: list[IPAddress],
    networks: ZoneNetworks,
    sink: IssueSink,
) -> None:
    path = f"settings.vbc.{name}"
    vip = _parse_or_report(zone_id, path, lambda: parse_vip(text, version=version), sink)
    if vip is None:
        return

    if mgmt_ips and vip.master not in mgmt_ips:
        listed = ", ".join(str(address) for address in mgmt_ips)
        sink.error(zone_id, path, f"{vip.master} is not one of mgmt_ips ({listed})")
    networks.points.append(Point(vip.vip, "vip" if version == 4 else "vip6", name, path))


def _check_eip(
    zone_id: str,
    settings: Mapping[str, Any],
    nodes: _ZoneNodes,
    networks: ZoneNetworks,
    sink: IssueSink,
) -> None:
    eip = settings.get("eip")
    has_vg = "vg" in nodes.kinds.values()
    if eip is None or (isinstance(eip, Mapping) and not eip):
        if has_vg:
            sink.warning(
                zone_id,
                "settings.eip",
                "no EIP ranges are configured, so VMs of this zone get no public addresses",
            )
        return
    if not isinstance(eip, Mapping):
        sink.error(
            zone_id,
            "settings.eip",
            f'eip must map VG management addresses to EIP entries, e.g. {{"172.16.80.5": ["139.198.10.0/24|.1"]}}, '
            f"got {type(eip).__name__}",
        )
        return

    for key, entries in eip.items():
        key_path = f"settings.eip.{key}"
        try:
            address = parse_ip(key)
        except ConfigValueError as error:
            sink.error(zone_id, key_path, f"eip keys are VG management addresses: {error.message}")
            address = None
        if address is not None:
            networks.points.append(Point(address, "vg-mgmt", f"the eip key {address}", key_path))
            _check_owner(address, key_path, "vg", "eip keys", nodes, sink)

        if not isinstance(entries, list) or not entries:
            sink.error(
                zone_id,
                key_path,
                f'expected a non-empty list of EIP entries, e.g. ["139.198.10.0/24|.1|HA0"], got {entries!r}',
            )
            continue
        for index, text in enumerate(entries):
            entry_path = f"{key_path}[{index}]"
            entry = _parse_or_report(zone_id, entry_path, lambda: parse_eip(text), sink)
            if entry is not None:
                start, end = network_span(entry.network)
                label = f"EIP range {entry.network}"
                span = Span(start, end, entry.network.version, "eip", label, entry_path, eip=entry, owner=str(key))
                networks.spans.append(span)


def _check_owner(
    address: IPAddress, path: str, expected_kind: str, field_name: str, nodes: _ZoneNodes, sink: IssueSink
) -> None:
    """Check against the inventory that `address` belongs to a node of `expected_kind` in this zone."""
    if nodes.inventory is None:
        return
    zone_id = nodes.zone_id

    owner = nodes.owners.get(address)
    if owner is not None:
        if owner not in nodes.roles:
            sink.error(
                zone_id,
                path,
                f"{address} is the management address of node {owner}, which has no role in zone {zone_id}; "
                f"{field_name} must be addresses of {expected_kind} nodes of this zone",
            )
        elif nodes.kinds.get(owner) != expected_kind:
            role = nodes.roles[owner][0]
            sink.error(
                zone_id,
                path,
                f"{address} is the management address of node {owner} (role {role}), not of a {expected_kind} node; "
                f"{field_name} must be addresses of {expected_kind} nodes of this zone",
            )
        return

    # An unknown address is only an error when the inventory records the address of every candidate node.
    candidates = [node_id for node_id, kind in nodes.kinds.items() if kind == expected_kind]
    known = [nodes.address_of(node_id) for node_id in candidates]
    if candidates and all(known):
        listed = ", ".join(str(known_address) for known_address in known)
        sink.error(
            zone_id,
            path,
            f"no {expected_kind} node of zone {zone_id} has management address {address}; "
            f"their addresses are {listed}",
        )

def _parse_or_report(zone_id: str, path: str, parse, sink: IssueSink):
    try:
        return parse()
    except ConfigValueError as error:
        sink.error(zone_id, path, error.message)
        return None


def _lenient_address(text: object) -> IPAddress | None:
    # The inventory is the engine's own record. A malformed address there is
    # not the configuration's fault, so it only makes the node unknown.
    try:
        return parse_ip(text)
    except ConfigValueError:
        return None
