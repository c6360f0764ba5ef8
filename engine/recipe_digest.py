"""The digest of a recipe directory, and the file on each node that names the recipe staged there.

Staging the recipe (Executor.stage_recipe) writes the digest to DIGEST_FILE in the stage
directory, after the recipe's files. A service check compares that file with the digest of
the engine's recipe and restages a node only when they differ, so a node that a deploy or an
upgrade staged is not copied to again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine.ssh import SshError, SshPool, SshTarget

#: File in the stage directory containing the digest of the recipe staged there.
DIGEST_FILE = ".recipe-digest"

#: Seconds the command that writes the digest may take.
_WRITE_TIMEOUT = 60.0

# The digest goes to a temporary name first and is renamed into place, so a check never
# reads a partial digest.
_WRITE = 'printf "%s\\n" "$1" > "$2.tmp" && mv -f -- "$2.tmp" "$2"'


def recipe_digest(directory: Path) -> str:
    """Return a digest of every file of a recipe directory, names and contents."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def digest_path(stage: str) -> str:
    """Return the path of the digest file in a stage directory on the node."""
    return f"{stage}/{DIGEST_FILE}"


async def write_recipe_digest(pool: SshPool, target: SshTarget, stage: str, digest: str) -> None:
    """Write the digest of the recipe just staged to the node's stage directory.

    Raises SshError when the node cannot be reached or the write fails.
    """
    path = digest_path(stage)
    output: list[str] = []
    result = await pool.run(target, ["sh", "-c", _WRITE, "sh", digest, path], timeout=_WRITE_TIMEOUT,
                            on_line=output.append)
    if result.ok:
        return

    if result.timed_out:
        outcome, kind = f"timed out after {_WRITE_TIMEOUT:g} s", "timeout"
    elif result.exit_status is None:
        outcome, kind = "the connection was lost", "lost"
    else:
        outcome, kind = f"exit status {result.exit_status}", "sftp"
    detail = " / ".join(line for line in output[-3:] if line.strip())
    raise SshError(
        f"Writing {path} on the {target.describe()} failed ({outcome}{': ' + detail if detail else ''}), "
        f"so check that the node is up, that user {target.user} may write there and that the disk has room.",
        kind=kind,
        node_id=target.node_id,
    )
