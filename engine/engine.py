"""The engine: state, jobs, recipe and SSH behind one `call()` entry point.

Every way in (the TUI's in-process client, the HTTP server, the `call`
command) sends the same request objects through `Engine.call`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from datetime import datetime
from typing import Any, Callable

from engine import __version__
from engine.dispatch import dispatch
from engine.jobs import Jobs
from engine.paths import StateLayout
from engine.recipe import Recipe, load_recipe
from engine.statelock import StateDirError, StateLock
from engine.store import Store

log = logging.getLogger("engine")


class Engine:
    """One installer engine working on one state directory."""

    version = __version__

    def __init__(self, state_dir: Path, *, recipe: Recipe | None = None) -> None:
        self.layout = StateLayout(Path(state_dir))
        try:
            self.layout.root.mkdir(parents=True, exist_ok=True)
            os.chmod(self.layout.root, 0o700)
        except OSError as error:
            raise StateDirError(f"cannot use state directory {self.layout.root}: {error.strerror}") from None
        self.state_lock = StateLock(self.layout.root)
        self.state_lock.acquire()
        try:
            self.store = Store(self.layout.database)
        except sqlite3.DatabaseError as error:
            self.state_lock.release()
            raise StateDirError(
                f"cannot open the state database {self.layout.database}: {error}; "
                "restore it from a backup or move it away to start afresh"
            ) from None
        self.jobs = Jobs(self.store)
        self.recipe = recipe or load_recipe()
        self.client_public_key = ""
        self.started = False
        #: Callable returning the current aware datetime; None means the system clock.
        #: Tests set it to put license validity checks at any moment without sleeping.
        self.clock: Callable[[], datetime] | None = None
        #: Vendor public key trusted for license codes (engine.license.trust.VendorTrust), if any.
        self.license_trust: Any = None

    async def start(self) -> None:
        """Recover jobs a previous engine left running and make the installer's SSH key."""
        from engine.ssh import generate_client_key

        for job_id in self.jobs.recover_interrupted():
            log.warning("job %s marked failed after restart", job_id)
        self.client_public_key = generate_client_key(self.layout.client_key)
        self.started = True
        log.info("engine started on %s", self.layout.root)

    async def stop(self) -> None:
        await self.jobs.stop()
        self.store.close()
        self.state_lock.release()
        self.started = False
        log.info("engine stopped")

    async def call(self, request: Any, *, owner: str = "local") -> dict[str, Any]:
        if not self.started:
            await self.start()
        return await dispatch(self, request, owner=owner)


def register_actions() -> None:
    """Import the action modules so that their routes are registered."""
    from engine.actions import deploy, jobs, licenses, nodes, platform  # noqa: F401
    from engine.actions import configuration  # noqa: F401
    from engine.actions import check, testing  # noqa: F401
    from engine.actions import scale, vbc_routes  # noqa: F401
    from engine.actions import zone_config  # noqa: F401
    from engine.actions import components, upgrade  # noqa: F401


register_actions()
