"""Opening SSH connections to nodes: bounded handshakes, retries, strict host keys, clear errors.

OpenSSH drops surplus unauthenticated connections (MaxStartups), which a client sees as a reset
or a lost connection during the handshake. Those are retried with jittered exponential backoff.
Rejected keys and unverifiable host keys are never retried because only the operator can fix them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import asyncssh

from engine.ssh_keys import (
    HOST_KEY_TYPE_PROBES,
    host_key_algorithms,
    key_fingerprint,
    parse_public_key,
    public_key_line,
    unique_key_lines,
)
from engine.ssh_types import HostKeyChanged, HostKeyUnknown, SshError, SshTarget

logger = logging.getLogger("engine.ssh")

_T = TypeVar("_T")

_MAX_BACKOFF = 8.0


class NodeClient(asyncssh.SSHClient):
    """Record the host key a node offers and report when its connection ends."""

    def __init__(self, on_lost: Callable[[NodeClient], None]) -> None:
        self.offered_key: asyncssh.SSHKey | None = None
        self._on_lost = on_lost

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        # asyncssh calls this only for a key that matches no trusted key, so the key is never trusted.
        self.offered_key = key
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost(self)


@dataclass
class HandshakeSettings:
    """Limits and timeouts of handshakes; times are in seconds."""

    max_connections: int
    max_per_host: int
    connect_timeout: float
    login_timeout: float
    keepalive_interval: float
    keepalive_count_max: int
    handshake_retries: int
    retry_base_delay: float


class Handshaker:
    """Open authenticated connections and scan host keys within the pool's handshake limits.

    max_connections bounds handshakes in flight over all nodes, max_per_host those to one SSH
    address (nodes behind one bastion share it).
    """

    def __init__(self, settings: HandshakeSettings) -> None:
        self.settings = settings
        self._handshakes = asyncio.Semaphore(settings.max_connections)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._client_keys: dict[str, asyncssh.SSHKey] = {}

    async def open(
        self, target: SshTarget, client_key_path: str | None, on_lost: Callable[[NodeClient], None]
    ) -> tuple[asyncssh.SSHClientConnection, NodeClient]:
        """Connect and log in to a node, checking its host key strictly against target.host_keys."""
        where = target.describe()
        client_key = self._client_key(target, client_key_path)
        trusted = [_trusted_key(target, line) for line in target.host_keys]
        clients: list[NodeClient] = []

        async def attempt() -> asyncssh.SSHClientConnection:
            client = NodeClient(on_lost)
            clients.append(client)
            return await asyncssh.connect(
                target.host,
                target.port,
                username=target.user,
                client_factory=lambda: client,
                client_keys=[client_key],
                known_hosts=(trusted, [], []),
                server_host_key_algs=host_key_algorithms(trusted),
                preferred_auth="publickey",
                # Explicit values, so that the user's ~/.ssh and agent never change behaviour.
                config=None,
                agent_path=None,
                x509_trusted_certs=None,
                gss_kex=False,
                gss_auth=False,
                connect_timeout=self.settings.connect_timeout,
                login_timeout=self.settings.login_timeout,
                keepalive_interval=self.settings.keepalive_interval,
                keepalive_count_max=self.settings.keepalive_count_max,
            )

        try:
            conn = await self._with_retries(where, target.node_id, target.host, attempt)
        except asyncssh.HostKeyNotVerifiable:
            raise _host_key_error(target, trusted, clients[-1].offered_key) from None
        except asyncssh.PermissionDenied:
            raise log_error(
                SshError(
                    f"The {where} rejected the installer's client key {key_fingerprint(client_key)} "
                    f"for user {target.user}, so add its public key to that user's authorized_keys on the node.",
                    kind="auth",
                    node_id=target.node_id,
                )
            ) from None
        except (OSError, asyncssh.Error) as exc:
            raise self._connect_error(exc, where, target.node_id, target.port) from None

        logger.debug("node %s: connected to %s", target.node_id, where)
        return conn, clients[-1]

    async def scan_host_keys(self, host: str, port: int) -> list[str]:
        """Return every host key the server at host:port offers, as OpenSSH lines, without logging in."""
        where = f"SSH server {host}:{port}"
        found: list[str] = []

        for algorithms in HOST_KEY_TYPE_PROBES:
            try:
                key = await self._with_retries(
                    where, "", host, lambda algorithms=algorithms: self._fetch_host_key(host, port, algorithms)
                )
            except (OSError, asyncssh.Error) as exc:
                raise self._connect_error(exc, where, "", port) from None

            if key is not None:
                found.append(public_key_line(key))

        if not found:
            raise log_error(
                SshError(
                    f"The {where} offers no host key of a type the installer supports "
                    "(ed25519, ECDSA, RSA), so add an ed25519 host key to its sshd.",
                    kind="connect",
                    node_id="",
                )
            )
        return unique_key_lines(found)

    async def _fetch_host_key(self, host: str, port: int, algorithms: Sequence[str]) -> asyncssh.SSHKey | None:
        options = asyncssh.SSHClientConnectionOptions(connect_timeout=self.settings.connect_timeout, config=None)
        return await asyncssh.get_server_host_key(
            host, port, server_host_key_algs=list(algorithms), config=None, options=options
        )

    async def _with_retries(self, where: str, node_id: str, host: str, attempt: Callable[[], Awaitable[_T]]) -> _T:
        """Repeat a handshake attempt while the server drops it, then raise refused_retries_exhausted."""
        retries = self.settings.handshake_retries
        host_slots = self._host_slots.setdefault(host, asyncio.Semaphore(self.settings.max_per_host))
        last_error: Exception | None = None

        for retry in range(retries + 1):
            if retry:
                # Jitter spreads the retries of handshakes dropped together, so they do not collide again.
                backoff = min(_MAX_BACKOFF, self.settings.retry_base_delay * 2 ** (retry - 1))
                delay = backoff * random.uniform(0.5, 1.5)
                logger.info(
                    "node %s: %s dropped the SSH handshake (%s), retry %d of %d in %.2f s",
                    node_id or "-", where, error_reason(last_error), retry, retries, delay,
                )
                await asyncio.sleep(delay)

            # The host slot comes first, so handshakes queued for a busy address hold no global slot.
            async with host_slots, self._handshakes:
                try:
                    return await attempt()
                except asyncssh.ConnectionLost as exc:
                    # NOTE: asyncssh marks its own login timeout only by this message text.
                    if "Login timeout" in str(exc):
                        raise TimeoutError("login timeout expired") from None
                    last_error = exc
                except (ConnectionResetError, BrokenPipeError) as exc:
                    last_error = exc

        raise log_error(
            SshError(
                f"The {where} dropped the SSH handshake {retries + 1} times in a row "
                f"({error_reason(last_error)}), so raise MaxStartups in its sshd_config or lower the "
                "installer's parallel connections.",
                kind="refused_retries_exhausted",
                node_id=node_id,
            )
        )

    def _client_key(self, target: SshTarget, path: str | None) -> asyncssh.SSHKey:
        if path is None:
            raise log_error(
                SshError(
                    f"No client key is set for the {target.describe()}, so generate the installer's key "
                    "and give its path to the SSH pool.",
                    kind="auth",
                    node_id=target.node_id,
                )
            )

        if path not in self._client_keys:
            try:
                self._client_keys[path] = asyncssh.read_private_key(path)
            except (OSError, asyncssh.KeyImportError) as exc:
                raise log_error(
                    SshError(
                        f"The client key {path} for the {target.describe()} cannot be read "
                        f"({error_reason(exc)}), so point the installer at a readable private key "
                        "without a passphrase.",
                        kind="auth",
                        node_id=target.node_id,
                    )
                ) from None
        return self._client_keys[path]

    def _connect_error(self, exc: BaseException, where: str, node_id: str, port: int) -> SshError:
        if isinstance(exc, TimeoutError):
            message = (
                f"Connecting to the {where} timed out after {self.settings.connect_timeout:g} s, so check "
                f"that the node is up and that nothing blocks port {port} on the way."
            )
            return log_error(SshError(message, kind="timeout", node_id=node_id))

        if isinstance(exc, ConnectionRefusedError):
            message = (
                f"The {where} refused the connection, so check that sshd runs on the node "
                f"and listens on port {port}."
            )
        elif isinstance(exc, OSError):
            message = (
                f"Connecting to the {where} failed ({error_reason(exc)}), so check the address "
                "and the network path to the node."
            )
        else:
            message = (
                f"The SSH handshake with the {where} failed ({error_reason(exc)}), so check the "
                "key exchange and host key settings of its sshd."
            )
        return log_error(SshError(message, kind="connect", node_id=node_id))


def _trusted_key(target: SshTarget, line: str) -> asyncssh.SSHKey:
    try:
        return parse_public_key(line)
    except ValueError as exc:
        raise ValueError(f"trusted host key of node {target.node_id}: {exc}") from None


def _host_key_error(target: SshTarget, trusted: list[asyncssh.SSHKey], offered: asyncssh.SSHKey | None) -> SshError:
    where = target.describe()
    offered_fingerprints = [key_fingerprint(offered)] if offered is not None else []
    shown_offered = ", ".join(offered_fingerprints) or "a host key that could not be read"

    if not trusted:
        return log_error(
            HostKeyUnknown(
                f"The {where} offered host key {shown_offered} but no host key is trusted for it yet, "
                "so compare that fingerprint with `ssh-keygen -lf` on the node's console and trust it.",
                node_id=target.node_id,
                offered_fingerprints=offered_fingerprints,
            )
        )

    trusted_fingerprints = [key_fingerprint(key) for key in trusted]
    return log_error(
        HostKeyChanged(
            f"The {where} offered host key {shown_offered} instead of the trusted "
            f"{', '.join(trusted_fingerprints)}, so the installer refused to connect; if the node was "
            "reinstalled, check the new fingerprint on its console and trust it with TrustNodeHostKey "
            "(F7 on the nodes screen).",
            node_id=target.node_id,
            trusted_fingerprints=trusted_fingerprints,
            offered_fingerprints=offered_fingerprints,
        )
    )


def log_error(error: SshError) -> SshError:
    """Log an SshError that is about to be raised, with its node id."""
    logger.warning("node %s: %s", error.node_id or "-", error.message)
    return error


def error_reason(exc: BaseException | None) -> str:
    """Describe an exception in a few words for a message, without key material."""
    if exc is None:
        return "no error"
    if isinstance(exc, asyncssh.Error) and exc.reason:
        return exc.reason
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
