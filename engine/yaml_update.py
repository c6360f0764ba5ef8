"""Updating a ruamel.yaml round-trip document in place, so that a rewrite keeps an operator's comments.

ruamel.yaml keeps comments on the nodes it loads, in the places its parser
chose. Replacing or deleting a node drops the comments stored on it, and some
of those introduce the next entry, so update_node moves them along. Strings that a YAML 1.1 reader (PyYAML, many older tools) would read
as another type get quotes, so that every reader keeps them strings.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import yaml as yaml11
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarfloat import ScalarFloat
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

# YAML 1.1 readers (PyYAML, many older tools) take these for booleans, numbers or
# times although YAML 1.2 reads them as strings; PyYAML itself reads y and n as
# strings, but the YAML 1.1 specification lists them as booleans.
_YAML11_RESOLVER = yaml11.resolver.Resolver()
_YAML11_EXTRA_BOOLEANS = frozenset({"y", "Y", "n", "N"})
_STR_TAG = "tag:yaml.org,2002:str"


class _Representer(RoundTripRepresenter):
    """ruamel's round-trip representer, writing values every YAML reader reads back the same."""

    def represent_none(self, data: Any) -> Any:
        # An explicit null reads better in a hand-edited file than an empty value.
        return self.represent_scalar("tag:yaml.org,2002:null", "null")

    def represent_float(self, data: Any) -> Any:
        text = repr(data)
        if not math.isfinite(data) or "e" not in text or "." in text:
            return super().represent_float(data)
        # YAML 1.1 reads 1e-05 as a string; it needs a dot in the mantissa, as in 1.0e-05.
        return self.represent_scalar("tag:yaml.org,2002:float", text.replace("e", ".0e", 1))


# Registered on the subclass, so that other users of ruamel in the process are not affected.
_Representer.add_representer(type(None), _Representer.represent_none)
_Representer.add_representer(float, _Representer.represent_float)


def round_trip_yaml(mapping_indent: int = 2, dash_offset: int = 2) -> YAML:
    """Make a ruamel round-trip YAML that keeps quotes and writes with the given indentation."""
    yaml = YAML(typ="rt")
    yaml.Representer = _Representer
    yaml.preserve_quotes = True
    yaml.width = 4096  # long strings stay on one line instead of being folded
    yaml.indent(mapping=mapping_indent, sequence=dash_offset + 2, offset=dash_offset)
    return yaml


def guess_indentation(text: str) -> tuple[int, int]:
    """Return (mapping indent, offset of a sequence's dash under its key) of a block-style file, (2, 2) by default."""
    mapping_indent = dash_offset = None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for parent, child in zip(lines, lines[1:]):
        if not parent.split(" #")[0].rstrip().endswith(":"):
            continue
        parent_column = len(parent) - len(parent.lstrip(" "))
        if parent.lstrip().startswith("- "):
            parent_column += 2
        depth = len(child) - len(child.lstrip(" ")) - parent_column
        if child.lstrip().startswith("-") and dash_offset is None and depth >= 0:
            dash_offset = depth
        elif not child.lstrip().startswith("-") and mapping_indent is None and depth > 0:
            mapping_indent = depth
    return mapping_indent or 2, 2 if dash_offset is None else dash_offset



def reads_as_other_type(text: str) -> bool:
    """Return whether a YAML 1.1 reader would read this plain scalar as something other than a string."""
    if text in _YAML11_EXTRA_BOOLEANS:
        return True
    return _YAML11_RESOLVER.resolve(yaml11.ScalarNode, text, (True, False)) != _STR_TAG


def to_node(value: Any) -> Any:
    """Convert plain data into ruamel objects, quoting the strings that a YAML 1.1 reader would misread."""
    if isinstance(value, str):
        if not value.isprintable():
            # Escapes keep control characters, tabs and line breaks such as U+0085 intact.
            return DoubleQuotedScalarString(value)
        return SingleQuotedScalarString(value) if reads_as_other_type(value) else value
    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, item in value.items():
            mapping[to_node(key)] = to_node(item)
        return mapping
    if isinstance(value, list):
        return CommentedSeq(to_node(item) for item in value)
    return value


def _kind(value: Any) -> type | None:
    """Return the JSON kind of a scalar, so that 1, 1.0 and true differ but ruamel's subclasses do not."""
    if isinstance(value, ScalarBoolean):
        return bool
    return next((kind for kind in (bool, int, float, str, type(None)) if isinstance(value, kind)), None)


