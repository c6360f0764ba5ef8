"""The configuration wizard at an 80x24 console, driven by key presses.

The engine is WizardFakeClient: the lab's nodes, and the engine's own
validator and renderer behind ValidateQingCloudConfig.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from textual.widgets import DataTable, Input, OptionList, Static

from tests.tui_fakes import WizardFakeClient, make_app, type_text, wait_until
from tui.app import InstallerApp
from tui.i18n import set_language
from tui.screens.configuration import ConfigurationScreen
from tui.screens.overview import OverviewScreen
from tui.wizard.dialogs import ConfirmDialog, ExportDialog, RoleDialog
from tui.wizard.widgets import FieldRow

SIZE = (80, 24)
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED_JSON = FIXTURES / "config-qingcloud.seed.json"
SEED_CONFIG = json.loads(SEED_JSON.read_text())["config"]

STEPS = ["Start", "Zones", "Variables", "Roles", "VBC", "EIP", "Review"]


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def shown(widget) -> str:
    return str(widget.render())


def footer_keys(app: InstallerApp) -> dict[str, object]:
    return {key.key: key for key in app.screen.query("FooterKey")}


def field_message(screen: ConfigurationScreen, row_id: str) -> str:
    return screen.query_one(f"#row-{row_id}", FieldRow).message_text


async def open_wizard(pilot, app: InstallerApp) -> ConfigurationScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview shows")
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(app.screen, ConfigurationScreen), "the wizard shows")
    screen = app.screen
    await wait_until(pilot, lambda: len(screen.inventory) > 0, "the registered nodes are read")
    return screen


async def load(pilot, screen: ConfigurationScreen, path: Path) -> None:
    """Load a file from the first step with F6 and wait for its validation."""
    await go_to_step(pilot, screen, "Start")
    screen.query_one("#config-path", Input).value = str(path)
    await pilot.press("f6")
    await screen.app.workers.wait_for_complete()
    await pilot.pause()


async def go_to_step(pilot, screen: ConfigurationScreen, title: str) -> None:
    target = STEPS.index(title)
    while screen.step != target:
        await pilot.press("f9" if screen.step < target else "f8")
    await pilot.pause()


async def settled(pilot, screen: ConfigurationScreen) -> None:
    """Wait until the latest validation, debounced or not, has been shown."""
    await wait_until(pilot, lambda: not screen.validation_pending, "the debounced validation starts")
    await screen.app.workers.wait_for_complete()
    await pilot.pause()


def write_config(tmp_path: Path, config: dict, name: str = "site.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"action": "ConfigQingCloud", "config": config}))
    return path


async def test_pool_leading_zero_shown_inline():
    app = make_app(WizardFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await pilot.press("f9")
        await type_text(pilot, "pek3b")
        await pilot.press("enter", "f9")

        screen.query_one("#var-mgmt_network_pools", Input).focus()
        await type_text(pilot, "172.016.080.100-172.16.80.120")
        await pilot.pause()

        message = field_message(screen, "var-mgmt_network_pools")
        assert 'first address "172.016.080.100": octet "016" has a leading zero' in message


async def test_reversed_pool_rejected():
    app = make_app(WizardFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await pilot.press("f9")
        await type_text(pilot, "pek3b")
        await pilot.press("enter", "f9")

        screen.query_one("#var-mgmt_network_pools", Input).focus()
        await type_text(pilot, "172.16.80.40-172.16.80.20")
        await pilot.pause()

        message = field_message(screen, "var-mgmt_network_pools")
        assert "the first address 172.16.80.40 is greater than the last address 172.16.80.20" in message


async def test_vip_leading_zero_shown_inline(tmp_path):
    app = make_app(WizardFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, SEED_JSON)
        await go_to_step(pilot, screen, "VBC")

        vip = screen.query_one("#vbc-ipv4-vip", Input)
        vip.focus()
        await pilot.press("ctrl+u")
        await type_text(pilot, "172.016.080.100")
        await pilot.pause()

        assert 'VIP "172.016.080.100": octet "016" has a leading zero' in field_message(screen, "vbc-ipv4-vip")


async def test_vbc_overlapping_pool_names_both_fields(tmp_path):
    config = copy.deepcopy({"pek3b": SEED_CONFIG["pek3b"]})
    config["pek3b"]["variables"]["mgmt_network_pools"] = ["10.10.50.20-10.10.50.40"]
    app = make_app(WizardFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, write_config(tmp_path, config))
        assert "Valid" in shown(screen.query_one("#load-result"))

        await go_to_step(pilot, screen, "VBC")
        network = screen.query_one("#vbc-ipv4-vbc", Input)
        network.focus()
        await pilot.press("ctrl+u")
        await type_text(pilot, "10.10.0.0/16")
        await settled(pilot, screen)

        expected = "ipv4_vbc 10.10.0.0/16 overlaps pool 10.10.50.20-10.10.50.40 at variables.mgmt_network_pools[0]"
        assert expected in field_message(screen, "vbc-ipv4-vbc")
        issues = screen.query_one("#issues", DataTable)
        assert str(issues.get_cell_at((0, 1))) == "pek3b.settings.vbc.ipv4_vbc"
        assert screen.wizard.config == config, "the draft is validated, not written"

        await go_to_step(pilot, screen, "Variables")
        await settled(pilot, screen)
        assert expected in field_message(screen, "var-mgmt_network_pools"), "the pool names the overlap too"
        assert screen.wizard.config["pek3b"]["settings"]["vbc"]["ipv4_vbc"] == "10.10.0.0/16"


async def test_engine_text_shown_as_plain_text():
    client = WizardFakeClient()
    client.script("ValidateQingCloudConfig", {
        "action": "ValidateQingCloudConfigResponse", "ret_code": 0, "valid": False, "zones": {},
        "issues": [{"severity": "error", "zone": "pek3b", "path": "pek3b.variables.domain",
                    "message": "[b]qingcloud.com[/b] is [red]taken[/red]"}],
    })
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await pilot.press("f9")
        await type_text(pilot, "pek3b")
        await pilot.press("enter")
        await settled(pilot, screen)
        await pilot.press("f9")
        await pilot.pause()

        assert "error: [b]qingcloud.com[/b] is [red]taken[/red]" in field_message(screen, "var-domain")


async def test_role_dialog_escape_changes_nothing():
    app = make_app(WizardFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, SEED_JSON)
        before = copy.deepcopy(screen.wizard.config)
        await go_to_step(pilot, screen, "Roles")

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RoleDialog), "the role dialog opens")
        await pilot.press("down", "down", "tab", "space")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the dialog closes")

        assert screen.wizard.config == before
        assert str(screen.query_one("#roles-table", DataTable).get_cell_at((0, 2))) == "ks-vm"


async def test_form_escape_restores_state(tmp_path):
    app = make_app(WizardFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, SEED_JSON)
        before = copy.deepcopy(screen.wizard.config)

        await go_to_step(pilot, screen, "Zones")
        await pilot.press("down")
        await pilot.pause()
        assert screen.zone_id == "pek3b"

        await pilot.press("f9")
        domain = screen.query_one("#var-domain", Input)
        domain.focus()
        await pilot.press("ctrl+u")
        await type_text(pilot, "example.org")
        await pilot.press("tab")
        await type_text(pilot, "vlan")
        await pilot.press("escape")
        await pilot.pause()
        assert screen.wizard.config == before
        assert domain.value == "qingcloud.com", "the form shows the state again"

        await go_to_step(pilot, screen, "VBC")
        await pilot.press("tab", "space", "tab")
        await type_text(pilot, "/16")
        await pilot.press("escape")
        await pilot.pause()
        await go_to_step(pilot, screen, "EIP")
        await pilot.press("tab", "tab")
        await type_text(pilot, "139.198.30.0/24")
        await pilot.press("tab")
        await type_text(pilot, ".1")
        await pilot.press("escape")
        await go_to_step(pilot, screen, "Review")

        assert screen.wizard.config == before
        assert screen.query_one("#eip-cidr", Input).value == ""


async def test_zone_removal_needs_confirmation():
    app = make_app(WizardFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, SEED_JSON)
        await go_to_step(pilot, screen, "Zones")
        assert screen.focused is screen.query_one("#zone-list", OptionList)
        assert "ctrl+d" in footer_keys(app)

        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation opens")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the confirmation closes")
        assert screen.wizard.zone_ids == ["pek3a", "pek3b"]

        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation opens")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen, "the confirmation closes")
        assert screen.wizard.zone_ids == ["pek3b"]
        assert screen.zone_id == "pek3b"


async def test_zone_id_checked_before_adding():
    app = make_app(WizardFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await pilot.press("f9")
        await type_text(pilot, "Pek-3")
        await pilot.press("enter")
        await pilot.pause()

        assert "2 to 32 lowercase letters and digits" in shown(screen.query_one("#new-zone-message"))
        assert screen.wizard.zone_ids == []


async def test_later_values_win(tmp_path):
    app = make_app(WizardFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, SEED_JSON)
        await go_to_step(pilot, screen, "Zones")
        await pilot.press("down", "f9")

        pools = screen.query_one("#var-mgmt_network_pools", Input)
        pools.focus()
        await type_text(pilot, "172.18.80.20-172.18.80.30")
        await pilot.press("enter")
        pools.focus()
        await pilot.press("ctrl+u")
        await type_text(pilot, "172.18.80.40-172.18.80.50")
        await pilot.press("enter")
        domain = screen.query_one("#var-domain", Input)
        domain.focus()
        await pilot.press("ctrl+u")
        await type_text(pilot, "example.org")
        await pilot.press("f8")

        variables = screen.wizard.config["pek3b"]["variables"]
        assert variables["mgmt_network_pools"] == ["172.18.80.40-172.18.80.50"]
        assert variables["domain"] == "example.org", "leaving the step writes the form"

        await load(pilot, screen, SEED_JSON)
        assert screen.wizard.config["pek3b"] == SEED_CONFIG["pek3b"], "the file loaded last wins"


async def test_grouped_zone_edits_go_to_advanced():
    app = make_app(WizardFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, SEED_JSON)
        await go_to_step(pilot, screen, "Variables")
        assert screen.zone_id == "pek3a"

        note = shown(screen.query_one("#variables-note"))
        assert "grouped variables" in note
        assert "written into advanced" in note
        region = screen.query_one("#row-var-region_id", FieldRow)
        assert region.value == "pek3"
        assert "from common" in shown(region.query_one(".field-note"))

        region.input.focus()
        await pilot.press("ctrl+u")
        await type_text(pilot, "pek9")
        await pilot.press("enter")

        variables = screen.wizard.config["pek3a"]["variables"]
        assert variables["common"] == {"region_id": "pek3"}
        assert variables["advanced"]["region_id"] == "pek9"
        assert variables["base"] == {"deploy_mode": "fusion"}
        assert "from advanced" in shown(region.query_one(".field-note"))


async def test_answers_export_then_import(tmp_path):
    answers_path = tmp_path / "qingcloud-answers.yaml"
    client = WizardFakeClient()
    app = make_app(client)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, write_config(tmp_path, SEED_CONFIG))
        exported = copy.deepcopy(screen.wizard.config)
        await go_to_step(pilot, screen, "Review")

        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog), "the export dialog opens")
        assert app.screen.query_one("#export-path", Input).value == str(answers_path), "beside the loaded file"
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers_path.exists(), "the answers file is written")
        assert "13 node(s)" in shown(screen.query_one("#load-result"))

    document = yaml.safe_load(answers_path.read_text())
    assert document["config"] == exported
    assert [node["node_id"] for node in document["nodes"]][:2] == ["n-pek3a01r01", "n-pek3a01r02"]

    app = make_app(WizardFakeClient())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, answers_path)

        assert "Valid (warnings: 2)" in shown(screen.query_one("#load-result"))
        assert screen.wizard.config == exported
        assert [node.node_id for node in screen.wizard.answers.nodes] == [
            node["node_id"] for node in document["nodes"]]


async def test_export_keeps_comments(tmp_path):
    answers_path = tmp_path / "qingcloud-answers.yaml"
    app = make_app(WizardFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, write_config(tmp_path, SEED_CONFIG))
        await go_to_step(pilot, screen, "Review")
        for note in ("# rack B: ask Li before deploying", "# rack C: spare power supply"):
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog), "the export dialog opens")
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen is screen, "the export dialog closes")
            answers_path.write_text(f"{note}\n" + answers_path.read_text())

    text = answers_path.read_text()
    assert "# rack B: ask Li before deploying" in text, "the rewrite kept the first note"
    assert "# rack C: spare power supply" in text


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_footer_fits_80_columns_every_step(lang):
    app = make_app(WizardFakeClient(), lang=lang)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, SEED_JSON)

        for step in range(len(STEPS)):
            await go_to_step(pilot, screen, STEPS[step])
            focusables = [widget for widget in screen.focus_chain if screen.current_section in widget.ancestors]
            # The footer changes with the focused widget's type and container, not with each field.
            kinds = {(type(widget), type(widget.parent)): widget for widget in focusables}
            for widget in [None, *kinds.values()]:
                if widget is not None:
                    widget.focus()
                    await pilot.pause()
                keys = footer_keys(app)
                for key, footer_key in keys.items():
                    assert footer_key.region.right <= SIZE[0], f"{STEPS[step]}: {key} ends at {footer_key.region.right}"
                    assert footer_key.region.y == SIZE[1] - 1
                assert {"f1", "f10", "ctrl+g"} <= set(keys)

        await go_to_step(pilot, screen, "Zones")
        keys = footer_keys(app)
        if lang == "zh_CN":
            assert keys["f9"].description == "下一步"
            assert keys["ctrl+d"].description == "删除"
            assert "可用区" in shown(screen.query_one("#wizard-steps"))
        else:
            assert keys["f8"].description == "Back"
            assert keys["f8"].key_display == "F8"


async def test_role_dialog_footer_fits_in_chinese():
    app = make_app(WizardFakeClient(), lang="zh_CN")

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, SEED_JSON)
        await go_to_step(pilot, screen, "Roles")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RoleDialog), "the role dialog opens")

        keys = footer_keys(app)
        assert keys["enter"].description == "确定"
        assert keys["escape"].description == "取消"
        assert all(key.region.right <= SIZE[0] for key in keys.values())
        assert "在可用区 pek3a 中的角色" in shown(app.screen.query_one(".dialog-title"))


async def test_every_step_usable_at_80x24():
    app = make_app(WizardFakeClient())

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await load(pilot, screen, SEED_JSON)

        for title in STEPS:
            await go_to_step(pilot, screen, title)
            focusables = [widget for widget in screen.focus_chain if screen.current_section in widget.ancestors]
            assert focusables, f"{title} has something to work with"
            for widget in focusables:
                widget.focus()
                await pilot.pause()
                region = widget.region
                assert region.width > 0, f"{title}: {widget} has no columns"
                assert region.height > 0, f"{title}: {widget} has no rows"
                assert region.right <= SIZE[0], f"{title}: {widget} is cut off on the right"
                assert region.bottom <= SIZE[1] - 1, f"{title}: {widget} reaches into the footer"


async def test_inline_checks_in_chinese_step_bar():
    app = make_app(WizardFakeClient(), lang="zh_CN")

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_wizard(pilot, app)
        await pilot.press("f9")
        await type_text(pilot, "pek3b")
        await pilot.press("enter", "f9")
        await type_text(pilot, "Pek3")
        await pilot.pause()

        steps = shown(screen.query_one("#wizard-steps"))
        assert "变量" in steps
        assert "可用区：pek3b" in steps
        assert "无效，应为小写字母和数字" in field_message(screen, "var-region_id")
        assert "可用区所属的区域" in shown(screen.query_one("#row-var-region_id .field-help", Static))
