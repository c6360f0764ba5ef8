"""The Node actions: AddNodes, DescribeNodes, DeleteNodes, ScanNodeHostKeys and TrustNodeHostKey.

Registering a node records where SSH reaches it, the host keys the operator confirmed and the
facts its probe reports. AddNodes changes nothing unless every node it names passes: confirmed
host keys, a login, a working facts command and a valid, unique hostname.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from engine.bootstrap import install_public_key
from engine.dispatch import route
from engine.errors import BAD_REQUEST, WRONG_STATE, ApiError, not_found
from engine.facts import is_valid_hostname, node_warnings, parse_facts
from engine.jobs import new_id
from engine.models import nodes as n
from engine.node_keys import (
    SCAN_CONCURRENCY,
    decide_trust,
    fingerprints,
    key_state,
    registered_at,
    scan_addresses,
    unconfirmed_message,
)
from engine.ssh import SshError, SshPool, SshTarget
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


def configured_roles(engine: "Engine") -> dict[str, tuple[str, str, str]]:
    """Map node_id to (zone_id, role, sub_roles) from every zone's current configuration."""
    roles: dict[str, tuple[str, str, str]] = {}
    for zone in engine.store.list_zones():
        for node_id, spec in zone.config.get("settings", {}).get("roles", {}).items():
            roles[node_id] = (zone.zone_id, str(spec.get("role", "")), str(spec.get("sub_roles", "")))
    return roles


def warnings_for(engine: "Engine", hostname: str, facts: dict[str, Any], zone_id: str, role: str) -> list[str]:
    """List a node's warnings for the role its zone's configuration gives it (none yet: role "")."""
    needs_virt = bool(role) and engine.recipe.role_kind(role) in engine.recipe.preflight.virt_kinds
    return node_warnings(hostname, facts, zone_id=zone_id or None, role=role, needs_virt=needs_virt)


def node_info(node: NodeRecord, role: str, sub_roles: str, warnings: list[str]) -> dict[str, Any]:
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
        "disks": facts.get("disks", []),
        "nics": facts.get("nics", []),
        "warnings": warnings,
        "host_key_fingerprints": fingerprints(node.host_keys),
        "create_time": node.create_time,
        "update_time": node.update_time,
    }


@dataclass
class NodePlan:
    """One node of an AddNodes call: its address, its SSH target and the keys pinned for it so far."""

    address: n.NodeAddress
    target: SshTarget
    label: str
    pinned: list[str]
    pinned_by: str


def plan_nodes(engine: "Engine", request: n.AddNodesRequest) -> list[NodePlan]:
    """Check the listed nodes against each other and find the keys pinned for each, before any SSH."""
    plans: list[NodePlan] = []
    seen_ids: set[str] = set()
    seen_addresses: set[tuple[str, int, str]] = set()
    pinned_at = registered_at(engine.store.list_nodes())

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

        # A node keeps its own keys. A new node id at the address of a registered node gets that
        # node's keys, so that "trusted" in a scan of the address means the same for AddNodes.
        pinned, pinned_by = [], ""
        if existing is not None and existing.host_keys:
            pinned, pinned_by = list(existing.host_keys), node_id
        elif (neighbour := pinned_at.get((address.ssh_host, address.ssh_port))) is not None:
            pinned, pinned_by = list(neighbour.host_keys), neighbour.node_id

        where = f"{address.ssh_host}:{address.ssh_port}"
        # A generated id changes on every call, so it would only confuse the operator.
        label = f"{node_id} ({where})" if address.node_id or existing else where
        target = SshTarget(
            node_id=node_id,
            hostname=existing.hostname if existing else node_id,
            host=address.ssh_host,
            port=address.ssh_port,
            user=address.ssh_user,
            client_key=request.ssh_key_file,
        )
        plans.append(NodePlan(address=address, target=target, label=label, pinned=pinned, pinned_by=pinned_by))
    return plans


def nothing_registered(problems: list[str]) -> ApiError:
    """Build the error of an AddNodes call that registered nothing."""
    log.warning("AddNodes registered no node: %s", "; ".join(problems))
    return ApiError(WRONG_STATE, f"AddNodes registered no node: {'; '.join(problems)}")


async def confirm_host_keys(pool: SshPool, plans: list[NodePlan], request: n.AddNodesRequest) -> list[SshTarget]:
    """Scan every node's host keys and return targets that pin the trusted ones; raise if any node is rejected."""
    scans = await scan_addresses(pool, [(plan.target.host, plan.target.port) for plan in plans])
    confirmed = set(request.trusted_fingerprints)
    targets: list[SshTarget] = []
    unconfirmed: list[str] = []
    problems: list[str] = []

    for plan in plans:
        scan = scans[(plan.target.host, plan.target.port)]
        if scan.error:
            problems.append(scan.error)
            continue

        decision = decide_trust(
            plan.label, scan.offered, plan.pinned, plan.pinned_by,
            confirmed=confirmed, trust_new=request.trust_new_host_keys,
        )
        if decision.unconfirmed:
            unconfirmed.append(decision.problem)
        elif decision.problem:
            problems.append(decision.problem)
        else:
            targets.append(replace(plan.target, host_keys=decision.keys))

    if unconfirmed:
        problems.insert(0, unconfirmed_message(unconfirmed))
    if problems:
        raise nothing_registered(problems)
    return targets


