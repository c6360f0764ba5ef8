"""UpgradeQingCloud and the DescribeQingCloudPackages extension.

An upgrade is one platform-wide job. It backs up the installer's state, copies
the package to the deployed nodes, then upgrades them role by role in the
recipe's order. Within a role it takes one node at a time, and each node's
health check must pass before the next node starts, so an HA pair or a quorum
never loses more than one member. A failure stops the job before the next node.

Each node that passes its health check is recorded in the platform data
with the version it now runs, so running UpgradeQingCloud again with the
same package skips those nodes and resumes at the node that failed. The
platform's installed version changes only when every node is upgraded.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.actions.deploy import job_nodes
from engine.actions.nodes import configured_roles
from engine.actions.platform import PLATFORM_DEFAULTS
from engine.dispatch import route
from engine.errors import wrong_state
from engine.executor import Executor, JobNode
from engine.jobs import PLATFORM_LOCK, JobContext, StepFailed
from engine.models import qingcloud as q
from engine.package_store import INSTALLED_VERSION_KEY, CheckedPackage, check_package, installed_version, list_packages
from engine.paths import StateLayout
from engine.recipe import Task
from engine.ssh import SshPool

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("engine.upgrade")

ACTION = "UpgradeQingCloud"

#: Platform data key: node id to the version the node was last upgraded to.
NODE_VERSIONS_KEY = "node_versions"

#: Builtins the steps of an upgrade recipe may name.
BUILTINS = ("backup_state", "distribute_package", "rolling_upgrade")

_UPGRADE_PLACEHOLDER = re.compile(r"\{(package|version|installed_version)\}")


def upgrade_plan(engine: "Engine") -> list[tuple[str, list[JobNode]]]:
    """Return the deployed nodes grouped by role, roles in upgrade order, nodes in the order they are upgraded."""
    roles = configured_roles(engine)
    deployed = []
    for node_id in roles:
        record = engine.store.get_node(node_id)
        if record is not None and record.status == "deployed":
            deployed.append(node_id)
    nodes = job_nodes(engine, deployed, roles)

    upgrade = engine.recipe.upgrade
    order = upgrade.role_order if upgrade is not None else sorted(engine.recipe.roles)
    plan = []
    for role in order:
        members = sorted((node for node in nodes if node.role == role), key=lambda node: (node.zone_id, node.hostname))
        if members:
            plan.append((role, members))
    return plan


def node_versions(engine: "Engine") -> dict[str, str]:
    platform = engine.store.get_platform() or {}
    return dict(platform.get(NODE_VERSIONS_KEY, {}))


def update_platform(engine: "Engine", **changes: Any) -> None:
    # Read and write without an await between them, so no other coroutine's change is lost.
    platform = engine.store.get_platform() or dict(PLATFORM_DEFAULTS)
    platform.update(changes)
    engine.store.put_platform(platform)


def record_node_version(engine: "Engine", node_id: str, version: str) -> None:
    versions = node_versions(engine)
    versions[node_id] = version
    update_platform(engine, **{NODE_VERSIONS_KEY: versions})


def fill_upgrade_placeholders(task: Task, values: dict[str, str]) -> Task:
    """Fill {package}, {version} and {installed_version}; the executor fills the per-node ones later."""
    run = [_UPGRADE_PLACEHOLDER.sub(lambda match: values[match.group(1)], argument) for argument in task.run]
    return task.model_copy(update={"run": run})


def timestamp() -> str:
    """Current UTC time with milliseconds, the form the demo upgrade scripts print."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


@route("QingCloud", "DescribeQingCloudPackages", q.DescribeQingCloudPackagesRequest, changes_state=False)
async def describe_packages(
    engine: "Engine", request: q.DescribeQingCloudPackagesRequest, owner: str
) -> dict[str, Any]:
    plan = upgrade_plan(engine)
    return {
        "installed_version": installed_version(engine),
        "packages_dir": str(engine.layout.packages_dir),
        "package_set": await list_packages(engine),
        "upgrade_plan": [{"role": role, "hostnames": [node.hostname for node in nodes]} for role, nodes in plan],
    }


