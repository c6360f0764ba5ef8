"""Key helpers for the SSH engine: fingerprints, the installer's client key and host key algorithms.

The engine pins every host key a node offers and checks it strictly afterwards, so it needs to
parse OpenSSH public key lines, print fingerprints as `ssh-keygen -l` does and decide which host
key algorithms to offer in a handshake.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import asyncssh

CLIENT_KEY_COMMENT = "qingcloud-installer"

# Host key algorithms in the order the engine prefers them when no trusted key decides.
# ssh-rsa (SHA-1 signatures) is left out because OpenSSH 8.8 and later disable it too.
PREFERRED_HOST_KEY_ALGORITHMS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
)

# A server shows one host key per handshake: the one for the first algorithm in the client's
# list that it supports. One handshake per key type, each listing that type first, finds every
# key a node offers. The other types follow so that the negotiation never fails, because
# OpenSSH resets the connection after a failed one, which looks like a dropped handshake.
HOST_KEY_TYPE_PROBES = tuple(
    (*first, *(name for name in PREFERRED_HOST_KEY_ALGORITHMS if name not in first))
    for first in (
        ("ssh-ed25519",),
        ("ecdsa-sha2-nistp256",),
        ("ecdsa-sha2-nistp384",),
        ("ecdsa-sha2-nistp521",),
        ("rsa-sha2-512", "rsa-sha2-256"),
    )
)


def parse_public_key(openssh_public_key: str) -> asyncssh.SSHKey:
    """Parse one OpenSSH public key line ("ssh-ed25519 AAAA... comment").

    Raises ValueError when the line is not a public key that asyncssh can read.
    """
    try:
        return asyncssh.import_public_key(openssh_public_key.strip())
    except (asyncssh.KeyImportError, ValueError) as exc:
        shown = openssh_public_key.strip()[:40]
        raise ValueError(f"invalid OpenSSH public key {shown!r}: {exc}") from None


def fingerprint(openssh_public_key: str) -> str:
    """Return the SHA-256 fingerprint of a public key line as `ssh-keygen -l` prints it ("SHA256:...")."""
    return parse_public_key(openssh_public_key).get_fingerprint("sha256")


def key_fingerprint(key: asyncssh.SSHKey) -> str:
    """Return the SHA-256 fingerprint of a parsed key ("SHA256:...")."""
    return key.get_fingerprint("sha256")


def public_key_line(key: asyncssh.SSHKey) -> str:
    """Return the OpenSSH public key line of a key, without a trailing newline."""
    return key.export_public_key("openssh").decode("ascii").strip()


def same_key(line_a: str, line_b: str) -> bool:
    """Return whether two public key lines contain the same key, ignoring their comments."""
    return line_a.split()[:2] == line_b.split()[:2]


def generate_client_key(path: Path) -> str:
    """Create the installer's ed25519 client key at `path` (mode 0600) and `path`.pub.

    An existing private key at `path` is reused and its .pub file rewritten if missing or stale.
    Returns the public key line.
    """
    path = Path(path)
    public_path = path.with_name(path.name + ".pub")

    if path.exists():
        key = asyncssh.read_private_key(str(path))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519", comment=CLIENT_KEY_COMMENT)

        # O_EXCL with mode 0600 so that the key is never readable by others, not even briefly.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as key_file:
            key_file.write(key.export_private_key("openssh"))

    line = public_key_line(key)
    if not public_path.exists() or public_path.read_text().strip() != line:
        public_path.write_text(line + "\n")
        public_path.chmod(0o644)

    return line


def host_key_algorithms(trusted: Sequence[asyncssh.SSHKey]) -> list[str]:
    """Order the host key algorithms to offer: those of the trusted keys first, then the rest.

    Offering more than the trusted types lets a node that now presents a key of another type
    fail host key validation, which names the offered key, instead of failing the negotiation.
    """
    ordered: list[str] = []
    for key in trusted:
        for algorithm in key.sig_algorithms:
            name = algorithm.decode("ascii")
            if name in PREFERRED_HOST_KEY_ALGORITHMS and name not in ordered:
                ordered.append(name)

    ordered.extend(name for name in PREFERRED_HOST_KEY_ALGORITHMS if name not in ordered)
    return ordered


def unique_key_lines(lines: Iterable[str]) -> list[str]:
    """Drop repeated keys from public key lines, keeping the first of each."""
    unique: list[str] = []
    for line in lines:
        if not any(same_key(line, seen) for seen in unique):
            unique.append(line)
    return unique
