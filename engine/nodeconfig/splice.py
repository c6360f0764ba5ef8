"""A change written into a file's own text: only changed values and added keys are rewritten.

ruamel.yaml's round-trip dumper (0.19.1) was the first choice, but it re-emits the whole
document: it re-indents every block to one width, refolds multi-line quoted strings and
respaces flow lists, so lines the change never touched came back different. Here the
file is composed once, each value's position in the text comes from its node, and the
new text is the old one with a few spans replaced and a few lines inserted. New values
follow the file's indentation and the style of the value they replace. The result is
parsed again and must equal the old data with the change merged in, or nothing is written.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

import yaml

from engine.nodeconfig.document import (
    ConfigDocument,
    ConfigFileError,
    is_merge_key,
    key_value,
    parse_document,
    plain_key,
    same_data,
)
from engine.nodeconfig.merge import MISSING, ChangeError, check_change, find_key, merge_data, where
from engine.nodeconfig.positions import TextPositions
from engine.nodeconfig.scalars import render_key, render_scalar

Path = tuple[str | int, ...]


def apply_change(document: ConfigDocument, change: dict[str, Any]) -> str:
    """Return the file's new text, byte order mark included, with `change` deep-merged into it.

    Raises ChangeError for a change the file cannot take, and ConfigFileError for a file
    that cannot be edited safely (duplicate keys, a top level that is not a mapping).
    """
    check_change(change)
    if document.duplicates:
        raise ConfigFileError(f"{document.duplicates[0]}; remove one of them by hand before changing the file")

    root = document.root
    current = document.data if document.data is not None else {}
    if not isinstance(current, dict) or (root is not None and not isinstance(root, yaml.MappingNode)):
        raise ConfigFileError(
            f"the top level of {document.source} is a {type(current).__name__}, not a mapping, so a change cannot be merged into it"
        )

    expected = merge_data(current, change)
    splicer = _Splicer(document)
    if root is None:
        new_text = splicer.append_to_empty(change)
    else:
        splicer.merge_mapping(root, current, change, ())
        new_text = splicer.result()

    check_result(document, new_text, expected)
    return document.bom + new_text


def check_result(document: ConfigDocument, new_text: str, expected: Any) -> None:
    """Raise ChangeError unless the new text reads back as the expected data."""
    try:
        written = parse_document(new_text, source=document.source)
    except ConfigFileError as error:
        raise ChangeError(f"the changed {document.source} would not parse ({error}); nothing was written") from None

    if not same_data(written.data, expected):
        place = first_difference(written.data, expected, ()) or ()
        raise ChangeError(
            f"{where(place)}: the changed {document.source} would not read back as requested there, "
            "so nothing was written; change this value by hand"
        )


def first_difference(left: Any, right: Any, path: Path) -> Path | None:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in [*left, *[key for key in right if key not in left]]:
            if key not in left or key not in right:
                return (*path, plain_key(key))
            found = first_difference(left[key], right[key], (*path, plain_key(key)))
            if found is not None:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (a, b) in enumerate(zip(left, right)):
            found = first_difference(a, b, (*path, index))
            if found is not None:
                return found
        return None
    return None if same_data(left, right) else path


def is_inline(value: Any) -> bool:
    """Tell whether a value is written on its key's line, as scalars and empty collections are."""
    return not isinstance(value, (dict, list)) or not value


