"""The nodes screen at an 80x24 console: the node table, adding nodes, re-trusting and deleting.

The engine is NodeFakeClient (tests/tui_fakes.py) except in the last test, which runs the
real engine beside the lab's simulated nodes.
"""

from __future__ import annotations

import logging

import pytest
from textual import events
from textual.widgets import DataTable, Input, OptionList, Static, TextArea

from engine.client import LocalClient
from engine.engine import Engine
from engine.lab.layout import ALL_LAB_NODES
from engine.lab.session import LabSession
from tests.tui_fakes import NodeFakeClient, fake_fingerprint, make_app, wait_until
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.host_keys import HostKeysScreen, TrustKeyScreen
from tui.screens.node_add import NodeAddScreen
from tui.screens.node_addresses import parse_addresses
from tui.screens.node_modal import DeleteNodeScreen
from tui.screens.nodes import NodesScreen
from tui.screens.overview import OverviewScreen
from tui.widgets.api_error import ApiErrorPanel

SIZE = (80, 24)
PASSWORD = "Tr0ub4dor&3-once"
NEW_ADDRESSES = "10.20.0.11\n10.20.0.12, 10.20.0.13:2222\n"


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def shown(app: InstallerApp, selector: str) -> str:
    """Return the plain text a Static of the current screen shows."""
    return str(app.screen.query_one(selector, Static).render())


def footer_keys(app: InstallerApp) -> dict[str, object]:
    return {key.key: key for key in app.screen.query("FooterKey")}


def table_column(table: DataTable, column: int) -> list[str]:
    return [str(table.get_row_at(row)[column]).strip() for row in range(table.row_count)]


async def open_nodes(pilot, app: InstallerApp) -> NodesScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
    await pilot.press("f3")
    await wait_until(pilot, lambda: isinstance(app.screen, NodesScreen), "the nodes screen shows")
    screen = app.screen
    await wait_until(pilot, lambda: screen.query_one("#node-table", DataTable).row_count > 0, "the nodes are listed")
    return screen


async def open_add_dialog(pilot, app: InstallerApp, addresses: str) -> NodeAddScreen:
    """Press F6 on the nodes screen and paste `addresses`, which the app hands to the focused address box."""
    await pilot.press("f6")
    await wait_until(pilot, lambda: isinstance(app.screen, NodeAddScreen), "the add dialog shows")
    dialog = app.screen
    box = dialog.query_one("#addresses", TextArea)
    assert box.has_focus, "the address box takes the paste"
    app.post_message(events.Paste(addresses))
    await wait_until(pilot, lambda: box.text == addresses, "the pasted addresses are in the box")
    return dialog


async def type_into(pilot, widget: Input, text: str) -> None:
    widget.focus()
    await pilot.pause()
    await pilot.press(*text)


def address_client() -> NodeFakeClient:
    client = NodeFakeClient()
    client.hostnames = {("10.20.0.11", 22): "pek3ar02n01", ("10.20.0.12", 22): "pek3ar02n02",
                        ("10.20.0.13", 2222): "spare-node"}
    return client


# Reading the address list.

@pytest.mark.parametrize(("text", "expected"), [
    ("172.16.80.3", [("172.16.80.3", 22)]),
    ("172.16.80.3:2222", [("172.16.80.3", 2222)]),
    ("a.example.com, B.example.com", [("a.example.com", 22), ("b.example.com", 22)]),
    ("[fe80::1]:2200 fe80::2", [("fe80::1", 2200), ("fe80::2", 22)]),
    ("# rack 1\n\n10.0.0.1  # first\n", [("10.0.0.1", 22)]),
])
def test_addresses_accepted(text, expected):
    checked = parse_addresses(text, default_port=22)

    assert checked.problems == []
    assert [(address.host, address.port) for address in checked.addresses] == expected


