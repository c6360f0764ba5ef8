"""VBC networks of deploy and scale jobs: allocations in the store, the job's routes, GetQingCloudVBCRoute.

Allocations live in the platform record under `vbc_allocations`, keyed by
node id: `{"n-pek3a01r05": {"zone_id": "pek3a", "network": "10.10.0.0/24"}}`.
A job allocates blocks for the hyper nodes it places before it runs any
step, so a failed job's re-run finds the same blocks. A block stays with its
node for good, also when the node later leaves the configuration.

Which routes a job records, zone by zone (engine/vbc.py has the rules):
- a VLAN zone: none;
- `installer_allocate_vbc` 1: one route per hyper node the job placed, to
  the node's own block via the node's management address;
- `installer_allocate_vbc` 0: the operator's `settings.vbc` networks via
  their VIPs, when the job placed a hyper node listed in `settings.vbc.mgmt_ips`
  (the nodes that carry the VBC network).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from ipaddress import IPv4Network
from typing import TYPE_CHECKING, Any

from engine.config.errors import ConfigValueError
from engine.config.netparse import network_span, parse_eip, parse_ipv4, parse_network, parse_pool
from engine.actions.platform import PLATFORM_DEFAULTS
from engine.dispatch import route
from engine.errors import not_found, wrong_state
from engine.models import qingcloud as q
from engine.store import ZoneRecord
from engine.vbc import VbcError, allocate_blocks, allocates_vbc, parse_pool_start, route_command, uses_vbc_routes

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("engine.vbc")

#: Key of the allocations in the platform record.
ALLOCATIONS_KEY = "vbc_allocations"

#: Job actions that place nodes and record `resources.vbc_route`.
PLACING_ACTIONS = ("DeployQingCloud", "ScaleQingCloud", "ScaleQingCloudZone")

Roles = dict[str, tuple[str, str, str]]


def stored_allocations(engine: "Engine") -> dict[str, IPv4Network]:
    """Return every node's allocated block, from the platform record."""
    platform = engine.store.get_platform() or {}
    entries = platform.get(ALLOCATIONS_KEY, {})
    return {node_id: IPv4Network(entry["network"]) for node_id, entry in entries.items()}


def plan_allocations(engine: "Engine", node_ids: list[str], roles: Roles) -> dict[str, tuple[str, IPv4Network]]:
    """Work out the blocks the hyper nodes of `node_ids` still need; nothing is stored.

    Returns node id -> (zone id, block) for nodes without a block yet.
    Raises ApiError 5200 when a zone's `vm_base_network_start` is unusable or full.
    """
    zones = {zone.zone_id: zone for zone in engine.store.list_zones()}
    allocated = stored_allocations(engine)
    reserved = reserved_ranges(engine, zones.values())
    planned: dict[str, tuple[str, IPv4Network]] = {}

    for zone_id in sorted({roles[node_id][0] for node_id in node_ids}):
        merged = zones[zone_id].config.get("merged", {})
        if not uses_vbc_routes(merged) or not allocates_vbc(merged):
            continue
        hyper = sorted(node_id for node_id in node_ids if roles[node_id][0] == zone_id and is_hyper(engine, roles[node_id][1]))
        if not hyper:
            continue

        try:
            pool = parse_pool_start(merged.get("vm_base_network_start"))
            blocks = allocate_blocks(pool, hyper, {**allocated, **{n: b for n, (_, b) in planned.items()}}, reserved)
        except VbcError as error:
            raise wrong_state(f"zone {zone_id}: {error}; change it with ConfigQingCloud") from None
        for node_id, block in blocks.items():
            if node_id not in allocated:
                planned[node_id] = (zone_id, block)
    return planned


def record_allocations(engine: "Engine", planned: dict[str, tuple[str, IPv4Network]], job_id: str) -> None:
    """Add planned blocks to the platform record."""
    if not planned:
        return
    platform = engine.store.get_platform() or dict(PLATFORM_DEFAULTS)
    entries = dict(platform.get(ALLOCATIONS_KEY, {}))
    for node_id, (zone_id, block) in sorted(planned.items()):
        entries[node_id] = {"zone_id": zone_id, "network": str(block)}
        log.info("job %s: VBC network %s allocated to node %s in zone %s", job_id, block, node_id, zone_id)
    platform[ALLOCATIONS_KEY] = entries
    engine.store.put_platform(platform)


