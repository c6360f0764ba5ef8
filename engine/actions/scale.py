"""ScaleQingCloud and ScaleQingCloudZone: growing a deployed platform.

ScaleQingCloud adds nodes to a deployed zone. Their roles come from a
ConfigQingCloud that named them in the zone's `settings.roles`. The job runs
the recipe's ScaleQingCloud steps: the deploy's steps on the new nodes, and
a refresh on the zone's nodes deployed before, which learn the new members.

ScaleQingCloudZone deploys a configured zone that is not deployed yet into a
region where another zone is deployed already. It runs the recipe's
ScaleQingCloudZone steps, or the DeployQingCloud steps when the recipe has
none, on every node the zone's configuration names.

Both hold the zone's lock, check the licensed hyper node count, allocate VBC
networks and resume after a failure as DeployQingCloud does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine.actions.deploy import ACTION as DEPLOY
from engine.actions.deploy import Placement, Roles, require_registered, start_placement
from engine.actions.nodes import configured_roles
from engine.dispatch import route
from engine.errors import not_found, wrong_state
from engine.license.limit import check_hypernode_limit
from engine.models import qingcloud as q
from engine.recipe import Step
from engine.store import ZoneRecord

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("engine.scale")

SCALE = "ScaleQingCloud"
SCALE_ZONE = "ScaleQingCloudZone"


def configured_zone(engine: "Engine", zone_id: str) -> ZoneRecord:
    """Return the zone's record; raise ApiError 2100 when no ConfigQingCloud configured it."""
    zone = engine.store.get_zone(zone_id)
    if zone is None:
        known = ", ".join(zone.zone_id for zone in engine.store.list_zones()) or "none"
        raise not_found(f"zone_id: zone {zone_id} is not configured (configured zones: {known}); "
                        "ConfigQingCloud configures a zone")
    return zone


def require_roles_in_zone(node_ids: list[str], roles: Roles, zone_id: str) -> None:
    """Raise ApiError 5200 naming the nodes that the zone's configuration gives no role."""
    outside = [node_id for node_id in node_ids if roles.get(node_id, ("",))[0] != zone_id]
    if not outside:
        return

    described = []
    for node_id in outside:
        other_zone = roles.get(node_id, ("",))[0]
        described.append(f"{node_id} (role in zone {other_zone})" if other_zone else node_id)
    raise wrong_state(
        f"node_ids: {', '.join(described)} hold no role in zone {zone_id}; "
        f"name them in settings.roles of {zone_id} with ConfigQingCloud first"
    )


def deployed_zone_nodes(engine: "Engine", roles: Roles, zone_id: str) -> list[str]:
    """Return the deployed nodes that the configuration places in the zone, sorted by id."""
    deployed = []
    for node_id, (node_zone, _role, _sub_roles) in sorted(roles.items()):
        record = engine.store.get_node(node_id)
        if node_zone == zone_id and record is not None and record.status == "deployed":
            deployed.append(node_id)
    return deployed


def region_of(zone: ZoneRecord) -> str:
    return str(zone.config.get("merged", {}).get("region_id") or "")


def steps_for(engine: "Engine", action: str) -> list[Step]:
    """Return the recipe's steps of a scale action; ScaleQingCloudZone falls back to DeployQingCloud's."""
    actions = engine.recipe.actions
    if action in actions:
        return actions[action].steps
    if action == SCALE_ZONE:
        return actions[DEPLOY].steps
    raise wrong_state(f"{action} is not possible: the installed package's recipe has no {action} steps")


@route("QingCloud", SCALE, q.ScaleQingCloudRequest, changes_state=True)
async def scale_qingcloud(engine: "Engine", request: q.ScaleQingCloudRequest, owner: str) -> dict[str, Any]:
    zone_id = request.zone_id
    node_ids = list(dict.fromkeys(request.node_ids))
    zone = configured_zone(engine, zone_id)
    if not zone.is_deployed:
        raise wrong_state(
            f"zone {zone_id} is not deployed, so {SCALE} cannot add nodes to it; deploy it with "
            f"{DEPLOY}, or with {SCALE_ZONE} when another zone of its region is deployed"
        )

    require_registered(engine, node_ids)
    roles = configured_roles(engine)
    require_roles_in_zone(node_ids, roles, zone_id)
    deployed = [node_id for node_id in node_ids if engine.store.get_node(node_id).status == "deployed"]
    if deployed:
        raise wrong_state(
            f"node_ids: {', '.join(deployed)} already deployed in zone {zone_id}; "
            f"{SCALE} adds nodes that are not deployed yet"
        )
    check_hypernode_limit(engine, node_ids)

    refreshed = [node_id for node_id in deployed_zone_nodes(engine, roles, zone_id) if node_id not in node_ids]
    placement = Placement(SCALE, node_ids, roles, [zone_id], steps_for(engine, SCALE), refreshed_ids=refreshed)
    job = start_placement(
        engine,
        owner,
        placement,
        lock_keys=[zone_id],
        params={"zone_id": zone_id},
        summary=f"{len(node_ids)} new node(s) in {zone_id}, {len(refreshed)} deployed node(s) refreshed",
    )
    log.info("job %s: scale of zone %s by %d nodes started by %s", job.job_id, zone_id, len(node_ids), owner)
    return {"job_id": job.job_id}


@route("QingCloud", SCALE_ZONE, q.ScaleQingCloudZoneRequest, changes_state=True)
async def scale_qingcloud_zone(engine: "Engine", request: q.ScaleQingCloudZoneRequest, owner: str) -> dict[str, Any]:
    zone_id = request.zone_id
    node_ids = list(dict.fromkeys(request.node_ids))
    zone = configured_zone(engine, zone_id)
    if zone.is_deployed:
        raise wrong_state(f"zone {zone_id} is deployed already; {SCALE} adds nodes to a deployed zone")

    region_id = region_of(zone)
    deployed_zones = [
        other.zone_id for other in engine.store.list_zones()
        if other.is_deployed and other.zone_id != zone_id and region_of(other) == region_id
    ]
    if not deployed_zones:
        raise wrong_state(
            f"no zone of region {region_id or '(none)'} is deployed, so {SCALE_ZONE} has no region to add "
            f"zone {zone_id} to; deploy the region's first zone with {DEPLOY}"
        )

    require_registered(engine, node_ids)
    roles = configured_roles(engine)
    require_roles_in_zone(node_ids, roles, zone_id)
    # A zone is deployed whole, because a part of it could lack what its deploy mode needs.
    zone_nodes = sorted(node_id for node_id, (node_zone, _role, _sub_roles) in roles.items() if node_zone == zone_id)
    left_out = [node_id for node_id in zone_nodes if node_id not in node_ids]
    if left_out:
        raise wrong_state(
            f"node_ids: zone {zone_id}'s configuration also gives roles to {', '.join(left_out)}; "
            f"{SCALE_ZONE} deploys every node of the zone, so list them too"
        )
    check_hypernode_limit(engine, node_ids)

    placement = Placement(SCALE_ZONE, node_ids, roles, [zone_id], steps_for(engine, SCALE_ZONE))
    job = start_placement(
        engine,
        owner,
        placement,
        lock_keys=[zone_id],
        params={"zone_id": zone_id},
        summary=f"zone {zone_id} with {len(node_ids)} node(s) into region {region_id}",
    )
    log.info("job %s: zone %s with %d nodes added to region %s by %s", job.job_id, zone_id, len(node_ids),
             region_id, owner)
    return {"job_id": job.job_id}
