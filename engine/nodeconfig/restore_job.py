"""The RestoreConfiguration job: put back the backups a ModifyConfiguration job made.

Steps: check (every node's file is still what that job wrote, or already the old
file, and its backup is intact), restore (back up the current file too, then copy
the old backup into place), reload (node by node). A file changed since the job,
by hand or by another tool, stops the restore before any node is touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.executor import JobNode
from engine.jobs import JobContext, StepFailed
from engine.nodeconfig.diff import unified_diff
from engine.nodeconfig.remote import RemoteFileError, backup_path, sha256, temporary_path
from engine.nodeconfig.steps import (
    FileJob,
    FileOnNode,
    describe_failures,
    group_diffs,
    log_diffs,
    on_each_node,
    reload_one,
)
from engine.recipe import ConfigFile, Recipe
from engine.ssh import SshPool

ACTION = "RestoreConfiguration"
STEP_NAMES = ["check", "restore", "reload"]


@dataclass
class RestorePlan:
    zone_id: str
    config_file: ConfigFile
    modify_job_id: str
    nodes: list[JobNode]
    records: dict[str, dict[str, Any]]
    """The ModifyConfiguration job's per-node records: backup path and checksums, by node id."""


class RestoreJob(FileJob):
    STEP_NAMES = STEP_NAMES
    plan: RestorePlan

    def record(self, file: FileOnNode) -> dict[str, Any]:
        return self.plan.records[file.node.node_id]

    @property
    def restoring(self) -> list[FileOnNode]:
        return [file for file in self.files if file.state != "unchanged"]

    async def run(self) -> None:
        for node in self.plan.nodes:
            self.context.set_node(node.node_id, node.hostname, "pending")

        await self.step(0, self.check)
        if not self.restoring:
            self.context.log(f"every node already has {self.path} as it was before job {self.plan.modify_job_id}")
            for index in range(1, len(STEP_NAMES)):
                self.context.skip_step(index, "no node needs the restore")
            return

        await self.step(1, self.restore)
        await self.step(2, self.reload)

    async def check(self, label: str) -> None:
        job_id = self.plan.modify_job_id

        async def work(file: FileOnNode) -> None:
            record = self.record(file)
            source = record["backup"]
            current = await file.remote.read()
            backup = await file.remote.read(source)
            if sha256(backup) != record["old_sha256"]:
                raise RemoteFileError(f"the backup {source} on {file.hostname} is no longer the file from before "
                                      f"job {job_id}")

            if sha256(current) == record["old_sha256"]:
                file.state = "unchanged"
                self.context.log(f"{file.hostname} | {self.path} is already the file from before job {job_id}")
                return
            if sha256(current) != record["new_sha256"]:
                raise RemoteFileError(f"{self.path} on {file.hostname} changed after job {job_id}; compare it with "
                                      f"{source} and restore it by hand")

            file.old, file.new = current, backup
            file.diff = unified_diff(current.decode("utf-8", "replace"), backup.decode("utf-8", "replace"), self.path)
            file.state = "read"

        failures = await on_each_node(self.context, self.files, work, label)
        if failures:
            raise StepFailed(f"{label} failed on {describe_failures(failures)}; nothing was restored")

        diffs = group_diffs([(file.node.node_id, file.hostname, file.diff) for file in self.files])
        self.context.job.resources["diffs"] = diffs
        log_diffs(self.context, self.path, diffs)

    async def restore(self, label: str) -> None:
        async def work(file: FileOnNode) -> None:
            # The file being replaced is backed up as well, so that a restore can be undone by hand.
            file.backup = backup_path(self.path, self.stamp, self.context.job_id)
            await file.remote.copy(self.path, file.backup)
            await file.remote.put_back(self.record(file)["backup"], temporary_path(self.path, self.context.job_id))
            if sha256(await file.remote.read()) != sha256(file.new):
                raise RemoteFileError(f"{self.path} on {file.hostname} does not match its backup after the copy")
            file.state = "restored"
            self.context.log(f"{file.hostname} | restored {self.path} from {self.record(file)['backup']}")

        failures = await on_each_node(self.context, self.restoring, work, label)
        if failures:
            restored = [file.hostname for file in self.files if file.state == "restored"]
            done = f"; restored on {', '.join(restored)}" if restored else "; nothing was restored"
            raise StepFailed(f"{label} failed on {describe_failures(failures)}{done}; run the restore again once "
                             "the cause is fixed")

    async def reload(self, label: str) -> None:
        if not self.plan.config_file.reload:
            self.context.log(f"{self.name} has no reload command in the recipe; its services read it at their next start")
            return

        for file in self.restoring:
            self.context.set_node(file.node.node_id, file.hostname, "running")
            error = await reload_one(self.executor, self.plan.config_file, file)
            if error:
                file.error = error
                self.context.set_node(file.node.node_id, file.hostname, "failed")
                self.context.log(f"{file.hostname} | {label} failed: {error}")
                raise StepFailed(f"{label} failed on {file.hostname} ({error}); the restored {self.name} is in place "
                                 "on every node, but this node's services may still use the changed one")
            file.state = "reloaded"
            self.context.set_node(file.node.node_id, file.hostname, "done")


async def run_restore(context: JobContext, recipe: Recipe, client_key: str, plan: RestorePlan) -> None:
    pool = SshPool(default_client_key=client_key)
    try:
        await RestoreJob(context, recipe, pool, plan).run()
    finally:
        await pool.close()