def _same(old: Any, new: Any) -> bool:
    """Return whether old equals new, with 1, 1.0 and true all different and the order of mapping keys ignored."""
    if isinstance(new, dict):
        return isinstance(old, dict) and old.keys() == new.keys() and all(_same(old[k], new[k]) for k in new)
    if isinstance(new, list):
        return isinstance(old, list) and len(old) == len(new) and all(map(_same, old, new))
    return _kind(old) is _kind(new) and old == new


def _plain_lookalike(value: Any) -> bool:
    # ruamel loads quoted and block scalars as str subclasses, so a plain str was written unquoted.
    return type(value) is str and reads_as_other_type(value)


def _needs_rewrite(node: Any) -> bool:
    """Return whether a node contains a value that must be written anew although it did not change.

    That is an unquoted string, value or key, that a YAML 1.1 reader would misread,
    or a loaded float: ruamel 0.19 writes those from their parsed digits and can
    change the last one (-9.02179409216008e-52 came out as ...007e-52).
    """
    if isinstance(node, dict):
        return any(_plain_lookalike(key) or _needs_rewrite(value) for key, value in node.items())
    if isinstance(node, list):
        return any(map(_needs_rewrite, node))
    return _plain_lookalike(node) or isinstance(node, ScalarFloat)


def _quote_key(mapping: CommentedMap, key: str) -> None:
    """Quote a key in place, keeping its position and comments."""
    position = list(mapping).index(key)
    value, comment = mapping[key], mapping.ca.items.get(key)
    del mapping[key]
    mapping.insert(position, SingleQuotedScalarString(key), value)
    if comment is not None:
        mapping.ca.items[key] = comment


def _has_collections(value: Any) -> bool:
    items = value.values() if isinstance(value, dict) else value
    return any(isinstance(item, (dict, list)) for item in items)


ItemKeys = Callable[[Any, int], "list[Any] | None"]


def _identities(item: Any, index: int, item_keys: ItemKeys | None) -> list[Any]:
    """Return the keys by which an old list item is the same as a new one, most exact first.

    item_keys may name them for mappings (e.g. a node's address); otherwise a
    scalar is matched by its value and anything else by its position.
    """
    keys = item_keys(item, index) if item_keys else None
    if keys:
        return keys
    if isinstance(item, (dict, list)):
        return [("position", index)]
    return [("value", _kind(item), item)]


def _match(old: list[Any], new: list[Any], item_keys: ItemKeys | None) -> list[int | None]:
    """Return, for each new item, the index of the old item it continues, or None for a new one."""
    old_keys = [_identities(item, index, item_keys) for index, item in enumerate(old)]
    new_keys = [_identities(item, index, item_keys) for index, item in enumerate(new)]
    matches: list[int | None] = [None] * len(new)
    used: set[int] = set()

    for level in range(max(map(len, old_keys + new_keys), default=0)):
        candidates: dict[Any, list[int]] = {}
        for index, keys in enumerate(old_keys):
            if index not in used and level < len(keys):
                candidates.setdefault(keys[level], []).append(index)
        for index, keys in enumerate(new_keys):
            if matches[index] is None and level < len(keys) and candidates.get(keys[level]):
                matches[index] = candidates[keys[level]].pop(0)
                used.add(matches[index])
    return matches


# ruamel keeps the comment lines that follow an entry either in the comment
# slot of the entry's last scalar (its end-of-line comment, a newline, then
# the lines) or in the `end` list of a collection that ends with the entry.
# Those lines introduce what comes next, so they must stay in place when the
# entry is deleted, replaced or no longer last.


def _last_descendants(container: Any, key: Any) -> list[tuple[Any, Any]]:
    """Return (container, key) of the entry and of its last descendants, down to a scalar or a flow collection."""
    chain = [(container, key)]
    value = container[key]
    while isinstance(value, (CommentedMap, CommentedSeq)) and len(value) and not value.fa.flow_style():
        last = list(value)[-1] if isinstance(value, CommentedMap) else len(value) - 1
        chain.append((value, last))
        value = value[last]
    return chain


def _trailing_slot(container: Any, key: Any) -> tuple[list[Any], int]:
    """Return the comment slot after an entry's last line as (slot list, index in it)."""
    deepest, last = _last_descendants(container, key)[-1]
    size, index = (4, 2) if isinstance(deepest, CommentedMap) else (2, 0)
    return deepest.ca.items.setdefault(last, [None] * size), index


