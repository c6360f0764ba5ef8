"""Write a report file atomically: a reader sees the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: Mode of a new report file. A report contains host names and addresses but no secret.
NEW_FILE_MODE = 0o644


def write_report_file(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` as UTF-8 to a temporary file beside `path`, then rename it over `path`.

    Returns the absolute path written. An existing file keeps its mode. Raises
    OSError (the temporary file is removed) when the directory is missing or
    not writable.
    """
    target = Path(path).absolute()
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = NEW_FILE_MODE

    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
