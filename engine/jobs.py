"""Asynchronous jobs: creation, zone locks, status and step bookkeeping, logs.

A job's status goes pending, step0, step1, ... and ends successful or
failed; `pre_status` is the status before the current one. The job record
and its log live in the store, so a client that lost its connection reads
on where it stopped, and a job that was running when the engine stopped is
marked failed at the next start.

When the disk of the state directory fills up, the store can no longer
record progress, so every running job stops: the store's reserve file is
deleted to make room for the failure records, and no job starts until the
reserve can be created again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
import string
from typing import Any, Awaitable, Callable, Iterable

from engine.errors import busy, wrong_state
from engine.store import FINAL_STATUSES, RESERVE_BYTES, JobRecord, Store, is_disk_full

log = logging.getLogger("engine.jobs")

ID_ALPHABET = string.ascii_letters + string.digits

#: Lock key of a job that holds every zone (an upgrade, a deploy of several zones).
PLATFORM_LOCK = "*"

#: Seconds between commits of buffered log lines while jobs run.
LOG_FLUSH_INTERVAL = 0.2


def new_id(prefix: str, length: int = 8) -> str:
    return prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def step_status(index: int) -> str:
    return f"step{index}"


class StepFailed(Exception):
    """A step that cannot finish. Its message is the log line that explains why."""


class JobContext:
    """Reporting interface of a running job: status, steps, node progress, log lines."""

    def __init__(self, store: Store, job: JobRecord) -> None:
        self.store = store
        self.job = job

    @property
    def job_id(self) -> str:
        return self.job.job_id

    def log(self, line: str) -> None:
        self.store.append_log(self.job.job_id, self.job.status, line)

    def _set_status(self, status: str) -> None:
        if status != self.job.status:
            self.job.pre_status = self.job.status
            self.job.status = status
        self.store.flush()
        self.store.put_job(self.job)

    def begin_step(self, index: int) -> None:
        step = self.job.steps[index]
        step["state"] = "running"
        self._set_status(step["status"])
        self.log(f"{step['status']} {step['name']}: started")

    def end_step(self, index: int) -> None:
        step = self.job.steps[index]
        step["state"] = "done"
        self.log(f"{step['status']} {step['name']}: done")
        self.store.flush()
        self.store.put_job(self.job)

    def skip_step(self, index: int, reason: str) -> None:
        step = self.job.steps[index]
        step["state"] = "skipped"
        self._set_status(step["status"])
        self.log(f"{step['status']} {step['name']}: skipped, {reason}")
        self.store.put_job(self.job)

    def set_node(self, node_id: str, hostname: str, state: str) -> None:
        """Record a node's state in the current step (pending, running, done, failed)."""
        self.job.nodes[node_id] = {"hostname": hostname, "step": self.job.status, "state": state}

    def save(self) -> None:
        self.store.put_job(self.job)

    def finish(self, ok: bool, line: str | None = None) -> None:
        if line:
            self.log(line)
        for step in self.job.steps:
            if step["state"] == "running":
                step["state"] = "done" if ok else "failed"
        if not ok:
            for progress in self.job.nodes.values():
                if progress.get("state") == "running":
                    progress["state"] = "failed"
        self._set_status("successful" if ok else "failed")


def disk_full_reason(store: Store, action: str, error: BaseException) -> str:
    """Return the job log line that explains a stop because the state directory's disk is full."""
    return (
        f"job stopped: the disk of the state directory {store.path.parent} is full ({error}), so the engine "
        f"cannot record the job's progress; free space there and run {action} again to resume from this step"
    )


JobBody = Callable[[JobContext], Awaitable[None]]


