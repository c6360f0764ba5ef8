"""DeployQingCloud, and the step runner that deploy and scale jobs share.

A deploy checks the request, then runs the recipe's deploy steps as a job.
ScaleQingCloud and ScaleQingCloudZone (engine/actions/scale.py) start their
jobs through `start_placement` too, so every job that places nodes runs its
steps, allocates VBC networks and records its results the same way.

A job that failed resumes: running the same action again for the same
nodes and the same configuration skips the steps the failed job finished
and starts at the step that failed. Every step is idempotent, so redoing
part of a step on a node that had finished it is safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.actions.nodes import configured_roles, ssh_target
from engine.actions.vbc_routes import job_routes, plan_allocations, record_allocations
from engine.dispatch import route
from engine.errors import not_found, wrong_state
from engine.executor import Executor, JobNode
from engine.jobs import PLATFORM_LOCK, JobContext
from engine.license.limit import check_hypernode_limit
from engine.models import qingcloud as q
from engine.preflight import check_node, distribute_to_node
from engine.recipe import Step
from engine.ssh import SshPool

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.store import JobRecord

log = logging.getLogger("engine.deploy")

ACTION = "DeployQingCloud"

Roles = dict[str, tuple[str, str, str]]


@dataclass
class Placement:
    """The nodes of a deploy or scale job and the recipe steps it runs on them."""

    action: str
    #: Nodes the job deploys ("placed" in the recipe).
    node_ids: list[str]
    #: node_id -> (zone_id, role, sub_roles) from the current configuration.
    roles: Roles
    zone_ids: list[str]
    steps: list[Step]
    #: Nodes deployed before the job that its steps refresh ("deployed" in the recipe).
    refreshed_ids: list[str] = field(default_factory=list)


def resume_point(
    engine: "Engine", node_ids: list[str], config_versions: dict[str, int], action: str = ACTION
) -> tuple[int, str]:
    """(index of the step to start at, id of the failed job it resumes), or (0, '') for a fresh job."""
    previous = engine.store.latest_job(action)
    if previous is None or previous.status != "failed":
        return 0, ""
    if sorted(previous.params.get("node_ids", [])) != sorted(node_ids):
        return 0, ""
    if previous.params.get("config_versions") != config_versions:
        return 0, ""

    for index, step in enumerate(previous.steps):
        if step["state"] == "failed":
            return index, previous.job_id
    for index, step in enumerate(previous.steps):
        if step["state"] not in ("done", "skipped"):
            return index, previous.job_id
    return 0, ""


def require_registered(engine: "Engine", node_ids: list[str]) -> None:
    """Raise ApiError 2100 naming the nodes that AddNodes never registered."""
    unknown = [node_id for node_id in node_ids if engine.store.get_node(node_id) is None]
    if unknown:
        raise not_found(f"node_ids: {', '.join(unknown)} not registered; AddNodes registers nodes")


@route("QingCloud", ACTION, q.DeployQingCloudRequest, changes_state=True)
async def deploy_qingcloud(engine: "Engine", request: q.DeployQingCloudRequest, owner: str) -> dict[str, Any]:
    node_ids = list(dict.fromkeys(request.node_ids))
    zones = {zone.zone_id: zone for zone in engine.store.list_zones()}
    if not zones:
        raise wrong_state(f"{ACTION} is not possible before ConfigQingCloud: no zone is configured yet")

    require_registered(engine, node_ids)

    roles = configured_roles(engine)
    roleless = [node_id for node_id in node_ids if node_id not in roles]
    if roleless:
        raise wrong_state(
            f"node_ids: {', '.join(roleless)} hold no role in the configuration; "
            "name them in settings.roles of a zone with ConfigQingCloud first"
        )
    check_hypernode_limit(engine, node_ids)

    zone_ids = sorted({roles[node_id][0] for node_id in node_ids})
    lock_keys = zone_ids if len(zone_ids) == 1 else [PLATFORM_LOCK]
    placement = Placement(ACTION, node_ids, roles, zone_ids, engine.recipe.actions[ACTION].steps)
    job = start_placement(
        engine, owner, placement, lock_keys=lock_keys, summary=f"{len(node_ids)} node(s) in {', '.join(zone_ids)}"
    )
    log.info("job %s: deploy of %d nodes in %s started by %s", job.job_id, len(node_ids), ", ".join(zone_ids), owner)
    return {"job_id": job.job_id}


def start_placement(
    engine: "Engine",
    owner: str,
    placement: Placement,
    *,
    lock_keys: list[str],
    summary: str,
    params: dict[str, Any] | None = None,
) -> "JobRecord":
    """Create and start the job of a checked deploy or scale request; return its record.

    Raises ApiError 5100 when another job has locked one of `lock_keys`, and 5200
    when a zone's VBC networks cannot be allocated.
    """
    zones = {zone.zone_id: zone for zone in engine.store.list_zones()}
    config_versions = {zone_id: zones[zone_id].config_version for zone_id in placement.zone_ids}
    resume_from, resumed_job = resume_point(engine, placement.node_ids, config_versions, placement.action)
    planned = plan_allocations(engine, placement.node_ids, placement.roles)

    resources: dict[str, Any] = {"node_ids": placement.node_ids, "zone_ids": placement.zone_ids}
    if placement.refreshed_ids:
        resources["refreshed_node_ids"] = placement.refreshed_ids
    job = engine.jobs.create(
        placement.action,
        owner=owner,
        params={**(params or {}), "node_ids": placement.node_ids, "config_versions": config_versions},
        step_names=[step.name for step in placement.steps],
        lock_keys=lock_keys,
        resources=resources,
        summary=summary,
    )
    # Recorded before the first step, so that a re-run of a failed job finds the same blocks.
    record_allocations(engine, planned, job.job_id)

    async def body(context: JobContext) -> None:
        await run_steps(engine, context, placement, resume_from, resumed_job)
        mark_deployed(engine, context.job, placement.node_ids, placement.roles)

    engine.jobs.start(job, body)
    return job


def job_nodes(engine: "Engine", node_ids: list[str], roles: Roles) -> list[JobNode]:
    nodes = []
    for node_id in node_ids:
        record = engine.store.get_node(node_id)
        assert record is not None
        zone_id, role, sub_roles = roles[node_id]
        nodes.append(JobNode(
            node_id=node_id,
            hostname=record.hostname,
            zone_id=zone_id,
            role=role,
            sub_roles=[part.strip() for part in sub_roles.split(",") if part.strip()],
            mgmt_ip=record.mgmt_ip,
            target=ssh_target(record),
        ))
    return nodes


def hosts_file(engine: "Engine", zone_id: str, placement: Placement) -> str:
    """Return the zone's hosts list: its deployed nodes and those the job places, one `address hostname` line each."""
    members = set(placement.node_ids) | set(placement.refreshed_ids)
    lines = []
    for node_id, (node_zone, _role, _sub_roles) in placement.roles.items():
        record = engine.store.get_node(node_id)
        if node_zone != zone_id or record is None:
            continue
        if node_id in members or record.status == "deployed":
            lines.append((record.hostname, f"{record.mgmt_ip} {record.hostname}"))
    header = f"# Nodes of zone {zone_id}, written by qingcloud-installer.\n"
    return header + "".join(f"{line}\n" for _hostname, line in sorted(lines))


