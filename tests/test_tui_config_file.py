"""Reading configuration files in the TUI: formats, positions of parse errors, unwrapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.screens.config_source import ConfigFileError, parse_config_text, read_config_file

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED_RAW = FIXTURES / "config-qingcloud.seed-raw.txt"
SEED_JSON = FIXTURES / "config-qingcloud.seed.json"

ZONE = {"variables": {"zone_id": "pek3b", "deploy_mode": "fusion"}, "settings": {"roles": {}}}


def test_seed_raw_reports_line_and_column():
    with pytest.raises(ConfigFileError) as caught:
        read_config_file(str(SEED_RAW))

    assert caught.value.line == 7
    assert caught.value.column == 26
    assert caught.value.describe() == "line 7, column 26: invalid JSON: Expecting ':' delimiter"


def test_seed_json_unwraps_request():
    loaded = read_config_file(str(SEED_JSON))

    assert loaded.format == "json"
    assert sorted(loaded.config) == ["pek3a", "pek3b"]


def test_bare_config_yaml(tmp_path):
    path = tmp_path / "site.yml"
    path.write_text("pek3b:\n  variables:\n    zone_id: pek3b\n    deploy_mode: fusion\n  settings:\n    roles: {}\n")

    loaded = read_config_file(str(path))

    assert loaded.format == "yaml"
    assert loaded.config == {"pek3b": ZONE}


def test_yaml_error_position(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("pek3b:\n  variables: [zone_id\n  settings: {}\n")

    with pytest.raises(ConfigFileError) as caught:
        read_config_file(str(path))

    assert caught.value.line == 3
    assert caught.value.column is not None
    assert "invalid YAML" in caught.value.message


def test_json_suffix_never_falls_back_to_yaml(tmp_path):
    path = tmp_path / "site.json"
    path.write_text("pek3b:\n  variables: {}\n")

    with pytest.raises(ConfigFileError) as caught:
        read_config_file(str(path))

    assert "invalid JSON" in caught.value.message
    assert (caught.value.line, caught.value.column) == (1, 1)


def test_unknown_suffix_tries_json_then_yaml():
    assert parse_config_text(json.dumps({"pek3b": ZONE}), ".conf") == ("json", {"pek3b": ZONE})
    assert parse_config_text("pek3b:\n  settings: {}\n", ".conf") == ("yaml", {"pek3b": {"settings": {}}})


def test_unknown_suffix_reports_yaml_error_for_yaml_text():
    with pytest.raises(ConfigFileError) as caught:
        parse_config_text("pek3b:\n  variables: [a\n  settings: {}\n", "")

    assert "invalid YAML" in caught.value.message


def test_missing_file_and_wrong_shape(tmp_path):
    with pytest.raises(ConfigFileError, match="file not found"):
        read_config_file(str(tmp_path / "absent.json"))

    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(ConfigFileError, match="mapping of zone ids"):
        read_config_file(str(path))

    path.write_text('{"action": "ConfigQingCloud", "config": {}}')
    with pytest.raises(ConfigFileError, match="non-empty mapping"):
        read_config_file(str(path))
