"""The one-line header of every screen: platform, zones and where the engine is."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

from tui.i18n import _
from tui.status_words import status_label


def describe_platform(platform: dict[str, Any] | None, connection: str) -> str:
    """Build the header text from DescribeQingCloud's `qingcloud` object and the connection."""
    parts = []

    if platform is None:
        parts.append(_("platform: unknown"))
    else:
        name = platform.get("platform_name") or "-"
        status = status_label(platform.get("status"))
        parts.append(_("platform: {name} ({status})").format(name=name, status=status))

        zone_ids = platform.get("zone_ids") or []
        zones = ", ".join(zone_ids) if zone_ids else _("none")
        parts.append(_("zones: {zones}").format(zones=zones))

    if connection:
        parts.append(_("engine: {connection}").format(connection=connection))
    else:
        parts.append(_("engine: connecting"))

    return " | ".join(parts)


class PlatformLine(Static):
    """Header line that follows the app's `platform` and `connection` reactives.

    The app stores one copy of the platform state. Every screen has its own
    PlatformLine, and each one watches the app instead of being updated by its screen.
    """

    DEFAULT_CSS = """
    PlatformLine {
        dock: top;
        width: 100%;
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "platform", self._show, init=False)
        self.watch(self.app, "connection", self._show, init=False)
        self._show()

    def _show(self, _value: object = None) -> None:
        platform = getattr(self.app, "platform", None)
        connection = getattr(self.app, "connection", "")
        self.update(Content(describe_platform(platform, connection)))
