"""An editable file on one node, read, backed up and replaced over the engine's SSH pool.

Files travel as base64 text over a command, because the pool's command output is split
into lines, which would lose a final newline or a carriage return. Replacing a file is
a write to a temporary file in the same directory, then a rename over the old one, so
a service never reads a half-written file. The commands are POSIX sh with GNU coreutils
options (`mv -T`, `chmod --reference`), as on the Linux distributions QingCloud runs on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
from dataclasses import dataclass

from engine.ssh import SshError, SshPool, SshTarget

#: Seconds one file command may take on a node.
FILE_COMMAND_TIMEOUT = 60.0

#: Exit status of the read command for a file that does not exist.
_MISSING = 3

_READ = 'if [ ! -e "$1" ]; then exit 3; fi; base64 < "$1"'
_COPY = 'cp -p -- "$1" "$2"'
_MATCH_OWNER = 'chmod --reference="$1" -- "$2" && chown --reference="$1" -- "$2"'
_RENAME = 'mv -f -T -- "$1" "$2"'
_REMOVE = 'rm -f -- "$1"'
_COPY_INTO_PLACE = 'cp -p -- "$1" "$3" && mv -f -T -- "$3" "$2"'


class RemoteFileError(Exception):
    """A file command that failed on a node; the message names the node, the file and the output.

    `outcome_unknown` is true when the connection ended or the command timed out, so the
    command may or may not have done its work.
    """

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class RemoteFileMissing(RemoteFileError):
    """The file does not exist on the node."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def temporary_path(path: str, job_id: str) -> str:
    """Return a hidden name beside `path`, so that the final rename stays within one filesystem."""
    directory, name = posixpath.split(path)
    return posixpath.join(directory, f".{name}.{job_id}.tmp")


def backup_path(path: str, stamp: str, job_id: str) -> str:
    """Return the backup name of `path` for one job, e.g. `server.yaml.bak-20250301T120000Z-j-AbCdEfGh`."""
    return f"{path}.bak-{stamp}-{job_id}"


@dataclass
class NodeFile:
    """One node's copy of a file, reached over a pool."""

    pool: SshPool
    target: SshTarget
    path: str

    @property
    def where(self) -> str:
        return f"{self.path} on {self.target.hostname}"

    async def read(self, path: str | None = None) -> bytes:
        """Return the bytes of the file (or of another path on the node, such as its backup)."""
        path = path or self.path
        lines: list[str] = []
        # The output is the file itself, so it must not be cut as a job log's output is.
        result = await self.pool.run(self.target, ["sh", "-c", _READ, "sh", path], timeout=FILE_COMMAND_TIMEOUT,
                                     on_line=lines.append, limit_output=False)
        if result.exit_status == _MISSING:
            raise RemoteFileMissing(f"{path} does not exist on {self.target.hostname}")
        if not result.ok:
            raise RemoteFileError(f"reading {path} on {self.target.hostname} failed: {_outcome(result, lines)}")
        try:
            return base64.b64decode("".join(lines), validate=True)
        except binascii.Error:
            raise RemoteFileError(f"reading {path} on {self.target.hostname} returned damaged data; try again") from None

    async def copy(self, source: str, destination: str) -> None:
        await self._run(_COPY, [source, destination], f"copying {source} to {destination}")

    async def write_temporary(self, temporary: str, data: bytes) -> None:
        """Write data to `temporary` with the mode and owner of the file it will replace."""
        try:
            await self.pool.put_bytes(self.target, data, temporary, mode=0o600)
        except (OSError, SshError) as error:
            raise RemoteFileError(f"writing {temporary} on {self.target.hostname} failed: {error}") from None
        await self._run(_MATCH_OWNER, [self.path, temporary], f"giving {temporary} the mode and owner of {self.path}")

    async def rename_into_place(self, temporary: str) -> None:
        await self._run(_RENAME, [temporary, self.path], f"renaming {temporary} to {self.path}")

    async def remove(self, path: str) -> None:
        await self._run(_REMOVE, [path], f"removing {path}")

    async def put_back(self, backup: str, temporary: str) -> None:
        """Copy a backup over the file through a temporary copy, keeping the backup."""
        await self._run(_COPY_INTO_PLACE, [backup, self.path, temporary], f"copying {backup} back to {self.path}")

    async def _run(self, script: str, arguments: list[str], what: str) -> None:
        lines: list[str] = []
        result = await self.pool.run(self.target, ["sh", "-c", script, "sh", *arguments],
                                     timeout=FILE_COMMAND_TIMEOUT, on_line=lines.append)
        if not result.ok:
            raise RemoteFileError(f"{what} on {self.target.hostname} failed: {_outcome(result, lines)}",
                                  outcome_unknown=result.exit_status is None)


def _outcome(result, lines: list[str]) -> str:
    if result.timed_out:
        status = f"timed out after {FILE_COMMAND_TIMEOUT:g} s"
    elif result.exit_status is None:
        status = "the connection was lost"
    else:
        status = f"exit status {result.exit_status}"
    output = " / ".join(line for line in lines[-3:] if line.strip())
    return f"{status}: {output}" if output else status
