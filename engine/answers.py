"""The answers file: everything the configuration wizard collects, as commented YAML.

`qc-installer apply FILE` replays an answers file without the wizard: it
registers the file's nodes, applies its configuration and can deploy it.
The file is YAML 1.2 (so an unquoted `no` is the string "no"), read and
written with ruamel.yaml in round-trip mode, so that the comments an
operator adds survive when the wizard writes the file again.

This module is pure data: it parses, checks and writes the file and builds
API parameters, and it never calls the engine.
"""

from __future__ import annotations

import copy
import datetime
import io
import ipaddress
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, NoReturn

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from engine.models.common import NODE_ID_PATTERN
from engine.yaml_update import guess_indentation, round_trip_yaml, update_node

FORMAT_VERSION = 1

#: A host key fingerprint as `ssh-keygen -l` prints it and AddNodes accepts it.
FINGERPRINT_PATTERN = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
_NODE_ID = re.compile(NODE_ID_PATTERN)
_TOP_FIELDS = ("version", "ssh", "nodes", "config", "deploy")
_SSH_FIELDS = ("user", "port", "key_file")
_NODE_FIELDS = ("ssh_host", "ssh_port", "ssh_user", "node_id", "mgmt_ip", "host_key_fingerprints")
_DEPLOY_FIELDS = ("node_ids",)

#: A new file starts from this text, so that every section carries its explanation.
TEMPLATE = """\
# qingcloud-installer answers file: what the configuration wizard collected,
# so that `qc-installer apply FILE` can install the same site unattended.
# The installer keeps the comments you add here when it writes this file again.
# This is YAML 1.2. Quote strings that could be read as numbers, booleans or
# times ('1', '010', 'no', 'on', '12:30') so that every reader keeps them strings.
version: 1    # format of this file; this installer reads version 1

# SSH defaults for every node; a node entry may set its own ssh_port and ssh_user.
ssh:
  user: root      # login user on the nodes
  port: 22        # TCP port, 1-65535
  key_file: ""    # private key on the installer host; empty: the installer's own key
  # A password is never stored here: `apply` asks for it (or reads it with
  # --password-stdin) when a node does not accept the installer's key yet.

# Nodes to register (AddNodes); empty when they are registered already.
#   ssh_host               address where SSH reaches the node (required)
#   ssh_port, ssh_user     optional; default from the ssh section
#   node_id                optional: n- and 4 to 32 letters or digits; generated when absent
#   mgmt_ip                optional management address; default ssh_host
#   host_key_fingerprints  SHA256 fingerprints the operator confirmed; apply
#                          rejects a node whose host key is none of them
nodes: []

# The platform configuration, exactly ConfigQingCloud's `config`:
# zone id -> {variables, settings}. Empty: every zone keeps its configuration.
config: {}

# What `apply --deploy` deploys.
deploy:
  node_ids: []    # empty: every registered node that holds a role
"""


class AnswersError(ValueError):
    """An answers file that cannot be read or is invalid; the message names where and why.

    `line` and `column` are 1-based and None when unknown; `field` is the path of
    the bad field (e.g. "nodes[2].ssh_port"), empty for errors of the YAML syntax.
    """

    def __init__(self, source: str, problem: str, *, field: str = "",
                 line: int | None = None, column: int | None = None) -> None:
        self.source = source
        self.problem = problem
        self.field = field
        self.line = line
        self.column = column
        where = source if line is None else f"{source}, line {line}, column {column}"
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


@dataclass
class NodeAnswer:
    """One node to register; fields left None take their default from the ssh section."""

    ssh_host: str
    ssh_port: int | None = None
    node_id: str | None = None
    mgmt_ip: str | None = None
    host_key_fingerprints: list[str] = field(default_factory=list)
    ssh_user: str | None = None


@dataclass
class Answers:
    """The whole answers file; `config` is ConfigQingCloud's `config` as plain JSON values."""

    ssh_user: str = "root"
    ssh_port: int = 22
    ssh_key_file: str = ""
    nodes: list[NodeAnswer] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    deploy_node_ids: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

Locate = Callable[[str], "tuple[int, int] | None"]


