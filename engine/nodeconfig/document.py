"""One editable YAML file: its data as the services read it, and its nodes with their text positions.

The data comes from PyYAML's safe loader (YAML 1.1 rules), so it is what a Python
service gets when it reads the file with `yaml.safe_load`: `no` is false, `010`
is 8, `12:30` is 750. The composed node tree from the same parse keeps where each value
sits in the text, which lets `splice` rewrite one value and leave the rest alone.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

#: Larger files are not edited through the API; configuration files are a few kilobytes.
MAX_FILE_BYTES = 2 * 1024 * 1024

BOM = "\ufeff"


class ConfigFileError(Exception):
    """A file that cannot be read or edited safely; the message names the file and the place."""


@dataclass
class ConfigDocument:
    """A parsed file. `text` has no byte order mark; `bom` is put back when the file is written."""

    source: str
    text: str
    root: yaml.Node | None
    data: Any
    bom: str = ""
    newline: str = "\n"
    shared: set[int] = field(default_factory=set)
    """ids of nodes reached through an alias as well as their anchor: editing one edits every use."""
    duplicates: list[str] = field(default_factory=list)
    """One message per key that a mapping has twice; PyYAML keeps the last value silently."""


def decode_text(raw: bytes, source: str) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigFileError(f"{source} has {len(raw)} bytes; files over {MAX_FILE_BYTES} bytes are not edited here")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigFileError(f"{source} is not UTF-8 text (byte {error.start} is invalid)") from None


def parse_document(content: bytes | str, *, source: str) -> ConfigDocument:
    """Parse a file's bytes or text; raise ConfigFileError naming the line of a syntax error."""
    text = decode_text(content, source) if isinstance(content, bytes) else content
    bom = BOM if text.startswith(BOM) else ""
    text = text[len(bom):]

    # Two passes, because constructing the data rewrites the nodes of mappings with merge
    # keys (<<) in place, and the editor needs them as they are written.
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise ConfigFileError(f"{source} is not valid YAML: {describe_yaml_error(error)}") from None

    document = ConfigDocument(
        source=source,
        text=text,
        root=root,
        data=data,
        bom=bom,
        newline="\r\n" if "\r\n" in text else "\n",
    )
    if root is not None:
        document.shared = find_shared_nodes(root)
        document.duplicates = find_duplicate_keys(root, source)
    return document


def describe_yaml_error(error: yaml.YAMLError) -> str:
    """Say what a YAML error is and where, in one line: 'found ... at line 4, column 3'."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "syntax error"
        if mark is not None:
            return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
        return problem
    return str(error).splitlines()[0]


def key_value(node: yaml.Node) -> Any:
    """Construct a mapping key node the way the safe loader does; complex keys come back as text."""
    if not isinstance(node, yaml.ScalarNode):
        return f"<{node.id} key at line {node.start_mark.line + 1}>"
    return yaml.SafeLoader("").construct_object(node, deep=True)


def is_merge_key(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:merge"


def find_shared_nodes(root: yaml.Node) -> set[int]:
    seen: set[int] = set()
    shared: set[int] = set()
    stack = [root]

    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                stack.extend((key_node, value_node))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return shared


def find_duplicate_keys(root: yaml.Node, source: str) -> list[str]:
    found: list[str] = []
    visited: set[int] = set()
    stack = [root]

    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))

        if isinstance(node, yaml.MappingNode):
            lines: dict[Any, int] = {}
            for key_node, value_node in node.value:
                stack.append(value_node)
                if is_merge_key(key_node) or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = plain_key(key_value(key_node))
                line = key_node.start_mark.line + 1
                if key in lines:
                    found.append(f"{source}: key '{key}' appears at line {lines[key]} and again at line {line}")
                lines[key] = line
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return found


def plain_key(key: Any) -> str:
    """Return a mapping key as the string that segments and API changes name it by."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(to_plain(key))


def to_plain(value: Any) -> Any:
    """Convert loaded data to JSON types: string keys, dates as text, bytes as base64."""
    if isinstance(value, dict):
        return {plain_key(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_plain(item) for item in value), key=str)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return value
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def same_data(left: Any, right: Any) -> bool:
    """Compare loaded data strictly: True is not 1, 1 is not 1.0, and NaN equals NaN."""
    if isinstance(left, dict) and isinstance(right, dict):
        if {(type(key), key) for key in left} != {(type(key), key) for key in right}:
            return False
        return all(same_data(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same_data(a, b) for a, b in zip(left, right))
    if type(left) is not type(right):
        return False
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    return bool(left == right)
