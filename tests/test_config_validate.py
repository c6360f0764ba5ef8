"""Validation of ConfigQingCloud's `config`: the reference example passes, broken copies of it fail where expected."""

from __future__ import annotations

import copy
import json
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import (
    DEFAULT_ROLE_CATALOG,
    CatalogError,
    NodeFacts,
    RoleCatalog,
    render_zone_files,
    validate_config,
)

SEED = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"
CATALOG = RoleCatalog.from_dict(DEFAULT_ROLE_CATALOG)

_PEK3A_ADDRESSES = ["172.16.80.11", "172.16.80.12", "172.16.80.5", "172.16.80.6",
                    "172.16.80.7", "172.16.80.8", "172.16.80.9", "172.16.80.10"]
_PEK3B_ADDRESSES = ["172.16.80.3", "172.16.80.4", "172.18.80.5", "172.18.80.6", "172.18.80.7"]


def _inventory() -> dict[str, NodeFacts]:
    """Nodes as the lab registers them: ids and hostnames by convention, addresses matching the example."""
    nodes = {}
    for zone_id, addresses in (("pek3a", _PEK3A_ADDRESSES), ("pek3b", _PEK3B_ADDRESSES)):
        for slot, address in enumerate(addresses, start=1):
            node_id = f"n-{zone_id}01r{slot:02d}"
            nodes[node_id] = NodeFacts(node_id=node_id, hostname=f"{zone_id}r01n{slot:02d}", mgmt_ip=address)
    return nodes


_SEED_TEXT = SEED.read_text(encoding="utf-8")


def _seed() -> dict:
    return json.loads(_SEED_TEXT)["config"]


def _set(config: dict, keys: list, value) -> dict:
    target = config
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return config


def _drop(config: dict, keys: list) -> dict:
    target = config
    for key in keys[:-1]:
        target = target[key]
    del target[keys[-1]]
    return config


def _describe(report) -> str:
    return "\n".join(f"{issue.severity}: {issue}" for issue in report.issues) or "(no issues)"


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch):
    """Fail any test in which validation or rendering tries to reach the network."""

    def reject_network_use(*args, **kwargs):
        raise AssertionError("the configuration package tried to open a socket or resolve a name")

    monkeypatch.setattr(socket, "socket", reject_network_use)
    monkeypatch.setattr(socket, "create_connection", reject_network_use)
    monkeypatch.setattr(socket, "getaddrinfo", reject_network_use)


# --- the reference's example --------------------------------------------------------


@pytest.mark.parametrize("with_inventory", [False, True], ids=["no-inventory", "lab-inventory"])
def test_seed_example_has_no_errors(with_inventory):
    inventory = _inventory() if with_inventory else None

    report = validate_config(_seed(), catalog=CATALOG, inventory=inventory)

    assert report.ok, _describe(report)
    assert report.first_error() is None
    assert list(report.zones) == ["pek3a", "pek3b"]


def test_seed_example_counts_and_modes():
    report = validate_config(_seed(), catalog=CATALOG, inventory=_inventory())

    pek3a, pek3b = report.zones["pek3a"], report.zones["pek3b"]
    assert pek3a.deploy_mode == "standard"
    assert pek3b.deploy_mode == "fusion"
    assert pek3a.counts == {"ks": 2, "vg": 2, "hyper": 4, "total": 8}
    assert pek3b.counts == {"ks": 0, "vg": 2, "hyper": 3, "total": 5}
    assert pek3a.roles["n-pek3a01r01"] == ("ks-vm", ["seed", "vbr", "snapshot"])
    assert pek3b.roles["n-pek3b01r03"] == ("hyper-repl", ["hyper", "seed", "vbr", "snapshot"])
    assert pek3a.nodes_of_kind("vg") == ["n-pek3a01r03", "n-pek3a01r04"]
    assert pek3a.region_id == "pek3"


def test_seed_example_warns_only_about_shared_eip_ranges():
    report = validate_config(_seed(), catalog=CATALOG, inventory=_inventory())

    assert [issue.path for issue in report.warnings] == [
        "pek3b.settings.eip.172.16.80.3[0]",
        "pek3b.settings.eip.172.16.80.3[1]",
    ]
    first = report.warnings[0].message
    assert first.startswith("EIP range 139.198.10.0/24 is also used in zone pek3a")
    assert "can hand out the same public address twice" in first


def test_seed_example_hides_no_ha_pair_issue():
    """One range on both VG nodes of a zone, with or without an HA group, is the normal HA layout."""
    report = validate_config(_seed(), catalog=CATALOG, inventory=_inventory())

    assert not [issue for issue in report.issues if issue.zone == "pek3a"]