def job_routes(engine: "Engine", node_ids: Iterable[str], roles: Roles) -> list[str]:
    """Return the route commands for the hyper nodes a job placed, zone by zone."""
    zones = {zone.zone_id: zone for zone in engine.store.list_zones()}
    allocated = stored_allocations(engine)
    placed = sorted(node_id for node_id in node_ids if node_id in roles and is_hyper(engine, roles[node_id][1]))
    routes: list[str] = []

    for zone_id in sorted({roles[node_id][0] for node_id in placed}):
        zone = zones.get(zone_id)
        if zone is None:
            continue
        merged = zone.config.get("merged", {})
        if not uses_vbc_routes(merged):
            continue
        zone_nodes = [node_id for node_id in placed if roles[node_id][0] == zone_id]
        if allocates_vbc(merged):
            routes += allocated_routes(engine, zone_nodes, allocated)
        else:
            routes += operator_routes(engine, zone, zone_nodes)
    return routes


def allocated_routes(engine: "Engine", node_ids: list[str], allocated: dict[str, IPv4Network]) -> list[str]:
    routes = []
    for node_id in node_ids:
        node = engine.store.get_node(node_id)
        block = allocated.get(node_id)
        if node is not None and block is not None:
            routes.append(route_command(block, node.mgmt_ip))
    return routes


def operator_routes(engine: "Engine", zone: ZoneRecord, node_ids: list[str]) -> list[str]:
    """Return the routes of the zone's `settings.vbc`, if the job placed one of the nodes that carry it."""
    vbc = zone.config.get("settings", {}).get("vbc") or {}
    carriers = {str(address) for address in vbc.get("mgmt_ips") or []}
    addresses = {node.mgmt_ip for node_id in node_ids if (node := engine.store.get_node(node_id)) is not None}
    if not carriers & addresses:
        return []

    routes = []
    for network_key, vip_key in (("ipv4_vbc", "ipv4_vip"), ("ipv6_vbc", "ipv6_vip")):
        network = vbc.get(network_key) or ""
        vip = str(vbc.get(vip_key) or "").partition("|")[0]
        if network and vip:
            routes.append(route_command(network, vip))
    return routes


def reserved_ranges(engine: "Engine", zones: Iterable[ZoneRecord]) -> list[tuple[int, int]]:
    """List the IPv4 ranges no allocated block may overlap: every zone's VBC, pools and EIPs, and node addresses.

    Values that do not parse are left out, because ConfigQingCloud has already rejected or reported them.
    """
    ranges: list[tuple[int, int]] = []
    for zone in zones:
        merged = zone.config.get("merged", {})
        settings = zone.config.get("settings", {})
        vbc = settings.get("vbc") or {}
        candidates: list[Any] = [("network", vbc.get("ipv4_vbc"))]
        candidates += [("pool", pool) for pool in merged.get("mgmt_network_pools") or []]
        for entries in (settings.get("eip") or {}).values():
            candidates += [("eip", entry) for entry in entries or []]
        for kind, value in candidates:
            span = _ipv4_span(kind, value)
            if span is not None:
                ranges.append(span)

    for node in engine.store.list_nodes():
        span = _ipv4_span("address", node.mgmt_ip)
        if span is not None:
            ranges.append(span)
    return ranges


def _ipv4_span(kind: str, value: Any) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        if kind == "network":
            return network_span(parse_network(value, version=4))
        if kind == "pool":
            pool = parse_pool(value)
            return pool.span() if pool.first.version == 4 else None
        if kind == "eip":
            eip = parse_eip(value)
            return network_span(eip.network) if eip.network.version == 4 else None
        address = int(parse_ipv4(value))
        return address, address
    except ConfigValueError:
        return None


def is_hyper(engine: "Engine", role: str) -> bool:
    return engine.recipe.role_kind(role) == "hyper"


@route("QingCloud", "GetQingCloudVBCRoute", q.GetQingCloudVBCRouteRequest, changes_state=False)
async def get_vbc_route(engine: "Engine", request: q.GetQingCloudVBCRouteRequest, owner: str) -> dict[str, Any]:
    job = engine.store.get_job(request.job_id)
    if job is None:
        raise not_found(f"job_id: job {request.job_id} not found")
    if job.job_action not in PLACING_ACTIONS:
        raise wrong_state(
            f"job_id: {request.job_id} is a {job.job_action} job; VBC routes come from "
            f"{', '.join(PLACING_ACTIONS)} jobs"
        )
    if job.status != "successful":
        raise wrong_state(
            f"job {request.job_id} is {job.status}, so its nodes are not placed yet; "
            "its routes are known once it ends successful"
        )
    return {"vbc_route": list(job.resources.get("vbc_route", []))}
