"""Built-in work of deploy steps: the preflight checks and the distribution of configuration.

Every check runs on the node through its SSH connection: the engine itself
never pings or connects to a node's management address.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from engine.executor import Executor, JobNode
from engine.facts import parse_facts
from engine.jobs import StepFailed


def preflight_problems(node: JobNode, facts: dict[str, Any], executor: Executor, now: float) -> list[str]:
    """List what keeps a node from being deployed, each naming the fact and the limit."""
    limits = executor.recipe.preflight
    kind = executor.recipe.role_kind(node.role)
    problems = []

    reported = facts.get("hostname", "")
    if reported != node.hostname:
        problems.append(f"reports hostname '{reported}' but was registered as '{node.hostname}'")
    if not facts.get("os"):
        problems.append("reports no operating system (/etc/os-release is missing)")
    if kind in limits.virt_kinds and not facts.get("cpu_virt"):
        problems.append(f"role {node.role} needs CPU virtualisation (vmx or svm) and the CPU reports none")
    if facts.get("mem_mb", 0) < limits.min_mem_mb:
        problems.append(f"has {facts.get('mem_mb', 0)} MB of memory, at least {limits.min_mem_mb} MB are needed")
    if facts.get("disk_gb", 0) < limits.min_disk_gb:
        problems.append(f"has {facts.get('disk_gb', 0)} GB of disk, at least {limits.min_disk_gb} GB are needed")
    skew = abs(facts.get("time", 0) - now)
    if skew > limits.max_time_skew_s:
        problems.append(f"clock differs from the installer's by {skew:.0f} s, at most {limits.max_time_skew_s:g} s is allowed")
    return problems


async def check_node(executor: Executor, node: JobNode) -> None:
    context = executor.context
    lines: list[str] = []
    facts_command = executor.recipe.facts

    result = await executor.pool.run(node.target, facts_command.run, timeout=facts_command.timeout, on_line=lines.append)
    if not result.ok:
        raise StepFailed(f"the facts command failed (exit status {result.exit_status})")
    facts = parse_facts(lines)

    problems = preflight_problems(node, facts, executor, time.time())
    for problem in problems:
        context.log(f"{node.hostname} | preflight: {problem}")
    if problems:
        raise StepFailed(problems[0])

    context.log(
        f"{node.hostname} | preflight: host key verified, {facts.get('os', '')}, {facts.get('cpus', 0)} CPUs, "
        f"{facts.get('mem_mb', 0)} MB memory, {facts.get('disk_gb', 0)} GB disk"
    )
    await executor.stage_recipe(node)


def node_file(node: JobNode) -> str:
    data = {
        "node_id": node.node_id,
        "hostname": node.hostname,
        "zone_id": node.zone_id,
        "role": node.role,
        "sub_roles": ",".join(node.sub_roles),
        "mgmt_ip": node.mgmt_ip,
    }
    return "# Written by qingcloud-installer for this node; do not edit by hand.\n" + yaml.safe_dump(data, sort_keys=False)


async def distribute_to_node(executor: Executor, node: JobNode, zone_files: dict[str, str]) -> None:
    """Write the zone's configuration files and the node's node.yaml to {stage}/conf on the node.

    The files travel together as one tar stream over one command, instead of an SFTP session
    per file, because a round trip per file made most of this step's overhead. tar rewrites
    each file in place, so a reader during the copy could see it partly written. Only the
    recipe's tasks read these files, and they run after the copy.
    """
    conf = f"{executor.stage}/conf"
    files = {**zone_files, "node.yaml": node_file(node)}

    # The directory's name appears in a failed copy's error message, so it names the node.
    with tempfile.TemporaryDirectory(prefix=f"qci-conf-{node.hostname}-") as directory:
        write_local_files(Path(directory), files)
        await executor.pool.put_tree(node.target, Path(directory), conf)

    executor.context.log(f"{node.hostname} | configuration written to {conf}: {', '.join(sorted(zone_files))}, node.yaml")


def write_local_files(directory: Path, files: dict[str, str]) -> None:
    """Write files (relative name -> text) under directory with mode 0644, as the node gets them."""
    for name, text in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"configuration file name {name!r} must stay inside the conf directory")
        path = directory.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        # chmod after writing because the engine's umask may have narrowed the mode.
        path.chmod(0o644)
