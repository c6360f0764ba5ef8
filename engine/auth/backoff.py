"""Login backoff: after repeated failed logins, refuse a user name or a source address for a while.

Each key (a user name, a source address) gets a few free failures. Every
failure after those locks the key: for base_delay the first time, then for
twice as long as the time before, up to max_delay. A key's failures are forgotten after a quiet period,
and a successful login clears its user name's failures. The tables keep at
most `max_entries` keys each and drop the least recently failed ones first,
so a flood of made-up user names cannot exhaust memory.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

Clock = Callable[[], float]


@dataclass
class _Failures:
    count: int
    last_failure: float
    locked_until: float


class FailureCounter:
    """Failed logins per key, with exponential lockouts."""

    def __init__(self, *, free_failures: int, base_delay: float, max_delay: float, forget_after: float,
                 max_entries: int, clock: Clock = time.monotonic) -> None:
        self.free_failures = free_failures
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Failures] = OrderedDict()

    def retry_after(self, key: str) -> float:
        """Return the seconds until `key` may try again; 0 when it is not locked."""
        entry = self._current(key)
        if entry is None:
            return 0.0
        return max(0.0, entry.locked_until - self._clock())

    def record_failure(self, key: str) -> float:
        """Count a failure of `key`; returns the lockout it starts in seconds, 0 for a free failure."""
        now = self._clock()
        entry = self._current(key) or _Failures(count=0, last_failure=now, locked_until=0.0)
        entry.count += 1
        entry.last_failure = now

        delay = 0.0
        excess = entry.count - self.free_failures
        if excess > 0:
            delay = min(self.max_delay, self.base_delay * 2 ** min(excess - 1, 32))
            entry.locked_until = now + delay

        self._entries[key] = entry
        self._entries.move_to_end(key)
        self._evict(now)
        return delay

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

    def _current(self, key: str) -> _Failures | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._expired(entry, self._clock()):
            del self._entries[key]
            return None
        return entry

    def _expired(self, entry: _Failures, now: float) -> bool:
        return now >= entry.locked_until and now - entry.last_failure >= self.forget_after

    def _evict(self, now: float) -> None:
        # Entries are ordered by last failure, so expired ones sit at the front.
        while self._entries:
            oldest_key, oldest = next(iter(self._entries.items()))
            if len(self._entries) > self.max_entries or self._expired(oldest, now):
                del self._entries[oldest_key]
            else:
                break


class LoginBackoff:
    """Failed logins counted per user name and per source address.

    A source address gets more free failures than a user name, because one
    address may be a gateway for several operators.
    """

    def __init__(self, *, clock: Clock = time.monotonic, user_free_failures: int = 3,
                 address_free_failures: int = 10, base_delay: float = 1.0, max_delay: float = 300.0,
                 forget_after: float = 900.0, max_entries: int = 10_000) -> None:
        self.users = FailureCounter(free_failures=user_free_failures, base_delay=base_delay, max_delay=max_delay,
                                    forget_after=forget_after, max_entries=max_entries, clock=clock)
        self.addresses = FailureCounter(free_failures=address_free_failures, base_delay=base_delay,
                                        max_delay=max_delay, forget_after=forget_after, max_entries=max_entries,
                                        clock=clock)

    def retry_after(self, user_id: str | None, address: str) -> int:
        """Return the whole seconds until this user name and address may try again; 0 when neither is locked."""
        wait = self.addresses.retry_after(address)
        if user_id is not None:
            wait = max(wait, self.users.retry_after(user_id))
        return math.ceil(wait)

    def record_failure(self, user_id: str | None, address: str) -> int:
        """Count a failed login; returns the whole seconds of the lockout it starts, 0 for none."""
        delay = self.addresses.record_failure(address)
        if user_id is not None:
            delay = max(delay, self.users.record_failure(user_id))
        return math.ceil(delay)

    def record_success(self, user_id: str) -> None:
        # The address keeps its failures: a login to one account must not wipe
        # out the failures of guesses at another account from the same address.
        self.users.reset(user_id)
