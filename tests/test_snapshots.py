"""SVG snapshots of every screen at 80x24: English and Chinese in the default theme, English in console mode.

The app runs over the scripted TourFakeClient with a fixed clock, no
animations and no blinking cursor, so a snapshot changes only when a screen
does. After a deliberate change, read the failure report and then run
`pytest tests/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import importlib
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from qc_cli.screenshots import available_views, show_view
from tests.tui_fakes import tour_app, wait_until
from tui.i18n import set_language
from tui.operations import OPERATIONS
from tui.screens.connecting import ConnectingScreen

ROOT = Path(__file__).resolve().parent.parent
SIZE = (80, 24)
VIEWS = available_views()
FIXED_NOW = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)


class FixedDateTime(datetime):
    """A datetime whose now() is always FIXED_NOW, for screens that show dates or durations."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return FIXED_NOW.astimezone(tz) if tz is not None else FIXED_NOW.replace(tzinfo=None)


@pytest.fixture
def steady_world(monkeypatch):
    """Fix the clock and the time zone (UTC), and run from the repository root."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.chdir(ROOT)

    for operation in OPERATIONS:
        try:
            importlib.import_module(operation.screen.split(":")[0])
        except ImportError:
            continue
    for name, module in list(sys.modules.items()):
        if name.startswith("tui.") and getattr(module, "datetime", None) is datetime:
            monkeypatch.setattr(module, "datetime", FixedDateTime)

    yield

    monkeypatch.undo()
    time.tzset()
    set_language("en")


@pytest.mark.parametrize(("lang", "console"), [("en", False), ("zh_CN", False), ("en", True)],
                         ids=["en", "zh_CN", "console"])
@pytest.mark.parametrize("view", VIEWS, ids=lambda view: view.name)
def test_screen_snapshot(snap_compare, steady_world, view, lang, console):
    """One screen as the operator sees it at an 80x24 terminal."""
    app = tour_app(lang=lang, console=console)

    async def run_before(pilot) -> None:
        await wait_until(pilot, lambda: app.client is not None and not isinstance(app.screen, ConnectingScreen),
                         "the app leaves the connecting screen")
        await show_view(pilot, app, view)

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)
