"""DeployQingCloudComponent: deploys add-on components (VDI, V2V) into deployed zones.

The request names, per zone, the components to deploy:
`{"pek3a": {"variables": {"vdi": {"deploy_vdi": "1"}, "v2v": {"deploy_v2v": "0"}}}}`.
The recipe's `components` section names which nodes of a zone run each
component and with which commands. Once the job succeeds, the platform data
records the components of each zone, which DescribeQingCloud shows. A
component is never removed: "0" only leaves it out of this job.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine.actions.deploy import job_nodes
from engine.actions.nodes import configured_roles
from engine.actions.platform import PLATFORM_DEFAULTS
from engine.dispatch import route
from engine.errors import bad_request, not_found, wrong_state
from engine.executor import Executor, JobNode
from engine.jobs import PLATFORM_LOCK, JobContext
from engine.models import qingcloud as q
from engine.preflight import check_node
from engine.ssh import SshPool

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("engine.components")

ACTION = "DeployQingCloudComponent"

#: Platform data key: zone id to {component name: 1} for each component deployed there.
COMPONENTS_KEY = "components"

#: Builtins the steps of the recipe's DeployQingCloudComponent may name.
BUILTINS = ("preflight", "install_components", "verify_components")

EXAMPLE = '{"vdi": {"deploy_vdi": "1"}, "v2v": {"deploy_v2v": "0"}}'


def zone_components(engine: "Engine", zone_id: str) -> dict[str, int]:
    """Return each component of the recipe with 1 when it is deployed in the zone, else 0."""
    platform = engine.store.get_platform() or {}
    deployed = platform.get(COMPONENTS_KEY, {}).get(zone_id, {})
    return {name: int(bool(deployed.get(name))) for name in engine.recipe.components}


def parse_flag(zone_id: str, name: str, value: Any) -> bool:
    """Read variables.<name>.deploy_<name>: "1" deploys the component, "0" or absent does not."""
    where = f"config.{zone_id}.variables.{name}"
    if not isinstance(value, dict):
        raise bad_request(f"{where}: expected a mapping such as {{\"deploy_{name}\": \"1\"}}, got {value!r}")

    flag = value.get(f"deploy_{name}", "0")
    if isinstance(flag, bool) or flag not in ("0", "1", 0, 1):
        raise bad_request(f"{where}.deploy_{name}: expected \"0\" or \"1\", got {flag!r}")
    return str(flag) == "1"


def requested_components(engine: "Engine", config: dict[str, Any]) -> dict[str, list[str]]:
    """Return zone id -> components to deploy there, only zones that request one; raise ApiError naming the fault."""
    catalog = engine.recipe.components
    if not catalog:
        raise wrong_state(f"recipe {engine.recipe.name} describes no components, so {ACTION} cannot run")
    if not config:
        raise bad_request(f"config: no zone given; expected e.g. {{\"pek3a\": {{\"variables\": {EXAMPLE}}}}}")

    requested: dict[str, list[str]] = {}
    for zone_id, zone_config in config.items():
        variables = zone_config.get("variables") if isinstance(zone_config, dict) else None
        if not isinstance(variables, dict):
            raise bad_request(f"config.{zone_id}.variables: missing or not a mapping; expected e.g. {EXAMPLE}")
        names = []
        for name, value in variables.items():
            if name not in catalog:
                raise bad_request(
                    f"config.{zone_id}.variables.{name}: unknown component; known components: {', '.join(catalog)}"
                )
            if parse_flag(zone_id, name, value):
                names.append(name)
        requested[zone_id] = names

    zones = {zone.zone_id: zone for zone in engine.store.list_zones()}
    unknown = [zone_id for zone_id in requested if zone_id not in zones]
    if unknown:
        configured = ", ".join(zones) or "none"
        raise not_found(f"config: zone {', '.join(unknown)} not found; configured zones: {configured}")

    components_by_zone = {zone_id: names for zone_id, names in requested.items() if names}
    if not components_by_zone:
        flags = " or ".join(f"variables.{name}.deploy_{name}" for name in catalog)
        raise bad_request(f"config: no component is requested; set {flags} to \"1\" for a zone")

    undeployed = [zone_id for zone_id in components_by_zone if not zones[zone_id].is_deployed]
    if undeployed:
        raise wrong_state(
            f"zone {', '.join(undeployed)} is not deployed; deploy it with DeployQingCloud before adding components"
        )
    return components_by_zone


def zone_nodes(engine: "Engine", zone_ids: list[str]) -> list[JobNode]:
    """Return the deployed nodes of the zones, with their roles."""
    roles = configured_roles(engine)
    node_ids = []
    for node_id, (zone_id, _, _) in roles.items():
        record = engine.store.get_node(node_id)
        if zone_id in zone_ids and record is not None and record.status == "deployed":
            node_ids.append(node_id)
    return job_nodes(engine, node_ids, roles)


def component_nodes(engine: "Engine", name: str, nodes: list[JobNode]) -> list[JobNode]:
    """Return the nodes that some install task of the component selects."""
    tasks = engine.recipe.components[name].install
    return [node for node in nodes if any(task.match.selects(node.role, node.sub_roles) for task in tasks)]


@route("QingCloud", ACTION, q.DeployQingCloudComponentRequest, changes_state=True)
async def deploy_component(
    engine: "Engine", request: q.DeployQingCloudComponentRequest, owner: str
) -> dict[str, Any]:
    components_by_zone = requested_components(engine, request.config)

    recipe = engine.recipe
    if ACTION not in recipe.actions:
        raise wrong_state(f"recipe {recipe.name} has no steps for {ACTION}; no change was made")
    unknown = [step.builtin for step in recipe.actions[ACTION].steps if step.builtin and step.builtin not in BUILTINS]
    if unknown:
        raise wrong_state(f"recipe {recipe.name}: {ACTION} names unknown builtins {', '.join(unknown)}; expected {', '.join(BUILTINS)}")

    zone_ids = sorted(components_by_zone)
    nodes = zone_nodes(engine, zone_ids)
    for zone_id in zone_ids:
        in_zone = [node for node in nodes if node.zone_id == zone_id]
        for name in components_by_zone[zone_id]:
            if not component_nodes(engine, name, in_zone):
                raise wrong_state(f"zone {zone_id} has no deployed node whose role runs component {name}")

    steps = recipe.actions[ACTION].steps
    summary = "; ".join(f"{zone_id}: {', '.join(components_by_zone[zone_id])}" for zone_id in zone_ids)
    job = engine.jobs.create(
        ACTION,
        owner=owner,
        params={"components": components_by_zone},
        step_names=[step.name for step in steps],
        lock_keys=zone_ids if len(zone_ids) == 1 else [PLATFORM_LOCK],
        resources={"zone_ids": zone_ids, "components": components_by_zone, "node_ids": [node.node_id for node in nodes]},
        summary=summary,
    )

    async def body(context: JobContext) -> None:
        await run_components(engine, context, components_by_zone, nodes)

    engine.jobs.start(job, body)
    log.info("job %s: components %s started by %s", job.job_id, summary, owner)
    return {"job_id": job.job_id}


async def run_components(
    engine: "Engine", context: JobContext, components_by_zone: dict[str, list[str]], nodes: list[JobNode]
) -> None:
    recipe = engine.recipe
    for node in nodes:
        context.set_node(node.node_id, node.hostname, "pending")

    # Each component runs on the nodes of the zones that requested it, in the recipe's order.
    per_component: list[tuple[str, list[JobNode]]] = []
    for name in recipe.components:
        zones = [zone_id for zone_id, names in components_by_zone.items() if name in names]
        if zones:
            per_component.append((name, [node for node in nodes if node.zone_id in zones]))

    pool = SshPool(default_client_key=str(engine.layout.client_key))
    executor = Executor(context, recipe, pool)
    try:
        for index, step in enumerate(recipe.actions[ACTION].steps):
            context.begin_step(index)
            label = f"step{index} {step.name}"
            if step.builtin == "preflight":
                await executor.for_each_node(
                    nodes, lambda node: check_node(executor, node), parallel=50, step_label=label
                )
            elif step.builtin in ("install_components", "verify_components"):
                for name, targets in per_component:
                    spec = recipe.components[name]
                    tasks = spec.install if step.builtin == "install_components" else spec.verify
                    selected = component_nodes(engine, name, targets)
                    context.log(f"component {name}, {spec.description or name}: {len(selected)} node(s)")
                    for task in tasks:
                        await executor.run_task(task, targets, label)
            for task in step.tasks:
                await executor.run_task(task, nodes, label)
            context.end_step(index)
    finally:
        await pool.close()

    record_components(engine, components_by_zone)
    for zone_id, names in sorted(components_by_zone.items()):
        context.log(f"zone {zone_id}: component(s) {', '.join(names)} deployed")


def record_components(engine: "Engine", components_by_zone: dict[str, list[str]]) -> None:
    platform = engine.store.get_platform() or dict(PLATFORM_DEFAULTS)
    recorded = dict(platform.get(COMPONENTS_KEY, {}))
    for zone_id, names in components_by_zone.items():
        recorded[zone_id] = {**recorded.get(zone_id, {}), **dict.fromkeys(names, 1)}
    platform[COMPONENTS_KEY] = recorded
    engine.store.put_platform(platform)