class Jobs:
    """Starts jobs as tasks of the engine's event loop and keeps one changing job per zone."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._locks: dict[str, str] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._contexts: dict[str, JobContext] = {}
        self._stop_reasons: dict[str, str] = {}
        self._flusher: asyncio.Task[None] | None = None
        if not store.keep_reserve():
            log.error("the disk of the state directory %s is full: no job can start until space is freed",
                      store.path.parent)

    def recover_interrupted(self) -> list[str]:
        """Mark failed every job the previous engine left unfinished; returns their ids."""
        recovered = []
        for job in self.store.unfinished_jobs():
            context = JobContext(self.store, job)
            step_name = next((s["name"] for s in job.steps if s["status"] == job.status), "")
            where = f"{job.status} {step_name}".strip()
            context.log(
                f"job interrupted: the engine stopped while the job was in {where}{_step_progress(job)}; "
                f"run {job.job_action} again to resume from that step"
            )
            try:
                context.finish(False)
            except sqlite3.Error as error:
                if not is_disk_full(error):
                    raise
                log.error("job %s was interrupted but cannot be marked failed because the disk of %s is full; "
                          "it is marked at the next start with free space", job.job_id, self.store.path.parent)
                continue
            log.warning("job %s (%s) was interrupted in %s and is now failed", job.job_id, job.job_action, where)
            recovered.append(job.job_id)
        return recovered

    def create(
        self,
        action: str,
        *,
        owner: str,
        params: dict[str, Any],
        step_names: list[str],
        lock_keys: Iterable[str],
        resources: dict[str, Any] | None = None,
        summary: str = "",
    ) -> JobRecord:
        """Create a pending job holding `lock_keys`; raise ApiError 5100 when one is held."""
        keys = sorted(set(lock_keys))
        self._check_locks(action, keys)
        if not self.store.keep_reserve():
            raise wrong_state(
                f"{action} cannot start: the disk of the state directory {self.store.path.parent} has less than "
                f"{RESERVE_BYTES // 1024} KiB free, so the engine could not record the job; free space there and try again"
            )

        job = JobRecord(
            job_id=new_id("j-"),
            job_action=action,
            owner=owner,
            status="pending",
            pre_status="",
            steps=[{"status": step_status(i), "name": name, "state": "pending"} for i, name in enumerate(step_names)],
            nodes={},
            params=params,
            resources=dict(resources or {}),
        )
        job.resources["lock_keys"] = keys
        self.store.put_job(job)
        for key in keys:
            self._locks[key] = job.job_id
        detail = f": {summary}" if summary else ""
        self.store.append_log(job.job_id, "pending", f"{action} job {job.job_id} created by {owner}{detail}")
        return job

    def _check_locks(self, action: str, keys: list[str]) -> None:
        for key, job_id in self._locks.items():
            conflict = key == PLATFORM_LOCK or PLATFORM_LOCK in keys or key in keys
            if conflict:
                held = "the platform" if key == PLATFORM_LOCK else f"zone {key}"
                raise busy(
                    f"{action} cannot start: job {job_id} is running on {held}; "
                    f"wait for it to end (GetStatus job_id={job_id}) and try again"
                )

    def start(self, job: JobRecord, body: JobBody) -> None:
        """Run `body` as the job's task; any exception it raises fails the job with a log line."""
        context = JobContext(self.store, job)
        task = asyncio.get_running_loop().create_task(self._run(context, body), name=job.job_id)
        self._tasks[job.job_id] = task
        self._contexts[job.job_id] = context
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_logs())

    async def _run(self, context: JobContext, body: JobBody) -> None:
        job = context.job
        log.info("job %s (%s) started", job.job_id, job.job_action)
        try:
            await body(context)
        except StepFailed as error:
            self._finish(context, False, str(error))
        except asyncio.CancelledError:
            reason = self._stop_reasons.pop(job.job_id, None)
            if reason is None:
                self._finish(context, False, "job cancelled: the engine is stopping; run the action again to resume")
                raise
            # Stopped by the engine, not cancelled from outside: the job ends as failed, not cancelled.
            self._finish(context, False, reason)
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        except Exception as error:
            if is_disk_full(error):
                self.stop_for_full_disk(error)
                self._stop_reasons.pop(job.job_id, None)
                self._finish(context, False, disk_full_reason(self.store, job.job_action, error))
            else:
                log.exception("job %s (%s) failed with an internal error", job.job_id, job.job_action)
                self._finish(context, False, f"internal error: {type(error).__name__}: {error}; see the engine log")
        else:
            if job.status not in FINAL_STATUSES:
                self._finish(context, True)
        finally:
            for key in job.resources.get("lock_keys", []):
                if self._locks.get(key) == job.job_id:
                    del self._locks[key]
            self._tasks.pop(job.job_id, None)
            self._contexts.pop(job.job_id, None)
            self._flush_quietly()
            log.info("job %s (%s) ended %s", job.job_id, job.job_action, job.status)

    def _finish(self, context: JobContext, ok: bool, line: str | None = None) -> None:
        """Finish a job; on a full disk log why, and leave the job to the next start's recovery."""
        try:
            context.finish(ok, line)
        except sqlite3.Error as error:
            if not is_disk_full(error):
                raise
            self.stop_for_full_disk(error)
            log.error("job %s could not be marked %s because the disk of %s is full (%s); the next engine "
                      "start marks it failed", context.job_id, "successful" if ok else "failed",
                      self.store.path.parent, error)

    def _flush_quietly(self) -> None:
        """Commit buffered log lines; a failed commit keeps them for the next try and is logged."""
        try:
            self.store.flush()
        except sqlite3.Error as error:
            if is_disk_full(error):
                self.stop_for_full_disk(error)
            else:
                log.error("writing job log lines to %s failed (%s); retrying at the next flush", self.store.path, error)

    def stop_for_full_disk(self, error: BaseException) -> None:
        """Stop every running job because the state directory's disk is full.

        The reserve file is deleted first, so that each job can still record its failure.
        """
        if self.store.release_reserve():
            log.error("the disk of the state directory %s is full (%s): deleted the %d KiB reserve file "
                      "to record why the running jobs stop", self.store.path.parent, error, RESERVE_BYTES // 1024)

        for job_id, task in self._tasks.items():
            if job_id in self._stop_reasons or task is asyncio.current_task() or task.done():
                continue
            context = self._contexts[job_id]
            self._stop_reasons[job_id] = disk_full_reason(self.store, context.job.job_action, error)
            task.cancel()

    async def _flush_logs(self) -> None:
        while self._tasks:
            await asyncio.sleep(LOG_FLUSH_INTERVAL)
            self._flush_quietly()

    def is_running(self, job_id: str) -> bool:
        return job_id in self._tasks

    async def wait(self, job_id: str) -> None:
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.shield(task)

    async def stop(self) -> None:
        """Cancel running jobs (each is then failed with a log line) and flush logs."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        if self._flusher is not None:
            self._flusher.cancel()
        self._flush_quietly()


def _step_progress(job: JobRecord) -> str:
    """Describe how many nodes had finished the job's current step, e.g. " (12 of 13 nodes had finished it)"."""
    in_step = [progress for progress in job.nodes.values() if progress.get("step") == job.status]
    if not in_step:
        return ""
    finished = sum(1 for progress in in_step if progress.get("state") == "done")
    return f" ({finished} of {len(job.nodes)} nodes had finished it)"