# --- broken configurations ------------------------------------------------------------

# Each case: id, mutation of the seed config, whether the lab inventory is given,
# the exact path of the expected error, and a phrase of its message.
BAD_CONFIGS = [
    ("config-not-mapping", lambda c: ["pek3a"], False,
     "config", "config must map zone ids to variables and settings"),
    ("config-empty", lambda c: {}, False,
     "config", "config is empty"),
    ("zone-id-uppercase", lambda c: {"Pek3a": c["pek3a"]}, False,
     "Pek3a", 'zone id "Pek3a" is not valid'),
    ("zone-not-mapping", lambda c: _set(c, ["pek3b"], "pek3b"), False,
     "pek3b", "expected a mapping with variables and settings"),
    ("settings-missing", lambda c: _drop(c, ["pek3b", "settings"]), False,
     "pek3b.settings", "settings is missing"),
    ("variables-not-mapping", lambda c: _set(c, ["pek3b", "variables"], ["fusion"]), False,
     "pek3b.variables", "variables must be a mapping, got list"),
    ("group-not-mapping", lambda c: _set(c, ["pek3a", "variables", "common"], "pek3"), False,
     "pek3a.variables.common", "group common must be a mapping"),
    ("zone-id-differs-flat", lambda c: _set(c, ["pek3b", "variables", "zone_id"], "pek3c"), False,
     "pek3b.variables.zone_id", "zone_id 'pek3c' differs from the zone's key pek3b"),
    ("zone-id-differs-grouped", lambda c: _set(c, ["pek3a", "variables", "advanced", "zone_id"], "pek3x"), False,
     "pek3a.variables.advanced.zone_id", "differs from the zone's key pek3a"),
    ("region-differs", lambda c: _set(c, ["pek3b", "variables", "region_id"], "pek4"), False,
     "pek3b.variables.region_id", "region_id pek4 differs from region_id pek3 of zone pek3a"),
    ("region-missing", lambda c: _drop(c, ["pek3b", "variables", "region_id"]), False,
     "pek3b.variables.region_id", "region_id is missing"),
    ("region-invalid", lambda c: _set(c, ["pek3a", "variables", "common", "region_id"], "PEK3"), False,
     "pek3a.variables.common.region_id", "region_id 'PEK3' is not valid"),
    ("is-region-word", lambda c: _set(c, ["pek3b", "variables", "is_region"], "yes"), False,
     "pek3b.variables.is_region", "is_region must be \"0\" or \"1\", got 'yes'"),
    ("allocate-vbc-without-start", lambda c: _set(c, ["pek3b", "variables", "installer_allocate_vbc"], "1"), False,
     "pek3b.variables.vm_base_network_start", "vm_base_network_start is missing"),
    ("deploy-mode-unknown", lambda c: _set(c, ["pek3b", "variables", "deploy_mode"], "hybrid"), False,
     "pek3b.variables.deploy_mode", "deploy_mode 'hybrid' is not in the role catalog; expected one of standard, fusion"),
    ("deploy-mode-missing", lambda c: _drop(c, ["pek3b", "variables", "deploy_mode"]), False,
     "pek3b.variables.deploy_mode", "deploy_mode is missing"),
    ("deploy-mode-unknown-grouped", lambda c: _set(c, ["pek3a", "variables", "advanced", "deploy_mode"], "Standard"), False,
     "pek3a.variables.advanced.deploy_mode", "is not in the role catalog"),
    ("pool-leading-zero",
     lambda c: _set(c, ["pek3a", "variables", "advanced", "mgmt_network_pools"], ["172.16.80.020-172.16.80.40"]), False,
     "pek3a.variables.advanced.mgmt_network_pools[0]", 'octet "020" has a leading zero'),
    ("pool-reversed",
     lambda c: _set(c, ["pek3a", "variables", "advanced", "mgmt_network_pools"], ["172.16.80.40-172.16.80.20"]), False,
     "pek3a.variables.advanced.mgmt_network_pools[0]", "the first address 172.16.80.40 is greater than the last"),
    ("pool-two-subnets",
     lambda c: _set(c, ["pek3b", "variables", "mgmt_network_pools"], ["172.18.80.200-172.18.81.10"]), False,
     "pek3b.variables.mgmt_network_pools[0]", "in different /24 networks"),
    ("pools-not-list",
     lambda c: _set(c, ["pek3a", "variables", "advanced", "mgmt_network_pools"], "172.16.80.20-172.16.80.40"), False,
     "pek3a.variables.advanced.mgmt_network_pools", "mgmt_network_pools must be a list of pools"),
    ("pools-overlap",
     lambda c: _set(c, ["pek3a", "variables", "advanced", "mgmt_network_pools"],
                    ["172.16.80.20-172.16.80.40", "172.16.80.30-172.16.80.50"]), False,
     "pek3a.variables.advanced.mgmt_network_pools[0]",
     "pool 172.16.80.20-172.16.80.40 overlaps pool 172.16.80.30-172.16.80.50"),
    ("roles-missing", lambda c: _drop(c, ["pek3b", "settings", "roles"]), False,
     "pek3b.settings.roles", "roles is missing"),
    ("roles-empty", lambda c: _set(c, ["pek3b", "settings", "roles"], {}), False,
     "pek3b.settings.roles", "roles is empty"),
    ("node-id-short",
     lambda c: _set(c, ["pek3b", "settings", "roles", "n-ab"], {"role": "vg", "sub_roles": "vgateway"}), False,
     "pek3b.settings.roles.n-ab", 'node id "n-ab" is not valid; expected n- followed by 4 to 32 letters or digits'),
    ("node-id-symbol",
     lambda c: _set(c, ["pek3b", "settings", "roles", "n-pek3b_9"], {"role": "vg", "sub_roles": "vgateway"}), False,
     "pek3b.settings.roles.n-pek3b_9", "is not valid"),
    ("role-entry-not-mapping", lambda c: _set(c, ["pek3b", "settings", "roles", "n-pek3b01r01"], "vg"), False,
     "pek3b.settings.roles.n-pek3b01r01", "expected a mapping with role and sub_roles"),
    ("role-missing", lambda c: _drop(c, ["pek3a", "settings", "roles", "n-pek3a01r03", "role"]), False,
     "pek3a.settings.roles.n-pek3a01r03.role", "role is missing"),
    ("role-unknown", lambda c: _set(c, ["pek3a", "settings", "roles", "n-pek3a01r03", "role"], "storage"), False,
     "pek3a.settings.roles.n-pek3a01r03.role", 'role "storage" is not in the role catalog'),
    ("sub-role-not-of-role",
     lambda c: _set(c, ["pek3a", "settings", "roles", "n-pek3a01r01", "sub_roles"], "seed,vgateway"), False,
     "pek3a.settings.roles.n-pek3a01r01.sub_roles",
     'sub-role "vgateway" is not one of the sub-roles of role ks-vm (seed, vbr, snapshot)'),
    ("sub-roles-space",
     lambda c: _set(c, ["pek3a", "settings", "roles", "n-pek3a01r01", "sub_roles"], "seed, vbr"), False,
     "pek3a.settings.roles.n-pek3a01r01.sub_roles", 'sub-role " vbr" has surrounding whitespace'),
    ("sub-roles-empty-item",
     lambda c: _set(c, ["pek3a", "settings", "roles", "n-pek3a01r01", "sub_roles"], "seed,,vbr"), False,
     "pek3a.settings.roles.n-pek3a01r01.sub_roles", "has an empty item"),
    ("sub-roles-list",
     lambda c: _set(c, ["pek3a", "settings", "roles", "n-pek3a01r01", "sub_roles"], ["seed"]), False,
     "pek3a.settings.roles.n-pek3a01r01.sub_roles", "sub_roles must be a string, got list"),
    ("sub-roles-twice",
     lambda c: _set(c, ["pek3a", "settings", "roles", "n-pek3a01r05", "sub_roles"], "hyper,hyper"), False,
     "pek3a.settings.roles.n-pek3a01r05.sub_roles", "sub-role hyper is listed twice"),
    ("node-in-two-zones",
     lambda c: _set(c, ["pek3b", "settings", "roles", "n-pek3a01r03"], {"role": "vg", "sub_roles": "vgateway"}), False,
     "pek3b.settings.roles.n-pek3a01r03", "node n-pek3a01r03 already has a role in zone pek3a"),
    ("standard-without-ks",
     lambda c: [_drop(c, ["pek3a", "settings", "roles", node]) for node in ("n-pek3a01r01", "n-pek3a01r02")] and c, False,
     "pek3a.settings.roles", "deploy mode standard needs at least one ks node (role ks-vm)"),
    ("standard-without-vg",
     lambda c: [_drop(c, ["pek3a", "settings", "roles", node]) for node in ("n-pek3a01r03", "n-pek3a01r04")] and c, False,
     "pek3a.settings.roles", "needs at least one vg node (role vg)"),
    ("fusion-without-snapshot",
     lambda c: [_set(c, ["pek3b", "settings", "roles", f"n-pek3b01r0{slot}", "sub_roles"], "hyper,seed,vbr")
                for slot in (3, 4, 5)] and c, False,
     "pek3b.settings.roles", "deploy mode fusion needs sub-role snapshot on a hyper node"),
    ("vbc-missing", lambda c: _drop(c, ["pek3a", "settings", "vbc"]), False,
     "pek3a.settings.vbc", "vbc is missing"),
    ("mgmt-ips-missing", lambda c: _drop(c, ["pek3a", "settings", "vbc", "mgmt_ips"]), False,
     "pek3a.settings.vbc.mgmt_ips", "mgmt_ips is missing"),
    ("mgmt-ips-leading-zero", lambda c: _set(c, ["pek3a", "settings", "vbc", "mgmt_ips", 0], "172.16.80.07"), False,
     "pek3a.settings.vbc.mgmt_ips[0]", 'octet "07" has a leading zero'),
    ("mgmt-ips-duplicate", lambda c: _set(c, ["pek3a", "settings", "vbc", "mgmt_ips", 3], "172.16.80.7"), False,
     "pek3a.settings.vbc.mgmt_ips[3]", "172.16.80.7 is listed twice in mgmt_ips (first at mgmt_ips[0])"),
    ("ipv4-vbc-host-bits", lambda c: _set(c, ["pek3a", "settings", "vbc", "ipv4_vbc"], "10.10.50.1/24"), False,
     "pek3a.settings.vbc.ipv4_vbc", "host bits are set; the network is 10.10.50.0/24"),
    ("ipv4-vbc-is-ipv6", lambda c: _set(c, ["pek3a", "settings", "vbc", "ipv4_vbc"], "2001:db8::/64"), False,
     "pek3a.settings.vbc.ipv4_vbc", "it is an IPv6 network"),
    ("ipv4-vip-no-master", lambda c: _set(c, ["pek3a", "settings", "vbc", "ipv4_vip"], "172.16.80.100"), False,
     "pek3a.settings.vbc.ipv4_vip", "exactly one | between the VIP and the master address"),
    ("ipv4-vip-master-not-hyper",
     lambda c: _set(c, ["pek3a", "settings", "vbc", "ipv4_vip"], "172.16.80.100|172.16.80.11"), False,
     "pek3a.settings.vbc.ipv4_vip",
     "172.16.80.11 is not one of mgmt_ips (172.16.80.7, 172.16.80.8, 172.16.80.9, 172.16.80.10)"),
    ("ipv6-vbc-host-bits", lambda c: _set(c, ["pek3b", "settings", "vbc", "ipv6_vbc"], "2001:db8:20::1/64"), False,
     "pek3b.settings.vbc.ipv6_vbc", "host bits are set; the network is 2001:db8:20::/64"),
    ("ipv6-vip-without-vbc",
     lambda c: _set(c, ["pek3b", "settings", "vbc", "ipv6_vip"], "2001:db8:20::100|172.18.80.6"), False,
     "pek3b.settings.vbc.ipv6_vbc", "ipv6_vbc is empty but ipv6_vip is set"),
    ("ipv6-vip-master-unknown",
     lambda c: _set(_set(c, ["pek3b", "settings", "vbc", "ipv6_vip"], "2001:db8:20::100|172.18.80.9"),
                    ["pek3b", "settings", "vbc", "ipv6_vbc"], "2001:db8:20::/64"), False,
     "pek3b.settings.vbc.ipv6_vip", "172.18.80.9 is not one of mgmt_ips"),
    ("vbc-overlaps-pool",
     lambda c: _set(_set(c, ["pek3a", "settings", "vbc", "ipv4_vbc"], "10.10.0.0/16"),
                    ["pek3a", "variables", "advanced", "mgmt_network_pools"], ["10.10.50.20-10.10.50.40"]), False,
     "pek3a.settings.vbc.ipv4_vbc",
     "ipv4_vbc 10.10.0.0/16 overlaps pool 10.10.50.20-10.10.50.40 at variables.advanced.mgmt_network_pools[0]"),
    ("vbc-overlaps-eip", lambda c: _set(c, ["pek3b", "settings", "vbc", "ipv4_vbc"], "139.198.0.0/16"), False,
     "pek3b.settings.vbc.ipv4_vbc", "ipv4_vbc 139.198.0.0/16 overlaps EIP range 139.198.10.0/24"),
    ("vip-inside-pool", lambda c: _set(c, ["pek3a", "settings", "vbc", "ipv4_vip"], "172.16.80.30|172.16.80.8"), False,
     "pek3a.settings.vbc.ipv4_vip", "172.16.80.30 (ipv4_vip) is inside pool 172.16.80.20-172.16.80.40"),
    ("vip-is-vg-address", lambda c: _set(c, ["pek3a", "settings", "vbc", "ipv4_vip"], "172.16.80.5|172.16.80.8"), False,
     "pek3a.settings.eip.172.16.80.5", "172.16.80.5 is assigned twice: as the eip key 172.16.80.5 and as ipv4_vip"),
    ("vip-is-node-address", lambda c: _set(c, ["pek3a", "settings", "vbc", "ipv4_vip"], "172.16.80.11|172.16.80.8"), True,
     "pek3a.settings.roles.n-pek3a01r01", "172.16.80.11 is assigned twice"),
    ("vip-in-two-zones", lambda c: _set(c, ["pek3b", "settings", "vbc", "ipv4_vip"], "172.16.80.100|172.18.80.6"), False,
     "pek3b.settings.vbc.ipv4_vip", "172.16.80.100 (ipv4_vip) is also assigned in zone pek3a (ipv4_vip)"),
    ("eip-not-mapping", lambda c: _set(c, ["pek3a", "settings", "eip"], ["139.198.10.0/24|.1"]), False,
     "pek3a.settings.eip", "eip must map VG management addresses to EIP entries"),
    ("eip-key-not-address",
     lambda c: _set(c, ["pek3a", "settings", "eip"], {"vg1": ["139.198.10.0/24|.1"]}), False,
     "pek3a.settings.eip.vg1", "eip keys are VG management addresses"),
    ("eip-entries-empty", lambda c: _set(c, ["pek3a", "settings", "eip", "172.16.80.5"], []), False,
     "pek3a.settings.eip.172.16.80.5", "expected a non-empty list of EIP entries"),
    ("eip-gateway-outside",
     lambda c: _set(c, ["pek3a", "settings", "eip", "172.16.80.5", 0], "139.198.10.0/24|139.198.11.1"), False,
     "pek3a.settings.eip.172.16.80.5[0]", "the gateway 139.198.11.1 is outside 139.198.10.0/24"),
    ("eip-gateway-broadcast",
     lambda c: _set(c, ["pek3a", "settings", "eip", "172.16.80.6", 1], "139.198.20.0/24|.255"), False,
     "pek3a.settings.eip.172.16.80.6[1]", "is the broadcast address of 139.198.20.0/24"),
    ("eip-ha-group-lowercase",
     lambda c: _set(c, ["pek3a", "settings", "eip", "172.16.80.5", 1], "139.198.20.0/24|.1|ha0"), False,
     "pek3a.settings.eip.172.16.80.5[1]", 'HA group "ha0" is not valid'),
    ("eip-ha-pair-gateway-differs",
     lambda c: _set(c, ["pek3a", "settings", "eip", "172.16.80.6", 0], "139.198.10.0/24|.254|HA0"), False,
     "pek3a.settings.eip.172.16.80.6[0]",
     "EIP range 139.198.10.0/24 has gateway 139.198.10.254 here but 139.198.10.1"),
    ("eip-listed-twice",
     lambda c: c["pek3a"]["settings"]["eip"]["172.16.80.5"].append("139.198.10.0/24|.1|HA1") or c, False,
     "pek3a.settings.eip.172.16.80.5[2]", "EIP range 139.198.10.0/24 is listed twice for 172.16.80.5"),
    ("eip-partial-overlap",
     lambda c: c["pek3a"]["settings"]["eip"]["172.16.80.6"].append("139.198.10.128/25|.129") or c, False,
     "pek3a.settings.eip.172.16.80.5[0]", "EIP range 139.198.10.0/24 overlaps EIP range 139.198.10.128/25"),
    ("eip-key-inside-pool",
     lambda c: _set(c, ["pek3a", "settings", "eip"], {"172.16.80.25": ["139.198.10.0/24|.1"]}), False,
     "pek3a.settings.eip.172.16.80.25", "172.16.80.25 (the eip key 172.16.80.25) is inside pool"),
    ("mgmt-ip-is-eip-key", lambda c: _set(c, ["pek3a", "settings", "vbc", "mgmt_ips", 3], "172.16.80.5"), False,
     "pek3a.settings.eip.172.16.80.5", "172.16.80.5 is assigned twice: as the eip key 172.16.80.5 and as mgmt_ips[3]"),
    # With the lab inventory, addresses are checked against the nodes' roles.
    ("inventory-mgmt-ip-of-vg", lambda c: _set(c, ["pek3a", "settings", "vbc", "mgmt_ips", 3], "172.16.80.6"), True,
     "pek3a.settings.vbc.mgmt_ips[3]",
     "172.16.80.6 is the management address of node n-pek3a01r04 (role vg), not of a hyper node"),
    ("inventory-mgmt-ip-unknown", lambda c: _set(c, ["pek3a", "settings", "vbc", "mgmt_ips", 3], "172.16.80.99"), True,
     "pek3a.settings.vbc.mgmt_ips[3]",
     "no hyper node of zone pek3a has management address 172.16.80.99; their addresses are 172.16.80.7, "
     "172.16.80.8, 172.16.80.9, 172.16.80.10"),
    ("inventory-mgmt-ip-other-zone", lambda c: _set(c, ["pek3b", "settings", "vbc", "mgmt_ips", 2], "172.16.80.9"), True,
     "pek3b.settings.vbc.mgmt_ips[2]",
     "172.16.80.9 is the management address of node n-pek3a01r07, which has no role in zone pek3b"),
    ("inventory-eip-key-of-hyper",
     lambda c: _set(c, ["pek3b", "settings", "eip"], {"172.18.80.5": ["139.198.30.0/24|.1"]}), True,
     "pek3b.settings.eip.172.18.80.5", "(role hyper-repl), not of a vg node"),
    ("inventory-eip-key-unknown",
     lambda c: _set(c, ["pek3b", "settings", "eip"], {"172.16.80.13": ["139.198.30.0/24|.1"]}), True,
     "pek3b.settings.eip.172.16.80.13", "no vg node of zone pek3b has management address 172.16.80.13"),
]


