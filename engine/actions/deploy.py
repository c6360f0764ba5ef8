"""DeployQingCloud: checks the request, then runs the recipe's deploy steps as a job.

A deploy that failed resumes: running DeployQingCloud again for the same
nodes and the same configuration skips the steps the failed job finished
and starts at the step that failed. Every step is idempotent, so redoing
part of a step on a node that had finished it is safe.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine.actions.nodes import configured_roles, ssh_target
from engine.dispatch import route
from engine.errors import not_found, wrong_state
from engine.executor import Executor, JobNode
from engine.jobs import PLATFORM_LOCK, JobContext
from engine.license.limit import check_hypernode_limit
from engine.models import qingcloud as q
from engine.preflight import check_node, distribute_to_node
from engine.ssh import SshPool

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.store import JobRecord

log = logging.getLogger("engine.deploy")

ACTION = "DeployQingCloud"


def resume_point(engine: "Engine", node_ids: list[str], config_versions: dict[str, int]) -> tuple[int, str]:
    """(index of the step to start at, id of the failed job it resumes), or (0, '') for a fresh deploy."""
    previous = engine.store.latest_job(ACTION)
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


@route("QingCloud", ACTION, q.DeployQingCloudRequest, changes_state=True)
async def deploy_qingcloud(engine: "Engine", request: q.DeployQingCloudRequest, owner: str) -> dict[str, Any]:
    node_ids = list(dict.fromkeys(request.node_ids))
    zones = {zone.zone_id: zone for zone in engine.store.list_zones()}
    if not zones:
        raise wrong_state(f"{ACTION} is not possible before ConfigQingCloud: no zone is configured yet")

    unknown = [node_id for node_id in node_ids if engine.store.get_node(node_id) is None]
    if unknown:
        raise not_found(f"node_ids: {', '.join(unknown)} not registered; AddNodes registers nodes")

    roles = configured_roles(engine)
    roleless = [node_id for node_id in node_ids if node_id not in roles]
    if roleless:
        raise wrong_state(
            f"node_ids: {', '.join(roleless)} hold no role in the configuration; "
            "name them in settings.roles of a zone with ConfigQingCloud first"
        )
    check_hypernode_limit(engine, node_ids)

    zone_ids = sorted({roles[node_id][0] for node_id in node_ids})
    config_versions = {zone_id: zones[zone_id].config_version for zone_id in zone_ids}
    lock_keys = zone_ids if len(zone_ids) == 1 else [PLATFORM_LOCK]
    resume_from, resumed_job = resume_point(engine, node_ids, config_versions)

    steps = engine.recipe.actions[ACTION].steps
    job = engine.jobs.create(
        ACTION,
        owner=owner,
        params={"node_ids": node_ids, "config_versions": config_versions},
        step_names=[step.name for step in steps],
        lock_keys=lock_keys,
        resources={"node_ids": node_ids, "zone_ids": zone_ids},
        summary=f"{len(node_ids)} node(s) in {', '.join(zone_ids)}",
    )

    async def body(context: JobContext) -> None:
        await run_deploy(engine, context, node_ids, roles, resume_from, resumed_job)

    engine.jobs.start(job, body)
    log.info("job %s: deploy of %d nodes in %s started by %s", job.job_id, len(node_ids), ", ".join(zone_ids), owner)
    return {"job_id": job.job_id}


def job_nodes(engine: "Engine", node_ids: list[str], roles: dict[str, tuple[str, str, str]]) -> list[JobNode]:
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


async def run_deploy(
    engine: "Engine",
    context: JobContext,
    node_ids: list[str],
    roles: dict[str, tuple[str, str, str]],
    resume_from: int,
    resumed_job: str,
) -> None:
    recipe = engine.recipe
    nodes = job_nodes(engine, node_ids, roles)
    for node in nodes:
        context.set_node(node.node_id, node.hostname, "pending")
    zone_files = {zone.zone_id: zone.config.get("files", {}) for zone in engine.store.list_zones()}
    if resumed_job:
        context.log(f"resuming job {resumed_job}, which failed in step{resume_from}")

    pool = SshPool(default_client_key=str(engine.layout.client_key))
    executor = Executor(context, recipe, pool)
    try:
        for index, step in enumerate(recipe.actions[ACTION].steps):
            if index < resume_from:
                context.skip_step(index, f"done by job {resumed_job}")
                continue

            context.begin_step(index)
            label = f"step{index} {step.name}"
            if step.builtin == "preflight":
                await executor.for_each_node(
                    nodes, lambda node: check_node(executor, node), parallel=50, step_label=label
                )
            elif step.builtin == "distribute_config":
                await executor.for_each_node(
                    nodes,
                    lambda node: distribute_to_node(executor, node, zone_files.get(node.zone_id, {})),
                    parallel=50,
                    step_label=label,
                )
            for task in step.tasks:
                await executor.run_task(task, nodes, label)
            context.end_step(index)
    finally:
        await pool.close()

    mark_deployed(engine, context.job, node_ids, roles)


def mark_deployed(engine: "Engine", job: "JobRecord", node_ids: list[str], roles: dict[str, tuple[str, str, str]]) -> None:
    """Record the deployed nodes, and each zone all of whose configured nodes are now deployed."""
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
    engine.store.put_job(job)
