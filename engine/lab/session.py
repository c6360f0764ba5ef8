"""Starting the lab beside an engine: simulated nodes served, then registered.

The nodes are registered through the engine's own AddNodes action, over
SSH, exactly as real nodes are. The lab keeps its node directories and host
keys in its state directory, so a restarted lab keeps its deployed state.
A node whose previous port is taken gets a new one, and AddNodes records it.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Sequence

from engine.engine import Engine
from engine.lab.server import Lab

log = logging.getLogger("engine.lab")

SAMPLE_CONFIG = Path(__file__).parent / "sample-config.json"


class LabStartError(Exception):
    """The lab's nodes could not be served or registered."""


class LabSession:
    """A lab bound to an engine whose state directory is the lab's own."""

    def __init__(self, engine: Engine, *, speed: float = 1.0, failures: Sequence[tuple[str, str]] = ()) -> None:
        self.engine = engine
        self.failures = list(failures)
        self.lab = Lab(engine.layout.lab_dir, speed=speed, failures=failures)

    def step_attempts(self, step_name: str) -> int:
        """Return how many runs of a deploy step one job makes on a node that keeps failing it."""
        for step in self.engine.recipe.actions["DeployQingCloud"].steps:
            if step.name == step_name:
                return max((task.retries + 1 for task in step.tasks), default=1)
        return 1

    @staticmethod
    def sample_config_location(engine: Engine) -> Path:
        """Return the path of the lab's copy of the reference's two-zone configuration."""
        return engine.layout.root / "config-qingcloud.json"

    @property
    def sample_config_path(self) -> Path:
        return self.sample_config_location(self.engine)

    async def start(self) -> None:
        if not self.engine.started:
            await self.engine.start()
        addresses = await self.lab.start([self.engine.client_public_key])
        # A failure asked for on the command line fails one whole deploy job,
        # so it must outlast the step's retries; the re-run then succeeds.
        for node, step in self.failures:
            self.lab.set_failure(node, step, times=self.step_attempts(step))
        if not self.sample_config_path.exists():
            shutil.copyfile(SAMPLE_CONFIG, self.sample_config_path)

        nodes = [
            {
                "node_id": node.node_id,
                "ssh_host": node.host,
                "ssh_port": node.port,
                "ssh_user": node.user,
                "mgmt_ip": node.mgmt_ip,
                "zone_id": node.zone_id,
            }
            for node in addresses
        ]
        # The lab's nodes are the installer's own simulated servers, started just
        # now on loopback, so their host keys need no operator confirmation.
        request = {"action": "AddNodes", "request_type": "Node", "nodes": nodes, "trust_new_host_keys": True}
        response = await self.engine.call(request)
        if response["ret_code"] != 0:
            await self.lab.stop()
            raise LabStartError(f"the lab's nodes could not be registered: {response['message']}")
        log.info("lab started: %d nodes registered", len(addresses))

    async def stop(self) -> None:
        await self.lab.stop()
