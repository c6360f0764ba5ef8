"""Earlier changes of the editable files, read from the ModifyConfiguration and RestoreConfiguration jobs.

A change left something on the nodes when at least one node's file still had
its content at the end. For a modify, that is a node replaced, reloaded or not
restored after a failure. For a restore, it is a node restored. Only the
newest such change of a zone's file can be restored, so that a restore never
discards a later change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.nodeconfig.modify_job import ACTION as MODIFY
from engine.nodeconfig.restore_job import ACTION as RESTORE
from engine.nodeconfig.steps import CHANGED_STATES
from engine.store import FINAL_STATUSES, JobRecord

if TYPE_CHECKING:
    from engine.engine import Engine

#: Jobs read when listing changes; an installation makes far fewer configuration jobs.
MAX_JOBS_SCANNED = 100000


def change_jobs(engine: "Engine", zone_id: str | None = None, file_name: str | None = None) -> list[JobRecord]:
    """Return the configuration jobs of a zone and file (all when None), newest first."""
    jobs, _total = engine.store.list_jobs(limit=MAX_JOBS_SCANNED)
    return [
        job for job in jobs
        if job.job_action in (MODIFY, RESTORE)
        and (zone_id is None or job.params.get("zone_id") == zone_id)
        and (file_name is None or job.params.get("file_name") == file_name)
    ]


def left_changes(job: JobRecord) -> bool:
    states = [record.get("state") for record in job.resources.get("files", {}).values()]
    if job.job_action == MODIFY:
        return any(state in CHANGED_STATES for state in states)
    return any(state in ("restored", "reloaded") for state in states)


def newer_change(engine: "Engine", job: JobRecord) -> JobRecord | None:
    """Return the newest job after `job` that changed the same zone's file, or None."""
    for other in change_jobs(engine, job.params.get("zone_id"), job.params.get("file_name")):
        if other.job_id == job.job_id:
            return None
        if left_changes(other) or other.status not in FINAL_STATUSES:
            return other
    return None


def can_be_restored(job: JobRecord) -> bool:
    """Tell whether a job is a finished modify that left changed files, newer changes aside."""
    return job.job_action == MODIFY and job.status in FINAL_STATUSES and left_changes(job)


def change_info(job: JobRecord, restorable: bool) -> dict[str, Any]:
    info: dict[str, Any] = {
        "job_id": job.job_id,
        "job_action": job.job_action,
        "status": job.status,
        "owner": job.owner,
        "create_time": job.create_time,
        "update_time": job.update_time,
        "zone_id": job.params.get("zone_id", ""),
        "file_name": job.params.get("file_name", ""),
        "path": job.resources.get("path", ""),
        "diffs": job.resources.get("diffs", []),
        "nodes": {
            node_id: {"hostname": record.get("hostname", ""), "state": record.get("state", ""),
                      "backup": record.get("backup", "")}
            for node_id, record in job.resources.get("files", {}).items()
        },
        "restorable": restorable,
    }
    if job.job_action == MODIFY:
        info["segment"] = job.params.get("segment", {})
    else:
        info["restores_job_id"] = job.params.get("job_id", "")
    return info


def describe_changes(engine: "Engine", zone_id: str | None, file_name: str | None, offset: int,
                     limit: int) -> dict[str, Any]:
    jobs = change_jobs(engine, zone_id, file_name)

    # Walking from the newest, a modify is restorable while no newer change of its zone's file was seen.
    changed_since: set[tuple[str, str]] = set()
    restorable: dict[str, bool] = {}
    for job in jobs:
        key = (job.params.get("zone_id", ""), job.params.get("file_name", ""))
        restorable[job.job_id] = can_be_restored(job) and key not in changed_since
        if left_changes(job) or job.status not in FINAL_STATUSES:
            changed_since.add(key)

    page = jobs[offset:offset + limit]
    return {"change_set": [change_info(job, restorable[job.job_id]) for job in page], "total_count": len(jobs)}
