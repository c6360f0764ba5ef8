"""The configuration files screen at an 80x24 console: browse server.yaml, change a value, restore it.

The engine is ConfigFilesFakeClient, which edits its copy of the demo server.yaml
with the engine's own editor, so the diffs on screen are the engine's.
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static, TextArea, Tree

from tests.tui_fakes import ConfigFilesFakeClient, make_app, wait_until
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.config_files import ConfigFilesScreen
from tui.screens.config_files_view import NO_CHANGE, SnippetError, parse_snippet, snippet_change, value_source, wrap_change
from tui.screens.overview import OverviewScreen
from tui.widgets.api_error import ApiErrorPanel

SIZE = (80, 24)
QINGSTOR_OFF = "  qingstor_enable: 0            # 1 turns QingStor accounts on"
QINGSTOR_ON = "  qingstor_enable: 1            # 1 turns QingStor accounts on"


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def shown(app: InstallerApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def footer_keys(app: InstallerApp) -> dict[str, object]:
    return {key.key: key for key in app.screen.query("FooterKey")}


async def open_files(pilot, app: InstallerApp) -> ConfigFilesScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
    await pilot.press("ctrl+f")
    await wait_until(pilot, lambda: isinstance(app.screen, ConfigFilesScreen), "the files screen shows")
    screen = app.screen
    await wait_until(pilot, lambda: screen.file is not None, "server.yaml is read")
    return screen


async def highlight(pilot, screen: ConfigFilesScreen, path: tuple) -> None:
    tree = screen.query_one("#files-tree", Tree)
    node = screen.find_node(tree.root, path)
    assert node is not None, f"no tree node for {path}"
    for parent in reversed(list(_parents(node))):
        parent.expand()
    await pilot.pause()
    tree.move_cursor(node)
    await wait_until(pilot, lambda: screen.path == path, f"{path} is highlighted")


def _parents(node):
    while node.parent is not None:
        node = node.parent
        yield node


async def test_tree_shows_file_and_segment_lines():
    app = make_app(ConfigFilesFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_files(pilot, app)
        await highlight(pilot, screen, ("common", "hypervisor_policies"))

        assert "common.hypervisor_policies, lines 11 to 19" in shown(app, "#files-segment")
        value = shown(app, "#files-value")
        assert '    rdb_mysql5.5: "kvm"' in value
        assert "  # Instance classes" not in value
        assert "read from pek3ar01n01" in shown(app, "#files-source")
        assert set(footer_keys(app)) >= {"ctrl+r", "f6", "f9"}
        assert "f8" not in footer_keys(app)


async def test_edit_preview_apply_changes_one_line():
    client = ConfigFilesFakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_files(pilot, app)
        await highlight(pilot, screen, ("account_server", "qingstor_enable"))
        await pilot.press("f6")
        editor = screen.query_one("#files-editor", TextArea)

        assert editor.text == "0"
        assert editor.has_focus

        editor.load_text("1")
        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.mode == "preview", "the diff shows")

        diff = shown(app, "#files-diff-text")
        assert f"-{QINGSTOR_OFF}" in diff
        assert f"+{QINGSTOR_ON}" in diff
        assert client.calls_of("PreviewConfiguration")[-1]["segment"] == {"account_server": {"qingstor_enable": 1}}
        assert {"f6", "f7", "f8"} <= set(footer_keys(app))

        await pilot.press("f8")
        await wait_until(pilot, lambda: screen.mode == "job" and not screen.job_running, "the job ends")
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert client.calls_of("ModifyConfiguration")[-1] == {
            "zone_id": "pek3a", "file_name": "server.yaml", "segment": {"account_server": {"qingstor_enable": 1}}}
        steps = shown(app, "#files-steps").splitlines()
        assert [line.rsplit(None, 1)[0] for line in steps] == [
            "Read the file", "Back up", "Write a new copy", "Check the copy", "Put it in place", "Reload services"]
        assert all(line.endswith("done") for line in steps)
        assert "successful" in shown(app, "#files-job-state")
        assert QINGSTOR_ON in screen.file["content"]

        await pilot.press("f6")
        assert screen.mode == "browse"


async def test_mapping_edit_sends_only_changed_keys():
    client = ConfigFilesFakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_files(pilot, app)
        await highlight(pilot, screen, ("billing_server",))
        await pilot.press("f6")
        editor = screen.query_one("#files-editor", TextArea)

        assert editor.text.splitlines()[0] == "enabled: yes"
        assert "cycle_start: 2025-03-01 00:00:00" in editor.text

        editor.load_text(editor.text.replace("enabled: yes", "enabled: no"))
        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.mode == "preview", "the diff shows")

        assert client.calls_of("PreviewConfiguration")[-1]["segment"] == {"billing_server": {"enabled": False}}
        assert "+    enabled: no" in shown(app, "#files-diff-text")


@pytest.mark.parametrize(("snippet", "message"), [
    ("enabled: [yes", "The snippet is not valid YAML"),
    ("enabled: yes", "Keys cannot be removed here: cycle_start, currencies, notice"),
])
async def test_bad_snippet_explained_without_call(snippet, message):
    client = ConfigFilesFakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_files(pilot, app)
        await highlight(pilot, screen, ("billing_server",))
        await pilot.press("f6")
        screen.query_one("#files-editor", TextArea).load_text(snippet)
        await pilot.press("f7")
        await pilot.pause()

        assert screen.mode == "edit"
        assert message in shown(app, "#files-edit-message")
        assert client.calls_of("PreviewConfiguration") == []


async def test_engine_rejection_shown_in_error_panel():
    client = ConfigFilesFakeClient()
    client.script("PreviewConfiguration", {
        "action": "PreviewConfigurationResponse", "ret_code": 1100,
        "message": "segment.common: the file has a mapping here, which a change only merges into"})
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_files(pilot, app)
        await highlight(pilot, screen, ("account_server", "qingstor_enable"))
        await pilot.press("f6")
        screen.query_one("#files-editor", TextArea).load_text("1")
        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.query_one(ApiErrorPanel).has_class("-visible"), "the error shows")

        assert "the file has a mapping here" in str(screen.query_one(ApiErrorPanel).render())
        assert screen.mode == "edit"
        assert "f8" not in footer_keys(app)


async def test_changes_listed_and_restored():
    client = ConfigFilesFakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_files(pilot, app)
        await highlight(pilot, screen, ("account_server", "qingstor_enable"))
        await pilot.press("f6")
        screen.query_one("#files-editor", TextArea).load_text("1")
        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.mode == "preview", "the diff shows")
        await pilot.press("f8")
        await wait_until(pilot, lambda: screen.mode == "job" and not screen.job_running, "the change ends")
        await app.workers.wait_for_complete()
        await pilot.press("f6", "f9")
        await wait_until(pilot, lambda: screen.query_one("#files-change-table", DataTable).row_count == 1,
                         "the change is listed")

        modify_id = client.jobs[-1].job_id
        assert f"+{QINGSTOR_ON}" in shown(app, "#files-change-diff")
        assert "F8 restores the file" in shown(app, "#files-change-title")
        assert footer_keys(app)["f8"].description == "Restore"

        await pilot.press("f8")
        await wait_until(pilot, lambda: screen.mode == "job" and not screen.job_running, "the restore ends")
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert client.calls_of("RestoreConfiguration") == [{"job_id": modify_id}]
        assert QINGSTOR_OFF in screen.file["content"]


def footer_layout(app: InstallerApp) -> dict[str, tuple[int, int, str]]:
    """Return each footer key's right edge, row and description as they are now."""
    return {key.key: (key.region.right, key.region.y, key.description) for key in app.screen.query("FooterKey")}


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_footer_fits_80_columns_in_every_mode(lang):
    app = make_app(ConfigFilesFakeClient(), lang=lang)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_files(pilot, app)
        await highlight(pilot, screen, ("account_server", "qingstor_enable"))
        seen = {"browse": footer_layout(app)}

        await pilot.press("f6")
        await pilot.pause()
        seen["edit"] = footer_layout(app)
        screen.query_one("#files-editor", TextArea).load_text("1")
        await pilot.press("f7")
        await wait_until(pilot, lambda: screen.mode == "preview", "the diff shows")
        seen["preview"] = footer_layout(app)
        await pilot.press("f6", "f9")
        await wait_until(pilot, lambda: screen.mode == "changes", "the changes show")
        seen["changes"] = footer_layout(app)

        assert set(seen["browse"]) == {"f1", "f6", "f9", "f10", "ctrl+g", "ctrl+r"}
        assert set(seen["preview"]) == {"f1", "f6", "f7", "f8", "f10", "ctrl+g"}
        for mode, keys in seen.items():
            for key, (right, row, _description) in keys.items():
                assert right <= SIZE[0], f"{mode}: {key} ends at column {right}"
                assert row == SIZE[1] - 1, f"{mode}: {key} is on row {row}"
        for widget_id in ("#files-tree", "#files-panes"):
            region = screen.query_one(widget_id).region
            assert region.height > 10, f"{widget_id} has {region.height} rows"
            assert region.bottom <= SIZE[1] - 1, f"{widget_id} reaches into the footer"
        if lang == "zh_CN":
            assert seen["preview"]["f8"][2] == "应用"


