"""Where values sit in a file's text, from the positions of its composed nodes.

PyYAML marks each node's start and end, but a few marks need care. An empty value
(`key:`) is marked at the next token. A block scalar or block collection ends at
the next token, after its trailing blank lines and comments. An alias (`*name`)
carries the marks of the anchored node earlier in the file.
"""

from __future__ import annotations

import yaml

from engine.nodeconfig.merge import ChangeError, where

KeyPath = tuple[str | int, ...]


class TextPositions:
    """Positions of values in one file's text (without its byte order mark)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def colon_after(self, key_node: yaml.Node, path: KeyPath) -> int:
        position = key_node.end_mark.index
        while position < len(self.text) and self.text[position] in " \t":
            position += 1
        if position >= len(self.text) or self.text[position] != ":":
            raise ChangeError(
                f"{where(path)}: the key at line {key_node.start_mark.line + 1} is written in a form "
                "this editor does not change (an explicit '?' key); change it by hand"
            )
        return position

    def is_empty(self, node: yaml.ScalarNode) -> bool:
        return node.style is None and node.value == "" and node.start_mark.index == node.end_mark.index

    def skip_anchor(self, node: yaml.Node) -> int:
        """Return where a value's text starts after its anchor (`&name`), which stays in place."""
        position = node.start_mark.index
        if self.text.startswith("&", position):
            while position < len(self.text) and self.text[position] not in " \t\r\n":
                position += 1
            while position < len(self.text) and self.text[position] in " \t":
                position += 1
        return position

    def scalar_end(self, node: yaml.ScalarNode) -> int:
        end = node.end_mark.index
        if node.style in ("|", ">"):
            # A block scalar's node ends at the next token, after the blank lines that follow it.
            while end > node.start_mark.index and self.text[end - 1] in " \t\r\n":
                end -= 1
        return end

    def value_end(self, value_node: yaml.Node, after: int) -> int:
        if value_node.start_mark.index < after:
            # An alias (*name): its node is the anchored one, earlier in the file.
            position = self.text.index("*", after)
            while position < len(self.text) and self.text[position] not in " \t\r\n,]}":
                position += 1
            return position
        if isinstance(value_node, yaml.ScalarNode):
            return self.scalar_end(value_node)
        if value_node.flow_style:
            return value_node.end_mark.index
        return self.content_end(value_node)

    def entry_end(self, key_node: yaml.Node, value_node: yaml.Node) -> int:
        if isinstance(value_node, yaml.ScalarNode) and self.is_empty(value_node):
            return self.colon_after(key_node, ()) + 1
        return self.value_end(value_node, key_node.end_mark.index)

    def content_end(self, node: yaml.Node) -> int:
        """Return where a block collection's last value ends, before the comments and blank lines after it."""
        if isinstance(node, yaml.MappingNode):
            key_node, value_node = node.value[-1]
            return self.entry_end(key_node, value_node)

        items = node.value
        last = items[-1]
        previous_end = self.value_end(items[-2], node.start_mark.index) if len(items) > 1 else node.start_mark.index
        if isinstance(last, yaml.ScalarNode) and self.is_empty(last):
            return self.text.index("-", previous_end) + 1
        return self.value_end(last, previous_end + 1)

    def line_end(self, position: int) -> int:
        end = self.text.find("\n", position)
        if end < 0:
            return len(self.text)
        return end - 1 if end > 0 and self.text[end - 1] == "\r" else end

    def blank_until_line_end(self, position: int) -> bool:
        return self.text[position:self.line_end(position)].strip() == ""