def staged_files(engine: "Engine", placement: Placement) -> dict[str, dict[str, str]]:
    """Return zone id -> files the distribute_config builtin writes: the rendered configuration and hosts list."""
    files = {}
    for zone in engine.store.list_zones():
        files[zone.zone_id] = {
            **zone.config.get("files", {}),
            f"hosts.{zone.zone_id}": hosts_file(engine, zone.zone_id, placement),
        }
    return files


async def run_steps(
    engine: "Engine",
    context: JobContext,
    placement: Placement,
    resume_from: int,
    resumed_job: str,
) -> None:
    """Run the placement's steps, each on the node set its recipe entry names; skip those a failed job finished."""
    placed = job_nodes(engine, placement.node_ids, placement.roles)
    refreshed = job_nodes(engine, placement.refreshed_ids, placement.roles)
    node_sets = {"placed": placed, "deployed": refreshed, "all": placed + refreshed}
    for node in placed + refreshed:
        context.set_node(node.node_id, node.hostname, "pending")
    zone_files = staged_files(engine, placement)
    if resumed_job:
        context.log(f"resuming job {resumed_job}, which failed in step{resume_from}")

    pool = SshPool(default_client_key=str(engine.layout.client_key))
    executor = Executor(context, engine.recipe, pool)
    try:
        for index, step in enumerate(placement.steps):
            if index < resume_from:
                context.skip_step(index, f"done by job {resumed_job}")
                continue
            nodes = node_sets[step.nodes]
            if not nodes:
                context.skip_step(index, f"no {step.nodes} node in this job")
                continue

            context.begin_step(index)
            await run_step(executor, step, nodes, f"step{index} {step.name}", zone_files)
            context.end_step(index)
    finally:
        await pool.close()


async def run_step(
    executor: Executor, step: Step, nodes: list[JobNode], label: str, zone_files: dict[str, dict[str, str]]
) -> None:
    if step.builtin == "preflight":
        await executor.for_each_node(nodes, lambda node: check_node(executor, node), parallel=50, step_label=label)
    elif step.builtin == "distribute_config":
        await executor.for_each_node(
            nodes,
            lambda node: distribute_to_node(executor, node, zone_files.get(node.zone_id, {})),
            parallel=50,
            step_label=label,
        )
    for task in step.tasks:
        await executor.run_task(task, nodes, label)


def mark_deployed(engine: "Engine", job: "JobRecord", node_ids: list[str], roles: Roles) -> None:
    """Record the deployed nodes, each zone all of whose configured nodes are now deployed, and the job's results.

    The job's `resources` gain `hosts` (an `address hostname` line per placed
    node) and `vbc_route` (the return routes of the hyper nodes it placed).
    """
    engine.store.set_node_status(node_ids, "deployed")
    for zone in engine.store.list_zones():
        zone_nodes = [node_id for node_id, (zone_id, _, _) in roles.items() if zone_id == zone.zone_id]
        statuses = [engine.store.get_node(node_id) for node_id in zone_nodes]
        if zone_nodes and all(node is not None and node.status == "deployed" for node in statuses):
            engine.store.set_zone_deployed(zone.zone_id, True)

    hosts = []
    for node_id in node_ids:
        record = engine.store.get_node(node_id)
        if record is not None:
            hosts.append(f"{record.mgmt_ip} {record.hostname}")
    job.resources["hosts"] = hosts
    job.resources["vbc_route"] = job_routes(engine, node_ids, roles)
    engine.store.put_job(job)
