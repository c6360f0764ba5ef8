"""The ModifyConfiguration job: change one file on every node of a zone that has it, or on none.

Steps: read (every node's copy, and the new text of each), backup, write (a
temporary file beside the old one), verify (read the temporary file back and
parse it), push (rename it over the old file), reload (node by node). The
change is merged into each node's own copy, so a node whose file differs keeps
its differences. A failure before push leaves every file as it was. A failure
in push or reload puts the backups back on every node already changed and
reloads the nodes that had reloaded, so the zone runs one version of the file.

Running the same change again after a failure is safe: a merge that is already
in a node's file changes nothing there, so only the other nodes are changed.
NOTE: an engine that stops during push or reload leaves the zone's nodes on
different versions of the file until RestoreConfiguration or a new change runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from engine.executor import JobNode
from engine.jobs import JobContext, StepFailed
from engine.nodeconfig.diff import unified_diff
from engine.nodeconfig.document import ConfigFileError, parse_document, same_data
from engine.nodeconfig.merge import merge_data
from engine.nodeconfig.remote import RemoteFileError, backup_path, sha256, temporary_path
from engine.nodeconfig.splice import apply_change
from engine.nodeconfig.steps import (
    FileJob,
    CHANGED_STATES,
    FileOnNode,
    describe_failures,
    group_diffs,
    log_diffs,
    on_each_node,
    reload_one,
    save_files,
)
from engine.recipe import ConfigFile, Recipe
from engine.ssh import SshError, SshPool

log = logging.getLogger("engine.nodeconfig")

ACTION = "ModifyConfiguration"
STEP_NAMES = ["read", "backup", "write", "verify", "push", "reload"]


@dataclass
class ModifyPlan:
    zone_id: str
    config_file: ConfigFile
    nodes: list[JobNode]
    change: dict[str, Any]


def compute_change(old: bytes, path: str, hostname: str, change: dict[str, Any]) -> tuple[bytes, Any, str]:
    """Return a node's new file for a change: its bytes, the data it must read back as, and the diff."""
    document = parse_document(old, source=f"{path} on {hostname}")
    new_text = apply_change(document, change)
    expected = merge_data(document.data if document.data is not None else {}, change)
    return new_text.encode("utf-8"), expected, unified_diff(document.bom + document.text, new_text, path)


