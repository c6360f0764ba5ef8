"""Dotted segments into a file's data, where keys may themselves contain dots.

`common.hypervisor_policies.rdb_mysql5.5` splits into five parts, but the file's
key is `rdb_mysql5.5`. Parts are matched against the keys that exist: the longest
run of parts that names a key is tried first, and a shorter one when the rest of
the segment cannot be found below it. A decimal part indexes a list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Longer segments are rejected before matching, which tries every way to group the parts.
MAX_SEGMENT_PARTS = 64

#: Keys listed in a "not found" message.
KEYS_SHOWN = 12


class SegmentNotFound(Exception):
    """A segment that the file does not contain.

    `found` is the deepest key path that exists, `missing` the rest of the segment
    below it, and `value` the value at `found`.
    """

    def __init__(self, segment: str, found: list[str | int], missing: str, value: Any) -> None:
        self.segment = segment
        self.found = found
        self.missing = missing
        self.value = value
        super().__init__(self.describe())

    def describe(self, file_name: str = "the file") -> str:
        where = format_path(self.found) or "the top level"
        if isinstance(self.value, dict):
            keys = list(self.value)
            shown = ", ".join(keys[:KEYS_SHOWN]) + (", ..." if len(keys) > KEYS_SHOWN else "")
            detail = f"{where} has no '{self.missing}' (its keys: {shown or 'none'})"
        elif isinstance(self.value, list):
            detail = f"{where} is a list of {len(self.value)} item(s), so '{self.missing}' is not an index in it"
        else:
            detail = f"{where} is a {kind_of(self.value)}, so it has no '{self.missing}'"
        return f"segment '{self.segment}' not found in {file_name}: {detail}"


@dataclass
class _Deepest:
    found: list[str | int] = field(default_factory=list)
    missing: str = ""
    value: Any = None


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "mapping" if isinstance(value, dict) else type(value).__name__


def format_path(path: list[str | int]) -> str:
    """Write a key path as a dotted segment, list indexes as `[2]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def resolve_segment(data: Any, segment: str) -> tuple[list[str | int], Any]:
    """Return the key path a segment names in plain data (string keys) and the value there.

    Raises SegmentNotFound naming the deepest part that exists, or ValueError for a
    segment with too many parts.
    """
    parts = segment.split(".")
    if len(parts) > MAX_SEGMENT_PARTS:
        raise ValueError(f"segment has {len(parts)} parts; at most {MAX_SEGMENT_PARTS} are accepted")

    deepest = _Deepest(missing=segment, value=data)
    found = _match(data, parts, 0, [], deepest)
    if found is None:
        raise SegmentNotFound(segment, deepest.found, deepest.missing, deepest.value)
    return found


def _match(
    value: Any, parts: list[str], start: int, path: list[str | int], deepest: _Deepest
) -> tuple[list[str | int], Any] | None:
    if start == len(parts):
        return path, value

    if len(path) > len(deepest.found):
        deepest.found, deepest.missing, deepest.value = list(path), ".".join(parts[start:]), value

    if isinstance(value, dict):
        for end in range(len(parts), start, -1):
            key = ".".join(parts[start:end])
            if key in value:
                matched = _match(value[key], parts, end, [*path, key], deepest)
                if matched is not None:
                    return matched
        return None

    if isinstance(value, list):
        part = parts[start]
        if part.isdigit() and int(part) < len(value):
            return _match(value[int(part)], parts, start + 1, [*path, int(part)], deepest)
    return None
