"""The screens the installer offers, beyond the ones with their own function key.

Each operation is a mode of the app whose screen module is imported only when
the operator first opens it, so that starting the TUI stays quick and a screen
that fails to import breaks only itself. The go-to menu (ctrl+g) lists every
screen, the ones with function keys first.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from textual.screen import Screen

from tui.i18n import N_


@dataclass(frozen=True)
class Operation:
    """One screen the go-to menu opens."""

    mode: str
    label: str
    """Short name, marked with N_ and translated when shown."""
    description: str
    """One line saying what the screen is for, marked with N_."""
    screen: str
    """Module and class of the screen, as 'module:Class'."""
    key: str = ""
    """The app's key for it, if it has one, e.g. 'f3' or 'ctrl+l'."""


OPERATIONS: list[Operation] = [
    Operation("overview", N_("Overview"), N_("The platform, its zones and nodes"),
              "tui.screens.overview:OverviewScreen", "f2"),
    Operation("nodes", N_("Nodes"), N_("Register nodes and trust their host keys"),
              "tui.screens.nodes:NodesScreen", "f3"),
    Operation("configuration", N_("Configuration"), N_("Write, check and apply the zones' configuration"),
              "tui.screens.configuration:ConfigurationScreen", "f4"),
    Operation("deploy", N_("Deploy"), N_("Deploy the configured zones and follow the job"),
              "tui.screens.deploy:DeployScreen", "f5"),
    Operation("scale", N_("Scale out"), N_("Add nodes to a deployed zone and read its VBC routes"),
              "tui.screens.scale:ScaleScreen"),
    Operation("new_zone", N_("New zone"), N_("Configure a new zone and deploy it into the region"),
              "tui.screens.new_zone:NewZoneScreen"),
    Operation("upgrade", N_("Upgrade"), N_("Upgrade the platform from an installer package"),
              "tui.screens.upgrade:UpgradeScreen"),
    Operation("components", N_("Components"), N_("Deploy VDI and V2V in a zone"),
              "tui.screens.components:ComponentsScreen"),
    Operation("tests", N_("Tests"), N_("Run the platform's test cases and read their logs"),
              "tui.screens.platform_tests:PlatformTestsScreen"),
    Operation("checks", N_("Health check"), N_("Check the services of every node"),
              "tui.screens.health:HealthCheckScreen"),
    Operation("licenses", N_("Licenses"), N_("Request and activate licenses"),
              "tui.screens.licenses:LicensesScreen", "ctrl+l"),
    Operation("files", N_("Files"), N_("View and change the nodes' configuration files"),
              "tui.screens.config_files:ConfigFilesScreen", "ctrl+f"),
]


def screen_factory(operation: Operation) -> Callable[[], Screen]:
    """Return a callable that imports the operation's screen class and makes the screen."""

    def make() -> Screen:
        module_name, class_name = operation.screen.split(":")
        screen_class = getattr(importlib.import_module(module_name), class_name)
        return screen_class()

    return make


def find(mode: str) -> Operation | None:
    """Return the operation of a mode, or None."""
    return next((operation for operation in OPERATIONS if operation.mode == mode), None)
