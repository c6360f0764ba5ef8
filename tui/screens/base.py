"""The base of the installer's screens: translated key help and API calls with error display."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import httpx
from rich.text import Text
from textual.binding import ActiveBinding
from textual.screen import Screen

from engine.client import Client
from tui.i18n import _
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.connection_banner import ConnectionBanner, connection_outage

log = logging.getLogger(__name__)

# Seconds before the first retry of a call whose connection failed; each further
# retry waits twice as long, up to the maximum.
RETRY_FIRST_DELAY = 0.5
RETRY_MAX_DELAY = 10.0


def retry_delay(attempt: int) -> float:
    """Return the seconds to wait before retry number `attempt` (1 for the first)."""
    return min(RETRY_FIRST_DELAY * 2 ** (attempt - 1), RETRY_MAX_DELAY)


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

    def on_mount(self) -> None:
        # Mounted here rather than in each screen's compose, so every screen shows it.
        # Textual also calls the subclasses' own on_mount handlers.
        self.mount(ConnectionBanner())

    async def call_api(self, action: str, params: dict[str, Any] | None = None,
                       request_type: str = "QingCloud", *, show_error: bool = True) -> dict[str, Any] | None:
        """Send one call; show a failed call in the screen's error panel.

        A call that cannot reach the engine (httpx.TransportError) is sent again,
        unchanged, until it goes through or the worker is cancelled; see send_until_connected.
        Returns the response, error responses included, or None when the call raised
        any other error before a response arrived.
        """
        try:
            response = await self.send_until_connected(action, params, request_type)
        # Any other failure (an HTTP error status, a response that is not JSON, an engine
        # crash) must reach the operator as a message instead of ending the TUI.
        except Exception as error:
            log.exception("%s failed before a response arrived", action)
            self.error_panel.show_failure(action, error)
            return None

        if response.get("ret_code") != 0:
            log.info("%s returned ret_code %s: %s", action, response.get("ret_code"), response.get("message"))
            if show_error:
                self.error_panel.show_response(response)

        return response

    async def send_until_connected(self, action: str, params: dict[str, Any] | None,
                                   request_type: str) -> dict[str, Any]:
        """Send one call, repeating it with exponential backoff while the connection fails.

        The connection banner shows while the call is being retried. The request is
        repeated exactly, so a GetLog by offset returns the same lines it would have.
        Cancelling the worker stops the retries and raises CancelledError.
        """
        # NOTE: a read timeout or a dropped response is retried too. A call that starts a
        # job may then reach the engine twice, and only the engine's busy check (5100) stops the second.
        client = self.client
        outage = connection_outage(self.app)
        token = object()
        attempt = 0

        try:
            while True:
                try:
                    return await client.call(action, params, request_type)
                except httpx.TransportError as error:
                    attempt += 1
                    delay = retry_delay(attempt)
                    outage.report_retry(token, client.description, delay, attempt, error)
                    await asyncio.sleep(delay)
        finally:
            outage.report_done(token, client.description)