@pytest.mark.parametrize(
    ("mutate", "with_inventory", "path", "phrase"),
    [case[1:] for case in BAD_CONFIGS],
    ids=[case[0] for case in BAD_CONFIGS],
)
def test_bad_config_reported(mutate, with_inventory, path, phrase):
    config = mutate(_seed())
    inventory = _inventory() if with_inventory else None

    report = validate_config(config, catalog=CATALOG, inventory=inventory)

    assert not report.ok
    matches = [issue for issue in report.errors if issue.path == path and phrase in issue.message]
    assert matches, f"expected an error at {path} containing {phrase!r}; got:\n{_describe(report)}"


def test_bad_configs_table_size():
    assert len(BAD_CONFIGS) >= 30
    assert len({case[0] for case in BAD_CONFIGS}) == len(BAD_CONFIGS)


def test_issue_str_names_path_and_message():
    config = _set(_seed(), ["pek3a", "settings", "vbc", "mgmt_ips"], ["172.16.80.7", "172.16.80.9"])

    report = validate_config(config, catalog=CATALOG)

    assert str(report.first_error()) == (
        "pek3a.settings.vbc.ipv4_vip: 172.16.80.8 is not one of mgmt_ips (172.16.80.7, 172.16.80.9)"
    )
    assert report.first_error().zone == "pek3a"
    assert report.first_error().severity == "error"