@pytest.mark.parametrize(("text", "message"), [
    ("10.0.0.1\n010.0.0.2", "line 2: 010.0.0.2: leading zeros are not allowed in an IPv4 address; did you mean 10.0.0.2?"),
    ("10.0.0.256", "line 1: 10.0.0.256 is not a valid IPv4 address"),
    ("1.2.3", "line 1: 1.2.3 is not a valid IPv4 address"),
    ("fe80::1::2", "line 1: fe80::1::2 is not a valid IPv6 address"),
    ("node_7", "line 1: node_7 is not a valid IP address or host name"),
    ("10.0.0.1:70000", "line 1: 10.0.0.1:70000: the port must be a number from 1 to 65535"),
    ("10.0.0.1\n\n10.0.0.1:22", "line 3: 10.0.0.1:22 is listed twice (first on line 1)"),
])
def test_address_problems_name_line(text, message):
    checked = parse_addresses(text, default_port=22)

    assert [problem.message for problem in checked.problems] == [message]
    assert not checked.valid


# The table and the details.

async def test_table_lists_nodes_with_details():
    client = NodeFakeClient()
    client.nodes[0].update(os="Ubuntu 22.04.4 LTS", kernel="5.15.0-91-generic", cpu_virt=True,
                           disks=["sda 480", "sdb 960"], disk_gb=1440, nics=["eth0 172.16.80.3/24"],
                           warnings=["[b]hostname[/b] pek3ar01n01 names zone 'pek3a'"])
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot, app)

        table = screen.query_one("#node-table", DataTable)
        assert table.row_count == 14
        assert table_column(table, 1)[:2] == ["pek3ar01n01 !", "pek3ar01n02"], "a node with warnings is marked"
        assert table.region.right <= SIZE[0]
        assert table.virtual_size.width <= SIZE[0] - 1, "the columns fit without scrolling sideways"

        detail = shown(app, "#node-detail")
        assert "pek3ar01n01 (n-pek3a01r01)" in detail
        assert "SSH 127.0.0.1:42201" in detail
        assert "Mgmt IP 172.16.80.3" in detail
        assert "OS: Ubuntu 22.04.4 LTS, kernel 5.15.0-91-generic" in detail
        assert "CPUs: 4 (virtualization: yes)  Memory: 8192 MB" in detail
        assert "Disks: sda 480 GB, sdb 960 GB (total 1440 GB)" in detail
        assert "NICs: eth0 172.16.80.3/24" in detail
        assert "Host key: SHA256:fake" in detail
        assert "! [b]hostname[/b] pek3ar01n01 names zone 'pek3a'" in detail, "engine text is not markup"
        assert screen.query_one("#node-detail-scroll").region.bottom <= SIZE[1] - 1

        table.focus()
        await pilot.press("down")
        await pilot.pause()
        assert "pek3ar01n02 (n-pek3a01r02)" in shown(app, "#node-detail")


# Adding nodes.

async def test_leading_zero_blocks_scan():
    client = address_client()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot, app)
        await open_add_dialog(pilot, app, "10.20.0.11\n10.020.0.12\npek3ar02n03.example.com\n")

        check = shown(app, "#address-check")
        assert "line 2: 10.020.0.12: leading zeros are not allowed" in check
        assert "did you mean 10.20.0.12?" in check

        await pilot.press("f6")
        await pilot.pause()

        assert isinstance(app.screen, NodeAddScreen), "the dialog stays open"
        assert "Fix the address list first." in shown(app, "#add-state")
        assert client.calls_of("ScanNodeHostKeys") == []
        assert client.calls_of("AddNodes") == []