# -- turning an edited snippet into a change ---------------------------------------------


def test_snippet_change_keeps_only_edits():
    before = parse_snippet("enabled: yes\ncycle_start: 2025-03-01 00:00:00\ncurrencies: [cny, usd]\n")
    after = parse_snippet("enabled: no\ncycle_start: 2025-03-01 00:00:00\ncurrencies: [cny, usd]\nnew: 1\n")

    assert snippet_change(before, after) == {"enabled": False, "new": 1}
    assert snippet_change(before, before) is NO_CHANGE


def test_snippet_new_timestamp_sent_as_text():
    change = snippet_change({"at": "x"}, parse_snippet("at: 2025-04-01 08:00:00"))

    assert change == {"at": "2025-04-01 08:00:00"}


def test_change_inside_list_replaces_list():
    data = {"servers": [{"host": "a", "port": 1}, {"host": "b", "port": 2}]}

    change = wrap_change(("servers", 1, "port"), 3, data)

    assert change == {"servers": [{"host": "a", "port": 1}, {"host": "b", "port": 3}]}
    assert data["servers"][1]["port"] == 2, "the screen's copy of the file is left alone"


def test_change_nested_under_its_keys():
    assert wrap_change(("account_server", "qingstor_enable"), 1, {}) == {"account_server": {"qingstor_enable": 1}}
    with pytest.raises(SnippetError):
        wrap_change((), 1, {})


def test_value_source_dedents_block():
    content = "a:\n  b:\n    c: 1  # note\n    d: [1, 2]\nz: 0\n"
    start = content.index("c: 1")
    end = content.index("2]") + 2

    assert value_source(content, {"start": start, "end": end}) == "c: 1  # note\nd: [1, 2]"
