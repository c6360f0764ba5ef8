"""Values the SSH engine takes and returns: targets, command results and errors.

engine.ssh re-exports every name here; import them from there.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SshTarget:
    """How to reach one node over SSH and which host keys to trust for it.

    host_keys are OpenSSH public key lines; an empty tuple means no key is trusted yet.
    client_key is the path of a private key file, or None for the pool's default key.
    """

    node_id: str
    hostname: str
    host: str
    port: int
    user: str
    host_keys: tuple[str, ...] = ()
    client_key: str | None = None

    def describe(self) -> str:
        """Name the node for messages: "node pek3ar01n01 (root@127.0.0.11:2222)"."""
        return f"node {self.hostname} ({self.user}@{self.host}:{self.port})"


class SshError(Exception):
    """An SSH failure that the operator has to act on; the message names the node and the fix.

    kind is one of "connect", "timeout", "auth", "host_key_unknown", "host_key_changed", "lost",
    "refused_retries_exhausted", "channel", "stalled" (the connection stopped answering) or
    "sftp" (a remote file operation failed).
    node_id is empty for failures that concern an address rather than a registered node.
    """

    def __init__(self, message: str, *, kind: str, node_id: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.node_id = node_id
        self.message = message


class HostKeyUnknown(SshError):
    """The node offered a host key but none is trusted for it yet."""

    def __init__(self, message: str, *, node_id: str, offered_fingerprints: list[str]) -> None:
        super().__init__(message, kind="host_key_unknown", node_id=node_id)
        self.offered_fingerprints = offered_fingerprints


class HostKeyChanged(SshError):
    """The node offered a host key that differs from every key trusted for it."""

    def __init__(
        self,
        message: str,
        *,
        node_id: str,
        trusted_fingerprints: list[str],
        offered_fingerprints: list[str],
    ) -> None:
        super().__init__(message, kind="host_key_changed", node_id=node_id)
        self.trusted_fingerprints = trusted_fingerprints
        self.offered_fingerprints = offered_fingerprints


@dataclass
class CommandResult:
    """Outcome of one remote command. exit_status None means lost or timed out, never success.

    exit_signal is the name of the signal that ended the command ("KILL"), if one did.
    output_cut_lines counts the output lines that went past the pool's output limit; of those,
    only the last few reached on_line.
    """

    exit_status: int | None
    timed_out: bool
    exit_signal: str | None = None
    output_cut_lines: int = 0

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    @property
    def lost(self) -> bool:
        """Whether the connection ended before the command reported an exit status."""
        return self.exit_status is None and not self.timed_out


def quote_command(argv: Sequence[str]) -> str:
    """Build a POSIX shell command line from arguments, each quoted as one literal word.

    NOTE: the quoting assumes a POSIX login shell for the remote user (sh, bash, dash); csh or
    fish would read some quoted values differently.
    """
    if isinstance(argv, (str, bytes)):
        raise TypeError("argv must be a sequence of arguments, not a single string")
    if not argv:
        raise ValueError("argv must contain at least the program to run")

    for argument in argv:
        if not isinstance(argument, str):
            raise TypeError(f"every argument must be a str, got {type(argument).__name__}")
        if "\0" in argument:
            raise ValueError("arguments cannot contain NUL characters")

    return " ".join(shlex.quote(argument) for argument in argv)
