"""The editable files of the nodes: DescribeConfiguration, ModifyConfiguration and their extensions.

The recipe lists the files an operator may edit (`config_files`). Reading
actions read one node's copy over SSH. ModifyConfiguration and
RestoreConfiguration are jobs that hold the zone's lock.

The extensions all have request_type QingCloud:
- DescribeConfigurationFiles: the editable files and the nodes that have them.
- DescribeConfigurationFile: a whole file, its data and the position of each key.
- PreviewConfiguration: the diffs a ModifyConfiguration would make, changing nothing.
- DescribeConfigurationChanges: earlier changes and their diffs.
- RestoreConfiguration: put the backups of a change back.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine.actions.nodes import configured_roles
from engine.dispatch import route
from engine.errors import bad_request, not_found, wrong_state
from engine.jobs import JobContext
from engine.models import qingcloud as q
from engine.nodeconfig import document as config_document
from engine.nodeconfig import models as m
from engine.nodeconfig.document import ConfigFileError, parse_document, to_plain
from engine.nodeconfig.history import describe_changes, newer_change
from engine.nodeconfig.holders import (
    configured_zone,
    editable_file,
    holder_nodes,
    job_node,
    read_from_all,
    read_from_any,
    require_holders,
)
from engine.nodeconfig.merge import ChangeError, check_change
from engine.nodeconfig.modify_job import ModifyPlan, compute_change, run_modify
from engine.nodeconfig.modify_job import ACTION as MODIFY
from engine.nodeconfig.modify_job import STEP_NAMES as MODIFY_STEPS
from engine.nodeconfig.outline import outline
from engine.nodeconfig.remote import sha256
from engine.nodeconfig.restore_job import ACTION as RESTORE
from engine.nodeconfig.restore_job import STEP_NAMES as RESTORE_STEPS
from engine.nodeconfig.restore_job import RestorePlan, run_restore
from engine.nodeconfig.segments import SegmentNotFound, resolve_segment
from engine.nodeconfig.steps import CHANGED_STATES, group_diffs
from engine.store import FINAL_STATUSES

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("engine.configuration")

#: Fields of every response, which a segment of the same name would overwrite.
RESPONSE_FIELDS = ("action", "ret_code", "message")


def parse_or_wrong_state(content: bytes, source: str) -> config_document.ConfigDocument:
    try:
        return parse_document(content, source=source)
    except ConfigFileError as error:
        raise wrong_state(f"{error}; fix the file on the node first") from None


@route("QingCloud", "DescribeConfiguration", q.DescribeConfigurationRequest, changes_state=False)
async def describe_configuration(engine: "Engine", request: q.DescribeConfigurationRequest, owner: str) -> dict[str, Any]:
    config_file = editable_file(engine, request.file_name)
    if request.segment in RESPONSE_FIELDS:
        raise bad_request(f"segment '{request.segment}' is also a field of every response, so it cannot be returned "
                          "under its own name; read it with DescribeConfigurationFile")
    nodes = require_holders(engine, request.zone_id, config_file)

    node, content = await read_from_any(engine, nodes, config_file)
    document = parse_or_wrong_state(content, f"{config_file.path} on {node.hostname}")
    try:
        _path, value = resolve_segment(to_plain(document.data), request.segment)
    except SegmentNotFound as error:
        raise not_found(error.describe(config_file.name)) from None
    except ValueError as error:
        raise bad_request(f"segment: {error}") from None
    return {request.segment: value}


@route("QingCloud", "DescribeConfigurationFiles", m.DescribeConfigurationFilesRequest, changes_state=False)
async def describe_configuration_files(engine: "Engine", request: m.DescribeConfigurationFilesRequest,
                                       owner: str) -> dict[str, Any]:
    if request.zone_id is not None:
        configured_zone(engine, request.zone_id)

    files = []
    for config_file in engine.recipe.config_files:
        entry: dict[str, Any] = {
            "file_name": config_file.name,
            "path": config_file.path,
            "roles": list(config_file.roles),
            "reload": list(config_file.reload),
        }
        if request.zone_id is not None:
            entry["node_set"] = [{"node_id": node.node_id, "hostname": node.hostname, "role": node.role}
                                 for node in holder_nodes(engine, request.zone_id, config_file)]
        files.append(entry)
    return {"file_set": files, "total_count": len(files)}


@route("QingCloud", "DescribeConfigurationFile", m.DescribeConfigurationFileRequest, changes_state=False)
async def describe_configuration_file(engine: "Engine", request: m.DescribeConfigurationFileRequest,
                                      owner: str) -> dict[str, Any]:
    config_file = editable_file(engine, request.file_name)
    nodes = require_holders(engine, request.zone_id, config_file)
    node, content = await read_from_any(engine, nodes, config_file)

    response: dict[str, Any] = {
        "zone_id": request.zone_id,
        "file_name": config_file.name,
        "path": config_file.path,
        "node_id": node.node_id,
        "hostname": node.hostname,
        "sha256": sha256(content),
    }
    source = f"{config_file.path} on {node.hostname}"
    try:
        document = parse_document(content, source=source)
    except ConfigFileError as error:
        # The operator still sees the file, and what is wrong with it.
        response.update(content=content.decode("utf-8", "replace").removeprefix(config_document.BOM),
                        configuration=None, outline=[], parse_error=str(error))
        return response

    response.update(content=document.text, configuration=to_plain(document.data), outline=outline(document))
    return response


@route("QingCloud", "PreviewConfiguration", m.PreviewConfigurationRequest, changes_state=False)
async def preview_configuration(engine: "Engine", request: m.PreviewConfigurationRequest, owner: str) -> dict[str, Any]:
    config_file = editable_file(engine, request.file_name)
    check_request_change(request.segment)
    nodes = require_holders(engine, request.zone_id, config_file)

    contents = await read_from_all(engine, nodes, config_file)
    diffs = []
    unchanged = []
    for node in nodes:
        new, _expected, diff = change_or_error(contents[node.node_id], config_file.path, node.hostname, request.segment)
        diffs.append((node.node_id, node.hostname, diff))
        if new == contents[node.node_id]:
            unchanged.append(node.hostname)

    return {
        "zone_id": request.zone_id,
        "file_name": config_file.name,
        "path": config_file.path,
        "changed": len(unchanged) < len(nodes),
        "diffs": group_diffs(diffs),
        "unchanged_hostnames": unchanged,
    }


def check_request_change(change: dict[str, Any]) -> None:
    try:
        check_change(change)
    except ChangeError as error:
        raise bad_request(str(error)) from None


def change_or_error(old: bytes, path: str, hostname: str, change: dict[str, Any]) -> tuple[bytes, Any, str]:
    """Work out a node's new file; a change that does not fit is 1100, a broken file 5200."""
    try:
        return compute_change(old, path, hostname, change)
    except ChangeError as error:
        raise bad_request(f"{error} ({path} on {hostname})") from None
    except ConfigFileError as error:
        raise wrong_state(f"{error}; fix the file on the node first") from None


