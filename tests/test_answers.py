"""The answers file: round trips, kept comments, quoting, error messages, imports."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.answers import (
    Answers,
    AnswersError,
    NodeAnswer,
    add_nodes_params,
    answers_from_config_request,
    check_answers,
    dump_answers,
    load_answers,
)

SEED_REQUEST = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"
LOOKALIKES = ["1", "010", "0x1F", "1e3", "1_000", "no", "on", "off", "yes", "y", "N", "true", "~", "null",
              "12:30", "1:2:3", "2019-03-18", ".inf", "-.5", "=", "<<", "", " padded ", "a: b", "#x", "- x"]
FINGERPRINT_A = "SHA256:" + "A" * 43
FINGERPRINT_B = "SHA256:" + "b1+/" * 10 + "xyz"

# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12) | st.sampled_from(LOOKALIKES)
words = st.text(string.ascii_letters + string.digits + ".-_:[]", min_size=1, max_size=12)
ports = st.integers(1, 65535)
node_ids = st.from_regex(r"\An-[A-Za-z0-9]{4,12}\Z")
fingerprints = st.from_regex(r"\ASHA256:[A-Za-z0-9+/]{43}\Z")
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=12
)
zones = st.dictionaries(texts, st.dictionaries(texts, json_values, max_size=3), max_size=3)

node_answers = st.builds(
    NodeAnswer,
    ssh_host=words,
    ssh_port=st.none() | ports,
    node_id=st.none() | node_ids,
    mgmt_ip=st.none() | st.ip_addresses().map(str),
    host_key_fingerprints=st.lists(fingerprints, max_size=2),
    ssh_user=st.none() | words,
)
answers_strategy = st.builds(
    Answers,
    ssh_user=words,
    ssh_port=ports,
    ssh_key_file=texts,
    nodes=st.lists(node_answers, max_size=4, unique_by=(lambda node: node.ssh_host, lambda node: node.node_id or id(node))),
    config=zones,
    deploy_node_ids=st.lists(node_ids, max_size=3, unique=True),
)


def strictly_equal(left, right) -> bool:
    """Compare like ==, except that 1, 1.0 and True differ, as they do for a YAML reader."""
    if isinstance(left, dict):
        return isinstance(right, dict) and left.keys() == right.keys() and all(
            strictly_equal(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return isinstance(right, list) and len(left) == len(right) and all(map(strictly_equal, left, right))
    return type(left) is type(right) and left == right


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers_strategy)
def test_round_trip_is_lossless(answers):
    text = dump_answers(answers)

    loaded = load_answers(text)

    assert loaded == answers
    assert strictly_equal(loaded.config, answers.config)
    # A YAML 1.1 reader (PyYAML) reads the same configuration, because look-alikes were quoted.
    assert strictly_equal(yaml.safe_load(text)["config"], answers.config)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers_strategy, answers_strategy)
def test_rewrite_over_previous_file_is_lossless(previous, answers):
    text = dump_answers(answers, previous_text=dump_answers(previous))

    assert load_answers(text) == answers


def test_seed_request_imports_and_round_trips():
    request = json.loads(SEED_REQUEST.read_text(encoding="utf-8"))

    from_request = answers_from_config_request(request)
    from_bare_config = answers_from_config_request(request["config"])

    assert from_request.config == request["config"]
    assert from_bare_config == from_request
    assert from_request.nodes == []
    assert from_request.deploy_node_ids == []
    assert load_answers(dump_answers(from_request)) == from_request


def test_import_without_config_is_rejected():
    with pytest.raises(AnswersError) as raised:
        answers_from_config_request({"action": "ConfigQingCloud", "request_type": "QingCloud"})

    assert "config" in str(raised.value)


def test_import_keeps_string_values_strings():
    answers = answers_from_config_request({"pek3b": {"variables": {"is_region": "1"}, "settings": {}}})

    assert "is_region: '1'" in dump_answers(answers)


# ---------------------------------------------------------------------------
# YAML 1.1 look-alikes
# ---------------------------------------------------------------------------


def test_lookalike_strings_are_quoted():
    values = {"one": "1", "octal": "010", "answer": "no", "switch": "on", "time": "12:30", "short": "y"}
    answers = Answers(config={"pek3a": {"variables": values, "settings": {}}})

    text = dump_answers(answers)

    for key, value in values.items():
        assert f"{key}: '{value}'" in text
    assert load_answers(text).config["pek3a"]["variables"] == values
    assert yaml.safe_load(text)["config"]["pek3a"]["variables"] == values


def test_lookalike_keys_are_quoted():
    answers = Answers(config={"pek3a": {"variables": {"on": "x", "10": "z"}, "settings": {}}})

    text = dump_answers(answers)

    assert "'on': x" in text
    assert "'10': z" in text
    assert yaml.safe_load(text)["config"]["pek3a"]["variables"] == {"on": "x", "10": "z"}


def test_numbers_and_booleans_keep_their_type():
    variables = {"count": 3, "ratio": 1.5, "enabled": True, "nothing": None, "text": "3"}
    answers = Answers(config={"pek3a": {"variables": variables, "settings": {}}})

    loaded = load_answers(dump_answers(answers))

    assert strictly_equal(loaded.config["pek3a"]["variables"], variables)


def test_unquoted_lookalike_gets_quotes_on_rewrite():
    text = "version: 1\nconfig:\n  pek3a:\n    variables: {deploy_vdi: no, on: x}  # keep\n    settings: {}\n"

    answers = load_answers(text)
    rewritten = dump_answers(answers, previous_text=text)

    assert answers.config["pek3a"]["variables"] == {"deploy_vdi": "no", "on": "x"}
    assert "variables: {deploy_vdi: 'no', 'on': x} # keep" in rewritten
    assert yaml.safe_load(rewritten)["config"]["pek3a"]["variables"] == {"deploy_vdi": "no", "on": "x"}


# ---------------------------------------------------------------------------
# Comments survive a rewrite
# ---------------------------------------------------------------------------

OPERATOR_FILE = """\
# Site: Beijing 3, rack row B. Owner: platform team.
version: 1
ssh:
  user: root
  port: 22     # every node listens on 22
  key_file: ""

