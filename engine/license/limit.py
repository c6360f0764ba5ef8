"""The licensed hyper node limit, as DeployQingCloud and ScaleQingCloud enforce it.

A hyper node is a node whose configured role is of kind `hyper` in the
recipe's role catalog. Deployed hyper nodes plus the hyper nodes a job would
add must not exceed the allowance of engine/license/status.py. Until a
license has taken effect nothing is limited, so a platform can be installed
before it is licensed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.actions.nodes import configured_roles
from engine.errors import LIMIT_EXCEEDED, ApiError
from engine.license.status import allowance
from engine.license.store import license_store
from engine.license.times import REQUEST_FORMAT, engine_now

if TYPE_CHECKING:
    from engine.engine import Engine


def hyper_node_ids(engine: "Engine") -> set[str]:
    """Return the ids of the nodes whose configured role is of kind hyper."""
    return {
        node_id
        for node_id, (_zone_id, role, _sub_roles) in configured_roles(engine).items()
        if engine.recipe.role_kind(role) == "hyper"
    }


def deployed_hyper_node_ids(engine: "Engine") -> set[str]:
    hyper = hyper_node_ids(engine)
    return {node.node_id for node in engine.store.list_nodes() if node.status == "deployed" and node.node_id in hyper}


def check_hypernode_limit(engine: "Engine", node_ids: list[str]) -> None:
    """Raise ApiError 2400 when deploying `node_ids` would run more hyper nodes than licensed."""
    current = allowance(license_store(engine).list(), engine_now(engine))
    if current.hypernode_count is None:
        return

    hyper = hyper_node_ids(engine)
    deployed = deployed_hyper_node_ids(engine)
    adding = {node_id for node_id in node_ids if node_id in hyper and node_id not in deployed}
    total = len(deployed) + len(adding)
    if total <= current.hypernode_count:
        return

    counts = f"{len(deployed)} deployed + {len(adding)} in this request = {total} hyper node(s)"
    if current.license is not None:
        raise ApiError(
            LIMIT_EXCEEDED,
            f"licensed hyper nodes exceeded: {counts}, but license {current.license.license_id} allows "
            f"{current.hypernode_count}; activate a license for at least {total} hyper nodes",
        )
    expired = current.expired
    assert expired is not None
    raise ApiError(
        LIMIT_EXCEEDED,
        f"licensed hyper nodes exceeded: {counts}, but no license is enabled (license {expired.license_id} "
        f"expired at {expired.end_time.strftime(REQUEST_FORMAT)} UTC), so 0 are allowed; "
        f"activate a license for at least {total} hyper nodes",
    )
