"""Merging of zone variables (flat or grouped), zone defaults, and rendering of the zone files."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import (
    DEFAULT_ROLE_CATALOG,
    ConfigValueError,
    RoleCatalog,
    merge_variables,
    merge_variables_traced,
    render_zone_files,
    validate_config,
    zone_defaults,
)

# Other test processes may share the machine, so neither a per-example deadline
# nor the slow-generation check may fail a property.
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEED = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"
CATALOG = RoleCatalog.from_dict(DEFAULT_ROLE_CATALOG)


@pytest.fixture
def seed_config():
    return json.loads(SEED.read_text(encoding="utf-8"))["config"]


# --- merge_variables -------------------------------------------------------------


def test_grouped_pek3a_deploys_standard(seed_config):
    merged = merge_variables(seed_config["pek3a"]["variables"])

    assert merged == {
        "region_id": "pek3",
        "deploy_mode": "standard",
        "cloud_type": "private",
        "domain": "qingcloud.com",
        "zone_id": "pek3a",
        "mgmt_network_pools": ["172.16.80.20-172.16.80.40"],
    }


def test_flat_pek3b_passes_through(seed_config):
    variables = seed_config["pek3b"]["variables"]

    assert merge_variables(variables) == variables


def test_merge_leaves_input_unchanged(seed_config):
    variables = seed_config["pek3a"]["variables"]
    before = copy.deepcopy(variables)

    merged = merge_variables(variables)
    merged["mgmt_network_pools"].append("10.0.0.1-10.0.0.2")

    assert variables == before


def test_advanced_over_base_over_common():
    variables = {
        "common": {"a": "common", "b": "common", "c": "common"},
        "base": {"b": "base", "c": "base"},
        "advanced": {"c": "advanced"},
    }

    assert merge_variables(variables) == {"a": "common", "b": "base", "c": "advanced"}


def test_nested_mappings_merge_deep():
    variables = {
        "common": {"vdi": {"deploy_vdi": "0", "image": "win10"}},
        "advanced": {"vdi": {"deploy_vdi": "1"}},
    }

    assert merge_variables(variables) == {"vdi": {"deploy_vdi": "1", "image": "win10"}}


def test_lists_are_replaced_not_joined():
    variables = {
        "common": {"mgmt_network_pools": ["172.16.80.20-172.16.80.40"]},
        "advanced": {"mgmt_network_pools": ["172.16.81.20-172.16.81.40"]},
    }

    assert merge_variables(variables)["mgmt_network_pools"] == ["172.16.81.20-172.16.81.40"]


def test_flat_key_beats_common_loses_to_base():
    variables = {
        "common": {"domain": "common.example", "cloud_type": "common"},
        "cloud_type": "flat",
        "domain": "flat.example",
        "base": {"domain": "base.example"},
    }

    merged = merge_variables_traced(variables)

    assert merged.values == {"domain": "base.example", "cloud_type": "flat"}
    assert merged.sources == {"domain": "variables.base", "cloud_type": "variables"}


def test_override_of_flat_key_recorded():
    variables = {"deploy_mode": "fusion", "advanced": {"deploy_mode": "standard"}, "base": {"domain": "x"}}

    merged = merge_variables_traced(variables)

    assert [(o.key, o.value, o.winner, o.winner_value) for o in merged.overrides] == [
        ("deploy_mode", "fusion", "variables.advanced", "standard")
    ]


def test_group_override_not_recorded(seed_config):
    merged = merge_variables_traced(seed_config["pek3a"]["variables"])

    assert merged.overrides == []
    assert merged.path_of("deploy_mode") == "variables.advanced.deploy_mode"
    assert merged.path_of("region_id") == "variables.common.region_id"


def test_empty_group_is_none():
    assert merge_variables({"common": None, "advanced": {"zone_id": "pek3a"}}) == {"zone_id": "pek3a"}


def test_group_not_mapping_rejected():
    with pytest.raises(ConfigValueError) as caught:
        merge_variables({"common": "pek3", "advanced": {}})

    assert caught.value.path == "variables.common"
    assert "group common must be a mapping" in caught.value.message


def test_variables_not_mapping_rejected():
    with pytest.raises(ConfigValueError) as caught:
        merge_variables(["deploy_mode", "fusion"])

    assert caught.value.path == "variables"
    assert "got list" in caught.value.message


def test_values_keep_their_types():
    merged = merge_variables({"is_region": "1", "installer_allocate_vbc": 1})

    assert merged["is_region"] == "1"
    assert merged["installer_allocate_vbc"] == 1


_names = st.text(alphabet="abcdefghij_", min_size=1, max_size=6).filter(lambda n: n not in ("common", "base", "advanced"))
_values = st.one_of(st.text(max_size=5), st.integers(), st.lists(st.integers(), max_size=3))


@PROPERTY
@given(st.dictionaries(_names, _values, max_size=8))
def test_flat_variables_unchanged(variables):
    assert merge_variables(variables) == variables


@PROPERTY
@given(
    st.dictionaries(_names, _values, max_size=5),
    st.dictionaries(_names, _values, max_size=5),
    st.dictionaries(_names, _values, max_size=5),
)
def test_groups_merge_like_dict_update(common, base, advanced):
    expected = {**common, **base, **advanced}

    assert merge_variables({"common": common, "base": base, "advanced": advanced}) == expected


# --- zone defaults ----------------------------------------------------------------


def test_zone_defaults():
    assert zone_defaults("pek3a") == {
        "zone_id": "pek3a",
        "cloud_type": "private",
        "network_mode": "nfv",
        "sdn_version": "2",
        "is_region": "1",
        "installer_allocate_vbc": "0",
    }


def test_defaults_fill_seed_zones(seed_config):
    report = validate_config(seed_config, catalog=CATALOG)

    pek3b = report.zones["pek3b"].variables
    assert pek3b["installer_allocate_vbc"] == "0"
    assert pek3b["network_mode"] == "nfv"
    assert pek3b["sdn_version"] == "2"
    assert report.zones["pek3a"].variables["is_region"] == "1"


def test_variables_beat_defaults():
    merged = merge_variables_traced({"network_mode": "vlan", "common": {"sdn_version": "1"}}, zone_defaults("pek3a"))

    assert merged.values["network_mode"] == "vlan"
    assert merged.values["sdn_version"] == "1"
    assert merged.values["cloud_type"] == "private"
    assert merged.sources["cloud_type"] == "defaults"


# --- rendering -------------------------------------------------------------------


def test_render_file_names_and_header(seed_config):
    zone = validate_config(seed_config, catalog=CATALOG).zones["pek3a"]

    files = render_zone_files(zone)

    assert sorted(files) == ["settings.pek3a.yaml", "variables.pek3a.yaml"]
    for name, text in files.items():
        assert text.startswith(f"# {name}: configuration of zone pek3a.\n")
        assert "Generated by qingcloud-installer" in text
        assert "Do not edit by hand" in text


def test_render_round_trips_through_yaml(seed_config):
    zone = validate_config(seed_config, catalog=CATALOG).zones["pek3a"]

    files = render_zone_files(zone)

    assert yaml.safe_load(files["variables.pek3a.yaml"]) == zone.variables
    assert yaml.safe_load(files["settings.pek3a.yaml"]) == seed_config["pek3a"]["settings"]


def test_render_keeps_strings_quoted(seed_config):
    zone = validate_config(seed_config, catalog=CATALOG).zones["pek3b"]

    text = render_zone_files(zone)["variables.pek3b.yaml"]

    assert "is_region: '1'\n" in text
    assert "installer_allocate_vbc: '0'\n" in text


def test_render_variables_order(seed_config):
    zone = validate_config(seed_config, catalog=CATALOG).zones["pek3a"]

    text = render_zone_files(zone)["variables.pek3a.yaml"]
    keys = [line.split(":")[0] for line in text.splitlines() if line and line[0].isalpha()]

    assert keys == [
        "zone_id",
        "region_id",
        "is_region",
        "deploy_mode",
        "cloud_type",
        "network_mode",
        "sdn_version",
        "domain",
        "installer_allocate_vbc",
        "mgmt_network_pools",
    ]


def test_render_ignores_request_key_order(seed_config):
    reordered = copy.deepcopy(seed_config)
    settings = reordered["pek3a"]["settings"]
    settings["roles"] = dict(reversed(list(settings["roles"].items())))
    settings["vbc"] = dict(reversed(list(settings["vbc"].items())))
    reordered["pek3a"]["settings"] = dict(reversed(list(settings.items())))
    reordered["pek3a"]["variables"]["advanced"] = dict(reversed(list(reordered["pek3a"]["variables"]["advanced"].items())))

    original = render_zone_files(validate_config(seed_config, catalog=CATALOG).zones["pek3a"])
    shuffled = render_zone_files(validate_config(reordered, catalog=CATALOG).zones["pek3a"])

    assert shuffled == original


def test_render_sorts_eip_keys_as_addresses(seed_config):
    eip = seed_config["pek3a"]["settings"]["eip"]
    seed_config["pek3a"]["settings"]["eip"] = {"172.16.80.10": eip["172.16.80.6"], "172.16.80.9": eip["172.16.80.5"]}
    zone = validate_config(seed_config, catalog=CATALOG).zones["pek3a"]

    text = render_zone_files(zone)["settings.pek3a.yaml"]

    assert text.index("172.16.80.9:") < text.index("172.16.80.10:")
