"""The base of the installer's screens: translated key help and API calls with error display."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from rich.text import Text
from textual.binding import ActiveBinding
from textual.screen import Screen

from engine.client import Client
from tui.i18n import _
from tui.widgets.api_error import ApiErrorPanel

log = logging.getLogger(__name__)


def is_ok(response: dict[str, Any] | None) -> bool:
    """Tell whether a call returned a successful response."""
    return response is not None and response.get("ret_code") == 0


def table_cell(value: Any, style: str = "") -> Text:
    """Wrap a value for a DataTable cell as plain text.

    DataTable reads a str cell as markup, so engine text such as
    `settings.eip.172.16.80.3[0]` must not reach it as a str.
    """
    return Text("-" if value is None or value == "" else str(value), style=style)


def key_order(key: str) -> tuple[int, str]:
    """Sort function keys by number, before other keys, so the footer reads F2, F3, ... F10."""
    if key.startswith("f") and key[1:].isdigit():
        return int(key[1:]), key
    return 100, key


class InstallerScreen(Screen):
    """A screen that talks to the engine through the app's client.

    Binding descriptions are written in English (marked with `N_`) because classes are
    built before the language is chosen. `active_bindings`, which the footer and the
    key panel read, returns them translated and in function-key order.
    """

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        translated = {}
        for key, active in sorted(super().active_bindings.items(), key=lambda item: key_order(item[0])):
            binding = dataclasses.replace(active.binding, description=_(active.binding.description))
            translated[key] = active._replace(binding=binding)
        return translated

    @property
    def client(self) -> Client:
        client = getattr(self.app, "client", None)
        if client is None:
            raise RuntimeError("the engine is not connected yet")
        return client

    @property
    def error_panel(self) -> ApiErrorPanel:
        return self.query_one(ApiErrorPanel)

    async def call_api(self, action: str, params: dict[str, Any] | None = None,
                       request_type: str = "QingCloud", *, show_error: bool = True) -> dict[str, Any] | None:
        """Send one call; show a failed call in the screen's error panel.

        Returns the response, error responses included, or None when the call raised
        before a response arrived.
        """
        try:
            response = await self.client.call(action, params, request_type)
        # Any failure of the transport (socket closed, HTTP error, engine crash) must
        # reach the operator as a message instead of ending the TUI.
        except Exception as error:
            log.exception("%s failed before a response arrived", action)
            self.error_panel.show_failure(action, error)
            return None

        if response.get("ret_code") != 0:
            log.info("%s returned ret_code %s: %s", action, response.get("ret_code"), response.get("message"))
            if show_error:
                self.error_panel.show_response(response)

        return response
