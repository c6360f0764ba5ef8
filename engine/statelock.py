"""One engine per state directory, enforced with an advisory lock file.

Two engines on one state directory would each believe the other's running
jobs were interrupted, and neither would see the other's zone locks. The
second engine therefore stops at once with a message saying which process
holds the directory.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class StateDirError(Exception):
    """The state directory cannot be used; the message names it and what is wrong."""


class StateDirBusy(StateDirError):
    """Another engine works on this state directory."""


class StateLock:
    """An exclusive flock on `<state dir>/engine.lock`, held until release()."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "engine.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StateDirBusy(
                f"state directory {self.path.parent} is in use by another qc-installer engine (pid {holder}); "
                "send calls to that engine with --server, or stop it first"
            ) from None

        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
