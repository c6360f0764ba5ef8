"""Pieces the ModifyConfiguration and RestoreConfiguration jobs share: per-node state, fan-out, reload.

Each job keeps in its record's resources, per node, the state of its file and
the backup that undoes the change. RestoreConfiguration and
DescribeConfigurationChanges read them after the job has ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from engine.executor import Executor, JobNode, describe_result, fill_placeholders
from engine.jobs import JobContext, StepFailed
from engine.nodeconfig.document import ConfigFileError
from engine.nodeconfig.merge import ChangeError
from engine.nodeconfig.remote import NodeFile, RemoteFileError, sha256
from engine.recipe import ConfigFile, Recipe
from engine.ssh import SshError, SshPool

#: Per-node file states that mean the node's file may contain the job's new content.
CHANGED_STATES = ("replaced", "reloaded", "restore_failed")


@dataclass
class FileOnNode:
    """One node's copy of the file during a job."""

    node: JobNode
    remote: NodeFile
    old: bytes = b""
    new: bytes = b""
    expected: Any = None
    diff: str = ""
    backup: str = ""
    temporary: str = ""
    state: str = "pending"
    reload_tried: bool = False
    error: str = ""

    @property
    def hostname(self) -> str:
        return self.node.hostname

    def record(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "state": self.state,
            "backup": self.backup,
            "old_sha256": sha256(self.old) if self.old else "",
            "new_sha256": sha256(self.new) if self.new else "",
            "error": self.error,
        }


def backup_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


class FileJob:
    """What a job that changes one configuration file on several nodes shares: its files and its steps.

    Subclasses set STEP_NAMES; their plans carry `config_file` and `nodes`.
    """

    STEP_NAMES: list[str] = []

    def __init__(self, context: JobContext, recipe: Recipe, pool: SshPool, plan: Any) -> None:
        self.context = context
        self.plan = plan
        self.path = plan.config_file.path
        self.name = plan.config_file.name
        self.executor = Executor(context, recipe, pool)
        self.files = [FileOnNode(node, NodeFile(pool, node.target, self.path)) for node in plan.nodes]
        self.stamp = backup_stamp()

    async def step(self, index: int, work: Callable[[str], Awaitable[None]]) -> None:
        """Run one step, recording every node's file state whether the step succeeds or not."""
        self.context.begin_step(index)
        try:
            await work(f"step{index} {self.STEP_NAMES[index]}")
        finally:
            save_files(self.context, self.files)
        self.context.end_step(index)


def save_files(context: JobContext, files: list[FileOnNode]) -> None:
    context.job.resources["files"] = {file.node.node_id: file.record() for file in files}
    context.save()


def group_diffs(diffs: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Return each distinct diff of (node id, hostname, diff) once, with the nodes it applies to, in order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for node_id, hostname, diff in diffs:
        if diff:
            groups.setdefault(diff, []).append((node_id, hostname))
    return [
        {"node_ids": [node_id for node_id, _ in members], "hostnames": [hostname for _, hostname in members],
         "diff": diff}
        for diff, members in groups.items()
    ]


def log_diffs(context: JobContext, path: str, diffs: list[dict[str, Any]]) -> None:
    for group in diffs:
        context.log(f"diff of {path} on {', '.join(group['hostnames'])}:")
        for line in group["diff"].splitlines():
            context.log(line)


Work = Callable[[FileOnNode], Awaitable[None]]


async def on_each_node(context: JobContext, files: list[FileOnNode], work: Work, label: str, *,
                       progress: bool = True) -> dict[str, str]:
    """Run `work` on every node at once; return hostname -> error for the nodes where it failed.

    Each failure is logged as `<hostname> | <label> failed: <error>` and kept in the node's `error`.
    With `progress` false the nodes' progress in the job stays as it is, as a clean-up after
    a failed step needs, so that the node that failed stays marked failed.
    """
    failures: dict[str, str] = {}

    def set_state(file: FileOnNode, state: str) -> None:
        if progress:
            context.set_node(file.node.node_id, file.hostname, state)

    async def one(file: FileOnNode) -> None:
        set_state(file, "running")
        try:
            await work(file)
        except (SshError, RemoteFileError, ConfigFileError, ChangeError, StepFailed) as error:
            failures[file.hostname] = str(error)
            file.error = str(error)
            context.log(f"{file.hostname} | {label} failed: {error}")
        set_state(file, "failed" if file.hostname in failures else "done")

    await asyncio.gather(*(one(file) for file in files))
    context.save()
    return failures


def describe_failures(failures: dict[str, str]) -> str:
    """Name the failed nodes and the first one's error: 'node1, node2 (error of node1)'."""
    names = sorted(failures)
    return f"{', '.join(names)} ({failures[names[0]]})"


async def reload_one(executor: Executor, config_file: ConfigFile, file: FileOnNode) -> str:
    """Run the file's reload command on one node, output lines logged; return '' on success, else why it failed."""
    file.reload_tried = True
    node = file.node
    context = executor.context
    try:
        # The reload command may be a script of the recipe, so the recipe is staged first, as a deploy does.
        await executor.stage_recipe(node)
        argv = fill_placeholders(config_file.reload, node.placeholder_values(executor.stage))
        output: list[str] = []

        def on_line(line: str) -> None:
            context.log(f"{node.hostname} | {line}")
            if line.strip():
                output.append(line.strip())

        result = await executor.pool.run(node.target, argv, timeout=config_file.reload_timeout, on_line=on_line)
    except (SshError, OSError) as error:
        return str(error)
    if result.ok:
        return ""
    outcome = f"the reload command ended with {describe_result(result, config_file.reload_timeout)}"
    return f"{outcome}: {output[-1]}" if output else outcome
