"""Editable YAML files on the nodes: parse, resolve segments, merge changes, diff, push.

A change is spliced into the file's own text: only the values that change
and the keys that are added are written, so comments, key order, quoting,
indentation and flow style of everything else stay byte for byte.

- `document`: the file's data (as PyYAML's safe_load reads it) and its node tree with text positions.
- `segments`: dotted segments such as `common.hypervisor_policies.rdb_mysql5.5` resolved against real keys.
- `merge`: checks of a requested change and the data it should produce.
- `splice` and `scalars`: the new text of a file after a change.
- `outline`: where each key's value is in the text, for viewers.
- `diff`: unified diffs for job logs and previews.
- `remote`, `modify_job`, `restore_job`: the files on the nodes, over the engine's SSH pool.
"""

from engine.nodeconfig.diff import unified_diff
from engine.nodeconfig.document import ConfigDocument, ConfigFileError, parse_document, same_data, to_plain
from engine.nodeconfig.merge import ChangeError, check_change, merge_data
from engine.nodeconfig.segments import SegmentNotFound, resolve_segment
from engine.nodeconfig.splice import apply_change

__all__ = [
    "ChangeError",
    "ConfigDocument",
    "ConfigFileError",
    "SegmentNotFound",
    "apply_change",
    "check_change",
    "merge_data",
    "parse_document",
    "resolve_segment",
    "same_data",
    "to_plain",
    "unified_diff",
]
