"""GetStatus, GetLog (QingCloud) and DescribeJobs, DescribeLatestJob (Job extension)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.dispatch import route
from engine.errors import not_found
from engine.models import jobs as j
from engine.models import qingcloud as q
from engine.store import JobRecord

if TYPE_CHECKING:
    from engine.engine import Engine


def find_job(engine: "Engine", job_action: str, job_id: str | None) -> JobRecord:
    """Find the job named by id, or the newest job of `job_action`; raise 2100 when there is none."""
    if job_id is not None:
        job = engine.store.get_job(job_id)
        if job is None:
            raise not_found(f"job '{job_id}' not found")
        if job.job_action != job_action:
            raise not_found(f"job '{job_id}' is a {job.job_action} job, not {job_action}")
        return job

    job = engine.store.latest_job(job_action)
    if job is None:
        raise not_found(f"no {job_action} job has run yet; job_action names the action of the job, e.g. DeployQingCloud")
    return job


def log_keys(first_number: int, count: int, total: int) -> list[str]:
    """Zero-padded line numbers, at least three digits, all as wide as the widest so they sort as text."""
    width = max(3, len(str(total)))
    return [str(number).zfill(width) for number in range(first_number, first_number + count)]


def job_info(job: JobRecord) -> dict[str, Any]:
    resources = {key: value for key, value in job.resources.items() if key != "lock_keys"}
    return {
        "job_id": job.job_id,
        "job_action": job.job_action,
        "job_type": "async",
        "owner": job.owner,
        "status": job.status,
        "pre_status": job.pre_status,
        "create_time": job.create_time,
        "update_time": job.update_time,
        "resources": resources,
    }


@route("QingCloud", "GetStatus", q.GetStatusRequest, changes_state=False)
async def get_status(engine: "Engine", request: q.GetStatusRequest, owner: str) -> dict[str, Any]:
    job = find_job(engine, request.job_action, request.job_id)
    return {
        "job_action": job.job_action,
        "status": job.status,
        "pre_status": job.pre_status,
        "job_id": job.job_id,
        "steps": job.steps,
        "nodes": job.nodes,
        "create_time": job.create_time,
        "update_time": job.update_time,
    }


@route("QingCloud", "GetLog", q.GetLogRequest, changes_state=False)
async def get_log(engine: "Engine", request: q.GetLogRequest, owner: str) -> dict[str, Any]:
    job = find_job(engine, request.job_action, request.job_id)
    lines, total = engine.store.read_log(
        job.job_id, status=request.job_status, offset=request.offset, limit=request.limit
    )
    keys = log_keys(request.offset + 1, len(lines), total)
    return {
        "log": {key: line for key, (_, line) in zip(keys, lines)},
        "job_action": job.job_action,
        "job_id": job.job_id,
        "next_offset": request.offset + len(lines),
        "total_count": total,
    }


@route("Job", "DescribeJobs", j.DescribeJobsRequest, changes_state=False)
async def describe_jobs(engine: "Engine", request: j.DescribeJobsRequest, owner: str) -> dict[str, Any]:
    jobs, total = engine.store.list_jobs(
        job_ids=request.job_ids,
        job_action=request.job_action,
        status=request.status,
        offset=request.offset,
        limit=request.limit,
    )
    return {"job_set": [job_info(job) for job in jobs], "total_count": total}


@route("Job", "DescribeLatestJob", j.DescribeLatestJobRequest, changes_state=False)
async def describe_latest_job(engine: "Engine", request: j.DescribeLatestJobRequest, owner: str) -> dict[str, Any]:
    job = engine.store.latest_job(request.job_action)
    if job is None:
        what = f"{request.job_action} job" if request.job_action else "job"
        raise not_found(f"no {what} has run yet")
    return {"job": job_info(job)}
