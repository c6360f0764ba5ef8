"""The change ModifyConfiguration takes: its checks and the data it should produce.

A change is a mapping deep-merged into the file. Mappings merge key by key,
anything else (a scalar, a list) replaces the value at its key, and keys that
the file lacks are added. Two rules keep a typo from wiping part of a file. A
mapping in the file is only merged into, never replaced by a scalar or a list.
A dotted key that names existing nested keys must be written as nested
mappings instead.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from engine.nodeconfig.document import plain_key, to_plain
from engine.nodeconfig.segments import SegmentNotFound, format_path, resolve_segment

#: Nesting accepted in a change, counting the top-level mapping.
MAX_CHANGE_DEPTH = 32

MISSING = object()


class ChangeError(Exception):
    """A change that cannot be applied; the message names the place as `segment.<path>`."""


def where(path: tuple[str | int, ...]) -> str:
    return "segment" + ("." + format_path(list(path)) if path else "")


def check_change(change: Any) -> None:
    """Raise ChangeError unless the change is a non-empty mapping of JSON values with string keys."""
    if not isinstance(change, dict):
        raise ChangeError(f"segment must be a mapping of keys to new values, got {type(change).__name__}")
    if not change:
        raise ChangeError("segment is empty; give at least one key and its new value")
    _check_value(change, (), 1)


def _check_value(value: Any, path: tuple[str | int, ...], depth: int) -> None:
    if depth > MAX_CHANGE_DEPTH:
        raise ChangeError(f"{where(path)}: nested deeper than {MAX_CHANGE_DEPTH} levels")

    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise ChangeError(f"{where(path)}: key {key!r} is not accepted; keys are non-empty strings")
            _check_value(item, (*path, key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, (*path, index), depth + 1)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ChangeError(f"{where(path)}: {value!r} is not accepted; give a finite number")
    elif value is not None and not isinstance(value, (bool, int, str)):
        raise ChangeError(
            f"{where(path)}: a {type(value).__name__} is not accepted; "
            "values are strings, numbers, booleans, null, lists or mappings"
        )


def find_key(mapping: dict[Any, Any], key: str) -> Any:
    """Return the key of `mapping` that `key` names (`8080` names the integer key 8080), or MISSING."""
    if key in mapping:
        return key
    for existing in mapping:
        if plain_key(existing) == key:
            return existing
    return MISSING


def merge_data(current: dict[Any, Any], change: dict[str, Any], path: tuple[str | int, ...] = ()) -> dict[Any, Any]:
    """Return `current` with `change` deep-merged into it; `current` is not modified."""
    result = dict(current)

    for key, new in change.items():
        existing = find_key(result, key)
        if existing is MISSING:
            reject_dotted_key(current, key, path)
            result[key] = copy.deepcopy(new)
            continue

        old = result[existing]
        if isinstance(old, dict):
            if not isinstance(new, dict):
                raise ChangeError(
                    f"{where((*path, key))}: the file has a mapping here, which a change only merges into; "
                    "give a mapping of the keys to change"
                )
            result[existing] = merge_data(old, new, (*path, key))
        else:
            result[existing] = copy.deepcopy(new)

    return result


def reject_dotted_key(current: dict[Any, Any], key: str, path: tuple[str | int, ...]) -> None:
    """Reject a new key such as `a.b` when the file has `a` with `b` under it: it was meant nested."""
    if "." not in key:
        return
    try:
        found, _value = resolve_segment(to_plain(current), key)
    except (SegmentNotFound, ValueError):
        return
    if len(found) > 1:
        nested = format_path([*path, *found])
        raise ChangeError(
            f"{where(path)}: key '{key}' is not in the file, but {nested} is; "
            "write the change as nested mappings, one key per level"
        )