def _parse(text: str, source: str) -> Any:
    try:
        return round_trip_yaml().load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = ": ".join(part for part in (error.context, error.problem) if part) or "not YAML"
        raise AnswersError(
            source, f"invalid YAML: {problem}",
            line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
        ) from None
    except YAMLError as error:
        raise AnswersError(source, f"invalid YAML: {error}") from None


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _position(container: Any, key: Any, *, of_key: bool = False) -> tuple[int, int] | None:
    """Return the 1-based (line, column) of a mapping value or key, or of a sequence item, when known."""
    data = getattr(getattr(container, "lc", None), "data", None) or {}
    place = data.get(key)
    if not place:
        return None
    line, column = (place[0], place[1]) if of_key or len(place) < 4 else (place[2], place[3])
    return line + 1, column + 1


def _to_plain(node: Any, path: str, positions: dict[str, tuple[int, int]], source: str) -> Any:
    """Convert ruamel's round-trip objects into JSON values, recording where each path is."""

    def fail(problem: str, at: str, where: tuple[int, int] | None) -> NoReturn:
        line, column = where or (None, None)
        raise AnswersError(source, problem, field=at or "(top level)", line=line, column=column)

    if isinstance(node, ScalarBoolean):
        return bool(node)
    if node is None or isinstance(node, (bool, str)):
        return str(node) if isinstance(node, str) else node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        if not math.isfinite(node):
            fail(f"{node} is not a finite number, which JSON cannot carry; quote it to keep it a string",
                 path, positions.get(path))
        return float(node)

    if isinstance(node, dict):
        plain = {}
        for key, value in node.items():
            if not isinstance(key, str):
                fail(f"key {key!r} is not a string; quote it ('{key}') to keep it a string",
                     path, _position(node, key, of_key=True))
            child = _join(path, str(key))
            where = _position(node, key)
            if where:
                positions[child] = where
            plain[str(key)] = _to_plain(value, child, positions, source)
        return plain

    if isinstance(node, list):
        items = []
        for index, value in enumerate(node):
            child = _join(path, index)
            where = _position(node, index)
            if where:
                positions[child] = where
            items.append(_to_plain(value, child, positions, source))
        return items

    if isinstance(node, (datetime.date, datetime.datetime)):
        fail(f"{node} is read as a date or time; quote it to keep it a string", path, positions.get(path))
    tag = getattr(getattr(node, "tag", None), "value", None)
    kind = f"tag {tag}" if tag else f"{type(node).__name__} value"
    fail(f"a {kind} is not supported; use plain strings, numbers, booleans, lists and mappings",
         path, positions.get(path))


def _locator(positions: dict[str, tuple[int, int]]) -> Locate:
    """Find the position of a path, or of its nearest enclosing path that has one."""

    def locate(path: str) -> tuple[int, int] | None:
        while path:
            if path in positions:
                return positions[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:max(cut, 0)]
        return None

    return locate