def test_every_zone_reported_not_only_first():
    config = _seed()
    _set(config, ["pek3a", "settings", "vbc", "ipv4_vbc"], "10.10.50.1/24")
    _set(config, ["pek3b", "settings", "vbc", "ipv4_vbc"], "10.20.50.1/24")

    report = validate_config(config, catalog=CATALOG)

    assert [issue.path for issue in report.errors] == ["pek3a.settings.vbc.ipv4_vbc", "pek3b.settings.vbc.ipv4_vbc"]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.sampled_from(["", "1", "172.16.80.7"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_random_replacement_never_raises(data):
    """Replace one random part of the seed with random JSON: validation reports, it does not raise."""
    config = _seed()
    parent, key = None, None
    node = config
    while isinstance(node, (dict, list)) and node and data.draw(st.booleans()):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        parent, key = node, data.draw(st.sampled_from(keys))
        node = node[key]
    replacement = data.draw(_JSON)
    if parent is None:
        config = replacement
    else:
        parent[key] = replacement

    report = validate_config(config, catalog=CATALOG, inventory=_inventory())

    assert isinstance(report.ok, bool)
    for zone in report.zones.values():
        render_zone_files(zone)


def test_bad_input_never_raises():
    weird = [None, 5, "x", {"pek3a": None}, {"pek3a": {"variables": None, "settings": []}},
             {"pek3a": {"variables": {"common": 1}, "settings": {}}},
             {"pek3a": {"variables": {}, "settings": {"roles": {"n-pek3a01r01": None}, "vbc": 1, "eip": {"x": 1}}}},
             {"pek3a": {"variables": {"mgmt_network_pools": [None, 7]}, "settings": {"vbc": {"mgmt_ips": [1, None]}}}}]

    for config in weird:
        report = validate_config(config, catalog=CATALOG, inventory={})

        assert not report.ok, config


# --- warnings ------------------------------------------------------------------------


def _warnings_at(report, path):
    return [issue.message for issue in report.warnings if issue.path == path]


def test_flat_key_overridden_warns():
    config = _set(_seed(), ["pek3a", "variables", "deploy_mode"], "fusion")

    report = validate_config(config, catalog=CATALOG)

    assert report.zones["pek3a"].deploy_mode == "standard"
    assert _warnings_at(report, "pek3a.variables.deploy_mode") == [
        "deploy_mode 'fusion' is overridden by variables.advanced.deploy_mode ('standard'); "
        "move the value into advanced or remove it"
    ]


def test_hostname_off_convention_warns():
    inventory = _inventory()
    inventory["n-pek3a01r03"] = NodeFacts("n-pek3a01r03", "vg-node-1", "172.16.80.5")

    report = validate_config(_seed(), catalog=CATALOG, inventory=inventory)

    assert report.ok, _describe(report)
    assert _warnings_at(report, "pek3a.settings.roles.n-pek3a01r03") == [
        'hostname "vg-node-1" of node n-pek3a01r03 does not follow <zone_id>r<rack>n<slot>, e.g. pek3ar01n01'
    ]


def test_hostname_of_other_zone_warns():
    inventory = _inventory()
    inventory["n-pek3b01r01"] = NodeFacts("n-pek3b01r01", "pek3ar09n01", "172.16.80.3")

    report = validate_config(_seed(), catalog=CATALOG, inventory=inventory)

    assert len(_warnings_at(report, "pek3b.settings.roles.n-pek3b01r01")) == 1


def test_unregistered_node_warns_and_skips_address_checks():
    inventory = _inventory()
    del inventory["n-pek3a01r08"]

    report = validate_config(_seed(), catalog=CATALOG, inventory=inventory)

    assert report.ok, _describe(report)
    assert _warnings_at(report, "pek3a.settings.roles.n-pek3a01r08") == [
        "node n-pek3a01r08 is not registered; add it with AddNodes before deploying"
    ]


def test_recorded_role_differs_warns():
    inventory = _inventory()
    inventory["n-pek3a01r05"] = NodeFacts("n-pek3a01r05", "pek3ar01n05", "172.16.80.7", role="hyper")

    report = validate_config(_seed(), catalog=CATALOG, inventory=inventory)

    assert _warnings_at(report, "pek3a.settings.roles.n-pek3a01r05.role") == [
        "node n-pek3a01r05 is recorded with role hyper; this configuration gives it role hyper-repl"
    ]


def test_ks_node_in_fusion_zone_warns():
    config = _set(_seed(), ["pek3b", "settings", "roles", "n-pek3b01r06"], {"role": "ks-vm", "sub_roles": "seed"})

    report = validate_config(config, catalog=CATALOG)

    assert report.ok, _describe(report)
    assert _warnings_at(report, "pek3b.settings.roles.n-pek3b01r06.role") == [
        "role ks-vm is of kind ks, which deploy mode fusion does not use (it uses vg, hyper)"
    ]


def test_missing_eip_warns():
    config = _drop(_seed(), ["pek3b", "settings", "eip"])

    report = validate_config(config, catalog=CATALOG)

    assert report.ok, _describe(report)
    assert _warnings_at(report, "pek3b.settings.eip") == [
        "no EIP ranges are configured, so VMs of this zone get no public addresses"
    ]


def test_unknown_network_mode_warns():
    config = _set(_seed(), ["pek3b", "variables", "network_mode"], "flat")

    report = validate_config(config, catalog=CATALOG)

    assert report.ok, _describe(report)
    assert len(_warnings_at(report, "pek3b.variables.network_mode")) == 1


def test_zone_outside_region_name_warns():
    config = _seed()
    config["sh1a"] = config.pop("pek3b")
    _set(config, ["sh1a", "variables", "zone_id"], "sh1a")

    report = validate_config(config, catalog=CATALOG)

    assert report.ok, _describe(report)
    assert _warnings_at(report, "sh1a.variables.region_id") == [
        "zone id sh1a does not start with region_id pek3, as zone ids usually do"
    ]


def test_vbc_overlap_between_zones_warns():
    config = _set(_seed(), ["pek3b", "settings", "vbc", "ipv4_vbc"], "10.10.50.0/25")

    report = validate_config(config, catalog=CATALOG)

    assert report.ok, _describe(report)
    assert _warnings_at(report, "pek3b.settings.vbc.ipv4_vbc") == [
        "ipv4_vbc 10.10.50.0/25 overlaps ipv4_vbc 10.10.50.0/24 of zone pek3a at pek3a.settings.vbc.ipv4_vbc; "
        "this only works if the zones' networks are separate"
    ]


# --- optional parts ----------------------------------------------------------------


def test_vlan_zone_needs_no_vbc():
    config = _seed()
    _set(config, ["pek3b", "variables", "network_mode"], "vlan")
    _drop(config, ["pek3b", "settings", "vbc"])

    report = validate_config(config, catalog=CATALOG)

    assert report.ok, _describe(report)


def test_installer_allocated_vbc():
    config = _seed()
    _set(config, ["pek3b", "variables", "installer_allocate_vbc"], 1)
    _set(config, ["pek3b", "variables", "vm_base_network_start"], "10.20.0.0/16")
    _drop(config, ["pek3b", "settings", "vbc"])

    report = validate_config(config, catalog=CATALOG)

    assert report.ok, _describe(report)
    assert report.zones["pek3b"].variables["installer_allocate_vbc"] == 1


def test_ipv6_vbc_accepted():
    config = _seed()
    _set(config, ["pek3b", "settings", "vbc", "ipv6_vbc"], "2001:db8:20::/64")
    _set(config, ["pek3b", "settings", "vbc", "ipv6_vip"], "2001:db8:20::100|172.18.80.6")

    report = validate_config(config, catalog=CATALOG)

    assert report.ok, _describe(report)


def test_zone_config_renders_after_validation():
    report = validate_config(_seed(), catalog=CATALOG)

    files = render_zone_files(report.zones["pek3b"])

    assert "deploy_mode: fusion\n" in files["variables.pek3b.yaml"]
    assert "sub_roles: hyper,seed,vbr,snapshot\n" in files["settings.pek3b.yaml"]


# --- the role catalog --------------------------------------------------------------


def test_catalog_from_default():
    assert CATALOG.kinds == ("ks", "vg", "hyper")
    assert CATALOG.roles_of_kind("hyper") == ["hyper-repl", "hyper"]
    assert CATALOG.deploy_modes["fusion"].hyper_sub_roles == ("seed", "vbr", "snapshot")
    assert CATALOG.role("vg").sub_roles == ("vgateway",)


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        ([], "role catalog must be a mapping"),
        ({"roles": {}, "deploy_modes": {"x": {}}}, "roles is empty"),
        ({"roles": {"vg": {"sub_roles": []}}, "deploy_modes": {"x": {}}}, "roles.vg.kind must be a non-empty string"),
        ({"roles": {"vg": {"kind": "vg", "sub_roles": "vgateway"}}, "deploy_modes": {"x": {}}},
         "roles.vg.sub_roles must be a list of non-empty strings"),
        ({"roles": {"vg": {"kind": "vg"}}}, "deploy_modes must be a mapping"),
        ({"roles": {"vg": {"kind": "vg"}}, "deploy_modes": {"standard": {"requires_kinds": ["ks"]}}},
         "deploy_modes.standard.requires_kinds names ks, which no role has"),
    ],
)
def test_catalog_rejects_malformed(data, phrase):
    with pytest.raises(CatalogError) as caught:
        RoleCatalog.from_dict(data)

    assert phrase in str(caught.value)