nodes:   # racked 2024-05
  # the first vg node
  - ssh_host: 192.0.2.10
    node_id: n-pek3b01r01
    host_key_fingerprints: [SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA]
  # spare, waiting for a disk
  - ssh_host: 192.0.2.11   # console on port 5
    ssh_port: 2222

# Both zones of the region.
config:
  # standard zone
  pek3a:
    variables:
      deploy_mode: standard   # ks-vm nodes are dedicated
    settings: {}
  # fusion zone
  pek3b:
    variables:
      deploy_mode: fusion
      is_region: '1'
    settings: {}

deploy:
  node_ids: []   # all of them
# end of file
"""


def line_before(text: str, line: str) -> str:
    lines = text.splitlines()
    return lines[lines.index(line) - 1]


def test_rewrite_keeps_comments_of_unchanged_parts():
    answers = load_answers(OPERATOR_FILE)
    answers.nodes[1].ssh_port = 2200
    answers.config["pek3b"]["variables"]["domain"] = "example.com"

    text = dump_answers(answers, previous_text=OPERATOR_FILE)

    assert load_answers(text) == answers
    for comment in ["# Site: Beijing 3, rack row B. Owner: platform team.", "# every node listens on 22",
                    "# racked 2024-05", "# the first vg node", "# console on port 5", "# Both zones of the region.",
                    "# standard zone", "# ks-vm nodes are dedicated", "# fusion zone", "# all of them",
                    "# end of file"]:
        assert comment in text
    assert line_before(text, "  - ssh_host: 192.0.2.11   # console on port 5") == "  # spare, waiting for a disk"
    assert "    ssh_port: 2200" in text
    assert "is_region: '1'" in text


def test_rewrite_unchanged_answers_gives_same_text():
    assert dump_answers(load_answers(OPERATOR_FILE), previous_text=OPERATOR_FILE) == OPERATOR_FILE


def test_comment_before_next_entry_survives_deletion():
    answers = load_answers(OPERATOR_FILE)
    del answers.config["pek3a"]
    del answers.nodes[0]

    text = dump_answers(answers, previous_text=OPERATOR_FILE)

    assert load_answers(text) == answers
    assert line_before(text, "  pek3b:") == "  # fusion zone"
    assert line_before(text, "  - ssh_host: 192.0.2.11   # console on port 5") == "  # spare, waiting for a disk"


def test_section_comment_stays_before_its_section():
    answers = load_answers(OPERATOR_FILE)
    answers.nodes.append(NodeAnswer(ssh_host="192.0.2.12"))

    added = dump_answers(answers, previous_text=OPERATOR_FILE)
    answers.nodes = []
    emptied = dump_answers(answers, previous_text=OPERATOR_FILE)

    assert "  - ssh_host: 192.0.2.12\n\n# Both zones of the region.\nconfig:\n" in added
    assert line_before(emptied, "config:") == "# Both zones of the region."
    assert "nodes: [] # racked 2024-05" in emptied


def test_new_file_explains_every_section():
    text = dump_answers(Answers())

    for explanation in ["# SSH defaults for every node", "# Nodes to register", "ConfigQingCloud's `config`",
                        "A password is never stored here", "# What `apply --deploy` deploys."]:
        assert explanation in text
    assert load_answers(text) == Answers()


def test_operator_indentation_is_kept():
    text = "version: 1\nnodes:\n- ssh_host: a\n  ssh_port: 23\nconfig:\n    pek3a:\n        settings: {}\n"
    answers = load_answers(text)
    answers.nodes.append(NodeAnswer(ssh_host="b"))

    rewritten = dump_answers(answers, previous_text=text)

    assert "\n- ssh_host: b\n" in rewritten
    assert "\n    pek3a:\n        settings: {}\n" in rewritten


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def error_of(text: str) -> AnswersError:
    with pytest.raises(AnswersError) as raised:
        load_answers(text, source="site.yaml")
    return raised.value


def test_yaml_syntax_error_names_line_and_column():
    error = error_of("version: 1\nssh:\n  user: root\n   port: 22\n")

    assert str(error).startswith("site.yaml, line 4, column 8: invalid YAML: ")
    assert (error.line, error.column) == (4, 8)


def test_bad_port_names_field_and_position():
    text = ("version: 1\nnodes:\n  - ssh_host: a\n  - ssh_host: b\n  - ssh_host: c\n    ssh_port: 70000\n")

    error = error_of(text)

    assert str(error) == "site.yaml, line 6, column 15: nodes[2].ssh_port: 70000 is not a port (1-65535)"
    assert error.field == "nodes[2].ssh_port"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 2\n", "version: 2 is not supported; this installer reads version 1"),
        ("version: 1\nnode: []\n", "node: unknown field; expected one of version, ssh, nodes, config, deploy"),
        ("nodes:\n  - ssh_port: 22\n", "nodes[0]: ssh_host is missing"),
        ("nodes:\n  - ssh_host: a\n    sshport: 22\n", "nodes[0].sshport: unknown field"),
        ("nodes:\n  - {ssh_host: a, node_id: pek3a}\n", "nodes[0].node_id: 'pek3a' is not a node id"),
        ("nodes:\n  - {ssh_host: a, mgmt_ip: 172.016.0.1}\n", "nodes[0].mgmt_ip: '172.016.0.1' is not an IPv4 or IPv6"),
        ("nodes:\n  - {ssh_host: a, host_key_fingerprints: [MD5:aa]}\n",
         "nodes[0].host_key_fingerprints[0]: 'MD5:aa' is not a host key fingerprint"),
        ("nodes:\n  - ssh_host: a\n  - ssh_host: a\n", "nodes[1]: root@a:22 is listed twice (also nodes[0])"),
        ("ssh: {port: '22'}\n", "ssh.port: '22' is not a port"),
        ("ssh: {user: ''}\n", "ssh.user: '' is not a user name"),
        ("config:\n  pek3a: [1]\n", "config.pek3a: a list is not a mapping of variables and settings"),
        ("config:\n  pek3a:\n    variables: {start: 2019-03-18}\n",
         "config.pek3a.variables.start: 2019-03-18 is read as a date or time; quote it"),
        ("config:\n  pek3a:\n    variables: {ratio: .nan}\n", "config.pek3a.variables.ratio: nan is not a finite number"),
        ("config:\n  pek3a:\n    variables: {80: x}\n", "config.pek3a.variables: key 80 is not a string"),
        ("deploy: {node_ids: [n-abcd, n-abcd]}\n", "deploy.node_ids[1]: n-abcd is listed twice"),
        ("", "the file is empty"),
        ("- a\n", "(top level): a list is not a mapping"),
    ],
)
def test_invalid_field_is_named(text, expected):
    assert expected in str(error_of(text))


def test_duplicate_key_is_a_yaml_error_with_position():
    error = error_of("version: 1\nssh: {}\nssh: {}\n")

    assert (error.line, error.column) == (3, 1)


def test_check_answers_matches_load():
    check_answers(Answers(nodes=[NodeAnswer(ssh_host="a")]))

    with pytest.raises(AnswersError) as raised:
        check_answers(Answers(nodes=[NodeAnswer(ssh_host="a", ssh_port=0)]))

    assert "nodes[0].ssh_port: 0 is not a port" in str(raised.value)


# ---------------------------------------------------------------------------
# AddNodes parameters
# ---------------------------------------------------------------------------


def test_add_nodes_params_apply_defaults():
    answers = Answers(
        ssh_user="deploy", ssh_port=2200, ssh_key_file="/keys/site",
        nodes=[
            NodeAnswer(ssh_host="192.0.2.10", node_id="n-pek3b01r01", mgmt_ip="172.16.80.3",
                       host_key_fingerprints=[FINGERPRINT_A]),
            NodeAnswer(ssh_host="192.0.2.11", ssh_port=22, ssh_user="root", host_key_fingerprints=[FINGERPRINT_B]),
        ],
    )

    params = add_nodes_params(answers)

    assert params == {
        "nodes": [
            {"ssh_host": "192.0.2.10", "ssh_port": 2200, "ssh_user": "deploy", "node_id": "n-pek3b01r01",
             "mgmt_ip": "172.16.80.3"},
            {"ssh_host": "192.0.2.11", "ssh_port": 22, "ssh_user": "root"},
        ],
        "ssh_key_file": "/keys/site",
        "trusted_fingerprints": [FINGERPRINT_A, FINGERPRINT_B],
    }


def test_add_nodes_params_leave_out_the_installer_key():
    params = add_nodes_params(Answers(nodes=[NodeAnswer(ssh_host="a")]))

    assert params == {"nodes": [{"ssh_host": "a", "ssh_port": 22, "ssh_user": "root"}]}
