"""What the configuration files screen shows and sends, kept apart from its widgets.

The screen gets a whole file from DescribeConfigurationFile: its text, its data
and the position of every key's value (`outline`). The operator edits one value
as a YAML snippet that starts as the file's own text for it. Only what the
operator changed in the snippet becomes the ModifyConfiguration change, so a
value that the snippet merely repeats is never rewritten.
"""

from __future__ import annotations

import copy
import textwrap
from datetime import date, datetime
from typing import Any

import yaml
from rich.cells import cell_len
from rich.text import Text
from textual.content import Content

from tui.i18n import N_, _
from tui.widgets.step_list import state_style, state_word

KeyPath = tuple[str | int, ...]

#: Characters of a value shown after its key in the tree.
LABEL_VALUE_WIDTH = 24

NO_CHANGE = object()

#: Titles of the steps of ModifyConfiguration and RestoreConfiguration jobs.
STEP_TITLES = {
    "read": N_("Read the file"),
    "backup": N_("Back up"),
    "write": N_("Write a new copy"),
    "verify": N_("Check the copy"),
    "push": N_("Put it in place"),
    "reload": N_("Reload services"),
    "check": N_("Check the files"),
    "restore": N_("Put backups back"),
}


class SnippetError(ValueError):
    """An edited snippet that cannot become a change; the message is translated for the operator."""


def format_path(path: KeyPath) -> str:
    """Write a key path as a segment: `common.hypervisor_policies`, list items as `[2]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def value_at(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = data[part]
    return data


def tree_label(key: str | int, value: Any) -> Text:
    """Return a tree line: a key, with its value when that is a scalar, as plain text (no markup)."""
    name = f"[{key}]" if isinstance(key, int) else str(key)
    if isinstance(value, dict):
        return Text(name)
    if isinstance(value, list):
        return Text(f"{name} ({len(value)})")
    if value is None:
        shown = "~"
    elif isinstance(value, bool):
        shown = str(value).lower()
    else:
        shown = str(value).replace("\n", " ")
    if len(shown) > LABEL_VALUE_WIDTH:
        shown = shown[: LABEL_VALUE_WIDTH - 3] + "..."
    return Text.assemble(name, ": ", (shown, "dim"))


def outline_index(outline: list[dict[str, Any]]) -> dict[KeyPath, dict[str, Any]]:
    return {tuple(entry["path"]): entry for entry in outline}


def source_lines(content: str, entry: dict[str, Any] | None) -> str:
    """Return the file's own lines for an entry, from its key to its value's last line."""
    if entry is None:
        return content
    lines = content.splitlines()
    return "\n".join(lines[entry["line"] - 1:entry["end_line"]])


def value_source(content: str, entry: dict[str, Any] | None) -> str:
    """Return the file's own text of an entry's value, dedented, to start an edit from."""
    if entry is None:
        return content
    start, end = entry["start"], entry["end"]
    line_start = content.rfind("\n", 0, start) + 1
    # Pad the first line to its column, so that dedenting keeps nested lines aligned.
    text = " " * (start - line_start) + content[start:end]
    return textwrap.dedent(text).strip("\n")


def to_json(value: Any) -> Any:
    """Turn what yaml.safe_load returns into JSON values; dates become their text."""
    # NOTE: the API carries JSON only, so a date typed into a snippet is written back quoted, as a string.
    if isinstance(value, dict):
        return {plain_key(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, bytes)):
        return str(value)
    return value


def plain_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def parse_snippet(text: str) -> Any:
    """Parse a snippet as YAML 1.1, as the engine reads the files; raise SnippetError naming the line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        if mark is not None:
            raise SnippetError(_("The snippet is not valid YAML: {problem} at line {line}.").format(
                problem=problem, line=mark.line + 1)) from None
        raise SnippetError(_("The snippet is not valid YAML: {problem}.").format(problem=problem)) from None


def snippet_change(before: Any, after: Any) -> Any:
    """Return what changed from `before` to `after` as a merge change, or NO_CHANGE.

    Mappings compare key by key; anything else is replaced whole. Keys cannot be
    removed, because ModifyConfiguration only merges.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        removed = [plain_key(key) for key in before if key not in after]
        if removed:
            raise SnippetError(_("Keys cannot be removed here: {keys}. Put them back, or remove them on the node by hand.").format(
                keys=", ".join(removed)))
        change = {}
        for key, value in after.items():
            if key not in before:
                change[plain_key(key)] = to_json(value)
                continue
            nested = snippet_change(before[key], value)
            if nested is not NO_CHANGE:
                change[plain_key(key)] = nested
        return change or NO_CHANGE

    if isinstance(before, dict):
        raise SnippetError(_("This value is a mapping in the file; give a mapping of the keys to change."))
    if same_value(before, after):
        return NO_CHANGE
    return to_json(after)


def same_value(left: Any, right: Any) -> bool:
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return set(left) == set(right) and all(same_value(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same_value(a, b) for a, b in zip(left, right))
    return bool(left == right)


def wrap_change(path: KeyPath, value: Any, data: Any) -> dict[str, Any]:
    """Nest a changed value under its key path; a path through a list replaces that whole list."""
    for index, part in enumerate(path):
        if isinstance(part, int):
            if index == 0:
                raise SnippetError(_("The file's top level is a list, which cannot be changed here."))
            items = copy.deepcopy(value_at(data, path[:index]))
            set_at(items, path[index:], value)
            return wrap_change(path[:index], items, data)

    if not path:
        if not isinstance(value, dict):
            raise SnippetError(_("The whole file is a mapping; give a mapping of the keys to change."))
        return value
    change: Any = value
    for part in reversed(path):
        change = {part: change}
    return change


def set_at(data: Any, path: KeyPath, change: Any) -> None:
    """Apply a change at a path inside plain data, merging mappings as ModifyConfiguration does."""
    for part in path[:-1]:
        data = data[part]
    current = data[path[-1]]
    data[path[-1]] = merged(current, change)


def merged(current: Any, change: Any) -> Any:
    if isinstance(current, dict) and isinstance(change, dict):
        result = dict(current)
        for key, value in change.items():
            result[key] = merged(result[key], value) if key in result else value
        return result
    return change


def diff_content(diffs: list[dict[str, Any]]) -> Content:
    """Colour unified diffs for a pane: a title per group of nodes, removed and added lines marked."""
    parts: list[Content] = []
    for group in diffs:
        parts.append(Content.styled(_("On {nodes}:").format(nodes=", ".join(group.get("hostnames") or [])), "bold"))
        for line in str(group.get("diff", "")).splitlines():
            if line.startswith(("+++", "---")):
                parts.append(Content.styled(line, "$text-muted"))
            elif line.startswith("+"):
                parts.append(Content.styled(line, "$text-success"))
            elif line.startswith("-"):
                parts.append(Content.styled(line, "$text-error"))
            elif line.startswith("@@"):
                parts.append(Content.styled(line, "$text-accent"))
            else:
                parts.append(Content(line))
        parts.append(Content(""))
    return Content("\n").join(parts)


def step_lines(steps: list[dict[str, Any]]) -> Content:
    """Write a job's steps one per line: title and state, coloured by state."""
    titles = [_(STEP_TITLES[name]) if name in STEP_TITLES else name
              for name in (str(step.get("name", "")) for step in steps)]
    width = max((cell_len(title) for title in titles), default=0)

    lines = []
    for step, title in zip(steps, titles):
        state = str(step.get("state", ""))
        padding = " " * (width - cell_len(title) + 2)
        lines.append(Content.assemble(title + padding, (state_word(state), state_style(state))))
    return Content("\n").join(lines)
