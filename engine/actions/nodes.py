"""AddNodes, DescribeNodes and DeleteNodes (request_type Node).

Registering a node records where SSH reaches it, its host keys (trusted on
first contact; a changed key is refused) and the facts its probe reports.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from engine.dispatch import route
from engine.errors import ApiError, BAD_REQUEST, WRONG_STATE, not_found
from engine.facts import hostname_warning, is_valid_hostname, parse_facts
from engine.jobs import new_id
from engine.models import nodes as n
from engine.ssh import SshError, SshPool, SshTarget, fingerprint
from engine.store import NodeRecord

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("engine.nodes")

#: Nodes probed at once by one AddNodes call.
PROBE_CONCURRENCY = 32


def ssh_target(node: NodeRecord) -> SshTarget:
    return SshTarget(
        node_id=node.node_id,
        hostname=node.hostname,
        host=node.ssh_host,
        port=node.ssh_port,
        user=node.ssh_user,
        host_keys=tuple(node.host_keys),
        client_key=node.ssh_key_file,
    )


def node_info(node: NodeRecord, role: str = "", sub_roles: str = "") -> dict[str, Any]:
    facts = node.facts
    return {
        "node_id": node.node_id,
        "hostname": node.hostname,
        "ssh_host": node.ssh_host,
        "ssh_port": node.ssh_port,
        "ssh_user": node.ssh_user,
        "mgmt_ip": node.mgmt_ip,
        "zone_id": node.zone_id,
        "role": role,
        "sub_roles": sub_roles,
        "status": node.status,
        "os": facts.get("os", ""),
        "kernel": facts.get("kernel", ""),
        "cpus": facts.get("cpus", 0),
        "cpu_virt": bool(facts.get("cpu_virt", False)),
        "mem_mb": facts.get("mem_mb", 0),
        "disk_gb": facts.get("disk_gb", 0),
        "nics": facts.get("nics", []),
        "host_key_fingerprints": [fingerprint(key) for key in node.host_keys],
        "create_time": node.create_time,
        "update_time": node.update_time,
    }


def configured_roles(engine: "Engine") -> dict[str, tuple[str, str, str]]:
    """node_id -> (zone_id, role, sub_roles) from every zone's current configuration."""
    roles: dict[str, tuple[str, str, str]] = {}
    for zone in engine.store.list_zones():
        for node_id, spec in zone.config.get("settings", {}).get("roles", {}).items():
            roles[node_id] = (zone.zone_id, str(spec.get("role", "")), str(spec.get("sub_roles", "")))
    return roles


async def probe_node(engine: "Engine", pool: SshPool, target: SshTarget) -> tuple[SshTarget, dict[str, Any]]:
    """Pin the node's host keys (first contact) or check them, then run the recipe's facts command."""
    offered = await pool.scan_host_keys(target.host, target.port)
    if target.host_keys and not set(offered) & set(target.host_keys):
        trusted = ", ".join(fingerprint(key) for key in target.host_keys)
        now = ", ".join(fingerprint(key) for key in offered)
        raise ApiError(
            WRONG_STATE,
            f"node {target.node_id} ({target.host}:{target.port}): host key changed; trusted {trusted}, "
            f"offered now {now}; if the node was reinstalled, delete and add it again",
        )
    if not target.host_keys:
        target = SshTarget(**{**target.__dict__, "host_keys": tuple(offered)})

    lines: list[str] = []
    result = await pool.run(target, engine.recipe.facts.run, timeout=engine.recipe.facts.timeout, on_line=lines.append)
    if not result.ok:
        status = "timed out" if result.timed_out else f"exit status {result.exit_status}"
        raise ApiError(
            WRONG_STATE,
            f"node {target.node_id} ({target.host}:{target.port}): the facts command failed ({status}); "
            f"output: {' / '.join(lines[-3:])}",
        )
    return target, parse_facts(lines)