async def test_add_sends_shown_fingerprints(caplog):
    caplog.set_level(logging.DEBUG)
    client = address_client()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot, app)
        dialog = await open_add_dialog(pilot, app, NEW_ADDRESSES)
        assert shown(app, "#address-check") == "3 address(es) ready."
        password = dialog.query_one("#ssh-password", Input)
        await type_into(pilot, password, PASSWORD)
        assert password.value == PASSWORD

        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, HostKeysScreen), "the host keys are shown")

        assert client.calls_of("ScanNodeHostKeys") == [{"nodes": [
            {"ssh_host": "10.20.0.11", "ssh_port": 22}, {"ssh_host": "10.20.0.12", "ssh_port": 22},
            {"ssh_host": "10.20.0.13", "ssh_port": 2222}]}]
        assert client.calls_of("AddNodes") == [], "nothing is added before the keys are confirmed"
        fingerprints = [fake_fingerprint("10.20.0.11", 22), fake_fingerprint("10.20.0.12", 22),
                        fake_fingerprint("10.20.0.13", 2222)]
        listed = shown(app, "#host-key-lines")
        for address, fingerprint in zip(["10.20.0.11:22", "10.20.0.12:22", "10.20.0.13:2222"], fingerprints):
            assert f"{address}  new key, not trusted yet" in listed
            assert fingerprint in listed
        assert "F9 trusts the keys above and adds 3 node(s)" in shown(app, "#host-key-summary")
        assert "f9" in footer_keys(app)

        await pilot.press("f9")
        await wait_until(pilot, lambda: app.screen is screen, "the nodes screen shows again")
        await wait_until(pilot, lambda: screen.query_one("#node-table", DataTable).row_count == 17,
                         "the new nodes are listed")

        added = client.calls_of("AddNodes")
        assert len(added) == 1
        assert added[0]["trusted_fingerprints"] == fingerprints
        assert added[0]["trust_new_host_keys"] is False
        assert added[0]["ssh_password"] == PASSWORD
        assert [node["ssh_host"] for node in added[0]["nodes"]] == ["10.20.0.11", "10.20.0.12", "10.20.0.13"]
        assert "ssh_key_file" not in added[0]

        outcome = shown(app, "#nodes-outcome-text")
        assert "Registered 3 node(s):" in outcome
        assert "pek3ar02n01 (n-added015)  10.20.0.11:22" in outcome
        assert "! hostname 'spare-node' does not follow the convention" in outcome
        assert password.value == "", "the password field is cleared after AddNodes"

        assert all(PASSWORD not in record.getMessage() for record in caplog.records)
        assert all(PASSWORD not in str(notification.message) for notification in app._notifications)
        assert PASSWORD not in outcome


async def test_cancel_at_host_keys_adds_nothing():
    client = address_client()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot, app)
        await open_add_dialog(pilot, app, NEW_ADDRESSES)

        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, HostKeysScreen), "the host keys are shown")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, NodeAddScreen), "the add dialog shows again")
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert "Host keys not confirmed, so no node was added." in shown(app, "#add-state")

        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the nodes screen shows again")
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert client.calls_of("AddNodes") == []
        assert screen.query_one("#node-table", DataTable).row_count == 14
        assert not screen.query_one("#nodes-outcome").display


async def test_failed_add_keeps_list_clears_password():
    client = address_client()
    message = (f"AddNodes registered no node: the host keys of 1 new node(s) are not confirmed yet: "
               f"10.20.0.12:22 offers {fake_fingerprint('10.20.0.12', 22, 1)}")
    client.script("AddNodes", {"action": "AddNodesResponse", "ret_code": 5200, "message": message})
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot, app)
        dialog = await open_add_dialog(pilot, app, NEW_ADDRESSES)
        await type_into(pilot, dialog.query_one("#ssh-password", Input), PASSWORD)

        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, HostKeysScreen), "the host keys are shown")
        await pilot.press("f9")
        await wait_until(pilot, lambda: app.screen is dialog, "the add dialog shows again")
        await wait_until(pilot, lambda: dialog.query_one(ApiErrorPanel).display, "the error is shown")

        panel = str(dialog.query_one(ApiErrorPanel).render())
        assert "ret_code 5200" in panel
        assert fake_fingerprint("10.20.0.12", 22, 1) in panel
        assert "No node was added. Fix what the message names" in panel
        assert "not in the right state" not in panel, "the deploy-oriented explanation is left out"
        assert dialog.query_one("#ssh-password", Input).value == ""
        assert dialog.query_one("#addresses", TextArea).text == NEW_ADDRESSES, "the list can be fixed and sent again"
        assert len(client.calls_of("AddNodes")) == 1


async def test_unreachable_address_left_out():
    client = address_client()
    client.unreachable[("10.20.0.13", 2222)] = "SSH server 10.20.0.13:2222: connection refused"
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot, app)
        await open_add_dialog(pilot, app, NEW_ADDRESSES)

        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, HostKeysScreen), "the host keys are shown")

        listed = shown(app, "#host-key-lines")
        assert "10.20.0.13:2222  unreachable" in listed
        assert "SSH server 10.20.0.13:2222: connection refused" in listed
        assert "1 unreachable address(es) are left out." in shown(app, "#host-key-summary")

        await pilot.press("f9")
        await wait_until(pilot, lambda: app.screen is screen, "the nodes screen shows again")
        await app.workers.wait_for_complete()

        added = client.calls_of("AddNodes")
        assert [node["ssh_host"] for node in added[0]["nodes"]] == ["10.20.0.11", "10.20.0.12"]
        assert added[0]["trusted_fingerprints"] == [fake_fingerprint("10.20.0.11", 22),
                                                    fake_fingerprint("10.20.0.12", 22)]