async def bootstrap_keys(engine: "Engine", targets: list[SshTarget], password: str) -> None:
    """Install the installer's public key on every node over a password login; raise if any fails."""
    limit = asyncio.Semaphore(PROBE_CONCURRENCY)

    async def install(target: SshTarget) -> None:
        async with limit:
            await install_public_key(target, password, engine.client_public_key)

    outcomes = await asyncio.gather(*(install(target) for target in targets), return_exceptions=True)
    problems = []
    for outcome in outcomes:
        if isinstance(outcome, SshError):
            problems.append(outcome.message)
        elif isinstance(outcome, BaseException):
            raise outcome
    if problems:
        raise nothing_registered(problems)


async def probe_facts(engine: "Engine", pool: SshPool, target: SshTarget) -> dict[str, Any]:
    """Run the recipe's facts command on a node over its key-authenticated connection."""
    lines: list[str] = []
    result = await pool.run(target, engine.recipe.facts.run, timeout=engine.recipe.facts.timeout, on_line=lines.append)
    if not result.ok:
        status = "timed out" if result.timed_out else f"exit status {result.exit_status}"
        raise ApiError(
            WRONG_STATE,
            f"node {target.node_id} ({target.host}:{target.port}): the facts command failed ({status}); "
            f"output: {' / '.join(lines[-3:])}",
        )
    return parse_facts(lines)


async def probe_all(engine: "Engine", pool: SshPool, targets: list[SshTarget]) -> list[dict[str, Any]]:
    """Probe every node's facts; raise naming every node that failed."""
    outcomes = await asyncio.gather(*(probe_facts(engine, pool, target) for target in targets), return_exceptions=True)
    problems = []
    for target, outcome in zip(targets, outcomes):
        if isinstance(outcome, ApiError):
            problems.append(outcome.message)
        elif isinstance(outcome, SshError) and outcome.kind == "auth" and target.client_key is None:
            problems.append(f"{outcome.message} Or pass ssh_password once, and AddNodes installs the key.")
        elif isinstance(outcome, SshError):
            problems.append(outcome.message)
        elif isinstance(outcome, BaseException):
            raise outcome
    if problems:
        raise nothing_registered(problems)
    return outcomes  # type: ignore[return-value]


def check_hostnames(engine: "Engine", targets: list[SshTarget], facts: list[dict[str, Any]]) -> None:
    """Reject hostnames that are not RFC 1123 names, or that another node reports or has already."""
    problems = []
    reported: dict[str, str] = {}
    others = {node.hostname: node.node_id for node in engine.store.list_nodes()}

    for target, node_facts in zip(targets, facts):
        hostname = str(node_facts.get("hostname", ""))
        if not is_valid_hostname(hostname):
            problems.append(
                f"node {target.node_id} ({target.host}:{target.port}) reports hostname '{hostname}', which is not "
                "a valid RFC 1123 host name (letters, digits and inner hyphens, dot-separated), so rename the host"
            )
        elif hostname in reported:
            problems.append(
                f"nodes {reported[hostname]} and {target.node_id} ({target.host}:{target.port}) both report "
                f"hostname '{hostname}', so give each host its own name"
            )
        elif others.get(hostname, target.node_id) != target.node_id:
            problems.append(
                f"node {target.node_id} ({target.host}:{target.port}) reports hostname '{hostname}', which node "
                f"{others[hostname]} has already, so delete {others[hostname]} first or add the host as that node"
            )
        reported.setdefault(hostname, target.node_id)

    if problems:
        raise nothing_registered(problems)