def test_custom_catalog_roles_accepted():
    data = copy.deepcopy(DEFAULT_ROLE_CATALOG)
    data["roles"]["vg-ha"] = {"kind": "vg", "sub_roles": ["vgateway"]}
    config = _set(_seed(), ["pek3b", "settings", "roles", "n-pek3b01r02", "role"], "vg-ha")

    report = validate_config(config, catalog=RoleCatalog.from_dict(data))

    assert report.ok, _describe(report)
    assert report.zones["pek3b"].counts["vg"] == 2


# --- one finding, one error ------------------------------------------------------------


def test_missing_roles_reported_once():
    config = _drop(_seed(), ["pek3b", "settings", "roles"])

    report = validate_config(config, catalog=CATALOG)

    assert [str(issue) for issue in report.errors] == [
        'pek3b.settings.roles: roles is missing; map each node id to its role, e.g. '
        '{"n-pek3a01r01": {"role": "ks-vm", "sub_roles": "seed,vbr,snapshot"}}'
    ]


def test_overlap_with_ha_pair_reported_once_per_range():
    config = _set(_seed(), ["pek3b", "settings", "vbc", "ipv4_vbc"], "139.198.0.0/16")

    report = validate_config(config, catalog=CATALOG)

    assert [issue.message for issue in report.errors] == [
        "ipv4_vbc 139.198.0.0/16 overlaps EIP range 139.198.10.0/24 at settings.eip.172.16.80.3[0]",
        "ipv4_vbc 139.198.0.0/16 overlaps EIP range 139.198.20.0/24 at settings.eip.172.16.80.3[1]",
    ]
