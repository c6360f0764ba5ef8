"""The licenses screen: the platform's licenses, an application for a new one, and activation.

Times are shown and entered in the operator's local time, with the zone named;
the API takes and returns UTC. Application codes are shown in full, wrapped
at a fixed width so that copying them from the console keeps every character.
License codes are never shown: the field that takes one is masked.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Footer, Input, Label, Static

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen, is_ok
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.platform_line import PlatformLine

API_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
RESPONSE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SHOWN_TIME_FORMAT = "%Y-%m-%d %H:%M"
TIME_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
APPLICANT_PATTERN = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@yunify\.com")

#: Characters per line of a shown application code; with the screen's padding and a scrollbar it fits 80 columns.
CODE_LINE_WIDTH = 76

STATUS_WORDS = {"enabled": N_("enabled"), "expired": N_("expired"), "pending": N_("not yet valid")}
STATUS_STYLES = {"enabled": "$text-success", "pending": "$text-warning", "expired": "bold $text-error"}

FIELDS = ("description", "start_time", "end_time", "applicant", "hypernode_count")
FIELD_PLACEHOLDERS = {"start_time": "YYYY-MM-DD HH:MM:SS", "end_time": "YYYY-MM-DD HH:MM:SS",
                      "applicant": "name@yunify.com"}


def local_zone_name(now: datetime | None = None) -> str:
    """Return the operator's time zone as "CST, UTC+08:00"."""
    local = (now or datetime.now(timezone.utc)).astimezone()
    offset = local.strftime("%z")
    return f"{local.tzname()}, UTC{offset[:3]}:{offset[3:]}"


