"""The platform's deployed nodes, as job nodes that tests and checks run commands on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.actions.deploy import job_nodes
from engine.actions.nodes import configured_roles
from engine.executor import JobNode

if TYPE_CHECKING:
    from engine.engine import Engine


def deployed_nodes(engine: "Engine") -> list[JobNode]:
    """Return every deployed node that has a role in the configuration, by zone id, then hostname."""
    roles = configured_roles(engine)
    node_ids = [
        node.node_id
        for node in engine.store.list_nodes()
        if node.status == "deployed" and node.node_id in roles
    ]
    nodes = job_nodes(engine, node_ids, roles)
    return sorted(nodes, key=lambda node: (node.zone_id, node.hostname))
