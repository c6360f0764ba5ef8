"""Asynchronous jobs: creation, zone locks, status and step bookkeeping, logs.

A job's status goes pending, step0, step1, ... and ends successful or
failed; `pre_status` is the status before the current one. The job record
and its log live in the store, so a client that lost its connection reads
on where it stopped, and a job that was running when the engine stopped is
marked failed at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
from typing import Any, Awaitable, Callable, Iterable

from engine.errors import busy
from engine.store import FINAL_STATUSES, JobRecord, Store

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
        self._set_status("successful" if ok else "failed")


JobBody = Callable[[JobContext], Awaitable[None]]


class Jobs:
    """Starts jobs as tasks of the engine's event loop and keeps one changing job per zone."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._locks: dict[str, str] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._flusher: asyncio.Task[None] | None = None

    def recover_interrupted(self) -> list[str]:
        """Mark failed every job the previous engine left unfinished; returns their ids."""
        recovered = []
        for job in self.store.unfinished_jobs():
            context = JobContext(self.store, job)
            step_name = next((s["name"] for s in job.steps if s["status"] == job.status), "")
            where = f"{job.status} {step_name}".strip()
            context.log(
                f"job interrupted: the engine stopped while the job was in {where}; "
                f"run {job.job_action} again to resume from that step"
            )
            for step in job.steps:
                if step["state"] == "running":
                    step["state"] = "failed"
            for progress in job.nodes.values():
                if progress.get("state") == "running":
                    progress["state"] = "failed"
            context.finish(False)
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
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_logs())

    async def _run(self, context: JobContext, body: JobBody) -> None:
        job = context.job
        log.info("job %s (%s) started", job.job_id, job.job_action)
        try:
            await body(context)
        except StepFailed as error:
            context.finish(False, str(error))
        except asyncio.CancelledError:
            context.finish(False, "job cancelled: the engine is stopping; run the action again to resume")
            raise
        except Exception as error:
            log.exception("job %s (%s) failed with an internal error", job.job_id, job.job_action)
            context.finish(False, f"internal error: {type(error).__name__}: {error}; see the engine log")
        else:
            if job.status not in FINAL_STATUSES:
                context.finish(True)
        finally:
            for key in job.resources.get("lock_keys", []):
                if self._locks.get(key) == job.job_id:
                    del self._locks[key]
            self._tasks.pop(job.job_id, None)
            self.store.flush()
            log.info("job %s (%s) ended %s", job.job_id, job.job_action, job.status)

    async def _flush_logs(self) -> None:
        while self._tasks:
            await asyncio.sleep(LOG_FLUSH_INTERVAL)
            self.store.flush()

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
        self.store.flush()
