"""Starting and ending the jobs that place nodes in a deployed region: ScaleQingCloud and ScaleQingCloudZone.

The scale-out screen and the new zone's deploy screen both start one of these
jobs, show why the engine rejected it, follow it in `JobPanes`, and read the
VBC routes it produced once it succeeds.
"""

from __future__ import annotations

from typing import Any

from tui.i18n import _
from tui.screens.base import InstallerScreen, is_ok
from tui.screens.job_watch import JobWatch
from tui.screens.node_detail import describe_failure
from tui.widgets.job_panes import JobPanes

SCALE = "ScaleQingCloud"
SCALE_ZONE = "ScaleQingCloudZone"

# The engine's ret_code for a request beyond what the license allows.
LICENSE_LIMIT = 2400


def growth_config_path(app: Any, job_action: str) -> str:
    """Return the configuration file the app offers for a growth job, or "".

    The lab writes configurations that name its spare nodes; an app started
    over the lab keeps their paths in `growth_config_paths`, keyed by job action.
    """
    paths = getattr(app, "growth_config_paths", None) or {}
    return str(paths.get(job_action) or "")


def show_start_rejection(screen: InstallerScreen, response: dict[str, Any]) -> None:
    """Show why the engine rejected the job's request, with what to do about a license limit."""
    if response.get("ret_code") == LICENSE_LIMIT:
        hint = _("The license allows fewer hyper nodes than the zone would have then. Activate a license "
                 "for more hyper nodes (ctrl+l), then start again.")
        screen.error_panel.show_text(describe_failure(response, hint))
        return
    screen.error_panel.show_response(response)


async def start_placement(screen: InstallerScreen, job_action: str, zone_id: str,
                          node_ids: list[str]) -> str | None:
    """Send the job's request; return its job id, or None after showing why the engine rejected it."""
    response = await screen.call_api(job_action, {"zone_id": zone_id, "node_ids": node_ids}, show_error=False)
    if response is None:
        return None
    if not is_ok(response):
        show_start_rejection(screen, response)
        return None
    return str(response["job_id"])


async def read_routes(screen: InstallerScreen, job_id: str) -> list[str] | None:
    """Return the VBC routes of a finished job, or None when GetQingCloudVBCRoute failed."""
    response = await screen.call_api("GetQingCloudVBCRoute", {"job_id": job_id})
    if not is_ok(response):
        return None
    return [str(route) for route in response.get("vbc_route") or []]


async def apply_zone_config(screen: InstallerScreen, panes: JobPanes, zone_id: str,
                            zone_config: dict[str, Any]) -> str | None:
    """Apply one zone's configuration with ConfigQingCloud and follow the job in the panes.

    ConfigQingCloud of one zone replaces that zone's configuration and keeps the
    others. Returns the job id once the job succeeded, or None after showing why not.
    """
    response = await screen.call_api("ConfigQingCloud", {"config": {zone_id: zone_config}})
    if not is_ok(response):
        return None

    watch = JobWatch(screen.call_api, "ConfigQingCloud", str(response["job_id"]))
    status = await panes.follow(watch, screen.app.poll_interval)  # type: ignore[attr-defined]
    if status is None:
        return None
    if status.get("status") != "successful":
        summary, tail = await panes.describe_failure(watch, status)
        panes.show_outcome([*summary, _("Press F8 to go back, fix the cause and apply again."), *tail], "-error")
        return None
    return watch.job_id


async def follow_placement(screen: InstallerScreen, panes: JobPanes, job_action: str,
                           job_id: str) -> tuple[dict[str, Any] | None, JobWatch]:
    """Follow the job in the panes to its end; on failure, show the failed step and how to resume."""
    watch = JobWatch(screen.call_api, job_action, job_id)
    status = await panes.follow(watch, screen.app.poll_interval)  # type: ignore[attr-defined]
    if status is None or status.get("status") == "successful":
        return status, watch

    summary, tail = await panes.describe_failure(watch, status)
    lines = [*summary, _("Press F7 to run it again: the engine resumes at the failed step. "
                         "Last lines of the step's log:"), *tail]
    panes.show_outcome(lines, "-error")
    return status, watch


async def refresh_platform(screen: InstallerScreen) -> dict[str, Any] | None:
    """Read DescribeQingCloud into the app's header; return the `qingcloud` object, or None."""
    described = await screen.call_api("DescribeQingCloud")
    if not is_ok(described):
        return None
    platform = described.get("qingcloud") or {}
    screen.app.platform = platform  # type: ignore[attr-defined]
    return platform