async def test_changed_key_left_out_of_add():
    client = address_client()
    client.offered[("127.0.0.1", 42201)] = [fake_fingerprint("127.0.0.1", 42201, 1)]
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot, app)
        await open_add_dialog(pilot, app, "10.20.0.11\n127.0.0.1:42201\n")

        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, HostKeysScreen), "the host keys are shown")

        listed = shown(app, "#host-key-lines")
        assert "127.0.0.1:42201 (n-pek3a01r01)  KEY CHANGED" in listed
        assert "trusted until now: SHA256:fake" in listed
        assert f"offered now: {fake_fingerprint('127.0.0.1', 42201, 1)}" in listed
        assert "1 node(s) with a changed key are left out" in shown(app, "#host-key-summary")

        await pilot.press("f9")
        await wait_until(pilot, lambda: app.screen is screen, "the nodes screen shows again")
        await app.workers.wait_for_complete()

        added = client.calls_of("AddNodes")
        assert [node["ssh_host"] for node in added[0]["nodes"]] == ["10.20.0.11"]
        assert added[0]["trusted_fingerprints"] == [fake_fingerprint("10.20.0.11", 22)]


async def test_add_survives_screen_switch():
    client = address_client()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot, app)
        await open_add_dialog(pilot, app, NEW_ADDRESSES)
        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, HostKeysScreen), "the host keys are shown")
        host_keys = app.screen

        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
        await pilot.press("f3")
        await wait_until(pilot, lambda: app.screen is host_keys, "the host keys show again")

        await pilot.press("f9")
        await wait_until(pilot, lambda: app.screen is screen, "the nodes screen shows again")
        await wait_until(pilot, lambda: screen.query_one("#node-table", DataTable).row_count == 17,
                         "the new nodes are listed")

        assert len(client.calls_of("AddNodes")) == 1


async def test_address_file_fills_list(tmp_path):
    path = tmp_path / "rack2.txt"
    path.write_text("# rack 2\n10.20.0.11\n10.20.0.12\n", encoding="utf-8")
    app = make_app(address_client())

    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot, app)
        dialog = await open_add_dialog(pilot, app, "")
        path_input = dialog.query_one("#address-file", Input)
        path_input.value = str(path)
        path_input.focus()
        await pilot.press("enter")
        await pilot.pause()

        assert dialog.query_one("#addresses", TextArea).text == path.read_text(encoding="utf-8")
        assert shown(app, "#address-check") == "2 address(es) ready."

        dialog.query_one("#address-file", Input).value = str(tmp_path / "missing.txt")
        await pilot.press("enter")
        await pilot.pause()
        assert f"The address file {tmp_path / 'missing.txt'} was not found." in shown(app, "#add-state")


async def test_password_with_key_file_rejected():
    client = address_client()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot, app)
        dialog = await open_add_dialog(pilot, app, NEW_ADDRESSES)
        dialog.query_one("#ssh-key", Input).value = "/root/.ssh/id_ed25519"
        dialog.query_one("#ssh-password", Input).value = PASSWORD

        await pilot.press("f6")
        await pilot.pause()

        assert "Give a key file or a password, not both" in shown(app, "#add-state")
        assert client.calls_of("ScanNodeHostKeys") == []


# Trusting a changed host key.