class _Checker:
    """Checker of an answers file's plain data that builds Answers, raising AnswersError at the first bad field."""

    def __init__(self, source: str, locate: Locate) -> None:
        self.source = source
        self.locate = locate

    def fail(self, path: str, problem: str) -> NoReturn:
        line, column = self.locate(path) or (None, None)
        raise AnswersError(self.source, problem, field=path or "(top level)", line=line, column=column)

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...] | None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"{_show(value)} is not a mapping")
        for key in value:
            if allowed is not None and key not in allowed:
                self.fail(_join(path, key), f"unknown field; expected one of {', '.join(allowed)}")
        return value

    def sequence(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, f"{_show(value)} is not a list")
        return value

    def port(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            self.fail(path, f"{_show(value)} is not a port (1-65535)")
        return value

    def word(self, value: Any, path: str, what: str) -> str:
        if not isinstance(value, str) or not value or any(ch.isspace() for ch in value):
            self.fail(path, f"{_show(value)} is not {what}: expected a non-empty string without spaces")
        return value

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            self.fail(path, f"{_show(value)} is not a string; quote it to keep it a string")
        return value

    def node_id(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not _NODE_ID.match(value):
            self.fail(path, f"{_show(value)} is not a node id: expected n- and 4 to 32 letters or digits")
        return value

    def answers(self, data: Any) -> Answers:
        top = self.mapping(data, "", _TOP_FIELDS)
        version = top.get("version", FORMAT_VERSION)
        if isinstance(version, bool) or version != FORMAT_VERSION:
            self.fail("version", f"{_show(version)} is not supported; this installer reads version {FORMAT_VERSION}")

        ssh = self.mapping(top.get("ssh"), "ssh", _SSH_FIELDS)
        answers = Answers(
            ssh_user=self.word(ssh.get("user", "root"), "ssh.user", "a user name"),
            ssh_port=self.port(ssh.get("port", 22), "ssh.port"),
            ssh_key_file=self.string(ssh.get("key_file", "") or "", "ssh.key_file"),
        )
        answers.nodes = self.nodes(top.get("nodes"), answers)

        config = self.mapping(top.get("config"), "config", None)
        for zone_id, zone in config.items():
            if not isinstance(zone, dict):
                self.fail(_join("config", zone_id), f"{_show(zone)} is not a mapping of variables and settings")
        answers.config = config

        deploy = self.mapping(top.get("deploy"), "deploy", _DEPLOY_FIELDS)
        node_ids = self.sequence(deploy.get("node_ids"), "deploy.node_ids")
        for index, node_id in enumerate(node_ids):
            self.node_id(node_id, f"deploy.node_ids[{index}]")
            if node_id in node_ids[:index]:
                self.fail(f"deploy.node_ids[{index}]", f"{node_id} is listed twice")
        answers.deploy_node_ids = node_ids
        return answers

    def nodes(self, value: Any, defaults: Answers) -> list[NodeAnswer]:
        nodes: list[NodeAnswer] = []
        addresses: dict[tuple[str, int, str], int] = {}
        node_ids: dict[str, int] = {}

        for index, entry in enumerate(self.sequence(value, "nodes")):
            path = f"nodes[{index}]"
            entry = self.mapping(entry, path, _NODE_FIELDS)
            if "ssh_host" not in entry:
                self.fail(path, "ssh_host is missing: every node needs the address where SSH reaches it")
            node = NodeAnswer(ssh_host=self.word(entry["ssh_host"], f"{path}.ssh_host", "an SSH address"))
            if entry.get("ssh_port") is not None:
                node.ssh_port = self.port(entry["ssh_port"], f"{path}.ssh_port")
            if entry.get("ssh_user") is not None:
                node.ssh_user = self.word(entry["ssh_user"], f"{path}.ssh_user", "a user name")
            if entry.get("node_id") is not None:
                node.node_id = self.node_id(entry["node_id"], f"{path}.node_id")
            if entry.get("mgmt_ip") is not None:
                node.mgmt_ip = self.address(entry["mgmt_ip"], f"{path}.mgmt_ip")
            fingerprints = self.sequence(entry.get("host_key_fingerprints"), f"{path}.host_key_fingerprints")
            for number, item in enumerate(fingerprints):
                if not isinstance(item, str) or not FINGERPRINT_PATTERN.match(item):
                    self.fail(f"{path}.host_key_fingerprints[{number}]",
                              f"{_show(item)} is not a host key fingerprint: expected SHA256: and 43 base64 "
                              "characters, as `ssh-keygen -lf KEY` prints it")
            node.host_key_fingerprints = fingerprints

            address = (node.ssh_host, node.ssh_port or defaults.ssh_port, node.ssh_user or defaults.ssh_user)
            if address in addresses:
                self.fail(path, f"{address[2]}@{address[0]}:{address[1]} is listed twice "
                                f"(also nodes[{addresses[address]}])")
            addresses[address] = index
            if node.node_id in node_ids:
                self.fail(f"{path}.node_id", f"{node.node_id} is listed twice (also nodes[{node_ids[node.node_id]}])")
            if node.node_id:
                node_ids[node.node_id] = index
            nodes.append(node)
        return nodes

    def address(self, value: Any, path: str) -> str:
        try:
            ipaddress.ip_address(value if isinstance(value, str) else "")
        except ValueError:
            self.fail(path, f"{_show(value)} is not an IPv4 or IPv6 address")
        return value


def _show(value: Any) -> str:
    """Format a value for a message, quoting strings so that '22' and 22 differ."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_answers(text: str, *, source: str = "answers file") -> Answers:
    """Parse and check an answers file; raises AnswersError naming the file, position and field."""
    document = _parse(text, source)
    if document is None:
        raise AnswersError(source, "the file is empty; expected a mapping with version, ssh, nodes, config and deploy")
    positions: dict[str, tuple[int, int]] = {}
    data = _to_plain(document, "", positions, source)
    return _Checker(source, _locator(positions)).answers(data)


def check_answers(answers: Answers, *, source: str = "answers") -> None:
    """Raise AnswersError when load_answers would reject the file dump_answers writes for answers."""
    shaped = _file_shape(answers)
    data = _to_plain(shaped, "", {}, source)
    _Checker(source, lambda path: None).answers(data)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _file_shape(answers: Answers) -> dict[str, Any]:
    """Return the plain data of the file, leaving out the node fields that are unset."""
    nodes = []
    for node in answers.nodes:
        entry: dict[str, Any] = {"ssh_host": node.ssh_host}
        optional = {"ssh_port": node.ssh_port, "ssh_user": node.ssh_user,
                    "node_id": node.node_id, "mgmt_ip": node.mgmt_ip}
        entry.update({key: value for key, value in optional.items() if value is not None})
        if node.host_key_fingerprints:
            entry["host_key_fingerprints"] = list(node.host_key_fingerprints)
        nodes.append(entry)
    return {
        "version": FORMAT_VERSION,
        "ssh": {"user": answers.ssh_user, "port": answers.ssh_port, "key_file": answers.ssh_key_file},
        "nodes": nodes,
        "config": copy.deepcopy(answers.config),
        "deploy": {"node_ids": list(answers.deploy_node_ids)},
    }


def _node_keys(item: Any, index: int) -> list[Any] | None:
    """Return the keys that match a node entry to an old one: its address, then its host alone, then its node id."""
    if not isinstance(item, dict) or "ssh_host" not in item:
        return None
    host = str(item["ssh_host"])
    keys = [("node", host, item.get("ssh_port"), item.get("ssh_user")), ("host", host)]
    if item.get("node_id"):
        keys.append(("node_id", str(item["node_id"])))
    return keys


def _flow_short_fingerprint_lists(document: CommentedMap) -> None:
    # A single fingerprint reads best on the line of its field, as [SHA256:...].
    for entry in document.get("nodes") or []:
        fingerprints = entry.get("host_key_fingerprints") if isinstance(entry, CommentedMap) else None
        if isinstance(fingerprints, CommentedSeq) and len(fingerprints) == 1 and fingerprints.lc.line is None:
            fingerprints.fa.set_flow_style()


def dump_answers(answers: Answers, *, previous_text: str | None = None) -> str:
    """Write answers as YAML; with previous_text, keep that file's comments and order where the data did not change.

    Raises AnswersError when previous_text is not a YAML mapping; pass None to write a fresh file.
    """
    if previous_text is None:
        yaml = round_trip_yaml()
        document = yaml.load(TEMPLATE)
    else:
        document = _parse(previous_text, "previous answers file")
        if not isinstance(document, CommentedMap):
            raise AnswersError("previous answers file", "is not a YAML mapping, so it cannot be updated in place")
        yaml = round_trip_yaml(*guess_indentation(previous_text))

    document = update_node(document, _file_shape(answers), item_keys=_node_keys)
    _flow_short_fingerprint_lists(document)
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# Other sources and API parameters
# ---------------------------------------------------------------------------


def answers_from_config_request(request_or_config: dict[str, Any]) -> Answers:
    """Make Answers that contain the configuration of a ConfigQingCloud request, or of its bare `config`.

    A mapping with a `config` mapping whose entries are not zones (no variables or
    settings) is taken for the whole request. Nodes and deploy are left empty.
    """
    if not isinstance(request_or_config, dict):
        raise AnswersError("configuration", f"{_show(request_or_config)} is not a mapping")
    config = request_or_config
    inner = request_or_config.get("config")
    if isinstance(inner, dict) and not {"variables", "settings"} & set(inner):
        config = inner
    elif "action" in request_or_config or "request_type" in request_or_config:
        raise AnswersError("configuration", "the request has no config mapping", field="config")

    data = _to_plain(config, "config", {}, "configuration")
    checker = _Checker("configuration", lambda path: None)
    return checker.answers({"config": data})


def add_nodes_params(answers: Answers) -> dict[str, Any]:
    """Build the AddNodes parameters for the file's nodes, defaults applied and without secrets.

    trusted_fingerprints contains every fingerprint the file pins, over all nodes.
    """
    nodes = []
    for node in answers.nodes:
        entry: dict[str, Any] = {
            "ssh_host": node.ssh_host,
            "ssh_port": node.ssh_port or answers.ssh_port,
            "ssh_user": node.ssh_user or answers.ssh_user,
        }
        if node.node_id:
            entry["node_id"] = node.node_id
        if node.mgmt_ip:
            entry["mgmt_ip"] = node.mgmt_ip
        nodes.append(entry)

    params: dict[str, Any] = {"nodes": nodes}
    if answers.ssh_key_file:
        params["ssh_key_file"] = answers.ssh_key_file
    pinned = [fp for node in answers.nodes for fp in node.host_key_fingerprints]
    if pinned:
        params["trusted_fingerprints"] = list(dict.fromkeys(pinned))
    return params