@route("QingCloud", ACTION, q.UpgradeQingCloudRequest, changes_state=True)
async def upgrade_qingcloud(engine: "Engine", request: q.UpgradeQingCloudRequest, owner: str) -> dict[str, Any]:
    package = await check_package(engine, request.package_name)

    recipe = engine.recipe
    if recipe.upgrade is None or ACTION not in recipe.actions:
        raise wrong_state(f"recipe {recipe.name} describes no upgrade, so {ACTION} cannot run; no change was made")
    unknown = [step.builtin for step in recipe.actions[ACTION].steps if step.builtin and step.builtin not in BUILTINS]
    if unknown:
        raise wrong_state(f"recipe {recipe.name}: {ACTION} names unknown builtins {', '.join(unknown)}; expected {', '.join(BUILTINS)}")

    plan = upgrade_plan(engine)
    if not plan:
        raise wrong_state(f"{ACTION} needs deployed nodes and none is deployed yet; run DeployQingCloud first")

    from_version = installed_version(engine)
    version = package.name.version
    node_ids = [node.node_id for _, nodes in plan for node in nodes]
    steps = recipe.actions[ACTION].steps
    job = engine.jobs.create(
        ACTION,
        owner=owner,
        params={"package_name": request.package_name, "version": version},
        step_names=[step.name for step in steps],
        lock_keys=[PLATFORM_LOCK],
        resources={
            "package_name": request.package_name,
            "from_version": from_version,
            "version": version,
            "node_ids": node_ids,
            "upgraded": [],
        },
        summary=f"{request.package_name}, {from_version} to {version} on {len(node_ids)} node(s)",
    )

    async def body(context: JobContext) -> None:
        await run_upgrade(engine, context, package, from_version, plan)

    engine.jobs.start(job, body)
    log.info("job %s: upgrade to %s of %d nodes started by %s", job.job_id, version, len(node_ids), owner)
    return {"job_id": job.job_id}


async def run_upgrade(
    engine: "Engine",
    context: JobContext,
    package: CheckedPackage,
    from_version: str,
    plan: list[tuple[str, list[JobNode]]],
) -> None:
    recipe = engine.recipe
    version = package.name.version
    every_node = [node for _, nodes in plan for node in nodes]
    for node in every_node:
        context.set_node(node.node_id, node.hostname, "pending")

    pool = SshPool(default_client_key=str(engine.layout.client_key))
    executor = Executor(context, recipe, pool)
    values = {"package": package.path.name, "version": version, "installed_version": from_version}
    try:
        for index, step in enumerate(recipe.actions[ACTION].steps):
            context.begin_step(index)
            label = f"step{index} {step.name}"
            done = node_versions(engine)
            pending = [node for node in every_node if done.get(node.node_id) != version]

            if step.builtin == "backup_state":
                await backup_state(engine, context)
            elif step.builtin == "distribute_package":
                await distribute_package(engine, executor, package, pending, label)
            elif step.builtin == "rolling_upgrade":
                await rolling_upgrade(engine, executor, package, plan, values, label)
            for task in step.tasks:
                await executor.run_task(fill_upgrade_placeholders(task, values), pending, label)
            context.end_step(index)
    finally:
        await pool.close()

    update_platform(engine, **{INSTALLED_VERSION_KEY: version})
    context.log(f"installed version is now {version} (was {from_version})")


async def backup_state(engine: "Engine", context: JobContext) -> None:
    """Copy the state database and the rendered configuration to backups/<job id>/ of the state directory."""
    target = engine.layout.backups_dir / context.job_id
    engine.store.flush()
    await asyncio.to_thread(copy_state, engine.layout, target)

    context.job.resources["backup_dir"] = str(target)
    context.save()
    context.log(
        f"installer state backed up to {target}: state.db (SQLite backup of {engine.layout.database}) "
        f"and config/ (copy of {engine.layout.config_dir}); to restore, stop the engine and copy both back"
    )