async def test_changed_key_trusts_new_fingerprint():
    client = NodeFakeClient()
    new_keys = [fake_fingerprint("127.0.0.1", 42202, 1), fake_fingerprint("127.0.0.1", 42202, 2)]
    client.offered[("127.0.0.1", 42202)] = new_keys
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot, app)
        table = screen.query_one("#node-table", DataTable)
        table.focus()
        await pilot.press("down")
        await pilot.pause()
        assert "n-pek3a01r02" in shown(app, "#node-detail")

        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, TrustKeyScreen), "the old and new keys are shown")

        assert client.calls_of("ScanNodeHostKeys") == [{"nodes": [{"ssh_host": "127.0.0.1", "ssh_port": 42202}]}]
        text = shown(app, "#trust-key-lines")
        assert "Node pek3ar01n02 (n-pek3a01r02), SSH address 127.0.0.1:42202" in text
        assert "Trusted until now:\n    SHA256:fake" in text
        offered = app.screen.query_one("#offered-keys", OptionList)
        assert [str(offered.get_option_at_index(index).prompt).strip() for index in range(offered.option_count)] == new_keys
        assert client.calls_of("TrustNodeHostKey") == []

        await pilot.press("down")
        await pilot.press("f9")
        await wait_until(pilot, lambda: app.screen is screen, "the nodes screen shows again")
        await wait_until(pilot, lambda: "now has the trusted host key" in shown(app, "#nodes-outcome-text"),
                         "the outcome is shown")

        assert client.calls_of("TrustNodeHostKey") == [{"node_id": "n-pek3a01r02", "fingerprint": new_keys[1]}]
        await wait_until(pilot, lambda: f"Host key: {new_keys[1]}" in shown(app, "#node-detail"),
                         "the details show the new key")


async def test_trust_failure_keeps_old_key():
    client = NodeFakeClient()
    client.offered[("127.0.0.1", 42201)] = [fake_fingerprint("127.0.0.1", 42201, 1)]
    client.script("TrustNodeHostKey", {
        "action": "TrustNodeHostKeyResponse", "ret_code": 5200,
        "message": "node n-pek3a01r01 (127.0.0.1:42201) now offers SHA256:other, not the fingerprint sent"})
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot, app)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, TrustKeyScreen), "the old and new keys are shown")
        await pilot.press("f9")
        await wait_until(pilot, lambda: app.screen is screen, "the nodes screen shows again")
        await wait_until(pilot, lambda: screen.query_one(ApiErrorPanel).display, "the failure is shown")

        panel = str(screen.query_one(ApiErrorPanel).render())
        assert "TrustNodeHostKey failed with ret_code 5200" in panel
        assert "now offers SHA256:other" in panel
        assert "The old host key of pek3ar01n01 (n-pek3a01r01) stays trusted." in panel


async def test_unchanged_key_needs_no_trust():
    client = NodeFakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot, app)
        await pilot.press("f7")
        await wait_until(pilot, lambda: "has not changed" in shown(app, "#nodes-outcome-text"), "the outcome is shown")

        assert "The host key of pek3ar01n01 (n-pek3a01r01) has not changed" in shown(app, "#nodes-outcome-text")
        assert client.calls_of("TrustNodeHostKey") == []


# Deleting nodes.

async def test_delete_deployed_node_shows_refusal():
    client = NodeFakeClient()
    client.nodes[0]["status"] = "deployed"
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot, app)
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, DeleteNodeScreen), "the delete question shows")

        question = shown(app, "#delete-question")
        assert "Delete node pek3ar01n01 (n-pek3a01r01), SSH address 127.0.0.1:42201?" in question
        assert "This node is deployed." in question
        assert client.calls_of("DeleteNodes") == []

        await pilot.press("f9")
        await wait_until(pilot, lambda: app.screen is screen, "the nodes screen shows again")
        await wait_until(pilot, lambda: screen.query_one(ApiErrorPanel).display, "the refusal is shown")

        panel = str(screen.query_one(ApiErrorPanel).render())
        assert "DeleteNodes failed with ret_code 5200" in panel
        assert "n-pek3a01r01 deployed; a deployed node cannot be deleted" in panel
        assert "pek3ar01n01 (n-pek3a01r01) is deployed and part of the running platform" in panel
        assert "not in the right state" not in panel
        assert screen.query_one(ApiErrorPanel).region.bottom <= SIZE[1] - 1
        assert screen.query_one("#node-table", DataTable).row_count == 14


async def test_delete_node_after_confirmation():
    client = NodeFakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot, app)
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, DeleteNodeScreen), "the delete question shows")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the nodes screen shows again")
        assert client.calls_of("DeleteNodes") == []

        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, DeleteNodeScreen), "the delete question shows")
        await pilot.press("f9")
        await wait_until(pilot, lambda: screen.query_one("#node-table", DataTable).row_count == 13,
                         "the node is gone from the table")

        assert client.calls_of("DeleteNodes") == [{"node_ids": ["n-pek3a01r01"]}]
        assert "Node pek3ar01n01 (n-pek3a01r01) deleted." in shown(app, "#nodes-outcome-text")


