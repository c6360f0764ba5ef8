"""The VBC routes a scale-out or new-zone job produced, and saving them to a text file.

GetQingCloudVBCRoute returns one `ip route add ...` command per VBC network
the job placed. The network team adds them to the routers, so the operator
saves them to a file. The file contains exactly those lines and is written in
one rename. An existing file is replaced only after the operator confirms.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Log, Static

from tui.i18n import _
from tui.wizard.dialogs import ConfirmDialog
from tui.wizard.widgets import plain

log = logging.getLogger(__name__)


def default_routes_path(zone_id: str, job_id: str) -> str:
    """Return the file name offered for a job's routes, in the working directory."""
    return f"./vbc-routes-{zone_id}-{job_id}.txt"


def routes_text(routes: list[str]) -> str:
    """Return the file's text: one route per line, each ending with a newline."""
    return "".join(f"{route}\n" for route in routes)


def write_routes(path: Path, routes: list[str]) -> None:
    """Write the routes to `path` through a temporary file and a rename, so no reader sees half a file.

    Raises OSError when the directory does not exist or cannot be written.
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(routes_text(routes))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    log.info("%d VBC route(s) written to %s", len(routes), path)


class RoutesPanel(Vertical):
    """Lists a job's VBC routes and saves them to the file named in its path field.

    The screen calls `show_routes` once the job's routes are read, and `save`
    from its save key; Enter in the path field saves too.
    """

    DEFAULT_CSS = """
    RoutesPanel {
        height: 1fr;
    }
    RoutesPanel #routes-summary {
        height: auto;
    }
    RoutesPanel #routes-list {
        height: 1fr;
        min-height: 3;
        border-top: solid $panel;
        scrollbar-size-vertical: 1;
    }
    RoutesPanel #routes-list:focus {
        border-top: solid $primary;
    }
    RoutesPanel #routes-path-row {
        height: 1;
    }
    RoutesPanel #routes-path-label {
        width: auto;
        padding-right: 1;
    }
    RoutesPanel #routes-path {
        width: 1fr;
    }
    RoutesPanel #routes-state {
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.routes: list[str] = []
        self.saved_path: Path | None = None
        """Where the routes were last written, or None."""

    def compose(self) -> ComposeResult:
        yield Static("", id="routes-summary")
        yield Log(id="routes-list", max_lines=10000, auto_scroll=False)
        with Horizontal(id="routes-path-row"):
            yield Label(_("Save to:"), id="routes-path-label")
            field = Input(compact=True, id="routes-path")
            field.cursor_blink = False
            yield field
        yield Static("", id="routes-state")

    def show_routes(self, zone_id: str, job_id: str, routes: list[str]) -> None:
        self.routes = list(routes)
        self.saved_path = None
        if routes:
            summary = _("VBC routes of zone {zone_id} from job {job_id}: {count}. Add them to the routers "
                        "of the management network; F6 saves them to the file below.").format(
                zone_id=zone_id, job_id=job_id, count=len(routes))
        else:
            summary = _("Job {job_id} produced no VBC route: zone {zone_id} needs none, for example "
                        "because it uses VLAN networks.").format(job_id=job_id, zone_id=zone_id)
        self.query_one("#routes-summary", Static).update(plain(summary))

        route_list = self.query_one("#routes-list", Log)
        route_list.clear()
        route_list.write_lines(self.routes)
        route_list.scroll_home(animate=False)

        self.query_one("#routes-path", Input).value = default_routes_path(zone_id, job_id)
        self.show_state("")

    def show_state(self, text: str, style: str = "") -> None:
        self.query_one("#routes-state", Static).update(plain(text, style))

    @on(Input.Submitted, "#routes-path")
    def path_submitted(self) -> None:
        self.save()

    def save(self) -> None:
        """Write the routes to the path field's file, asking first when the file exists."""
        path_text = self.query_one("#routes-path", Input).value.strip()
        if not path_text:
            self.show_state(_("Enter the path of the file to write."), "$text-error")
            return
        if not self.routes:
            self.show_state(_("There is no route to save."), "$text-warning")
            return

        path = Path(path_text).expanduser().absolute()
        if path.is_dir():
            self.show_state(_("{path} is a directory; add a file name.").format(path=path), "$text-error")
            return
        if path.exists():
            self.confirm_overwrite(path)
            return
        self.write_file(path)

    @work(exclusive=True, group="routes-overwrite")
    async def confirm_overwrite(self, path: Path) -> None:
        confirmed = await self.app.push_screen_wait(ConfirmDialog(
            _("Replace {path}?").format(path=path),
            _("The file exists. Its text is replaced by the {count} route(s) shown.").format(count=len(self.routes)),
        ))
        if not confirmed:
            self.show_state(_("{path} was left as it was; no route was written.").format(path=path), "$text-warning")
            return
        self.write_file(path)

    def write_file(self, path: Path) -> None:
        try:
            write_routes(path, self.routes)
        except OSError as error:
            log.warning("writing the VBC routes to %s failed: %s", path, error)
            self.show_state(_("The routes were not written to {path}: {error}").format(path=path, error=error),
                            "$text-error")
            return
        self.saved_path = path
        self.show_state(_("{count} route(s) written to {path}.").format(count=len(self.routes), path=path),
                        "$text-success")
