"""The result of a health check as a table: one row per service, grouped by node, problems first.

Rows come from GetQingCloudCheckResult's `result`. Nodes with an Abnormal or
Unknown service come first, and inside a node its Abnormal and Unknown
services. Those rows are drawn in the theme's error and warning colours. The
filter keeps the nodes whose hostname, or the services whose name, contains
the filter text, and can leave out the Normal services.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from engine.reports.model import CHECK_STATUSES, check_status_rank
from tui.i18n import N_, _
from tui.screens.run_view import theme_style
from tui.status_words import status_label

COLUMNS = (
    ("host", N_("Host")),
    ("role", N_("Role")),
    ("service", N_("Service")),
    ("status", N_("Status")),
    ("detail", N_("Detail")),
)

NORMAL = "Normal"

#: Statuses an operator must look at; their rows are drawn in colour and come first.
ATTENTION_STATUSES = ("Abnormal", "Unknown")


@dataclass(frozen=True)
class ServiceRow:
    """One service of one node as the table shows it."""

    hostname: str
    role: str
    zone_id: str
    service: str
    status: str
    detail: str
    first_of_node: bool

    @property
    def key(self) -> str:
        return f"{self.hostname}/{self.service}"


def sorted_nodes(result: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Return (node, its services) pairs: most urgent node first, then by hostname; services likewise."""
    def service_order(service: dict[str, Any]) -> tuple[int, str]:
        return check_status_rank(str(service.get("status"))), str(service.get("service"))

    nodes = []
    for node in result:
        services = sorted((service for service in node.get("services") or [] if isinstance(service, dict)),
                          key=service_order)
        worst = check_status_rank(str(services[0].get("status"))) if services else check_status_rank(NORMAL)
        nodes.append((worst, str(node.get("hostname", "")), node, services))
    nodes.sort(key=lambda entry: (entry[0], entry[1]))
    return [(node, services) for _rank, _hostname, node, services in nodes]


def service_rows(result: list[dict[str, Any]], text: str = "", only_not_normal: bool = False) -> list[ServiceRow]:
    """Return the rows to show, grouped by node, after the filter."""
    needle = text.strip().lower()
    rows: list[ServiceRow] = []

    for node, services in sorted_nodes(result):
        hostname = str(node.get("hostname", ""))
        node_matches = not needle or needle in hostname.lower()
        first = True
        for service in services:
            name = str(service.get("service", ""))
            status = str(service.get("status", ""))
            if only_not_normal and status == NORMAL:
                continue
            if not node_matches and needle not in name.lower():
                continue
            rows.append(ServiceRow(hostname, str(node.get("role", "")), str(node.get("zone_id", "")), name, status,
                                   str(service.get("detail", "")), first))
            first = False

        if not services and node_matches and not only_not_normal:
            rows.append(ServiceRow(hostname, str(node.get("role", "")), str(node.get("zone_id", "")), "", "", "", True))

    return rows


def count_services(result: list[dict[str, Any]]) -> str:
    """Return "Abnormal 1, Unknown 2, Normal 40" over every service listed, in the reports' order."""
    counted = Counter(str(service.get("status", "")) for node in result for service in node.get("services") or [])
    order = [status for status in CHECK_STATUSES if status in counted]
    order += sorted(status for status in counted if status not in CHECK_STATUSES)
    return ", ".join(f"{status_label(status)} {counted[status]}" for status in order)


class HealthTable(DataTable):
    """The services of a check, one row each; the hostname is written on a node's first row only."""

    DEFAULT_CSS = """
    HealthTable {
        height: 1fr;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cell_padding=0)
        self.shown: list[ServiceRow] = []

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(f"{_(label)} ", key=key)

    @property
    def highlighted_row(self) -> ServiceRow | None:
        if not self.shown or not 0 <= self.cursor_row < len(self.shown):
            return None
        return self.shown[self.cursor_row]

    def row_style(self, status: str) -> Style | str:
        if status == "Abnormal":
            return theme_style(self.app, "text-error", bold=True)
        if status == "Unknown":
            return theme_style(self.app, "text-warning", bold=True)
        return ""

    def show_rows(self, rows: list[ServiceRow]) -> None:
        highlighted = self.highlighted_row
        self.shown = list(rows)
        self.clear()

        for row in self.shown:
            style = self.row_style(row.status)
            status_style = style or (theme_style(self.app, "text-success") if row.status == NORMAL else "")
            host = row.hostname if row.first_of_node else ""
            role = row.role if row.first_of_node else ""
            cells = [(host, style), (role, style), (row.service or _("(no service listed)"), style),
                     (status_label(row.status), status_style), (row.detail or "-", style)]
            self.add_row(*(Text(f"{value} ", style=cell_style) for value, cell_style in cells))

        keys = [row.key for row in self.shown]
        if highlighted is not None and highlighted.key in keys:
            self.move_cursor(row=keys.index(highlighted.key))