# Language and layout.

async def test_chinese_labels():
    app = make_app(address_client(), lang="zh_CN")

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot, app)

        headers = [str(column.label).strip() for column in screen.query_one("#node-table", DataTable).columns.values()]
        assert headers == ["节点", "主机名", "管理 IP", "可用区", "角色", "状态", "CPU/内存"]
        assert "已登记 14 个节点。" in shown(app, "#nodes-state")
        assert footer_keys(app)["f6"].description == "添加"
        assert footer_keys(app)["f7"].description == "信任新密钥"

        await open_add_dialog(pilot, app, "10.20.0.11\n010.20.0.12\n")
        assert app.screen.query_one("#add-dialog").border_title == "添加节点"
        assert "第 2 行：010.20.0.12：IPv4 地址中不允许有前导零" in shown(app, "#address-check")
        assert footer_keys(app)["f6"].description == "扫描密钥"
        assert footer_keys(app)["escape"].description == "取消"


async def assert_footer_fits(app: InstallerApp, expected: set[str]) -> None:
    keys = footer_keys(app)
    assert set(keys) == expected
    for key, widget in keys.items():
        assert widget.region.right <= SIZE[0], f"{key} ends at column {widget.region.right}"
        assert widget.region.y == SIZE[1] - 1


def assert_inside_screen(app: InstallerApp, *selectors: str) -> None:
    for selector in selectors:
        region = app.screen.query_one(selector).region
        assert region.height > 0, f"{selector} has no rows"
        assert region.right <= SIZE[0], f"{selector} ends right of the screen"
        assert region.bottom <= SIZE[1] - 1, f"{selector} reaches into the footer"


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_footer_fits_80_columns(lang):
    client = address_client()
    client.offered[("127.0.0.1", 42201)] = [fake_fingerprint("127.0.0.1", 42201, 1)]
    app = make_app(client, lang=lang)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot, app)
        await assert_footer_fits(app, {"f1", "f6", "f7", "f8", "f10", "ctrl+g", "ctrl+r"})
        assert footer_keys(app)["f8"].key_display == "F8"
        assert_inside_screen(app, "#node-table", "#node-detail-scroll")

        dialog = await open_add_dialog(pilot, app, NEW_ADDRESSES)
        await assert_footer_fits(app, {"f6", "escape"})
        assert_inside_screen(app, "#addresses", "#address-check", "#address-file", "#ssh-port", "#ssh-user",
                             "#ssh-key", "#ssh-password")

        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, HostKeysScreen), "the host keys are shown")
        await assert_footer_fits(app, {"f9", "escape"})
        assert_inside_screen(app, "#host-key-list", "#host-key-summary")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is dialog, "the add dialog shows again")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the nodes screen shows again")

        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, TrustKeyScreen), "the old and new keys are shown")
        await assert_footer_fits(app, {"f9", "escape"})
        assert_inside_screen(app, "#trust-key-lines", "#offered-keys")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the nodes screen shows again")
        await app.workers.wait_for_complete()

        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, DeleteNodeScreen), "the delete question shows")
        await assert_footer_fits(app, {"f9", "escape"})
        assert_inside_screen(app, "#delete-question")


# The real lab.

async def test_lab_nodes_listed_with_hostnames(tmp_path):
    engine = Engine(tmp_path / "lab-state")
    session = LabSession(engine, speed=100)

    async def connect() -> LocalClient:
        await session.start()
        return LocalClient(engine, description="lab")

    async def disconnect() -> None:
        await session.stop()
        await engine.stop()

    app = InstallerApp(connect, lang="en", disconnect=disconnect, poll_interval=0.1)
    app.animation_level = "none"

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the lab is up", timeout=60)
        screen = await open_nodes(pilot, app)

        table = screen.query_one("#node-table", DataTable)
        assert table.row_count == len(ALL_LAB_NODES) == 21
        assert sorted(table_column(table, 0)) == sorted(node.node_id for node in ALL_LAB_NODES)
        assert sorted(hostname.rstrip(" !") for hostname in table_column(table, 1)) == sorted(
            node.hostname for node in ALL_LAB_NODES)
        assert "21 node(s) registered." in shown(app, "#nodes-state")
        assert "Host key: SHA256:" in shown(app, "#node-detail")
