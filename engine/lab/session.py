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
from engine.lab.packages import write_lab_packages
from engine.lab.server import Lab

log = logging.getLogger("engine.lab")

SAMPLE_CONFIG = Path(__file__).parent / "sample-config.json"

#: ConfigQingCloud `config` objects (no action or request_type around them) that grow the lab:
#: pek3a with the spare hyper nodes n-test1234 and n-test2345 added, for ScaleQingCloud, and
#: the new zone pek3c with the six spare nodes n-pek3cr01n1 to n-pek3cr01n6, for ScaleQingCloudZone.
SCALE_PEK3A_CONFIG = Path(__file__).parent / "scale-pek3a.json"
ZONE_PEK3C_CONFIG = Path(__file__).parent / "zone-pek3c.json"


class LabStartError(Exception):
    """The lab's nodes could not be served or registered."""


class LabSession:
    """A lab bound to an engine whose state directory is the lab's own."""

    def __init__(self, engine: Engine, *, speed: float = 1.0, failures: Sequence[tuple[str, str]] = ()) -> None:
        self.engine = engine
        self.failures = list(failures)
        self.lab = Lab(engine.layout.lab_dir, speed=speed, failures=failures)

    def step_attempts(self, step_name: str) -> int:
        """Return how many runs of a lab step one job makes on a node that keeps failing it.

        The lab's step names are the recipe's step names, plus `upgrade` and
        `health_check` for the upgrade's two commands and `component_install` and
        `component_verify` for the components' tasks.
        """
        recipe = self.engine.recipe
        tasks = [task for action in recipe.actions.values() for step in action.steps
                 if step.name == step_name for task in step.tasks]
        if recipe.upgrade is not None and step_name == "upgrade":
            tasks.append(recipe.upgrade.node)
        if recipe.upgrade is not None and step_name == "health_check":
            tasks.append(recipe.upgrade.health_check)
        for component in recipe.components.values():
            if step_name == "component_install":
                tasks.extend(component.install)
            if step_name == "component_verify":
                tasks.extend(component.verify)
        return max((task.retries + 1 for task in tasks), default=1)

    @staticmethod
    def sample_config_location(engine: Engine) -> Path:
        """Return the path of the lab's copy of the reference's two-zone configuration."""
        return engine.layout.root / "config-qingcloud.json"

    @property
    def sample_config_path(self) -> Path:
        return self.sample_config_location(self.engine)

    @staticmethod
    def growth_config_locations(engine: Engine) -> dict[str, Path]:
        """Return the paths of the lab's copies of the configurations that grow it, keyed by the action they are for."""
        return {
            "ScaleQingCloud": engine.layout.root / "config-scale-pek3a.json",
            "ScaleQingCloudZone": engine.layout.root / "config-zone-pek3c.json",
        }

    @property
    def growth_config_paths(self) -> dict[str, Path]:
        return self.growth_config_locations(self.engine)

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
        growth_sources = {"ScaleQingCloud": SCALE_PEK3A_CONFIG, "ScaleQingCloudZone": ZONE_PEK3C_CONFIG}
        for action, path in self.growth_config_paths.items():
            if not path.exists():
                shutil.copyfile(growth_sources[action], path)
        # Packages to try UpgradeQingCloud with: one newer, one not newer, one damaged.
        written = write_lab_packages(self.engine.layout.packages_dir)
        if written:
            log.info("lab packages written to %s: %s", self.engine.layout.packages_dir, ", ".join(written))

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
