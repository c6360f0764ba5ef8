"""Where the engine keeps its state, and the layout of the state directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def default_state_dir(environ: dict[str, str] | None = None, *, lab: bool = False) -> Path:
    """QCI_STATE_DIR, else /var/lib/qingcloud-installer for root, else the XDG state directory.

    The lab gets a directory of its own beside the real one, so that trying
    the lab never touches a real installation.
    """
    environ = dict(os.environ) if environ is None else environ
    name = "qingcloud-installer-lab" if lab else "qingcloud-installer"

    explicit = environ.get("QCI_STATE_DIR")
    if explicit:
        return Path(explicit) / "lab" if lab else Path(explicit)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib") / name
    xdg = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / name


@dataclass(frozen=True)
class StateLayout:
    """Files and directories under one state directory."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "state.db"

    @property
    def engine_log(self) -> Path:
        return self.root / "engine.log"

    @property
    def client_key(self) -> Path:
        return self.root / "ssh" / "id_ed25519"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def lab_dir(self) -> Path:
        return self.root / "lab"

    @property
    def packages_dir(self) -> Path:
        """Installer packages that UpgradeQingCloud may install, each with its NAME.sha256 beside it."""
        return self.root / "packages"

    @property
    def backups_dir(self) -> Path:
        """Copies of the state taken before an upgrade, one directory per job id."""
        return self.root / "backups"

    def zone_config_dir(self, zone_id: str, version: int) -> Path:
        return self.config_dir / zone_id / f"v{version}"
