"""Changing a YAML file in place: only the changed lines differ, and the file reads back as asked.

The fixture is the demo recipe's server.yaml. It has a header comment, inline
comments, a four-space block among two-space ones, a flow list, a quoted string
over two lines and a literal block. Some of its values are read as other types
by YAML 1.1: `no`, `off`, `12:30`, `2025-03-01 00:00:00`, `010`.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.nodeconfig import (
    ChangeError,
    ConfigFileError,
    SegmentNotFound,
    apply_change,
    check_change,
    parse_document,
    resolve_segment,
    same_data,
    to_plain,
    unified_diff,
)
from engine.nodeconfig.outline import outline
from engine.recipe import DEMO_RECIPE_DIR

SERVER_YAML = (DEMO_RECIPE_DIR / "files" / "server.yaml").read_text(encoding="utf-8")

REFERENCE_POLICIES = {
    "cache": "lxc,kvm",
    "hadoop": "lxc,kvm",
    "loadbalancer": "lxc,kvm",
    "mongo": "kvm",
    "nfv": "lxc,kvm",
    "rdb": "lxc,kvm",
    "rdb_mysql5.5": "kvm",
    "router": "lxc,kvm",
}

LOOKALIKE_LINES = [
    "  debug: no                     # YAML 1.1 reads this as false",
    "  maintenance_window: 12:30     # local time; YAML 1.1 reads it as 750",
    "  quota_check: off",
    "    instances: 010              # octal in YAML 1.1, so this is 8",
    "    cycle_start: 2025-03-01 00:00:00",
]


def change_text(text: str, change: dict) -> str:
    return apply_change(parse_document(text, source="server.yaml"), change)


def changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    """Return the removed and added lines of the diff from old to new."""
    diff = unified_diff(old, new, "server.yaml").splitlines()
    removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    return removed, added


def data_of(text: str):
    return yaml.safe_load(text)


# -- the reference's examples ---------------------------------------------------


def test_reference_modify_changes_one_line():
    new = change_text(SERVER_YAML, {"account_server": {"qingstor_enable": 1}})
    removed, added = changed_lines(SERVER_YAML, new)

    assert removed == ["  qingstor_enable: 0            # 1 turns QingStor accounts on"]
    assert added == ["  qingstor_enable: 1            # 1 turns QingStor accounts on"]
    assert data_of(new)["account_server"]["qingstor_enable"] == 1
    assert new.startswith("# server.yaml: settings that the QingCloud services")


def test_untouched_lookalikes_come_back_verbatim():
    new = change_text(SERVER_YAML, {"account_server": {"qingstor_enable": 1}})

    for line in LOOKALIKE_LINES:
        assert line in new.splitlines(), line
    assert '    currencies: [cny, usd,  hkd]' in new
    assert '    notice: "Billing runs once an hour\n      and mails the zone\'s administrators."' in new


def test_reference_segment_reads_policies():
    document = parse_document(SERVER_YAML, source="server.yaml")

    path, value = resolve_segment(to_plain(document.data), "common.hypervisor_policies")

    assert path == ["common", "hypervisor_policies"]
    assert value == REFERENCE_POLICIES


def test_dotted_key_resolves_against_real_keys():
    plain = to_plain(parse_document(SERVER_YAML, source="server.yaml").data)

    assert resolve_segment(plain, "common.hypervisor_policies.rdb_mysql5.5") == (
        ["common", "hypervisor_policies", "rdb_mysql5.5"], "kvm")


# -- segments -----------------------------------------------------------------------


def test_segment_backtracks_from_longest_key():
    data = {"a.b": {"c": 1}, "a": {"b": {"d": 2}}}

    assert resolve_segment(data, "a.b.c") == (["a.b", "c"], 1)
    assert resolve_segment(data, "a.b.d") == (["a", "b", "d"], 2)


def test_segment_indexes_lists():
    data = {"servers": [{"host": "a"}, {"host": "b"}]}

    assert resolve_segment(data, "servers.1.host") == (["servers", 1, "host"], "b")


def test_missing_segment_names_deepest_part():
    plain = to_plain(parse_document(SERVER_YAML, source="server.yaml").data)

    with pytest.raises(SegmentNotFound) as raised:
        resolve_segment(plain, "common.hypervisor_policies.rdb_mysql5.6")

    message = raised.value.describe("server.yaml")
    assert "segment 'common.hypervisor_policies.rdb_mysql5.6' not found in server.yaml" in message
    assert "common.hypervisor_policies has no 'rdb_mysql5.6'" in message
    assert "rdb_mysql5.5" in message


def test_segment_below_scalar_names_its_type():
    plain = to_plain(parse_document(SERVER_YAML, source="server.yaml").data)

    with pytest.raises(SegmentNotFound) as raised:
        resolve_segment(plain, "account_server.quota_check.level")

    assert "account_server.quota_check is a boolean, so it has no 'level'" in raised.value.describe()


def test_unknown_top_level_segment():
    with pytest.raises(SegmentNotFound) as raised:
        resolve_segment({"common": {}}, "nosuch.key")

    assert "the top level has no 'nosuch.key' (its keys: common)" in raised.value.describe()


# -- changes that keep the layout ---------------------------------------------------


def test_flow_list_in_four_space_block_stays_flow():
    new = change_text(SERVER_YAML, {"billing_server": {"currencies": ["cny", "eur"]}})

    assert changed_lines(SERVER_YAML, new) == (["    currencies: [cny, usd,  hkd]"], ["    currencies: [cny, eur]"])


def test_two_line_quoted_string_replaced_in_its_quotes():
    new = change_text(SERVER_YAML, {"billing_server": {"notice": "Billing runs daily."}})
    removed, added = changed_lines(SERVER_YAML, new)

    assert removed == ['    notice: "Billing runs once an hour', "      and mails the zone's administrators.\""]
    assert added == ['    notice: "Billing runs daily."']


def test_literal_block_stays_literal():
    new = change_text(SERVER_YAML, {"api_server": {"banner": "QingCloud\nLab use only.\n"}})
    removed, added = changed_lines(SERVER_YAML, new)

    assert removed == ["    QingCloud private cloud", "    Authorised use only."]
    assert added == ["    QingCloud", "    Lab use only."]
    assert data_of(new)["api_server"]["banner"] == "QingCloud\nLab use only.\n"


def test_new_key_follows_last_sibling():
    new = change_text(SERVER_YAML, {"common": {"hypervisor_policies": {"rdb_mysql8.0": "kvm"}}})
    lines = new.splitlines()

    assert changed_lines(SERVER_YAML, new) == ([], ["    rdb_mysql8.0: kvm"])
    assert lines[lines.index('    router: "lxc,kvm"') + 1] == "    rdb_mysql8.0: kvm"


def test_new_section_appended_with_file_indentation():
    new = change_text(SERVER_YAML, {"monitor_server": {"targets": {"zone": ["pek3a", "pek3b"]}}})

    assert changed_lines(SERVER_YAML, new)[1] == [
        "monitor_server:", "  targets:", "    zone:", "      - pek3a", "      - pek3b",
    ]
    assert data_of(new)["monitor_server"] == {"targets": {"zone": ["pek3a", "pek3b"]}}


def test_boolean_keeps_yes_no_spelling():
    new = change_text(SERVER_YAML, {"common": {"debug": True}, "account_server": {"quota_check": True}})
    removed, added = changed_lines(SERVER_YAML, new)

    assert added == ["  debug: yes                    # YAML 1.1 reads this as false", "  quota_check: on"]
    assert removed == ["  debug: no                     # YAML 1.1 reads this as false", "  quota_check: off"]


@pytest.mark.parametrize("value", ["no", "off", "12:30", "2025-03-01 00:00:00", "010", "1e3", "~", "- x", "a: b"])
def test_lookalike_strings_are_quoted(value):
    new = change_text(SERVER_YAML, {"common": {"log_level": value}})

    assert data_of(new)["common"]["log_level"] == value
    assert f"  log_level: {value}\n" not in new


def test_scalar_becomes_mapping_in_block_style():
    new = change_text(SERVER_YAML, {"common": {"log_level": {"default": "info", "billing": "debug"}}})

    assert changed_lines(SERVER_YAML, new) == (
        ["  log_level: info"], ["  log_level:", "    default: info", "    billing: debug"])


def test_empty_value_gets_value():
    text = "a:\nb: 1\n"

    assert change_text(text, {"a": "x"}) == "a: x\nb: 1\n"
    assert change_text(text, {"a": {"c": 1}}) == "a:\n  c: 1\nb: 1\n"


def test_flow_mapping_takes_new_key():
    assert change_text("limits: {cpu: 4}\n", {"limits": {"memory": "8G"}}) == "limits: {cpu: 4, memory: 8G}\n"


def test_windows_line_ends_and_bom_kept():
    text = "\ufeff# settings\r\na: 1\r\nb:\r\n  c: 2\r\n"

    new = change_text(text, {"b": {"c": 3, "d": [1]}})

    assert new == "\ufeff# settings\r\na: 1\r\nb:\r\n  c: 3\r\n  d:\r\n    - 1\r\n"


def test_missing_final_newline_in_diff():
    old = "a: 1\nb: 2"

    new = change_text(old, {"b": 3})

    assert new == "a: 1\nb: 3"
    assert unified_diff(old, new, "x.yaml").splitlines()[-4:] == [
        "-b: 2", "\\ No newline at end of file", "+b: 3", "\\ No newline at end of file"]


def test_comment_only_file_gets_keys():
    assert change_text("# nothing yet\n", {"a": {"b": 1}}) == "# nothing yet\na:\n  b: 1\n"


def test_same_value_leaves_text_alone():
    assert change_text(SERVER_YAML, {"account_server": {"qingstor_enable": 0}}) == SERVER_YAML


def test_merge_key_value_overridden_locally():
    text = "base: &base {timeout: 30}\nsite:\n  <<: *base\n  name: a\n"

    new = change_text(text, {"site": {"timeout": 60}})

    assert new == "base: &base {timeout: 30}\nsite:\n  <<: *base\n  name: a\n  timeout: 60\n"


# -- changes that are refused ---------------------------------------------------------


def test_mapping_not_replaced_by_scalar():
    with pytest.raises(ChangeError, match="segment.common: the file has a mapping here"):
        change_text(SERVER_YAML, {"common": 1})


def test_dotted_key_must_be_nested():
    with pytest.raises(ChangeError, match="account_server.qingstor_enable is; write the change as nested mappings"):
        change_text(SERVER_YAML, {"account_server.qingstor_enable": 1})


def test_anchored_value_refused():
    text = "base: &base {timeout: 30}\nsite: *base\n"

    with pytest.raises(ChangeError, match="anchor that an alias elsewhere in the file reuses"):
        change_text(text, {"base": {"timeout": 60}})


def test_duplicate_keys_refused():
    with pytest.raises(ConfigFileError, match="key 'a' appears at line 1 and again at line 3"):
        change_text("a: 1\nb: 2\na: 3\n", {"b": 5})


def test_invalid_yaml_names_line():
    with pytest.raises(ConfigFileError, match="server.yaml is not valid YAML: .* at line 2"):
        parse_document("a: 1\n b: [\n", source="server.yaml")


def test_list_top_level_refused():
    with pytest.raises(ConfigFileError, match="top level of server.yaml is a list"):
        change_text("- a\n- b\n", {"a": 1})


@pytest.mark.parametrize(("change", "message"), [
    ({}, "segment is empty"),
    ([1], "segment must be a mapping"),
    ({"a": {"": 1}}, r"segment.a: key '' is not accepted"),
    ({"a": float("nan")}, "segment.a: nan is not accepted"),
    ({"a": [1, object()]}, r"segment.a\[1\]: a object is not accepted"),
])
def test_change_shape_checked(change, message):
    with pytest.raises(ChangeError, match=message):
        check_change(change)


# -- values in, the same values out ----------------------------------------------------

JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(key=st.text(min_size=1, max_size=10), value=JSON_VALUES)
def test_any_json_value_reads_back(key, value):
    """A value written into the four-space block, or over a plain scalar, reads back as itself."""
    new = change_text(SERVER_YAML, {"billing_server": {key: value}, "common": {"log_level": value}})

    written = data_of(new)
    assert same_data(written["billing_server"][key], value)
    assert same_data(written["common"]["log_level"], value)


# -- data for viewers -----------------------------------------------------------------


def test_plain_data_for_json():
    plain = to_plain(parse_document(SERVER_YAML, source="server.yaml").data)

    assert plain["common"]["debug"] is False
    assert plain["common"]["maintenance_window"] == 750
    assert plain["account_server"]["default_quota"]["instances"] == 8
    assert plain["billing_server"]["cycle_start"] == "2025-03-01 00:00:00"
    assert to_plain({8080: datetime(2025, 3, 1, 12, 30), True: float("inf")}) == {
        "8080": "2025-03-01 12:30:00", "true": ".inf"}


def test_outline_points_at_source_lines():
    document = parse_document(SERVER_YAML, source="server.yaml")
    lines = SERVER_YAML.splitlines()

    entries = {tuple(entry["path"]): entry for entry in outline(document)}

    policies = entries[("common", "hypervisor_policies")]
    assert lines[policies["line"] - 1] == "  hypervisor_policies:"
    assert lines[policies["end_line"] - 1] == '    router: "lxc,kvm"'
    notice = entries[("billing_server", "notice")]
    assert SERVER_YAML[notice["start"]:notice["end"]] == '"Billing runs once an hour\n      and mails the zone\'s administrators."'
    assert entries[("billing_server", "currencies", 2)]["line"] == entries[("billing_server", "currencies")]["line"]