@route("QingCloud", MODIFY, q.ModifyConfigurationRequest, changes_state=True)
async def modify_configuration(engine: "Engine", request: q.ModifyConfigurationRequest, owner: str) -> dict[str, Any]:
    config_file = editable_file(engine, request.file_name)
    check_request_change(request.segment)
    nodes = require_holders(engine, request.zone_id, config_file)

    # One node's copy shows at once whether the change fits the file; the job checks every copy.
    node, content = await read_from_any(engine, nodes, config_file)
    change_or_error(content, config_file.path, node.hostname, request.segment)

    job = engine.jobs.create(
        MODIFY,
        owner=owner,
        params={"zone_id": request.zone_id, "file_name": config_file.name, "segment": request.segment},
        step_names=MODIFY_STEPS,
        lock_keys=[request.zone_id],
        resources={"zone_ids": [request.zone_id], "node_ids": [node.node_id for node in nodes],
                   "path": config_file.path},
        summary=f"{config_file.name} in zone {request.zone_id} on {len(nodes)} node(s)",
    )
    plan = ModifyPlan(zone_id=request.zone_id, config_file=config_file, nodes=nodes, change=request.segment)

    async def body(context: JobContext) -> None:
        await run_modify(context, engine.recipe, str(engine.layout.client_key), plan)

    engine.jobs.start(job, body)
    log.info("job %s: change of %s in zone %s started by %s", job.job_id, config_file.name, request.zone_id, owner)
    return {"job_id": job.job_id}