class _Splicer(TextPositions):
    """Collects text edits for one change and applies them at the end."""

    def __init__(self, document: ConfigDocument) -> None:
        super().__init__(document.text)
        self.document = document
        self.edits: list[tuple[int, int, str]] = []
        self.step = _detect_step(document.root)
        self.sequence_offset = _detect_sequence_offset(document.root, self.step)

    # Walking the change

    def merge_mapping(self, node: yaml.MappingNode, current: dict[Any, Any], change: dict[str, Any], path: Path) -> None:
        self.refuse_shared(node, path)
        entries = {}
        for key_node, value_node in node.value:
            if not is_merge_key(key_node) and isinstance(key_node, yaml.ScalarNode):
                entries[plain_key(key_value(key_node))] = (key_node, value_node)

        additions = []
        for key, new in change.items():
            data_key = find_key(current, key)
            if key not in entries:
                if data_key is MISSING:
                    additions.append((key, new))
                else:
                    # The key comes from a merge key (<<): an own key of this mapping overrides it.
                    old = current[data_key]
                    additions.append((key, merge_data(old, new, (*path, key)) if isinstance(old, dict) else new))
                continue

            key_node, value_node = entries[key]
            old = current[data_key]
            if isinstance(new, dict) and isinstance(old, dict) and isinstance(value_node, yaml.MappingNode):
                self.merge_mapping(value_node, old, new, (*path, key))
            elif not same_data(old, new):
                self.replace_value(node, key_node, value_node, new, (*path, key))

        if additions:
            self.add_entries(node, additions)

    def refuse_shared(self, node: yaml.Node, path: Path) -> None:
        if id(node) in self.document.shared:
            raise ChangeError(
                f"{where(path)}: this value is an anchor that an alias elsewhere in the file reuses "
                f"(anchored at line {node.start_mark.line + 1}); change it by hand so that every use is considered"
            )

    # Replacing a value

    def replace_value(self, parent: yaml.MappingNode, key_node: yaml.Node, value_node: yaml.Node, new: Any,
                      path: Path) -> None:
        self.refuse_shared(value_node, path)
        flow = bool(parent.flow_style)
        key_column = key_node.start_mark.column
        colon = self.colon_after(key_node, path)

        if isinstance(value_node, yaml.ScalarNode) and self.is_empty(value_node):
            position = colon + 1
            if is_inline(new) or flow or not self.blank_until_line_end(position):
                self.edit(position, position, " " + self.inline(new, flow=flow, indent=key_column + self.step))
            else:
                self.edit(position, self.line_end(position), "\n" + self.block(new, self.child_column(new, key_column)))
            return

        if isinstance(value_node, yaml.ScalarNode):
            start, end = self.skip_anchor(value_node), self.scalar_end(value_node)
            if isinstance(new, (dict, list)) and is_inline(new):
                self.edit(start, end, self.inline(new, flow=True))
            elif is_inline(new):
                old_text = self.text[start:end]
                text = render_scalar(new, flow=flow, style=value_node.style, old_text=old_text,
                                     indent=self.block_scalar_indent(old_text, key_column + self.step))
                self.replace_keeping_comment_column(start, end, text)
            elif flow or not self.blank_until_line_end(end):
                self.edit(start, end, self.inline(new, flow=True))
            else:
                self.edit(colon + 1, end, "\n" + self.block(new, self.child_column(new, key_column)))
            return

        if value_node.flow_style or flow:
            self.edit(self.skip_anchor(value_node), value_node.end_mark.index, self.inline(new, flow=True))
            return

        end = self.content_end(value_node)
        if is_inline(new):
            self.edit(colon + 1, end, " " + self.inline(new, flow=False, indent=key_column + self.step))
            return
        same_kind = isinstance(new, dict) == isinstance(value_node, yaml.MappingNode)
        column = value_node.start_mark.column if same_kind else self.child_column(new, key_column)
        self.edit(colon + 1, end, "\n" + self.block(new, column))

    @staticmethod
    def block_scalar_indent(old_text: str, default: int) -> int:
        """Return the indentation of a block scalar's first content line, so a new block keeps it."""
        for line in old_text.split("\n")[1:]:
            if line.strip():
                return len(line) - len(line.lstrip(" "))
        return default

    def replace_keeping_comment_column(self, start: int, end: int, text: str) -> None:
        """Replace a one-line value; a comment after it on the line keeps its column where spaces allow."""
        line_end = self.line_end(end)
        rest = self.text[end:line_end]
        gap = len(rest) - len(rest.lstrip(" "))
        single_line = "\n" not in self.text[start:end] and "\n" not in text
        if single_line and gap and rest[gap:].startswith("#"):
            padding = max(1, gap - (len(text) - (end - start)))
            self.edit(start, end + gap, text + " " * padding)
        else:
            self.edit(start, end, text)

    # Adding keys

    def add_entries(self, node: yaml.MappingNode, additions: list[tuple[str, Any]]) -> None:
        if node.flow_style:
            rendered = ", ".join(f"{render_key(key, flow=True)}: {self.inline(value, flow=True)}"
                                 for key, value in additions)
            if node.value:
                last_key, last_value = node.value[-1]
                position = self.entry_end(last_key, last_value)
                self.edit(position, position, ", " + rendered)
            else:
                closing = node.end_mark.index - 1
                self.edit(closing, closing, rendered)
            return

        column = node.start_mark.column
        position = self.line_end(self.content_end(node))
        lines = "".join("\n" + " " * column + self.entry(key, value, column) for key, value in additions)
        self.edit(position, position, lines)

    def append_to_empty(self, change: dict[str, Any]) -> str:
        """Return the text of a file without any value (empty, or comments only) after the change."""
        text = self.text
        if text and not text.endswith("\n"):
            text += self.document.newline
        body = "\n".join(self.entry(key, value, 0) for key, value in change.items()) + "\n"
        return text + body.replace("\n", self.document.newline)

    # Writing values

    def entry(self, key: str, value: Any, column: int) -> str:
        """Write `key: value` whose key is at `column`; nested lines carry their own indentation."""
        rendered_key = render_key(key)
        if is_inline(value):
            return f"{rendered_key}: {self.inline(value, flow=False, indent=column + self.step)}"
        return f"{rendered_key}:\n" + self.block(value, self.child_column(value, column))

    def child_column(self, value: Any, key_column: int) -> int:
        return key_column + (self.sequence_offset if isinstance(value, list) else self.step)

    def block(self, value: Any, column: int) -> str:
        """Write a non-empty mapping or list in block style, every line indented to `column`."""
        pad = " " * column
        if isinstance(value, dict):
            return "\n".join(pad + self.entry(key, item, column) for key, item in value.items())

        lines = []
        for item in value:
            if is_inline(item):
                lines.append(f"{pad}- {self.inline(item, flow=False, indent=column + 2)}")
            elif isinstance(item, dict):
                entries = [self.entry(key, nested, column + 2) for key, nested in item.items()]
                lines.append(f"{pad}- " + f"\n{pad}  ".join(entries))
            else:
                lines.append(f"{pad}- {self.inline(item, flow=True)}")
        return "\n".join(lines)

    def inline(self, value: Any, *, flow: bool, indent: int = 0) -> str:
        """Write a value on one line: a scalar, or a collection in flow style."""
        if isinstance(value, dict):
            items = ", ".join(f"{render_key(key, flow=True)}: {self.inline(item, flow=True)}" for key, item in value.items())
            return "{" + items + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.inline(item, flow=True) for item in value) + "]"
        if isinstance(value, datetime):
            return value.isoformat(sep=" ")
        if isinstance(value, date):
            return value.isoformat()
        return render_scalar(value, flow=flow, indent=indent)

    # Applying the edits

    def edit(self, start: int, end: int, replacement: str) -> None:
        self.edits.append((start, end, replacement.replace("\n", self.document.newline)))

    def result(self) -> str:
        text = self.text
        previous_start = len(text) + 1
        # Several insertions at one position keep the order in which they were made.
        ordered = sorted(enumerate(self.edits), key=lambda item: (item[1][0], item[0]), reverse=True)
        for _order, (start, end, replacement) in ordered:
            if end > previous_start:
                raise ChangeError("the change touches one place of the file twice; split it into two changes")
            text = text[:start] + replacement + text[end:]
            previous_start = start
        return text


def _block_pairs(root: yaml.Node | None):
    """Yield (key node, value node) of every block mapping, each node visited once."""
    stack = [root] if root is not None else []
    visited: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not node.flow_style and value_node.start_mark.index > key_node.end_mark.index:
                    yield key_node, value_node
                stack.append(value_node)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _detect_step(root: yaml.Node | None) -> int:
    """Return the indentation most nested block mappings of the file use, 2 when none."""
    widths = Counter(
        value_node.start_mark.column - key_node.start_mark.column
        for key_node, value_node in _block_pairs(root)
        if isinstance(value_node, yaml.MappingNode) and not value_node.flow_style
        and value_node.start_mark.column > key_node.start_mark.column
    )
    return widths.most_common(1)[0][0] if widths else 2


def _detect_sequence_offset(root: yaml.Node | None, step: int) -> int:
    """Return how far the file indents a block list's dashes under their key (often 0 or the step)."""
    offsets = Counter(
        value_node.start_mark.column - key_node.start_mark.column
        for key_node, value_node in _block_pairs(root)
        if isinstance(value_node, yaml.SequenceNode) and not value_node.flow_style
    )
    return offsets.most_common(1)[0][0] if offsets else step
