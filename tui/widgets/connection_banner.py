"""A banner over the header while the connection to a remote engine is lost.

The outage is app-wide state: any screen's worker may be the one retrying, and the
banner shows on whichever screen is in front. `ConnectionOutage` keeps that state per
app and publishes changes with a Textual Signal that every banner subscribes to.
"""

from __future__ import annotations

import logging
from weakref import WeakKeyDictionary

from textual.app import App
from textual.content import Content
from textual.signal import Signal
from textual.widget import Widget

from tui.i18n import _

log = logging.getLogger(__name__)


class ConnectionOutage:
    """The calls of one app that are waiting for the engine to be reachable again.

    Each retrying call is a token mapped to the text of its latest retry. The outage
    starts when the first call begins retrying and ends when the last one is done,
    so a log line is written once per outage and not once per retry.
    """

    def __init__(self, app: App) -> None:
        self.changed: Signal[str | None] = Signal(app, "connection-outage")
        self.retrying: dict[object, str] = {}

    @property
    def message(self) -> str | None:
        """The newest retry's text, or None while every call goes through."""
        if not self.retrying:
            return None
        return list(self.retrying.values())[-1]

    def report_retry(self, token: object, url: str, delay: float, attempt: int, error: Exception) -> None:
        """Record that the call `token` failed to reach `url` and is retried after `delay` seconds."""
        if not self.retrying:
            log.warning("connection to %s lost (%s); retrying its calls with backoff", url, error)

        text = _("Connection to {url} lost; retrying in {seconds} s (attempt {attempt})").format(
            url=url, seconds=f"{delay:g}", attempt=attempt)
        # Re-inserted so that the newest retry's text is the one shown.
        self.retrying.pop(token, None)
        self.retrying[token] = text
        self.changed.publish(self.message)

    def report_done(self, token: object, url: str) -> None:
        """Record that the call `token` no longer retries, having succeeded or been cancelled."""
        if self.retrying.pop(token, None) is None:
            return

        if not self.retrying:
            log.info("connection to %s is back", url)
        self.changed.publish(self.message)


_outages: WeakKeyDictionary[App, ConnectionOutage] = WeakKeyDictionary()


def connection_outage(app: App) -> ConnectionOutage:
    """Return the app's outage state, created on first use."""
    outage = _outages.get(app)
    if outage is None:
        outage = _outages[app] = ConnectionOutage(app)
    return outage


class ConnectionBanner(Widget):
    """One line over the header, shown only while calls to the engine are being retried."""

    DEFAULT_CSS = """
    ConnectionBanner {
        display: none;
        dock: top;
        width: 100%;
        height: 1;
        padding: 0 1;
        background: $error;
        color: $text;
        text-style: bold;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.text = ""

    def on_mount(self) -> None:
        outage = connection_outage(self.app)
        outage.changed.subscribe(self, self.show_message)
        self.show_message(outage.message)

    def show_message(self, message: str | None) -> None:
        self.text = message or ""
        self.display = message is not None
        self.refresh()

    def render(self) -> Content:
        return Content(self.text)
