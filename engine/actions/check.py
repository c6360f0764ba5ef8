"""CheckQingCloud and GetQingCloudCheckResult: checks of the services of deployed nodes.

Every check keeps its full result, whatever its verbose, so earlier checks
stay readable by job id. Verbose "0" only filters what GetQingCloudCheckResult
returns.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine.deployed_nodes import deployed_nodes
from engine.dispatch import route
from engine.errors import bad_request, not_found, wrong_state
from engine.executor import JobNode
from engine.jobs import JobContext
from engine.models import qingcloud as q
from engine.service_check import filter_result, plan_check, run_check, service_catalog

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("engine.check")

ACTION = "CheckQingCloud"
#: Hostnames an error message names at most, so that a 200-node platform does not flood it.
_NAMES_SHOWN = 10


def shorten(names: list[str]) -> str:
    shown = ", ".join(names[:_NAMES_SHOWN])
    return shown + (f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else "")


def select_nodes(engine: "Engine", deployed: list[JobNode], nodes: str) -> list[JobNode]:
    """Return the deployed nodes `nodes` names: "all", or comma-separated hostnames; raise 1100 naming the others."""
    if nodes.strip().lower() == "all":
        return deployed

    hostnames = list(dict.fromkeys(part.strip() for part in nodes.split(",") if part.strip()))
    if not hostnames:
        raise bad_request("nodes: no hostname given; give 'all' or comma-separated hostnames of deployed nodes")

    by_hostname = {node.hostname: node for node in deployed}
    registered = {node.hostname for node in engine.store.list_nodes()}
    undeployed = [name for name in hostnames if name not in by_hostname and name in registered]
    unknown = [name for name in hostnames if name not in registered]
    if unknown:
        raise bad_request(
            f"nodes: {shorten(unknown)} {'is not the hostname' if len(unknown) == 1 else 'are not hostnames'} "
            f"of a registered node; give 'all' or hostnames of deployed nodes, e.g. {deployed[0].hostname}"
        )
    if undeployed:
        raise bad_request(
            f"nodes: {shorten(undeployed)} {'is' if len(undeployed) == 1 else 'are'} registered but not deployed, "
            "so no QingCloud service runs there to check; give hostnames of deployed nodes"
        )
    return [by_hostname[name] for name in hostnames]


@route("QingCloud", ACTION, q.CheckQingCloudRequest, changes_state=True)
async def check_qingcloud(engine: "Engine", request: q.CheckQingCloudRequest, owner: str) -> dict[str, Any]:
    catalog = service_catalog(engine)
    deployed = deployed_nodes(engine)
    if not deployed:
        raise wrong_state(f"{ACTION} checks deployed nodes, and none is deployed yet; deploy a zone with DeployQingCloud first")
    selected = select_nodes(engine, deployed, request.nodes)
    plans, warnings = plan_check(engine, catalog, selected)

    node_ids = [node.node_id for node in selected]
    job = engine.jobs.create(
        ACTION,
        owner=owner,
        params={"verbose": request.verbose, "nodes": request.nodes},
        step_names=["check_services"],
        lock_keys=[],
        resources={"node_ids": node_ids, "verbose": request.verbose},
        summary=f"services of {len(selected)} node(s)",
    )

    async def body(context: JobContext) -> None:
        await run_check(engine, context, plans, request.verbose, warnings)

    engine.jobs.start(job, body)
    log.info("job %s: check of %d nodes started by %s", job.job_id, len(selected), owner)
    return {"job_id": job.job_id}


@route("QingCloud", "GetQingCloudCheckResult", q.GetQingCloudCheckResultRequest, changes_state=False)
async def get_check_result(engine: "Engine", request: q.GetQingCloudCheckResultRequest, owner: str) -> dict[str, Any]:
    if request.job_id is None:
        check = engine.store.latest_check_result()
        if check is None:
            raise not_found(f"no check has finished yet; {ACTION} starts one")
    else:
        check = engine.store.get_check_result(request.job_id)
        if check is None:
            raise missing_result(engine, request.job_id)

    return {
        "job_id": check["job_id"],
        "check_time": check["check_time"],
        "verbose": check["verbose"],
        "qingcloud_status": check["qingcloud_status"],
        "result": filter_result(check["result"], check["verbose"]),
    }


def missing_result(engine: "Engine", job_id: str) -> Exception:
    """Return the error for a job id without a check result: unknown, not a check, running, or failed."""
    job = engine.store.get_job(job_id)
    if job is None:
        return not_found(f"job_id: job '{job_id}' not found")
    if job.job_action != ACTION:
        return not_found(f"job_id: job '{job_id}' is a {job.job_action} job, not a check ({ACTION})")
    if engine.jobs.is_running(job_id):
        return wrong_state(f"check {job_id} is still running; GetStatus with job_id={job_id} follows it")
    return not_found(f"check {job_id} recorded no result because it ended {job.status}; GetLog shows why")
