"""Unified diffs of a file before and after a change, as `diff -u` prints them."""

from __future__ import annotations

import difflib

NO_NEWLINE = "\\ No newline at end of file"


def unified_diff(old: str, new: str, path: str, *, context: int = 3) -> str:
    """Return the unified diff from `old` to `new` with `a/path` and `b/path` headers, or '' when equal."""
    if old == new:
        return ""

    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    lines = []
    for line in difflib.unified_diff(old_lines, new_lines, f"a/{path}", f"b/{path}", n=context):
        if line.endswith("\n"):
            lines.append(line.removesuffix("\n").removesuffix("\r"))
        else:
            # The last line of a file without a final newline, marked as diff marks it.
            lines.extend([line, NO_NEWLINE])
    return "\n".join(lines) + "\n"
