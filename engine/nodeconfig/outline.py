"""Text positions of each key and list item of a file, so that a viewer can show the file's own lines."""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

import yaml

from engine.nodeconfig.document import ConfigDocument, is_merge_key, key_value, plain_key
from engine.nodeconfig.positions import TextPositions


def outline(document: ConfigDocument) -> list[dict[str, Any]]:
    """List every mapping entry and list item, parents before children.

    Each entry has `path` (keys and list indexes), `line` and `end_line` (1-based, from
    the key to the value's last line) and `start`/`end`, the value's character offsets
    in the text without its byte order mark. Entries under an alias are not listed.
    """
    if document.root is None:
        return []

    walker = _Walker(document.text)
    walker.walk(document.root, [])
    return walker.entries


class _Walker(TextPositions):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.entries: list[dict[str, Any]] = []
        self.line_starts = [0] + [index + 1 for index, character in enumerate(text) if character == "\n"]

    def line_of(self, position: int) -> int:
        return bisect_right(self.line_starts, max(position - 1, 0))

    def walk(self, node: yaml.Node, path: list[str | int]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if is_merge_key(key_node):
                    continue
                aliased = value_node.start_mark.index < key_node.end_mark.index
                if isinstance(value_node, yaml.ScalarNode) and self.is_empty(value_node):
                    start = end = self.colon_after(key_node, tuple(path)) + 1
                else:
                    start = self.text.index("*", key_node.end_mark.index) if aliased else self.skip_anchor(value_node)
                    end = self.value_end(value_node, key_node.end_mark.index)
                self.add([*path, plain_key(key_value(key_node))], key_node.start_mark.index, start, end)
                if not aliased:
                    self.walk(value_node, self.entries[-1]["path"])

        elif isinstance(node, yaml.SequenceNode):
            previous_end = node.start_mark.index + (1 if node.flow_style else 0)
            for index, item in enumerate(node.value):
                # A block item starts after its dash, a flow item after the previous one.
                first = previous_end if node.flow_style else self.text.index("-", previous_end)
                after = first if node.flow_style else first + 1
                aliased = item.start_mark.index < after
                start = self.text.index("*", after) if aliased else self.skip_anchor(item)
                end = self.value_end(item, after)
                self.add([*path, index], first if not node.flow_style else start, start, end)
                if not aliased:
                    self.walk(item, [*path, index])
                previous_end = max(end, previous_end + 1)

    def add(self, path: list[str | int], first: int, start: int, end: int) -> None:
        self.entries.append({
            "path": path,
            "line": self.line_of(first + 1),
            "end_line": self.line_of(max(end, first + 1)),
            "start": start,
            "end": end,
        })