@route("QingCloud", RESTORE, m.RestoreConfigurationRequest, changes_state=True)
async def restore_configuration(engine: "Engine", request: m.RestoreConfigurationRequest, owner: str) -> dict[str, Any]:
    changed = engine.store.get_job(request.job_id)
    if changed is None:
        raise not_found(f"job_id: job {request.job_id} not found")
    if changed.job_action != MODIFY:
        raise bad_request(f"job_id: {request.job_id} is a {changed.job_action} job; only {MODIFY} jobs are restored")
    if changed.status not in FINAL_STATUSES:
        raise wrong_state(f"job {request.job_id} is still running; wait for it to end (GetStatus job_id={request.job_id})")

    zone_id = changed.params["zone_id"]
    config_file = editable_file(engine, changed.params["file_name"])
    records = {node_id: record for node_id, record in changed.resources.get("files", {}).items()
               if record.get("state") in CHANGED_STATES and record.get("backup")}
    if not records:
        raise wrong_state(f"job {request.job_id} left no changed {config_file.name} on any node, so there is nothing to restore")
    newer = newer_change(engine, changed)
    if newer is not None:
        raise wrong_state(f"job {newer.job_id} ({newer.job_action}) changed {config_file.name} in zone {zone_id} after "
                          f"job {request.job_id}; restore that change first")

    roles = configured_roles(engine)
    nodes = [node for node_id in records if (node := job_node(engine, node_id, roles)) is not None]
    missing = sorted(set(records) - {node.node_id for node in nodes})
    if missing:
        raise wrong_state(f"nodes {', '.join(missing)} changed by job {request.job_id} are no longer registered; "
                          "add them again first")

    job = engine.jobs.create(
        RESTORE,
        owner=owner,
        params={"zone_id": zone_id, "file_name": config_file.name, "job_id": request.job_id},
        step_names=RESTORE_STEPS,
        lock_keys=[zone_id],
        resources={"zone_ids": [zone_id], "node_ids": sorted(records), "path": config_file.path},
        summary=f"{config_file.name} in zone {zone_id} as before job {request.job_id}",
    )
    plan = RestorePlan(zone_id=zone_id, config_file=config_file, modify_job_id=request.job_id,
                       nodes=sorted(nodes, key=lambda node: node.hostname), records=records)

    async def body(context: JobContext) -> None:
        await run_restore(context, engine.recipe, str(engine.layout.client_key), plan)

    engine.jobs.start(job, body)
    log.info("job %s: restore of job %s started by %s", job.job_id, request.job_id, owner)
    return {"job_id": job.job_id}


@route("QingCloud", "DescribeConfigurationChanges", m.DescribeConfigurationChangesRequest, changes_state=False)
async def describe_configuration_changes(engine: "Engine", request: m.DescribeConfigurationChangesRequest,
                                         owner: str) -> dict[str, Any]:
    if request.zone_id is not None:
        configured_zone(engine, request.zone_id)
    if request.file_name is not None:
        editable_file(engine, request.file_name)
    return describe_changes(engine, request.zone_id, request.file_name, request.offset, request.limit)
