"""Which file a request names, which nodes of a zone hold it, and reading it from one of them.

Every check here runs before anything is read from a node. A path-like
file_name is a bad request (1100) and an unknown one is not found (2100). A zone
without a deployed node of the file's roles is in the wrong state (5200).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from engine.actions.nodes import configured_roles, ssh_target
from engine.errors import bad_request, not_found, wrong_state
from engine.executor import JobNode
from engine.nodeconfig.remote import NodeFile, RemoteFileError
from engine.recipe import ConfigFile
from engine.ssh import SshError, SshPool
from engine.store import ZoneRecord

if TYPE_CHECKING:
    from engine.engine import Engine

_PATH_CHARACTERS = ("/", "\\", "\0")


def editable_file(engine: "Engine", file_name: str) -> ConfigFile:
    """Return the recipe's editable file called `file_name`; reject paths (1100) and unknown names (2100)."""
    names = ", ".join(config_file.name for config_file in engine.recipe.config_files) or "none"
    if file_name in (".", "..") or file_name.startswith("~") or any(c in file_name for c in _PATH_CHARACTERS):
        raise bad_request(f"file_name: '{file_name}' is a path; give the bare name of an editable file ({names})")

    config_file = engine.recipe.config_file(file_name)
    if config_file is None:
        raise not_found(
            f"file_name: '{file_name}' is not an editable file of recipe {engine.recipe.name}; editable files: {names}"
        )
    return config_file


def configured_zone(engine: "Engine", zone_id: str) -> ZoneRecord:
    zone = engine.store.get_zone(zone_id)
    if zone is None:
        known = ", ".join(record.zone_id for record in engine.store.list_zones()) or "none"
        raise not_found(f"zone_id: zone '{zone_id}' not found; configured zones: {known}")
    return zone


def job_node(engine: "Engine", node_id: str, roles: dict[str, tuple[str, str, str]]) -> JobNode | None:
    """Return a registered node as a job node, with the role the configuration gives it (if any)."""
    record = engine.store.get_node(node_id)
    if record is None:
        return None
    zone_id, role, sub_roles = roles.get(node_id, (record.zone_id, "", ""))
    return JobNode(
        node_id=node_id,
        hostname=record.hostname,
        zone_id=zone_id,
        role=role,
        sub_roles=[part.strip() for part in sub_roles.split(",") if part.strip()],
        mgmt_ip=record.mgmt_ip,
        target=ssh_target(record),
    )


def holder_nodes(engine: "Engine", zone_id: str, config_file: ConfigFile) -> list[JobNode]:
    """Return the deployed nodes of a zone whose role has the file, sorted by hostname (possibly none)."""
    roles = configured_roles(engine)
    nodes = []
    for node_id, (node_zone, role, _sub_roles) in roles.items():
        if node_zone != zone_id or role not in config_file.roles:
            continue
        record = engine.store.get_node(node_id)
        if record is not None and record.status == "deployed":
            node = job_node(engine, node_id, roles)
            if node is not None:
                nodes.append(node)
    return sorted(nodes, key=lambda node: (node.hostname, node.node_id))


def require_holders(engine: "Engine", zone_id: str, config_file: ConfigFile) -> list[JobNode]:
    configured_zone(engine, zone_id)
    nodes = holder_nodes(engine, zone_id, config_file)
    if not nodes:
        raise wrong_state(
            f"no deployed node of zone {zone_id} has {config_file.name} (it is on nodes of the roles "
            f"{', '.join(config_file.roles)}); deploy the zone first"
        )
    return nodes


async def read_from_any(engine: "Engine", nodes: list[JobNode], config_file: ConfigFile) -> tuple[JobNode, bytes]:
    """Read the file from the first node that responds, in hostname order; raise 5200 when none does."""
    failures = []
    async with SshPool(default_client_key=str(engine.layout.client_key)) as pool:
        for node in nodes:
            try:
                return node, await NodeFile(pool, node.target, config_file.path).read()
            except (SshError, RemoteFileError) as error:
                failures.append(f"{node.hostname}: {error}")
    raise wrong_state(f"{config_file.name} could not be read from any node of zone {nodes[0].zone_id}: "
                      f"{'; '.join(failures)}")


async def read_from_all(engine: "Engine", nodes: list[JobNode], config_file: ConfigFile) -> dict[str, bytes]:
    """Read the file from every node at once; return node id -> bytes, or raise 5200 naming the failures."""
    failures: dict[str, str] = {}
    contents: dict[str, bytes] = {}

    async with SshPool(default_client_key=str(engine.layout.client_key)) as pool:
        async def read(node: JobNode) -> None:
            try:
                contents[node.node_id] = await NodeFile(pool, node.target, config_file.path).read()
            except (SshError, RemoteFileError) as error:
                failures[node.hostname] = str(error)

        await asyncio.gather(*(read(node) for node in nodes))

    if failures:
        details = "; ".join(f"{hostname}: {error}" for hostname, error in sorted(failures.items()))
        raise wrong_state(f"reading {config_file.name} failed on: {details}; check that these nodes are up")
    return contents