def _take_comment_lines(container: Any, key: Any) -> str:
    """Remove and return the comment lines after an entry, keeping its end-of-line comment."""
    lines = ""
    slot, index = _trailing_slot(container, key)
    token = slot[index]
    if token is not None:
        head, newline, lines = token.value.partition("\n")
        if head.strip():
            token.value = head + newline
        else:
            slot[index] = None

    for collection, _ in reversed(_last_descendants(container, key)[1:]):
        lines += "".join(token.value for token in collection.ca.end or [] if token is not None)
        collection.ca.end = []
    return lines


def _give_comment_lines(container: Any, key: Any, lines: str) -> None:
    if not lines:
        return
    slot, index = _trailing_slot(container, key)
    token = slot[index]
    if token is None:
        slot[index] = CommentToken("\n" + lines, CommentMark(0), None)
    else:
        token.value = token.value + ("" if token.value.endswith("\n") else "\n") + lines


def _give_head_comment_lines(collection: Any, lines: str) -> None:
    """Put comment lines before the first entry of a block collection.

    ruamel writes them after the end-of-line comment of the line that opens the collection.
    """
    if not lines:
        return
    comment = collection.ca.comment or [None, None]
    if comment[0] is None:
        comment[0] = CommentToken("\n" + lines, CommentMark(0), None)
    else:
        comment[0].value += ("" if comment[0].value.endswith("\n") else "\n") + lines
    collection.ca.comment = comment


def _replace(container: Any, key: Any, value: Any, item_keys: ItemKeys | None) -> None:
    lines = _take_comment_lines(container, key)
    container[key] = update_node(container[key], value, item_keys=item_keys)
    _give_comment_lines(container, key, lines)


def update_node(old: Any, new: Any, *, item_keys: ItemKeys | None = None) -> Any:
    """Return old, a node of a round-trip document, updated in place to hold the plain data new.

    Comments, order and quoting of what did not change are kept. item_keys(item,
    index) may return the keys, most exact first, by which an old list item is
    the same item as a new one, so that an item keeps its comments when it moves.
    """
    flow = getattr(getattr(old, "fa", None), "flow_style", lambda: False)()
    if isinstance(new, (dict, list)) and (not new or flow and _has_collections(new)):
        # Nested data written into an empty `{}` or `[]` reads better in block style,
        # and ruamel writes an emptied block collection as invalid YAML.
        return to_node(new)

    if isinstance(old, CommentedMap) and isinstance(new, dict):
        keys = list(old)
        for position in reversed(range(len(keys))):
            if keys[position] not in new:
                lines = _take_comment_lines(old, keys[position])
                del old[keys[position]]
                if position > 0:
                    _give_comment_lines(old, keys[position - 1], lines)
                else:
                    _give_head_comment_lines(old, lines)
        added = [key for key in new if key not in old]
        tail = _take_comment_lines(old, list(old)[-1]) if added and len(old) else ""
        for key, value in new.items():
            if key not in old:
                old[to_node(key)] = to_node(value)
            elif not _same(old[key], value) or _needs_rewrite(old[key]):
                _replace(old, key, value, item_keys)
        for key in [key for key in old if _plain_lookalike(key)]:
            _quote_key(old, key)
        if len(old):
            _give_comment_lines(old, list(old)[-1], tail)
        return old

    if isinstance(old, CommentedSeq) and isinstance(new, list):
        _update_sequence(old, new, item_keys)
        return old
    return to_node(new)


def _update_sequence(old: CommentedSeq, new: list[Any], item_keys: ItemKeys | None) -> None:
    """Reorder, insert and delete items of old in place until it equals new.

    CommentedSeq's insert and del move the comments of later items along, so an
    item keeps its comments when it moves.
    """
    matches = _match(list(old), new, item_keys)
    keep = {match for match in matches if match is not None}
    for index in reversed(range(len(old))):
        if index not in keep:
            lines = _take_comment_lines(old, index)
            del old[index]
            if index > 0:
                _give_comment_lines(old, index - 1, lines)
            else:
                _give_head_comment_lines(old, lines)

    tail = _take_comment_lines(old, len(old) - 1) if len(old) else ""
    current = sorted(keep)  # old indices of the items in old, in their order
    for position, (match, item) in enumerate(zip(matches, new)):
        if match is None:
            old.insert(position, to_node(item))
            current.insert(position, -1)
            continue
        where = current.index(match)
        if where != position:
            moved, comment = old[where], old.ca.items.pop(where, None)
            del old[where]
            current.pop(where)
            old.insert(position, moved)
            current.insert(position, match)
            if comment is not None:
                old.ca.items[position] = comment
        if not _same(old[position], item) or _needs_rewrite(old[position]):
            _replace(old, position, item, item_keys)
    if len(old):
        _give_comment_lines(old, len(old) - 1, tail)