@route("Node", "AddNodes", n.AddNodesRequest, changes_state=True)
async def add_nodes(engine: "Engine", request: n.AddNodesRequest, owner: str) -> dict[str, Any]:
    roles = configured_roles(engine)
    targets: list[tuple[n.NodeAddress, SshTarget]] = []
    seen_ids: set[str] = set()
    seen_addresses: set[tuple[str, int, str]] = set()

    for index, address in enumerate(request.nodes):
        address_key = (address.ssh_host, address.ssh_port, address.ssh_user)
        if address_key in seen_addresses:
            raise ApiError(BAD_REQUEST, f"nodes.{index}: {address.ssh_user}@{address.ssh_host}:{address.ssh_port} is listed twice")
        seen_addresses.add(address_key)
        node_id = address.node_id or new_id("n-")
        if node_id in seen_ids:
            raise ApiError(BAD_REQUEST, f"nodes.{index}.node_id: '{node_id}' is listed twice")
        seen_ids.add(node_id)

        existing = engine.store.get_node(node_id)
        if existing is not None and existing.status == "deployed" and (
            existing.ssh_host, existing.ssh_port) != (address.ssh_host, address.ssh_port):
            log.info("node %s is deployed; its SSH address changes to %s:%s", node_id, address.ssh_host, address.ssh_port)
        host_keys = tuple(existing.host_keys) if existing else ()
        targets.append((address, SshTarget(
            node_id=node_id,
            hostname=existing.hostname if existing else node_id,
            host=address.ssh_host,
            port=address.ssh_port,
            user=address.ssh_user,
            host_keys=host_keys,
            client_key=request.ssh_key_file,
        )))

    pool = SshPool(default_client_key=str(engine.layout.client_key), max_connections=PROBE_CONCURRENCY)
    try:
        outcomes = await asyncio.gather(
            *(probe_node(engine, pool, target) for _, target in targets), return_exceptions=True
        )
    finally:
        await pool.close()

    problems = []
    for (address, target), outcome in zip(targets, outcomes):
        if isinstance(outcome, ApiError):
            problems.append(outcome.message)
        elif isinstance(outcome, SshError):
            problems.append(str(outcome))
        elif isinstance(outcome, BaseException):
            raise outcome
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ApiError(WRONG_STATE, f"AddNodes registered no node: {problems[0]}{more}")

    added = []
    for (address, _), (target, facts) in zip(targets, outcomes):  # type: ignore[misc]
        hostname = str(facts.get("hostname", ""))
        if not is_valid_hostname(hostname):
            raise ApiError(
                BAD_REQUEST,
                f"node {target.node_id} reports hostname '{hostname}', which is not a valid RFC 1123 host name; "
                "rename the host and add it again",
            )
        zone_id = roles.get(target.node_id, (address.zone_id or "",))[0]
        existing = engine.store.get_node(target.node_id)
        record = NodeRecord(
            node_id=target.node_id,
            hostname=hostname,
            ssh_host=address.ssh_host,
            ssh_port=address.ssh_port,
            ssh_user=address.ssh_user,
            ssh_key_file=request.ssh_key_file,
            mgmt_ip=address.mgmt_ip or address.ssh_host,
            zone_id=zone_id,
            status=existing.status if existing else ("configured" if target.node_id in roles else "registered"),
            facts=facts,
            host_keys=list(target.host_keys),
        )
        engine.store.put_node(record)
        warning = hostname_warning(hostname, zone_id or None)
        added.append({
            "node_id": record.node_id,
            "hostname": hostname,
            "host_key_fingerprints": [fingerprint(key) for key in record.host_keys],
            "warnings": [warning] if warning else [],
        })
        log.info("node %s (%s) registered at %s:%s", record.node_id, hostname, record.ssh_host, record.ssh_port)

    return {"node_ids": [entry["node_id"] for entry in added], "node_set": added}


@route("Node", "DescribeNodes", n.DescribeNodesRequest, changes_state=False)
async def describe_nodes(engine: "Engine", request: n.DescribeNodesRequest, owner: str) -> dict[str, Any]:
    roles = configured_roles(engine)
    nodes = engine.store.list_nodes()
    if request.node_ids is not None:
        known = {node.node_id for node in nodes}
        missing = [node_id for node_id in request.node_ids if node_id not in known]
        if missing:
            raise not_found(f"node_ids: {', '.join(missing)} not registered; AddNodes registers nodes")
        nodes = [node for node in nodes if node.node_id in set(request.node_ids)]
    if request.zone_id is not None:
        nodes = [node for node in nodes if node.zone_id == request.zone_id]
    if request.status is not None:
        nodes = [node for node in nodes if node.status == request.status]

    node_set = []
    for node in nodes:
        _, role, sub_roles = roles.get(node.node_id, ("", "", ""))
        node_set.append(node_info(node, role, sub_roles))
    return {"node_set": node_set, "total_count": len(node_set)}


@route("Node", "DeleteNodes", n.DeleteNodesRequest, changes_state=True)
async def delete_nodes(engine: "Engine", request: n.DeleteNodesRequest, owner: str) -> dict[str, Any]:
    missing = [node_id for node_id in request.node_ids if engine.store.get_node(node_id) is None]
    if missing:
        raise not_found(f"node_ids: {', '.join(missing)} not registered")
    deployed = [node_id for node_id in request.node_ids if engine.store.get_node(node_id).status == "deployed"]  # type: ignore[union-attr]
    if deployed:
        raise ApiError(WRONG_STATE, f"node_ids: {', '.join(deployed)} deployed; a deployed node cannot be deleted")
    for node_id in request.node_ids:
        engine.store.delete_node(node_id)
    return {"node_ids": list(request.node_ids)}
