"""Runs a recipe's steps on nodes over SSH for one job.

Each node gets one SSH connection for the whole job (the pool caches it).
Every output line goes to the job log prefixed with the node's hostname;
an exit status of None (connection lost, timeout) counts as a failure.
All nodes of a task finish before the step is judged, so one slow failure
does not leave the others half-done.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from engine.jobs import JobContext, StepFailed
from engine.recipe import Recipe, Task
from engine.recipe_digest import recipe_digest, write_recipe_digest
from engine.ssh import CommandResult, SshError, SshPool, SshTarget

log = logging.getLogger("engine.executor")

PLACEHOLDER = re.compile(r"\{(stage|node_id|hostname|zone_id|role|sub_roles|mgmt_ip)\}")


@dataclass
class JobNode:
    """A node within one job: how to reach it and the role the configuration gives it."""

    node_id: str
    hostname: str
    zone_id: str
    role: str
    sub_roles: list[str]
    mgmt_ip: str
    target: SshTarget
    staged: bool = False
    values: dict[str, str] = field(default_factory=dict)

    def placeholder_values(self, stage: str) -> dict[str, str]:
        return {
            "stage": stage,
            "node_id": self.node_id,
            "hostname": self.hostname,
            "zone_id": self.zone_id,
            "role": self.role,
            "sub_roles": ",".join(self.sub_roles),
            "mgmt_ip": self.mgmt_ip,
        }


def fill_placeholders(argv: list[str], values: dict[str, str]) -> list[str]:
    """Fill {name} placeholders; each argument stays one argument, quoted later by the SSH layer."""
    return [PLACEHOLDER.sub(lambda match: values[match.group(1)], argument) for argument in argv]


def describe_result(result: CommandResult, timeout: float) -> str:
    if result.timed_out:
        return f"timed out after {timeout:g} s and was stopped (the node stopped answering or the command hangs)"
    if result.exit_status is None:
        return "connection lost before the command ended (sshd stopped or the node went down)"
    return f"exit status {result.exit_status}"


class Executor:
    """Runs tasks for one job; owns the job's SSH pool."""

    def __init__(self, context: JobContext, recipe: Recipe, pool: SshPool) -> None:
        self.context = context
        self.recipe = recipe
        self.pool = pool
        self.stage = recipe.stage_dir
        self._digest: str | None = None

    @property
    def digest(self) -> str:
        """The digest of the recipe's directory, computed on first use and kept for the job."""
        if self._digest is None:
            self._digest = recipe_digest(self.recipe.directory)
        return self._digest

    async def stage_recipe(self, node: JobNode) -> None:
        """Copy the recipe's directory to the node once per job, so scripts match this engine's recipe.

        The recipe's digest is written after its files, so a later service check finds the
        recipe staged and does not copy it again.
        """
        if node.staged:
            return
        await self.pool.put_tree(node.target, self.recipe.directory, self.stage)
        await write_recipe_digest(self.pool, node.target, self.stage, self.digest)
        node.staged = True

    async def for_each_node(
        self,
        nodes: list[JobNode],
        work: Callable[[JobNode], Awaitable[None]],
        *,
        parallel: int,
        step_label: str,
    ) -> None:
        """Run `work` on every node, `parallel` at a time; raise StepFailed naming the nodes that failed."""
        limit = asyncio.Semaphore(parallel)
        failures: dict[str, str] = {}

        async def one(node: JobNode) -> None:
            async with limit:
                self.context.set_node(node.node_id, node.hostname, "running")
                try:
                    await work(node)
                except SshError as error:
                    failures[node.hostname] = str(error)
                    self.context.log(f"{node.hostname} | {step_label} failed: {error}")
                except StepFailed as error:
                    failures[node.hostname] = str(error)
                    self.context.log(f"{node.hostname} | {step_label} failed: {error}")
                state = "failed" if node.hostname in failures else "done"
                self.context.set_node(node.node_id, node.hostname, state)
                self.context.save()

        # Every node's work ends before an unexpected error (a full state disk) propagates,
        # so no node is left running unobserved behind a failed step.
        outcomes = await asyncio.gather(*(one(node) for node in nodes), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

        if failures:
            names = ", ".join(sorted(failures))
            first = failures[sorted(failures)[0]]
            raise StepFailed(
                f"{step_label} failed on {len(failures)} node(s): {names} ({first}); "
                "fix the cause and run the action again to resume from this step"
            )

    async def run_task(self, task: Task, nodes: list[JobNode], step_label: str) -> None:
        selected = [node for node in nodes if task.match.selects(node.role, node.sub_roles)]
        if not selected:
            return

        async def run_on(node: JobNode) -> None:
            await self.stage_recipe(node)
            argv = fill_placeholders(task.run, node.placeholder_values(self.stage))
            attempts = task.retries + 1
            for attempt in range(1, attempts + 1):
                result = await self.pool.run(
                    node.target,
                    argv,
                    timeout=task.timeout,
                    on_line=lambda line, host=node.hostname: self.context.log(f"{host} | {line}"),
                )
                if result.ok:
                    return
                outcome = describe_result(result, task.timeout)
                if attempt < attempts:
                    self.context.log(f"{node.hostname} | {step_label}: {outcome}; retrying (attempt {attempt + 1} of {attempts})")
                    continue
                raise StepFailed(outcome)

        await self.for_each_node(selected, run_on, parallel=task.parallel, step_label=step_label)