def parse_response_time(text: Any) -> datetime | None:
    try:
        return datetime.strptime(str(text), RESPONSE_TIME_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def shown_time(text: Any) -> str:
    """Return an API time (UTC) in local time, or the text as it came when it does not parse."""
    moment = parse_response_time(text)
    return moment.astimezone().strftime(SHOWN_TIME_FORMAT) if moment else str(text or "-")


def days_left(entry: dict[str, Any], now: datetime) -> int:
    """Return whole days of validity left: from now for an enabled license, from its start for a pending one."""
    start = parse_response_time(entry.get("start_time"))
    end = parse_response_time(entry.get("end_time"))
    if start is None or end is None:
        return 0
    return max(0, (end - max(now, start)).days)


def local_to_api_time(text: str) -> str:
    """Convert a local `%Y-%m-%d %H:%M:%S` to the UTC text the API takes."""
    # A naive datetime's astimezone() reads it as local time, with the zone's rules for that date.
    return datetime.strptime(text, API_TIME_FORMAT).astimezone(timezone.utc).strftime(API_TIME_FORMAT)


def wrap_code(code: str, width: int = CODE_LINE_WIDTH) -> list[str]:
    return [code[index:index + width] for index in range(0, len(code), width)]


def check_local_time(text: str) -> datetime | None:
    if not TIME_PATTERN.fullmatch(text):
        return None
    try:
        return datetime.strptime(text, API_TIME_FORMAT)
    except ValueError:
        return None


def check_request_form(values: dict[str, str]) -> dict[str, str]:
    """Return field -> problem for the request form's values, as the engine would judge them."""
    problems = {}
    description = values["description"]
    if not description.strip():
        problems["description"] = _("Describe the platform, e.g. its site and purpose.")
    elif len(description) > 256 or not description.isprintable():
        problems["description"] = _("Use one line of at most 256 characters.")

    start = check_local_time(values["start_time"])
    end = check_local_time(values["end_time"])
    for field, moment in (("start_time", start), ("end_time", end)):
        if moment is None:
            problems[field] = _("Enter the time as YYYY-MM-DD HH:MM:SS, e.g. 2030-01-01 00:00:00.")
    if start is not None and end is not None and end <= start:
        problems["end_time"] = _("The end must be after the start.")

    applicant = values["applicant"]
    if not applicant.endswith("@yunify.com"):
        problems["applicant"] = _("Enter an e-mail address ending in @yunify.com.")
    elif not APPLICANT_PATTERN.fullmatch(applicant):
        problems["applicant"] = _("This is not a valid e-mail address.")

    count = values["hypernode_count"]
    if not count.isdigit() or int(count) < 1:
        problems["hypernode_count"] = _("Enter a whole number of hyper nodes, 1 or more.")
    return problems


class LicenseCodeInput(Input):
    """A masked input for a license code that keeps every line of a pasted code.

    Input keeps only the first line of a paste, but a code copied from a wrapped
    display or a mail arrives over several lines.
    """

    def on_paste(self, event: events.Paste) -> None:
        # prevent_default stops Input's own paste handler, which runs after this one.
        event.prevent_default()
        event.stop()
        text = "".join(event.text.split())
        if self.selection.is_empty:
            self.insert_text_at_cursor(text)
        else:
            self.replace(text, *self.selection)


class LicensesScreen(InstallerScreen):
    """Lists licenses (DescribeQingCloudLicenses), requests one (GenerateQingCloudCode), activates one."""

    HELP = N_(
        "The platform's licenses, and the two steps that add one: request it from the vendor, then "
        "activate the code the vendor sends back.\n"
        "\n"
        "1. F6 opens the request form; F8 creates the application code, and F8 again saves it to a "
        "file for the vendor.\n"
        "2. F7 opens the activation: paste the license code (it stays hidden), or name a file and "
        "press F9, then F8 activates it.\n"
        "3. ^R reads the licenses again."
    )

    CSS_PATH = "licenses.tcss"

    # F8 is bound once per panel, and check_action hides all but the open panel's.
    # The table is also read whenever the screen shows.
    BINDINGS = [
        Binding("ctrl+r", "refresh", N_("Refresh")),
        Binding("f6", "show_panel('request')", N_("Request")),
        Binding("f7", "show_panel('activate')", N_("Activate")),
        Binding("f8", "create_code", N_("Create")),
        Binding("f8", "save_code", N_("Save")),
        Binding("f8", "activate", N_("Activate")),
        Binding("f9", "read_file", N_("File")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.panel = ""
        self.busy = False
        self.application_code = ""
        self.license_set: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        with Vertical(id="licenses-body"):
            yield Static(_("Reading the licenses..."), id="license-summary")
            yield DataTable(id="license-table", cursor_type="row", zebra_stripes=True, cell_padding=0)
            yield Static(_("F6 requests a license: it makes an application code for the vendor. "
                           "F7 activates the license code the vendor returns."), id="license-hint")
            with Vertical(id="request-panel", classes="license-panel"):
                yield Label(_("Request a license (times in {zone})").format(zone=local_zone_name()),
                            classes="section-title")
                for field, label in (("description", _("Description")), ("start_time", _("Valid from")),
                                     ("end_time", _("Valid until")), ("applicant", _("Applicant")),
                                     ("hypernode_count", _("Hyper nodes"))):
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        yield Input(id=f"request-{field}", compact=True, placeholder=FIELD_PLACEHOLDERS.get(field, ""))
                yield Static("", id="request-problem")
            with Vertical(id="code-panel", classes="license-panel"):
                yield Label(_("Application code: send all of it to the vendor"), classes="section-title")
                with VerticalScroll(id="code-scroll"):
                    yield Static("", id="code-text")
                with Horizontal(classes="form-row"):
                    yield Label(_("Save to"), classes="form-label")
                    yield Input(id="code-path", compact=True)
                yield Static("", id="code-result")
            with Vertical(id="activate-panel", classes="license-panel"):
                yield Label(_("Activate a license"), classes="section-title")
                with Horizontal(classes="form-row"):
                    yield Label(_("License code"), classes="form-label")
                    yield LicenseCodeInput(id="license-code", password=True, compact=True,
                                           placeholder=_("paste the code; it stays hidden"))
                with Horizontal(classes="form-row"):
                    yield Label(_("Or from file"), classes="form-label")
                    yield Input(id="license-file", compact=True, placeholder=_("path, then F9"))
                yield Static("", id="activate-result")
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        for widget in self.query(Input):
            widget.cursor_blink = False
        self.show_panel("")

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides a key, None dims it. A panel's own keys show only while it is open,
        # and the key that opens a panel hides while that panel is open.
        panel_actions = {"create_code": "request", "save_code": "code", "activate": "activate",
                         "read_file": "activate"}
        if action in panel_actions and self.panel != panel_actions[action]:
            return False
        if action == "show_panel" and parameters and parameters[0] == self.panel:
            return False
        if action in panel_actions or action == "show_panel":
            return None if self.busy else True
        return True

    def show_panel(self, panel: str) -> None:
        self.panel = panel
        for name in ("request", "code", "activate"):
            self.query_one(f"#{name}-panel").display = panel == name
        self.query_one("#license-hint").display = panel == ""
        # The code needs the room: about 13 lines of 76 characters for a two-zone platform.
        self.query_one("#license-table").display = panel != "code"
        self.refresh_bindings()

    def set_result(self, widget_id: str, text: str, style: str = "") -> None:
        self.query_one(widget_id, Static).update(Content.styled(text, style) if style else Content(text))

    # The table and the summary.

    def action_refresh(self) -> None:
        self.error_panel.clear()
        self.load_licenses()

    @work(exclusive=True, group="licenses-read")
    async def load_licenses(self) -> None:
        response = await self.call_api("DescribeQingCloudLicenses")
        if not is_ok(response):
            self.set_result("#license-summary", _("The licenses could not be read."), "$text-error")
            return
        assert response is not None
        self.license_set = response.get("license_set") or []
        self.show_licenses(datetime.now(timezone.utc))
        self.show_summary(response)

    def show_licenses(self, now: datetime) -> None:
        table = self.query_one("#license-table", DataTable)
        table.clear(columns=True)
        zone = local_zone_name(now).split(",")[0]
        headers = [_("License"), _("Status"), _("From ({zone})").format(zone=zone),
                   _("Until ({zone})").format(zone=zone), _("Days left"), _("Hyper nodes")]
        rows = []
        for entry in self.license_set:
            status = str(entry.get("status", ""))
            word = STATUS_WORDS.get(status)
            rows.append([
                Content(str(entry.get("license_id", ""))),
                Content.styled(_(word) if word else status, STATUS_STYLES.get(status, "")),
                Content(shown_time(entry.get("start_time"))),
                Content(shown_time(entry.get("end_time"))),
                Content(str(days_left(entry, now))),
                Content(str(entry.get("hypernode_count", ""))),
            ])

        # Content cells carry theme colours, but DataTable cannot measure them: widths are set here.
        for index, header in enumerate(headers):
            width = max([cell_len(header)] + [row[index].cell_length for row in rows])
            table.add_column(header, width=width + 1)
        for entry, row in zip(self.license_set, rows):
            table.add_row(*row, key=str(entry.get("license_id")))

    def show_summary(self, response: dict[str, Any]) -> None:
        deployed = response.get("deployed_hypernode_count", 0)
        licensed = response.get("licensed_hypernode_count")
        if licensed is None:
            line = _("Hyper nodes: {deployed} deployed. No license has taken effect, so deploys are not limited.")
            style = ""
        elif licensed == 0:
            line = _("Hyper nodes: {deployed} deployed, none licensed: every license has expired.")
            style = "$text-error"
        else:
            line = _("Hyper nodes: {deployed} deployed of {licensed} licensed.")
            style = "$text-error" if deployed > licensed else "$text-success"
        lines = [(line.format(deployed=deployed, licensed=licensed), style)]

        if not response.get("vendor_key"):
            lines.append((_("No vendor public key is configured: start the installer with --license-pubkey FILE."),
                          "$text-warning"))
        elif response.get("lab_vendor_key"):
            lines.append((_("Lab: issue licenses with qc-installer license issue --vendor-key {path} CODE").format(
                path=response["lab_vendor_key"]), "$text-muted"))
        self.query_one("#license-summary", Static).update(
            Content("\n").join(Content.styled(text, style) if style else Content(text) for text, style in lines))

    # Requesting a license: the form, then the application code.

    async def action_show_panel(self, panel: str) -> None:
        self.error_panel.clear()
        self.show_panel(panel)
        if panel == "request":
            await self.prepare_request_form()
            self.query_one("#request-description", Input).focus()
        elif panel == "activate":
            self.set_result("#activate-result", "")
            self.query_one("#license-code", Input).focus()

    async def prepare_request_form(self) -> None:
        values = self.form_values()
        if values["start_time"]:
            return
        now = datetime.now().replace(microsecond=0)
        self.query_one("#request-start_time", Input).value = now.strftime("%Y-%m-%d 00:00:00")
        self.query_one("#request-end_time", Input).value = now.replace(year=now.year + 1).strftime("%Y-%m-%d 00:00:00")

        described = await self.call_api("DescribeQingCloud", show_error=False)
        if is_ok(described):
            assert described is not None
            zones = (described.get("qingcloud") or {}).get("zone_info") or {}
            hyper = sum(int(zone.get("hyper_node_num", 0)) for zone in zones.values())
            self.query_one("#request-hypernode_count", Input).value = str(max(hyper, 1))

    def form_values(self) -> dict[str, str]:
        values = {field: self.query_one(f"#request-{field}", Input).value.strip() for field in FIELDS}
        # The description goes to the engine as typed; the other fields forgive stray spaces.
        values["description"] = self.query_one("#request-description", Input).value
        return values

    def mark_fields(self, problems: dict[str, str]) -> None:
        for field in FIELDS:
            self.query_one(f"#request-{field}", Input).set_class(field in problems, "-invalid")

    def show_form_problems(self, problems: dict[str, str]) -> None:
        """Mark every field with a problem and show the first problem."""
        self.mark_fields(problems)
        self.set_result("#request-problem", next(iter(problems.values())), "$text-error")

    @on(Input.Changed, "#request-panel Input")
    def validate_field(self, event: Input.Changed) -> None:
        field = (event.input.id or "").removeprefix("request-")
        problems = check_request_form(self.form_values())
        # While typing, only the field being typed in and fields marked before are judged,
        # so that fields not reached yet do not show as wrong.
        marked = {name: problem for name, problem in problems.items()
                  if name == field or self.query_one(f"#request-{name}", Input).has_class("-invalid")}
        self.mark_fields(marked)

        if marked:
            self.set_result("#request-problem", marked.get(field) or next(iter(marked.values())), "$text-error")
        elif not problems:
            self.set_result("#request-problem", _("Ready: F8 creates the application code."), "$text-success")
        else:
            self.set_result("#request-problem", "")

    def action_create_code(self) -> None:
        values = self.form_values()
        problems = check_request_form(values)
        if problems:
            self.show_form_problems(problems)
            self.query_one(f"#request-{next(iter(problems))}", Input).focus()
            return
        self.busy = True
        self.refresh_bindings()
        self.create_code(values)

    @work(exclusive=True, group="licenses-change")
    async def create_code(self, values: dict[str, str]) -> None:
        params = {
            "description": values["description"],
            "start_time": local_to_api_time(values["start_time"]),
            "end_time": local_to_api_time(values["end_time"]),
            "applicant": values["applicant"],
            "hypernode_count": int(values["hypernode_count"]),
        }
        try:
            response = await self.call_api("GenerateQingCloudCode", params)
        finally:
            self.busy = False
            self.refresh_bindings()

        if response is None:
            return
        if not is_ok(response):
            # The engine's 1100 names the parameter; marking it shows the operator where to look.
            named = re.search(r"parameter '(\w+)'", str(response.get("message", "")))
            if named and named.group(1) in FIELDS:
                self.show_form_problems({named.group(1): _("The engine rejected this field; see the message below.")})
            return

        self.application_code = str(response.get("application_code", ""))
        self.show_code(int(values["hypernode_count"]))

    def show_code(self, hypernode_count: int) -> None:
        self.show_panel("code")
        self.query_one("#code-text", Static).update(Content("\n".join(wrap_code(self.application_code))))
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path_input = self.query_one("#code-path", Input)
        path_input.value = str(Path.cwd() / f"qingcloud-application-{stamp}.txt")
        self.set_result("#code-result", _("Application code for {count} hyper node(s) created. F8 saves it to the "
                                          "file above.").format(count=hypernode_count), "$text-success")
        path_input.focus()

    def action_save_code(self) -> None:
        path = Path(self.query_one("#code-path", Input).value.strip()).expanduser()
        try:
            path.write_text(self.application_code + "\n", encoding="utf-8")
        except OSError as error:
            self.set_result("#code-result", _("Cannot write {path}: {error}").format(
                path=path, error=error.strerror or error), "$text-error")
            return
        self.set_result("#code-result", _("Saved to {path}. Send this file to the vendor.").format(path=path),
                        "$text-success")

    # Activating a license.

    def action_read_file(self) -> None:
        path = Path(self.query_one("#license-file", Input).value.strip()).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or _("not a text file")
            self.set_result("#activate-result", _("Cannot read {path}: {error}").format(path=path, error=reason),
                            "$text-error")
            return
        code = "".join(text.split())
        self.query_one("#license-code", Input).value = code
        self.set_result("#activate-result", _("Read {count} characters from {path}. F8 activates the license.").format(
            count=len(code), path=path))

    def action_activate(self) -> None:
        code = "".join(self.query_one("#license-code", Input).value.split())
        if not code:
            self.set_result("#activate-result", _("Paste the license code, or read it from a file with F9."),
                            "$text-warning")
            return
        self.busy = True
        self.refresh_bindings()
        self.activate(code)

    @work(exclusive=True, group="licenses-change")
    async def activate(self, code: str) -> None:
        try:
            response = await self.call_api("ActivateQingCloudLicense", {"license_code": code}, show_error=False)
        finally:
            self.busy = False
            self.refresh_bindings()

        if response is None:
            self.set_result("#activate-result", _("Not activated: the engine did not answer."), "$text-error")
            return
        if not is_ok(response):
            self.set_result("#activate-result", _("Not activated: {message}").format(
                message=response.get("message") or _("(no message)")), "$text-error")
            return

        self.query_one("#license-code", Input).value = ""
        license_id = str(response.get("license_id", ""))
        described = await self.call_api("DescribeQingCloudLicenses", {"license_ids": [license_id]})
        entries = []
        if described is not None and is_ok(described):
            entries = described.get("license_set") or []
        if entries:
            entry = entries[0]
            text = _("License {license_id} activated: {count} hyper node(s), valid from {start} to {end} ({zone}), "
                     "{days} day(s) left.").format(
                license_id=license_id, count=entry.get("hypernode_count"), start=shown_time(entry.get("start_time")),
                end=shown_time(entry.get("end_time")), zone=local_zone_name(),
                days=days_left(entry, datetime.now(timezone.utc)))
        else:
            text = _("License {license_id} activated.").format(license_id=license_id)
        self.set_result("#activate-result", text, "$text-success")
        self.load_licenses()
