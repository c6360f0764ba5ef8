"""The wizard's model without a screen: the state's writes, the inline checks, issue matching, answers files."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tui.screens.config_source import ConfigFileError
from tui.wizard.checks import check_eip_entry, check_variable, check_vip, check_zone_id, split_pools
from tui.wizard.eip import build_entry
from tui.wizard.fields import FIELDS_BY_NAME, ROLES_BY_NAME, deploy_mode_problems
from tui.wizard.files import build_answers, read_wizard_file, take_answers, write_answers
from tui.wizard.issues import IssueIndex, variable_paths
from tui.wizard.state import WizardState

SEED_CONFIG = json.loads((Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json").read_text())[
    "config"]


def test_new_zone_writes_nothing():
    state = WizardState()
    state.add_zone("pek3b")

    assert state.config == {"pek3b": {"variables": {}, "settings": {}}}
    with pytest.raises(ValueError, match="already"):
        state.add_zone("pek3b")


def test_flat_zone_gets_only_set_variables():
    state = WizardState()
    state.add_zone("pek3b")

    state.set_variables("pek3b", {"region_id": "pek3", "domain": "qingcloud.com"})
    state.set_variables("pek3b", {"domain": None, "deploy_mode": "fusion"})

    assert state.config["pek3b"]["variables"] == {"region_id": "pek3", "deploy_mode": "fusion"}


def test_grouped_zone_edits_go_to_advanced():
    state = WizardState(copy.deepcopy(SEED_CONFIG))

    state.set_variables("pek3a", {"region_id": "pek9", "deploy_mode": None})

    variables = state.config["pek3a"]["variables"]
    assert variables["common"] == {"region_id": "pek3"}
    assert variables["advanced"]["region_id"] == "pek9"
    assert "deploy_mode" not in variables["advanced"]
    merged = state.merged_variables("pek3a")
    assert merged.values["deploy_mode"] == "fusion", "base shows through once advanced no longer sets it"
    assert merged.sources["region_id"] == "variables.advanced"


def test_role_moves_node_between_zones():
    state = WizardState(copy.deepcopy(SEED_CONFIG))
    state.config["pek3a"]["settings"]["roles"]["n-pek3a01r05"]["vms"] = "vm-a"

    state.set_role("pek3b", "n-pek3a01r05", "hyper", ["hyper", "seed"])

    assert "n-pek3a01r05" not in state.roles("pek3a")
    assert state.roles("pek3b")["n-pek3a01r05"] == {"role": "hyper", "sub_roles": "hyper,seed", "vms": ""}
    state.set_role("pek3b", "n-pek3a01r05", None, [])
    assert "n-pek3a01r05" not in state.roles("pek3b")


def test_role_keeps_vms_of_same_zone():
    state = WizardState(copy.deepcopy(SEED_CONFIG))
    state.config["pek3b"]["settings"]["roles"]["n-pek3b01r03"]["vms"] = "vm-a"

    state.set_role("pek3b", "n-pek3b01r03", "hyper", ["hyper"])

    assert state.roles("pek3b")["n-pek3b01r03"]["vms"] == "vm-a"


def test_eip_entries_replace_and_empty():
    state = WizardState(copy.deepcopy(SEED_CONFIG))

    state.set_eip_entries("pek3b", "172.16.80.3", ["139.198.30.0/24|.1"])
    assert state.eip("pek3b")["172.16.80.3"] == ["139.198.30.0/24|.1"]

    state.set_eip_entries("pek3b", "172.16.80.3", [])
    state.set_eip_entries("pek3b", "172.16.80.4", [])
    assert "eip" not in state.config["pek3b"]["settings"]


def test_fill_replaces_same_zone_only():
    state = WizardState()
    state.add_zone("pek3c")
    state.add_zone("pek3b")

    filled_zone_ids = state.fill({"pek3b": SEED_CONFIG["pek3b"]})

    assert filled_zone_ids == ["pek3b"]
    assert state.zone_ids == ["pek3c", "pek3b"]
    assert state.config["pek3b"] == SEED_CONFIG["pek3b"]
    state.config["pek3b"]["variables"]["domain"] = "example.org"
    assert SEED_CONFIG["pek3b"]["variables"]["domain"] == "qingcloud.com", "the state holds a copy"


def test_fill_rejects_zone_not_mapping():
    state = WizardState({"pek3b": SEED_CONFIG["pek3b"]})

    with pytest.raises(ValueError, match="pek3c must be a mapping"):
        state.fill({"pek3a": SEED_CONFIG["pek3a"], "pek3c": ["not", "a", "zone"]})

    assert state.zone_ids == ["pek3b"]


def test_copy_is_independent():
    state = WizardState(copy.deepcopy(SEED_CONFIG))
    preview = state.copy()

    preview.set_vbc("pek3b", None)

    assert "vbc" in state.config["pek3b"]["settings"]


def test_pool_checks_compare_numbers():
    pools = FIELDS_BY_NAME["mgmt_network_pools"]

    assert check_variable(pools, "172.16.80.9-172.16.80.40", "pek3b") is None
    assert "greater than the last address" in check_variable(pools, "172.16.80.40-172.16.80.20", "pek3b")
    two_pools = "172.16.80.9-172.16.80.40,172.016.80.50-172.16.80.60"
    assert 'octet "016" has a leading zero' in check_variable(pools, two_pools, "pek3b")
    assert split_pools("a-b, c-d  e-f") == ["a-b", "c-d", "e-f"]


def test_variable_checks():
    assert "expected one of standard, fusion" in check_variable(FIELDS_BY_NAME["deploy_mode"], "mixed", "pek3b")
    assert "must be pek3b" in check_variable(FIELDS_BY_NAME["zone_id"], "pek3a", "pek3b")
    assert "leading zero" in check_variable(FIELDS_BY_NAME["vm_base_network_start"], "10.010.0.0/16", "pek3b")
    assert check_variable(FIELDS_BY_NAME["region_id"], "", "pek3b") is None, "empty means not set"


def test_vip_checks():
    assert 'VIP "172.016.080.100": octet "016" has a leading zero' in check_vip(
        "172.016.080.100", "172.18.80.6", 4)
    assert "leading zero" in check_vip("172.016.080.100", "", 4)
    assert "not an IPv6 address" in check_vip("172.18.80.100", "", 6)
    assert check_vip("172.18.80.100", "172.18.80.6", 4) is None


def test_eip_entry_built_and_checked():
    assert build_entry("139.198.10.0/24", ".1", "") == "139.198.10.0/24|.1"
    assert build_entry(" 139.198.10.0/24", ".1 ", "HA0") == "139.198.10.0/24|.1|HA0"
    assert check_eip_entry("139.198.10.0/24|.1|HA0") is None
    assert "outside" in check_eip_entry("139.198.10.0/24|139.198.11.1")


def test_zone_id_check():
    assert check_zone_id("pek3b", []) is None
    assert "lowercase" in check_zone_id("Pek3b", [])
    assert "already" in check_zone_id("pek3b", ["pek3b"])


def test_fusion_rule_needs_sub_roles_on_hyper():
    roles = {"n-a1234": ("vg", ["vgateway"]), "n-b1234": ("hyper-repl", ["hyper"])}

    assert deploy_mode_problems("fusion", roles) == [("sub_role", "seed"), ("sub_role", "vbr"), ("sub_role", "snapshot")]
    assert deploy_mode_problems("standard", roles) == [("kind", "ks")]
    assert ROLES_BY_NAME["hyper-repl"].default_sub_roles("fusion") == ("hyper", "seed", "vbr", "snapshot")
    assert ROLES_BY_NAME["hyper-repl"].default_sub_roles("standard") == ("hyper",)


def test_issue_index_matches_items_and_named_paths():
    index = IssueIndex([
        {"severity": "error", "zone": "pek3b", "path": "pek3b.settings.vbc.ipv4_vbc",
         "message": "ipv4_vbc 10.10.0.0/16 overlaps pool 10.10.50.20-10.10.50.40 at variables.mgmt_network_pools[0]"},
        {"severity": "error", "zone": "pek3a", "path": "pek3a.variables.advanced.mgmt_network_pools[1]",
         "message": "bad pool"},
        {"severity": "warning", "zone": "pek3b", "path": "pek3b.settings.roles.n-pek3b01r01.role", "message": "x"},
    ])

    assert [issue.path for issue in index.at("pek3b", *variable_paths("mgmt_network_pools"))] == [
        "settings.vbc.ipv4_vbc"]
    assert [issue.message for issue in index.at("pek3a", *variable_paths("mgmt_network_pools"))] == ["bad pool"]
    assert index.at("pek3b", "settings.vbc.ipv4_vip") == []
    assert [issue.severity for issue in index.under("pek3b", "settings.roles.n-pek3b01r01")] == ["warning"]


def test_answers_roundtrip_keeps_state(tmp_path):
    state = WizardState(copy.deepcopy(SEED_CONFIG))
    inventory = [{"node_id": "n-pek3b01r01", "ssh_host": "127.0.0.1", "ssh_port": 42201, "ssh_user": "root",
                  "mgmt_ip": "172.16.80.3", "host_key_fingerprints": []},
                 {"node_id": "n-test1234", "ssh_host": "127.0.0.1", "ssh_port": 42202, "ssh_user": "root",
                  "mgmt_ip": "172.16.80.13", "host_key_fingerprints": []}]
    path = write_answers(str(tmp_path / "answers.yaml"), build_answers(state, inventory))

    loaded = read_wizard_file(str(path))
    restored = WizardState(loaded.config)
    take_answers(restored, loaded.answers)

    assert loaded.format == "answers"
    assert restored.config == state.config
    assert [node.node_id for node in restored.answers.nodes] == ["n-pek3b01r01"], "only nodes with a role"
    assert build_answers(restored, inventory) == build_answers(state, inventory)


def test_answers_error_names_position(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("version: 1\nssh:\n  port: 70000\nconfig: {}\n")

    with pytest.raises(ConfigFileError) as caught:
        read_wizard_file(str(path))

    assert caught.value.line == 3
    assert "ssh.port: 70000 is not a port" in caught.value.describe()


def test_config_file_is_not_answers(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("pek3b:\n  variables: {zone_id: pek3b}\n  settings: {}\n")

    loaded = read_wizard_file(str(path))

    assert loaded.format == "yaml"
    assert loaded.answers is None
    assert loaded.config == {"pek3b": {"variables": {"zone_id": "pek3b"}, "settings": {}}}
