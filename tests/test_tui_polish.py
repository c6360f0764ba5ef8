"""Small things an operator sees at an 80x24 console: whole status columns, translated statuses, deploy hints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import DataTable, Label, SelectionList, Static

from tests.tui_fakes import FakeClient, lab_nodes, make_app, wait_until
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.deploy import DeployScreen
from tui.screens.overview import OverviewScreen
from tui.status_words import status_label
from tui.widgets.platform_line import PlatformLine

SIZE = (80, 24)
SEED_JSON = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"

NODE_STATUSES = ["registered", "configured", "deployed", "failed"]


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def text(app: InstallerApp, selector: str) -> str:
    """Return the plain text a Static of the current screen shows."""
    return str(app.screen.query_one(selector, Static).render())


def nodes_with_statuses() -> list[dict]:
    """Return the lab's nodes, each with one of the engine's node statuses in turn."""
    nodes = lab_nodes()
    for index, node in enumerate(nodes):
        node["status"] = NODE_STATUSES[index % len(NODE_STATUSES)]
    return nodes


def row_lines(table: DataTable) -> list[str]:
    """Return the text of the table's body lines as drawn on the console."""
    return [table.render_line(y).text for y in range(1, 1 + min(table.row_count, 4))]


async def show_overview_nodes(pilot, app: InstallerApp) -> DataTable:
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
    table = app.screen.query_one("#nodes", DataTable)
    await wait_until(pilot, lambda: table.row_count > 0, "nodes are listed")
    return table


# Status labels.


def test_status_label_node_and_job_words():
    assert status_label("registered") == "registered"
    assert status_label("successful") == "successful"
    assert status_label("step0") == "step 1"
    assert status_label("step12") == "step 13"


def test_status_label_unknown_and_missing():
    assert status_label("ready") == "ready"
    assert status_label("stepping") == "stepping"
    assert status_label(None) == "-"
    assert status_label("") == "-"


def test_status_label_chinese():
    set_language("zh_CN")

    assert status_label("registered") == "已登记"
    assert status_label("deployed") == "已部署"
    assert status_label("failed") == "失败"
    assert status_label("pending") == "等待"
    assert status_label("successful") == "成功"
    assert status_label("step2") == "第 3 步"


# Overview at 80x24.


@pytest.mark.parametrize("lang, words", [
    ("en", ["registered", "configured", "deployed", "failed"]),
    ("zh_CN", ["已登记", "已配置", "已部署", "失败"]),
])
async def test_overview_nodes_fit_80_columns(lang, words):
    client = FakeClient(nodes=nodes_with_statuses())
    app = make_app(client, lang=lang)

    async with app.run_test(size=SIZE) as pilot:
        table = await show_overview_nodes(pilot, app)
        await pilot.pause()

        assert table.virtual_size.width <= table.scrollable_content_region.width, "no sideways scrolling"
        lines = row_lines(table)
        for line, word in zip(lines, words):
            assert line.rstrip().endswith(word), f"the status is whole in {line!r}"


async def test_overview_nodes_leave_out_ssh_address():
    client = FakeClient(nodes=nodes_with_statuses())
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        table = await show_overview_nodes(pilot, app)

        assert [str(column.label).strip() for column in table.ordered_columns] == [
            "Node", "Hostname", "Mgmt IP", "Zone", "Role", "Status"]
        assert [str(cell).strip() for cell in table.get_row_at(0)] == [
            "n-pek3a01r01", "pek3ar01n01", "172.16.80.3", "pek3a", "ks-vm", "registered"]


async def test_overview_chinese_platform_status():
    client = FakeClient()
    client.config = json.loads(SEED_JSON.read_text())["config"]
    client.deployed = True
    app = make_app(client, lang="zh_CN")

    async with app.run_test(size=SIZE) as pilot:
        await show_overview_nodes(pilot, app)
        await wait_until(pilot, lambda: "状态" in text(app, "#platform-state"), "the platform is described")

        header = str(app.screen.query_one(PlatformLine).render())
        assert "平台：qingcloud（成功）" in header
        assert "successful" not in header
        assert "状态 成功" in text(app, "#platform-state")


async def test_header_shows_running_step():
    client = FakeClient()
    client.script("DescribeQingCloud", {"action": "DescribeQingCloudResponse", "ret_code": 0, "qingcloud": {
        "platform_name": "qingcloud", "is_deployed": 0, "status": "step1", "region_id": "pek3",
        "zone_ids": [], "zone_info": {}}})
    app = make_app(client, lang="zh_CN")

    async with app.run_test(size=SIZE) as pilot:
        await show_overview_nodes(pilot, app)
        header = app.screen.query_one(PlatformLine)
        await wait_until(pilot, lambda: "qingcloud" in str(header.render()), "the header names the platform")

        assert "平台：qingcloud（第 2 步）" in str(header.render())


# Deploy screen.


async def open_deploy_screen(pilot, app: InstallerApp) -> DeployScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
    await pilot.press("f5")
    await wait_until(pilot, lambda: isinstance(app.screen, DeployScreen), "the deploy screen shows")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app.screen


async def test_deploy_f8_without_role_nodes_keeps_hint():
    client = FakeClient(nodes=[node for node in lab_nodes() if not node["role"]])
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        await open_deploy_screen(pilot, app)
        assert "Apply a configuration first (F4)" in text(app, "#deploy-outcome-text")

        await pilot.press("f8")
        await pilot.pause()

        outcome = text(app, "#deploy-outcome-text")
        assert "Apply a configuration first (F4)" in outcome
        assert "Select at least one node" not in outcome
        assert client.calls_of("DeployQingCloud") == []


async def test_deploy_f8_with_none_selected_asks_selection():
    client = FakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_deploy_screen(pilot, app)
        screen.query_one("#deploy-nodes", SelectionList).deselect_all()
        await pilot.pause()

        await pilot.press("f8")
        await pilot.pause()

        assert "Select at least one node (Space), then press F8." in text(app, "#deploy-outcome-text")
        assert client.calls_of("DeployQingCloud") == []


async def test_deploy_node_list_title_names_column():
    client = FakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_deploy_screen(pilot, app)
        title = screen.query_one("#deploy-nodes-title", Label)
        selection = screen.query_one("#deploy-nodes", SelectionList)
        assert str(title.render()) == "Host, role, zone (Space selects)"
        assert str(selection.get_option_at_index(0).prompt).endswith("pek3a")

        await pilot.press("f8")
        await wait_until(pilot, lambda: "finished successfully" in text(app, "#deploy-outcome-text"),
                         "the deploy job ends")

        assert str(title.render()) == "Host, role, state (Space selects)"
        assert str(selection.get_option_at_index(0).prompt).endswith("done")


async def test_deploy_node_list_title_chinese_fits():
    client = FakeClient()
    app = make_app(client, lang="zh_CN")

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_deploy_screen(pilot, app)
        title = screen.query_one("#deploy-nodes-title", Label)

        assert str(title.render()) == "主机、角色、可用区（空格键选择）"
        assert title.render_line(0).text.rstrip() == "主机、角色、可用区（空格键选择）", "the title is not cut"