def copy_state(layout: StateLayout, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True, mode=0o700)

    # The backup API copies a consistent snapshot while the engine's own connection keeps writing.
    source = sqlite3.connect(layout.database)
    destination = sqlite3.connect(target / "state.db")
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()

    if layout.config_dir.is_dir():
        shutil.copytree(layout.config_dir, target / "config", dirs_exist_ok=True)


async def distribute_package(
    engine: "Engine", executor: Executor, package: CheckedPackage, nodes: list[JobNode], label: str
) -> None:
    """Copy the package and its checksum file to {stage}/packages/ on each node still to upgrade."""
    context = executor.context
    if not nodes:
        context.log(f"every node already runs {package.name.version}; no package to copy")
        return

    # NOTE: the whole package is read into memory, because the SSH pool writes files from bytes only.
    data = await asyncio.to_thread(package.path.read_bytes)
    checksum = await asyncio.to_thread(package.checksum_path.read_bytes)
    remote_dir = f"{executor.stage}/packages"

    async def send(node: JobNode) -> None:
        await executor.stage_recipe(node)
        await executor.pool.put_bytes(node.target, checksum, f"{remote_dir}/{package.checksum_path.name}")
        await executor.pool.put_bytes(node.target, data, f"{remote_dir}/{package.path.name}")
        context.log(f"{node.hostname} | {package.path.name} ({len(data)} bytes) copied to {remote_dir}")

    parallel = engine.recipe.upgrade.transfer_parallel if engine.recipe.upgrade else 10
    await executor.for_each_node(nodes, send, parallel=parallel, step_label=label)


async def rolling_upgrade(
    engine: "Engine",
    executor: Executor,
    package: CheckedPackage,
    plan: list[tuple[str, list[JobNode]]],
    values: dict[str, str],
    label: str,
) -> None:
    """Upgrade the nodes role by role, one node at a time, each followed by its health check."""
    context = executor.context
    upgrade = engine.recipe.upgrade
    assert upgrade is not None
    node_task = fill_upgrade_placeholders(upgrade.node, values)
    health_task = fill_upgrade_placeholders(upgrade.health_check, values)
    version = values["version"]
    upgraded: list[str] = context.job.resources.setdefault("upgraded", [])

    for role, nodes in plan:
        context.log(f"role {role}: {len(nodes)} node(s), upgraded one at a time: {', '.join(n.hostname for n in nodes)}")
        for position, node in enumerate(nodes, start=1):
            if node_versions(engine).get(node.node_id) == version:
                context.log(f"{node.hostname} | already upgraded to {version} by an earlier job, skipping")
                context.set_node(node.node_id, node.hostname, "done")
                continue

            context.log(f"{node.hostname} | {timestamp()} upgrade to {version} started ({role} node {position} of {len(nodes)})")
            try:
                await executor.run_task(node_task, [node], label)
                await executor.run_task(health_task, [node], label)
            except StepFailed as error:
                context.log(str(error))
                raise StepFailed(resume_hint(engine, package, node, plan)) from None

            record_node_version(engine, node.node_id, version)
            upgraded.append(node.node_id)
            context.save()
            context.log(f"{node.hostname} | {timestamp()} upgraded to {version} and healthy")


def resume_hint(engine: "Engine", package: CheckedPackage, failed: JobNode, plan: list[tuple[str, list[JobNode]]]) -> str:
    """Explain where the upgrade stopped and how to resume it."""
    version = package.name.version
    done = node_versions(engine)
    remaining = [node.hostname for _, nodes in plan for node in nodes if done.get(node.node_id) != version]
    finished = sum(1 for _, nodes in plan for node in nodes if done.get(node.node_id) == version)
    return (
        f"upgrade stopped at {failed.hostname} (role {failed.role}); no node after it was upgraded. "
        f"{len(remaining)} node(s) still to upgrade: {', '.join(remaining)}. Fix the cause, then run "
        f"{ACTION} with package_name {package.path.name} again to resume: the {finished} node(s) "
        f"already at {version} are skipped"
    )