class ModifyJob(FileJob):
    STEP_NAMES = STEP_NAMES
    plan: ModifyPlan

    @property
    def changing(self) -> list[FileOnNode]:
        return [file for file in self.files if file.state != "unchanged"]

    async def run(self) -> None:
        for node in self.plan.nodes:
            self.context.set_node(node.node_id, node.hostname, "pending")

        await self.step(0, self.read)
        if not self.changing:
            self.context.log(f"every node already has these values in {self.path}; nothing to change")
            for index in range(1, len(STEP_NAMES)):
                self.context.skip_step(index, "no node needs the change")
            return

        for index, work in enumerate((self.back_up, self.write, self.verify, self.push, self.reload), start=1):
            await self.step(index, work)

    # Steps

    async def read(self, label: str) -> None:
        async def work(file: FileOnNode) -> None:
            file.old = await file.remote.read()
            file.new, file.expected, file.diff = compute_change(file.old, self.path, file.hostname, self.plan.change)
            file.state = "read" if file.new != file.old else "unchanged"

        failures = await on_each_node(self.context, self.files, work, label)
        if failures:
            raise StepFailed(f"{label} failed on {describe_failures(failures)}; no node was changed")

        diffs = group_diffs([(file.node.node_id, file.hostname, file.diff) for file in self.files])
        self.context.job.resources["diffs"] = diffs
        log_diffs(self.context, self.path, diffs)
        unchanged = [file.hostname for file in self.files if file.state == "unchanged"]
        if unchanged and self.changing:
            self.context.log(f"{', '.join(unchanged)} already have these values and are left alone")

    async def back_up(self, label: str) -> None:
        async def work(file: FileOnNode) -> None:
            backup = backup_path(self.path, self.stamp, self.context.job_id)
            await file.remote.copy(self.path, backup)
            file.backup = backup
            if sha256(await file.remote.read(backup)) != sha256(file.old):
                raise RemoteFileError(f"{self.path} on {file.hostname} changed while this job ran; its backup "
                                      f"{backup} is not the file that was read, so nothing was changed")
            file.state = "backed_up"
            self.context.log(f"{file.hostname} | backed up {self.path} to {backup}")

        failures = await on_each_node(self.context, self.changing, work, label)
        if failures:
            raise StepFailed(f"{label} failed on {describe_failures(failures)}; no node was changed")

    async def write(self, label: str) -> None:
        async def work(file: FileOnNode) -> None:
            file.temporary = temporary_path(self.path, self.context.job_id)
            await file.remote.write_temporary(file.temporary, file.new)
            file.state = "written"

        failures = await on_each_node(self.context, self.changing, work, label)
        if failures:
            await self.remove_temporaries()
            raise StepFailed(f"{label} failed on {describe_failures(failures)}; no node was changed")

    async def verify(self, label: str) -> None:
        async def work(file: FileOnNode) -> None:
            written = await file.remote.read(file.temporary)
            if written != file.new:
                raise RemoteFileError(f"{file.temporary} on {file.hostname} does not hold the bytes written to it")
            document = parse_document(written, source=f"{file.temporary} on {file.hostname}")
            if not same_data(document.data, file.expected):
                raise ConfigFileError(f"{file.temporary} on {file.hostname} does not read back as the old data "
                                      "with the change merged in")
            if await file.remote.read() != file.old:
                raise RemoteFileError(f"{self.path} on {file.hostname} changed while this job ran")
            file.state = "verified"

        failures = await on_each_node(self.context, self.changing, work, label)
        if failures:
            await self.remove_temporaries()
            raise StepFailed(f"{label} failed on {describe_failures(failures)}; no node was changed")

    async def push(self, label: str) -> None:
        async def work(file: FileOnNode) -> None:
            try:
                await file.remote.rename_into_place(file.temporary)
            except RemoteFileError as error:
                if error.outcome_unknown:
                    # The connection ended during the rename, which may have happened.
                    file.state = "replaced"
                    save_files(self.context, self.files)
                raise
            file.state = "replaced"
            # Recorded at once, so that RestoreConfiguration finds this node changed even if the engine stops now.
            save_files(self.context, self.files)
            if sha256(await file.remote.read()) != sha256(file.new):
                raise RemoteFileError(f"{self.path} on {file.hostname} does not hold the new content after the rename")
            self.context.log(f"{file.hostname} | {self.path} replaced")

        failures = await on_each_node(self.context, self.changing, work, label)
        if failures:
            await self.fail_and_roll_back(label, failures)

    async def reload(self, label: str) -> None:
        if not self.plan.config_file.reload:
            self.context.log(f"{self.name} has no reload command in the recipe; its services read it at their next start")
            return

        # One node at a time, so that a reload that breaks a service stops before the next node.
        for file in self.changing:
            self.context.set_node(file.node.node_id, file.hostname, "running")
            error = await reload_one(self.executor, self.plan.config_file, file)
            if error:
                file.error = error
                self.context.log(f"{file.hostname} | {label} failed: {error}")
                self.context.set_node(file.node.node_id, file.hostname, "failed")
                await self.fail_and_roll_back(label, {file.hostname: error})
            file.state = "reloaded"
            self.context.set_node(file.node.node_id, file.hostname, "done")
            save_files(self.context, self.files)

    # Undoing

    async def remove_temporaries(self) -> None:
        async def work(file: FileOnNode) -> None:
            if file.temporary and file.state in ("written", "verified"):
                await file.remote.remove(file.temporary)
                file.state = "backed_up"

        await on_each_node(self.context, self.changing, work, "removing the temporary file", progress=False)

    async def fail_and_roll_back(self, label: str, failures: dict[str, str]) -> None:
        """Put the backups back where the file changed, reload those nodes again, then fail the job."""
        log.warning("job %s: %s failed on %s; putting back the previous %s", self.context.job_id, label,
                    ", ".join(sorted(failures)), self.name)
        self.context.log(f"{label} failed; putting the previous {self.name} back on the changed nodes")
        await self.remove_temporaries()

        async def restore(file: FileOnNode) -> None:
            if file.state not in CHANGED_STATES:
                return
            try:
                await file.remote.put_back(file.backup, temporary_path(self.path, self.context.job_id))
                if sha256(await file.remote.read()) != sha256(file.old):
                    raise RemoteFileError(f"{self.path} on {file.hostname} does not match its backup after the copy")
            except (SshError, RemoteFileError) as error:
                file.state = "restore_failed"
                file.error = str(error)
                raise
            file.state = "restored"
            self.context.log(f"{file.hostname} | restored {self.path} from {file.backup}")

        await on_each_node(self.context, self.files, restore, "restoring the backup", progress=False)

        for file in self.files:
            if file.state == "restored" and file.reload_tried:
                error = await reload_one(self.executor, self.plan.config_file, file)
                if error:
                    self.context.log(f"{file.hostname} | reloading the restored {self.name} failed: {error}")
        save_files(self.context, self.files)

        stuck = [file.hostname for file in self.files if file.state == "restore_failed"]
        if stuck:
            log.warning("job %s: the previous %s could not be put back on %s", self.context.job_id, self.name,
                        ", ".join(stuck))
        raise StepFailed(self.failure_summary(label, failures))

    def failure_summary(self, label: str, failures: dict[str, str]) -> str:
        restored = [file.hostname for file in self.files if file.state == "restored"]
        stuck = [file for file in self.files if file.state == "restore_failed"]
        summary = f"{label} failed on {describe_failures(failures)}"
        if restored:
            summary += f"; the previous {self.name} is back on {', '.join(restored)}"
        if stuck:
            summary += (
                f"; it could not be put back on {', '.join(file.hostname for file in stuck)}, which keep the new "
                f"file (backup {stuck[0].backup}); run RestoreConfiguration with job_id {self.context.job_id} "
                "once they are reachable"
            )
        elif not restored:
            summary += "; no node was changed"
        return summary


async def run_modify(context: JobContext, recipe: Recipe, client_key: str, plan: ModifyPlan) -> None:
    pool = SshPool(default_client_key=client_key)
    try:
        await ModifyJob(context, recipe, pool, plan).run()
    finally:
        await pool.close()