@route("Node", "AddNodes", n.AddNodesRequest, changes_state=True)
async def add_nodes(engine: "Engine", request: n.AddNodesRequest, owner: str) -> dict[str, Any]:
    if request.ssh_password is not None and request.ssh_key_file is not None:
        raise ApiError(
            BAD_REQUEST,
            "AddNodes: ssh_password installs the installer's own public key, so it cannot be combined "
            "with ssh_key_file; leave one of them out",
        )
    roles = configured_roles(engine)
    plans = plan_nodes(engine, request)

    pool = SshPool(default_client_key=str(engine.layout.client_key), max_connections=PROBE_CONCURRENCY)
    try:
        targets = await confirm_host_keys(pool, plans, request)
        if request.ssh_password is not None:
            await bootstrap_keys(engine, targets, request.ssh_password)
        facts = await probe_all(engine, pool, targets)
    finally:
        await pool.close()

    check_hostnames(engine, targets, facts)

    added = []
    all_warnings = []
    # One transaction, so that a failure while storing leaves no node of the call registered.
    with engine.store.transaction():
        for plan, target, node_facts in zip(plans, targets, facts):
            address = plan.address
            hostname = str(node_facts["hostname"])
            zone_id, role, _ = roles.get(target.node_id, (address.zone_id or "", "", ""))
            existing = engine.store.get_node(target.node_id)
            if existing is not None:
                status = existing.status
            elif target.node_id in roles:
                status = "configured"
            else:
                status = "registered"
            record = NodeRecord(
                node_id=target.node_id,
                hostname=hostname,
                ssh_host=address.ssh_host,
                ssh_port=address.ssh_port,
                ssh_user=address.ssh_user,
                ssh_key_file=request.ssh_key_file,
                mgmt_ip=address.mgmt_ip or address.ssh_host,
                zone_id=zone_id,
                status=status,
                facts=node_facts,
                host_keys=list(target.host_keys),
            )
            engine.store.put_node(record)

            warnings = warnings_for(engine, hostname, node_facts, zone_id, role)
            all_warnings.extend(f"{record.node_id}: {warning}" for warning in warnings)
            added.append({
                "node_id": record.node_id,
                "hostname": hostname,
                "ssh_host": record.ssh_host,
                "ssh_port": record.ssh_port,
                "host_key_fingerprints": fingerprints(record.host_keys),
                "warnings": warnings,
            })
            log.info("node %s (%s) registered at %s:%s", record.node_id, hostname, record.ssh_host, record.ssh_port)

    return {"node_ids": [entry["node_id"] for entry in added], "node_set": added, "warnings": all_warnings}


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
        zone_id, role, sub_roles = roles.get(node.node_id, (node.zone_id, "", ""))
        warnings = warnings_for(engine, node.hostname, node.facts, zone_id, role)
        node_set.append(node_info(node, role, sub_roles, warnings))
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


# ScanNodeHostKeys changes no state, but it makes the engine connect to addresses the caller
# names, so it is registered as a change: a read-only user may not send it.
@route("Node", "ScanNodeHostKeys", n.ScanNodeHostKeysRequest, changes_state=True)
async def scan_node_host_keys(engine: "Engine", request: n.ScanNodeHostKeysRequest, owner: str) -> dict[str, Any]:
    at_address = registered_at(engine.store.list_nodes())
    addresses = [(entry.ssh_host, entry.ssh_port) for entry in request.nodes]

    pool = SshPool(default_client_key=None, max_connections=SCAN_CONCURRENCY)
    try:
        scans = await scan_addresses(pool, addresses)
    finally:
        await pool.close()

    host_keys = []
    for host, port in addresses:
        scan = scans[(host, port)]
        node = at_address.get((host, port))
        pinned = list(node.host_keys) if node is not None else []
        host_keys.append({
            "ssh_host": host,
            "ssh_port": port,
            "node_id": node.node_id if node is not None else "",
            "state": "unreachable" if scan.error else key_state(scan.offered, pinned),
            "fingerprints": fingerprints(scan.offered),
            "trusted_fingerprints": fingerprints(pinned),
            "error": scan.error,
        })
    return {"host_keys": host_keys}


@route("Node", "TrustNodeHostKey", n.TrustNodeHostKeyRequest, changes_state=True)
async def trust_node_host_key(engine: "Engine", request: n.TrustNodeHostKeyRequest, owner: str) -> dict[str, Any]:
    node = engine.store.get_node(request.node_id)
    if node is None:
        raise not_found(f"node_id: {request.node_id} is not registered; AddNodes registers nodes")
    where = f"node {node.node_id} ({node.ssh_host}:{node.ssh_port})"

    pool = SshPool(default_client_key=None, max_connections=1)
    try:
        offered = await pool.scan_host_keys(node.ssh_host, node.ssh_port)
    except SshError as error:
        raise ApiError(WRONG_STATE, f"the host keys of {where} could not be scanned: {error.message}") from None
    finally:
        await pool.close()

    # Only the key the operator saw is pinned; see decide_trust for why the others are not.
    matching = [line for line in offered if fingerprints([line])[0] == request.fingerprint]
    if not matching:
        raise ApiError(
            WRONG_STATE,
            f"{where} now offers {', '.join(fingerprints(offered))}, not {request.fingerprint}; compare with "
            "`ssh-keygen -lf` on the node's console and pass the fingerprint it shows",
        )

    previous = fingerprints(node.host_keys)
    node.host_keys = matching
    engine.store.put_node(node)
    log.info("%s: host key %s trusted by %s, replacing %s", where, request.fingerprint, owner, ", ".join(previous) or "none")
    return {"node_id": node.node_id, "host_key_fingerprints": fingerprints(matching)}
