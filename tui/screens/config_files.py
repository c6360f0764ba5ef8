"""The configuration files screen: browse a zone's YAML files, change a value, restore a change.

The left pane is the file as a tree. The right pane shows one of: the file's
own lines for the highlighted key, the editor for its value (a YAML snippet),
the diff a change would make, the job that applies it, or the earlier changes
with their diffs. Every step goes through the engine's API: DescribeConfigurationFile,
PreviewConfiguration, ModifyConfiguration, DescribeConfigurationChanges and
RestoreConfiguration.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.content import Content
from textual.widgets import ContentSwitcher, Footer, Label, Select, Static, TextArea, Tree
from textual.widgets.tree import TreeNode

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen, is_ok
from tui.screens.config_files_history import ACTION_WORDS, MODIFY, RESTORE, ChangeHistory
from tui.screens.config_files_view import (
    NO_CHANGE,
    KeyPath,
    SnippetError,
    diff_content,
    format_path,
    outline_index,
    parse_snippet,
    snippet_change,
    source_lines,
    step_lines,
    tree_label,
    value_at,
    value_source,
    wrap_change,
)
from tui.screens.job_watch import JobWatch, is_finished
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.job_log import JobLog
from tui.widgets.platform_line import PlatformLine
from tui.widgets.step_list import state_word

# Panes of the right side, one per mode of the screen.
PANES = {"browse": "files-view", "edit": "files-edit", "preview": "files-diff", "job": "files-job",
         "changes": "files-changes"}


class ConfigFilesScreen(InstallerScreen):
    """Browse, change and restore the zone's editable files; see the module docstring."""

    HELP = N_(
        "The editable configuration files of a deployed zone, as a tree of keys beside the file's text.\n"
        "\n"
        "1. Pick the zone and the file at the top, then move through the keys with the arrow keys.\n"
        "2. F6 edits the highlighted key's value as YAML; F7 shows the diff the change makes on every node.\n"
        "3. F8 applies the change with ModifyConfiguration and follows the job; F6 closes the editor "
        "without a change.\n"
        "4. F9 lists the earlier changes with their diffs; F8 there restores the file as it was "
        "before the highlighted change."
    )

    CSS_PATH = "config_files.tcss"
    AUTO_FOCUS = "#files-tree"

    # The function keys have priority because the editor (a TextArea) binds F6 and F7 itself.
    # Each key has one binding per mode, and check_action shows the one that applies.
    BINDINGS = [
        Binding("ctrl+r", "refresh", N_("Refresh")),
        Binding("f6", "edit", N_("Edit"), priority=True),
        Binding("f6", "back", N_("Close"), priority=True),
        Binding("f7", "preview", N_("Preview"), priority=True),
        Binding("f7", "edit_again", N_("Edit"), priority=True),
        Binding("f8", "apply", N_("Apply"), priority=True),
        Binding("f8", "restore", N_("Restore"), priority=True),
        Binding("f9", "changes", N_("Changes"), priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.mode = "browse"
        self.zone_id = ""
        self.file_name = ""
        self.file: dict[str, Any] | None = None
        self.entries: dict[KeyPath, dict[str, Any]] = {}
        self.path: KeyPath = ()
        self.edit_path: KeyPath = ()
        self.edit_before: Any = None
        self.pending: dict[str, Any] | None = None
        self.changes: list[dict[str, Any]] = []
        self.job_running = False

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        with Horizontal(id="files-pick"):
            yield Label(_("Zone"), classes="files-pick-label")
            yield Select[str]([], id="files-zone", compact=True, prompt="-")
            yield Label(_("Config file"), classes="files-pick-label")
            yield Select[str]([], id="files-file", compact=True, prompt="-")
            yield Static("", id="files-source")
        with Horizontal(id="files-body"):
            yield Tree(Text(""), id="files-tree")
            with ContentSwitcher(initial="files-view", id="files-panes"):
                with Vertical(id="files-view"):
                    yield Static(_("Reading the zones..."), id="files-segment")
                    with ScrollableContainer(id="files-value-scroll"):
                        yield Static("", id="files-value")
                with Vertical(id="files-edit"):
                    yield Static("", id="files-edit-title")
                    yield TextArea("", id="files-editor", soft_wrap=False, compact=True)
                    yield Static("", id="files-edit-message")
                with Vertical(id="files-diff"):
                    yield Static("", id="files-diff-title")
                    with ScrollableContainer(id="files-diff-scroll"):
                        yield Static("", id="files-diff-text")
                with Vertical(id="files-job"):
                    yield Static("", id="files-job-state")
                    yield Static("", id="files-steps")
                    yield JobLog(title=_("Log"), id="files-log", max_lines=5000)
                yield ChangeHistory(id="files-changes")
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.query_one("#files-editor", TextArea).cursor_blink = False
        self.query_one("#files-tree", Tree).show_root = True
    def on_screen_resume(self) -> None:
        if self.file is None and not self.job_running:
            self.load_zones()

    # Which keys apply

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        loaded = self.file is not None and self.file.get("configuration") is not None
        if action == "refresh":
            return self.mode == "browse" and not self.job_running
        if action == "edit":
            return self.mode == "browse" and loaded
        if action == "back":
            return self.mode in ("edit", "preview", "changes") or (self.mode == "job" and not self.job_running)
        if action == "preview":
            return self.mode == "edit"
        if action == "edit_again":
            return self.mode == "preview"
        if action == "apply":
            return self.mode == "preview" and self.pending is not None
        if action == "restore":
            if self.mode != "changes":
                return False
            return True if self.query_one(ChangeHistory).highlighted().get("restorable") else None
        if action == "changes":
            return self.mode == "browse" and bool(self.file_name)
        return True

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.query_one("#files-panes", ContentSwitcher).current = PANES[mode]
        self.query_one("#files-tree", Tree).disabled = mode not in ("browse",)
        self.refresh_bindings()

    # Zones and files

    @work(exclusive=True, group="files-load")
    async def load_zones(self) -> None:
        described = await self.call_api("DescribeQingCloud")
        if not is_ok(described):
            return
        platform = described.get("qingcloud") or {}
        zone_ids = list(platform.get("zone_ids") or [])
        if not zone_ids:
            self.show_segment(_("No zone is configured yet. Press F4 to load a configuration."))
            return

        deployed = [zone_id for zone_id in zone_ids
                    if (platform.get("zone_info") or {}).get(zone_id, {}).get("is_zone_deployed")]
        zone_select = self.query_one("#files-zone", Select)
        with self.prevent(Select.Changed):
            zone_select.set_options([(zone_id, zone_id) for zone_id in zone_ids])
            zone_select.value = self.zone_id if self.zone_id in zone_ids else (deployed or zone_ids)[0]
        await self.load_files(str(zone_select.value))

    async def load_files(self, zone_id: str) -> None:
        self.zone_id = zone_id
        listed = await self.call_api("DescribeConfigurationFiles", {"zone_id": zone_id})
        if not is_ok(listed):
            return
        names = [entry["file_name"] for entry in listed.get("file_set") or []]
        if not names:
            self.show_segment(_("The installer package lists no editable file."))
            return

        file_select = self.query_one("#files-file", Select)
        with self.prevent(Select.Changed):
            file_select.set_options([(name, name) for name in names])
            file_select.value = self.file_name if self.file_name in names else names[0]
        await self.load_file(str(file_select.value))

    @on(Select.Changed, "#files-zone")
    def zone_chosen(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.value != self.zone_id:
            self.error_panel.clear()
            self.run_worker(self.load_files(str(event.value)), exclusive=True, group="files-load")

    @on(Select.Changed, "#files-file")
    def file_chosen(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.value != self.file_name:
            self.error_panel.clear()
            self.run_worker(self.load_file(str(event.value)), exclusive=True, group="files-load")

    async def load_file(self, file_name: str) -> None:
        self.file_name = file_name
        self.show_segment(_("Reading {file} from zone {zone}...").format(file=file_name, zone=self.zone_id))
        response = await self.call_api("DescribeConfigurationFile", {"zone_id": self.zone_id, "file_name": file_name})
        if not is_ok(response):
            self.file = None
            self.query_one("#files-tree", Tree).clear()
            self.show_segment(_("{file} could not be read; see the error below.").format(file=file_name))
            self.refresh_bindings()
            return

        self.file = response
        self.entries = outline_index(response.get("outline") or [])
        self.query_one("#files-source", Static).update(Content(_("read from {hostname}").format(
            hostname=response.get("hostname", "-"))))
        if response.get("parse_error"):
            self.error_panel.show_text(str(response["parse_error"]))
        self.build_tree()
        self.refresh_bindings()

    def build_tree(self) -> None:
        assert self.file is not None
        tree = self.query_one("#files-tree", Tree)
        keep = self.path
        tree.clear()
        tree.root.set_label(Text(self.file_name))
        tree.root.data = ()
        data = self.file.get("configuration")
        if isinstance(data, (dict, list)):
            self.add_children(tree.root, data, ())
        tree.root.expand()

        node = self.find_node(tree.root, keep) or tree.root
        for parent in node_parents(node):
            parent.expand()
        tree.move_cursor(node)
        self.show_path(node.data if node.data is not None else ())

    def add_children(self, parent: TreeNode, value: Any, path: KeyPath) -> None:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            child_path = (*path, key)
            if isinstance(item, (dict, list)) and item:
                child = parent.add(tree_label(key, item), data=child_path)
                self.add_children(child, item, child_path)
            else:
                parent.add_leaf(tree_label(key, item), data=child_path)

    def find_node(self, node: TreeNode, path: KeyPath) -> TreeNode | None:
        if node.data == path:
            return node
        for child in node.children:
            if child.data is not None and path[:len(child.data)] == child.data:
                return self.find_node(child, path)
        return None

    # Browsing

    @on(Tree.NodeHighlighted, "#files-tree")
    def node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data is not None:
            self.show_path(event.node.data)

    def show_path(self, path: KeyPath) -> None:
        self.path = tuple(path)
        if self.file is None:
            return
        entry = self.entries.get(self.path)
        where = format_path(self.path) or self.file_name
        if entry is not None:
            title = _("{segment}, lines {first} to {last}").format(segment=where, first=entry["line"], last=entry["end_line"])
        else:
            title = where
        self.show_segment(title)
        text = source_lines(self.file.get("content", ""), entry if self.path else None)
        self.query_one("#files-value", Static).update(Content(text))

    def show_segment(self, text: str) -> None:
        self.query_one("#files-segment", Static).update(Content(text))

    def action_refresh(self) -> None:
        if self.mode != "browse" or self.job_running:
            return
        self.error_panel.clear()
        self.load_zones()

    # Editing and previewing

    def action_edit(self) -> None:
        if self.mode != "browse" or self.file is None or self.file.get("configuration") is None:
            return
        self.edit_path = self.path
        entry = self.entries.get(self.edit_path) if self.edit_path else None
        text = value_source(self.file.get("content", ""), entry)
        try:
            self.edit_before = parse_snippet(text)
        except SnippetError:
            self.edit_before = value_at(self.file["configuration"], self.edit_path)

        where = format_path(self.edit_path) or self.file_name
        self.query_one("#files-edit-title", Static).update(Content(_("New value of {segment}, as YAML:").format(segment=where)))
        editor = self.query_one("#files-editor", TextArea)
        editor.load_text(text)
        editor.move_cursor(editor.document.end)
        self.show_edit_message("")
        self.set_mode("edit")
        editor.focus()

    def show_edit_message(self, text: str, style: str = "") -> None:
        self.query_one("#files-edit-message", Static).update(Content.styled(text, style) if style else Content(text))

    def action_preview(self) -> None:
        if self.mode != "edit" or self.file is None:
            return
        try:
            after = parse_snippet(self.query_one("#files-editor", TextArea).text)
            changed = snippet_change(self.edit_before, after)
            if changed is NO_CHANGE:
                self.show_edit_message(_("Nothing is changed yet: edit the value, then press F7."), "$text-warning")
                return
            change = wrap_change(self.edit_path, changed, self.file["configuration"])
        except SnippetError as error:
            self.show_edit_message(str(error), "$text-error")
            return
        self.show_edit_message(_("Asking the engine for the diff..."))
        self.preview(change)

    @work(exclusive=True, group="files-job")
    async def preview(self, change: dict[str, Any]) -> None:
        self.error_panel.clear()
        response = await self.call_api("PreviewConfiguration", {"zone_id": self.zone_id, "file_name": self.file_name,
                                                                "segment": change})
        if not is_ok(response):
            self.show_edit_message(_("The engine rejected the change; see the error below."), "$text-error")
            return
        if not response.get("changed"):
            self.show_edit_message(_("Every node already has this value; nothing would change."), "$text-warning")
            return

        self.pending = change
        self.query_one("#files-diff-title", Static).update(Content(
            _("F8 applies this change to the nodes listed below; F7 edits it again.")))
        self.query_one("#files-diff-text", Static).update(diff_content(response.get("diffs") or []))
        self.set_mode("preview")

    def action_edit_again(self) -> None:
        if self.mode == "preview":
            self.pending = None
            self.set_mode("edit")
            self.query_one("#files-editor", TextArea).focus()

    def action_back(self) -> None:
        if self.mode == "browse" or (self.mode == "job" and self.job_running):
            return
        self.pending = None
        self.set_mode("browse")
        self.query_one("#files-tree", Tree).focus()

    # Applying and restoring

    def action_apply(self) -> None:
        if self.mode != "preview" or self.pending is None or self.job_running:
            return
        change, self.pending = self.pending, None
        self.start_job(MODIFY, {"zone_id": self.zone_id, "file_name": self.file_name, "segment": change})

    def action_restore(self) -> None:
        change = self.query_one(ChangeHistory).highlighted()
        if self.mode != "changes" or not change.get("restorable") or self.job_running:
            return
        self.start_job(RESTORE, {"job_id": change["job_id"]})

    def start_job(self, action: str, params: dict[str, Any]) -> None:
        # Marked running before the worker starts, so a second key press cannot start another job.
        self.job_running = True
        self.query_one("#files-log", JobLog).reset()
        self.query_one("#files-steps", Static).update("")
        self.query_one("#files-job-state", Static).update(Content(_("Starting...")))
        self.set_mode("job")
        self.run_job(action, params)

    @work(exclusive=True, group="files-job")
    async def run_job(self, action: str, params: dict[str, Any]) -> None:
        self.error_panel.clear()
        try:
            response = await self.call_api(action, params)
            if not is_ok(response):
                self.query_one("#files-job-state", Static).update(Content.styled(
                    _("The job did not start; see the error below."), "$text-error"))
                return
            status = await self.follow(JobWatch(self.call_api, action, response["job_id"]))
        finally:
            self.job_running = False
            self.refresh_bindings()

        if status is not None:
            # The file on the nodes is what the job left, so the tree shows it again.
            await self.load_file(self.file_name)

    async def follow(self, watch: JobWatch) -> dict[str, Any] | None:
        job_log = self.query_one("#files-log", JobLog)
        state = self.query_one("#files-job-state", Static)
        while True:
            status = await watch.read_status()
            lines = await watch.read_new_lines()
            if status is None or lines is None:
                state.update(Content.styled(_("Lost track of job {job_id}.").format(job_id=watch.job_id), "$text-error"))
                return None
            job_log.queue_lines(lines)
            self.query_one("#files-steps", Static).update(step_lines(status.get("steps") or []))
            state.update(self.describe_job(watch, status))
            if is_finished(status):
                return status
            await asyncio.sleep(self.app.poll_interval)  # type: ignore[attr-defined]

    def describe_job(self, watch: JobWatch, status: dict[str, Any]) -> Content:
        what = _(ACTION_WORDS.get(watch.job_action, watch.job_action))
        text = _("Job {job_id} ({what}): {status}").format(job_id=watch.job_id, what=what,
                                                           status=state_word(str(status.get("status", ""))))
        if status.get("status") == "successful":
            return Content.styled(text + " " + _("F6 goes back to the file."), "$text-success")
        if status.get("status") == "failed":
            return Content.styled(text + " " + _("The last lines of the log say why."), "$text-error")
        return Content(text)

    # Earlier changes

    def action_changes(self) -> None:
        if self.mode == "browse" and self.file_name:
            self.set_mode("changes")
            self.load_changes()

    @work(exclusive=True, group="files-load")
    async def load_changes(self) -> None:
        response = await self.call_api("DescribeConfigurationChanges",
                                       {"zone_id": self.zone_id, "file_name": self.file_name, "limit": 50})
        if not is_ok(response):
            return
        history = self.query_one(ChangeHistory)
        history.show_changes(response.get("change_set") or [], self.zone_id, self.file_name)
        history.focus_table()


def node_parents(node: TreeNode) -> list[TreeNode]:
    parents = []
    while node.parent is not None:
        node = node.parent
        parents.append(node)
    return parents
