"""Following an engine job: its status and the log lines written since the last look."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

FINISHED_STATUSES = ("successful", "failed")

# GetLog lines per call while catching up with a long log.
LOG_PAGE_SIZE = 1000

CallApi = Callable[..., Awaitable[dict[str, Any] | None]]


def log_lines(response: dict[str, Any]) -> list[str]:
    """Return GetLog's lines in order.

    Keys are zero-padded line numbers that widen past 999; ordering by (length, text)
    keeps them in numeric order whatever their width.
    """
    log = response.get("log") or {}
    return [str(log[key]) for key in sorted(log, key=lambda key: (len(key), key))]


def is_finished(status: dict[str, Any]) -> bool:
    return status.get("status") in FINISHED_STATUSES


def failed_step(status: dict[str, Any]) -> dict[str, Any] | None:
    """Return the step that failed in a failed job's status, or None."""
    for step in status.get("steps") or []:
        if step.get("state") == "failed":
            return step
    return None


class JobWatch:
    """Reads one job's status and tails its log with GetLog's offset.

    `call_api` is a screen's call_api: it returns None or an error response on failure
    and has already shown the failure to the operator.
    """

    def __init__(self, call_api: CallApi, job_action: str, job_id: str) -> None:
        self.call_api = call_api
        self.job_action = job_action
        self.job_id = job_id
        self.offset = 0

    @property
    def job(self) -> dict[str, Any]:
        return {"job_action": self.job_action, "job_id": self.job_id}

    async def read_status(self) -> dict[str, Any] | None:
        """Return GetStatus's response for the job, or None if the call failed."""
        response = await self.call_api("GetStatus", self.job)
        if response is None or response.get("ret_code") != 0:
            return None
        return response

    async def read_new_lines(self) -> list[str] | None:
        """Return the lines written since the previous read, or None if a call failed.

        `offset` moves only when lines are returned, so after a failed call the next
        read requests the same offset again and no line is lost or returned twice.
        """
        lines: list[str] = []
        offset = self.offset

        while True:
            response = await self.call_api("GetLog", {**self.job, "offset": offset, "limit": LOG_PAGE_SIZE})
            if response is None or response.get("ret_code") != 0:
                return None

            page = log_lines(response)
            lines.extend(page)
            offset = int(response.get("next_offset", offset + len(page)))

            total = int(response.get("total_count", offset))
            if not page or offset >= total:
                self.offset = offset
                return lines

    async def read_step_tail(self, step_status: str, count: int = 10, hostnames: list[str] | None = None) -> list[str]:
        """Return the last `count` lines the job wrote while in one status (a step).

        With `hostnames`, only those nodes' lines and the job's own lines (no
        hostname prefix) count, so that the failed nodes' errors are not pushed
        out by the output of nodes that went on working.
        """
        # NOTE: this reads the whole log of the step to keep its tail, so a step with a
        # very long log costs one large response.
        response = await self.call_api("GetLog", {**self.job, "job_status": step_status})
        if response is None or response.get("ret_code") != 0:
            return []
        lines = log_lines(response)
        if hostnames:
            prefixes = tuple(f"{hostname} | " for hostname in hostnames)
            lines = [line for line in lines if line.startswith(prefixes) or " | " not in line]
        return lines[-count:]
