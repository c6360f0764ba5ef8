"""The operator's TUI settings: a small YAML file under the XDG config directory.

    $XDG_CONFIG_HOME/qingcloud-installer/settings.yaml   (~/.config/... without XDG_CONFIG_HOME)

It remembers the theme picked in the TUI, one for full terminals and one for
console mode, so that a theme chosen on a laptop does not follow the operator
to an 8-colour console. A file that cannot be read or parsed is logged and
treated as empty: settings must never keep the installer from starting.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

APP_DIR_NAME = "qingcloud-installer"
SETTINGS_FILE_NAME = "settings.yaml"


def settings_path(environ: Mapping[str, str]) -> Path:
    """Return where the settings file lives, following the XDG base directory rules."""
    config_home = environ.get("XDG_CONFIG_HOME", "")
    # The XDG rules ignore a relative XDG_CONFIG_HOME.
    if not config_home or not os.path.isabs(config_home):
        config_home = str(Path(environ.get("HOME") or Path.home()) / ".config")
    return Path(config_home) / APP_DIR_NAME / SETTINGS_FILE_NAME


@dataclass
class Settings:
    """Preferences the TUI keeps between runs."""

    theme: str | None = None
    """Theme picked on a full terminal."""
    console_theme: str | None = None
    """Theme picked in console mode."""

    def theme_for(self, console: bool) -> str | None:
        return self.console_theme if console else self.theme

    def with_theme(self, name: str, console: bool) -> Settings:
        if console:
            return Settings(theme=self.theme, console_theme=name)
        return Settings(theme=name, console_theme=self.console_theme)


class SettingsStore:
    """Reads and writes one settings file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Settings:
        """Return the stored settings; a missing or unreadable file gives the defaults."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Settings()
        except OSError as error:
            log.warning("cannot read settings %s: %s; using the defaults", self.path, error)
            return Settings()

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            log.warning("settings %s are not valid YAML (%s); using the defaults", self.path, error)
            return Settings()
        if not isinstance(data, dict):
            log.warning("settings %s are not a mapping; using the defaults", self.path)
            return Settings()

        known = {field.name for field in fields(Settings)}
        values = {key: value for key, value in data.items() if key in known and isinstance(value, str)}
        return Settings(**values)

    def save(self, settings: Settings) -> bool:
        """Write the settings atomically; return False (and log why) when the file cannot be written."""
        data = {key: value for key, value in asdict(settings).items() if value is not None}
        text = "# Settings of qc-installer's terminal UI, written when you pick a theme.\n" + yaml.safe_dump(data)

        temporary: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # A temporary file renamed over the old one, so a crash never leaves half a file.
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self.path.parent,
                                             prefix=".settings-", suffix=".tmp", delete=False) as handle:
                temporary = handle.name
                handle.write(text)
            os.replace(temporary, self.path)
        except OSError as error:
            log.warning("cannot write settings %s: %s", self.path, error)
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            return False
        return True
