"""The engine's SSH layer: one cached connection per node, remote commands and file copies.

Every connection checks the node's host key strictly against the keys the installer stored for
it, logs in with the installer's client key only and ignores the user's ~/.ssh. Handshakes are
bounded globally and per SSH address, and channels per connection, because OpenSSH drops surplus
handshakes (MaxStartups, default 10:30:100) and refuses surplus channels (MaxSessions, default 10).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import posixpath
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import asyncssh

from engine.ssh_handshake import HandshakeSettings, Handshaker, NodeClient, error_reason, log_error
from engine.ssh_keys import fingerprint, generate_client_key
from engine.ssh_output import MAX_LINE_BYTES, LineSplitter
from engine.ssh_types import CommandResult, HostKeyChanged, HostKeyUnknown, SshError, SshTarget, quote_command

__all__ = [
    "MAX_LINE_BYTES",
    "CommandResult",
    "HostKeyChanged",
    "HostKeyUnknown",
    "SshError",
    "SshPool",
    "SshTarget",
    "fingerprint",
    "generate_client_key",
    "quote_command",
]

logger = logging.getLogger("engine.ssh")

_T = TypeVar("_T")

# A channel open that fails while the connection is still up (MaxSessions reached) is retried
# up to this many times, each after one of our channels on that connection closes or a short delay.
_CHANNEL_OPEN_ATTEMPTS = 10
_CHANNEL_RETRY_DELAY = 0.05
_READ_CHUNK = 65536


@dataclass(eq=False)
class _Connection:
    """A cached connection and the channels open on it."""

    target: SshTarget
    conn: asyncssh.SSHClientConnection
    client: NodeClient
    channels: asyncio.Semaphore
    channel_closed: asyncio.Event = field(default_factory=asyncio.Event)
    open_channels: int = 0
    retired: bool = False


class SshPool:
    """SSH connections to nodes, one per node and reused until closed.

    max_connections bounds handshakes in flight over all nodes, max_per_host those to one SSH
    address, and max_channels_per_connection the channels (commands, SFTP sessions) open at
    once on one connection. Times are in seconds.
    """

    def __init__(
        self,
        *,
        default_client_key: str | None,
        max_connections: int = 64,
        max_per_host: int = 16,
        max_channels_per_connection: int = 10,
        connect_timeout: float = 15.0,
        login_timeout: float = 30.0,
        keepalive_interval: float = 15.0,
        keepalive_count_max: int = 4,
        handshake_retries: int = 4,
        retry_base_delay: float = 0.25,
    ) -> None:
        self.default_client_key = default_client_key
        self.max_channels_per_connection = max_channels_per_connection
        self._handshaker = Handshaker(
            HandshakeSettings(
                max_connections=max_connections,
                max_per_host=max_per_host,
                connect_timeout=connect_timeout,
                login_timeout=login_timeout,
                keepalive_interval=keepalive_interval,
                keepalive_count_max=keepalive_count_max,
                handshake_retries=handshake_retries,
                retry_base_delay=retry_base_delay,
            )
        )
        self._connections: dict[str, _Connection] = {}
        self._retired: set[_Connection] = set()
        self._node_locks: dict[str, asyncio.Lock] = {}

    async def __aenter__(self) -> SshPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def scan_host_keys(self, host: str, port: int) -> list[str]:
        """Return every host key the server at host:port offers, as OpenSSH lines, without logging in.

        Each key type costs one handshake. Raises SshError when the server cannot be reached.
        """
        return await self._handshaker.scan_host_keys(host, port)

    async def connect(self, target: SshTarget) -> None:
        """Open the connection to a node unless one is cached, checking its host key strictly.

        Raises HostKeyChanged when target.host_keys is not empty but contains no offered key,
        HostKeyUnknown when it is empty, and SshError for every other failure.
        """
        await self._connection(target)

    async def close(self) -> None:
        """Close every connection of the pool, ending the commands still running on them."""
        entries = [*self._connections.values(), *self._retired]
        self._connections.clear()
        self._retired.clear()

        for entry in entries:
            entry.conn.close()
        for entry in entries:
            await entry.conn.wait_closed()

    async def run(
        self,
        target: SshTarget,
        argv: Sequence[str],
        *,
        timeout: float,
        on_line: Callable[[str], None] | None = None,
    ) -> CommandResult:
        """Run a command on a node with stdout and stderr merged, passing each line to on_line as it arrives.

        The timeout counts from the start of the command, not while the pool waits for a
        connection or a free channel. Lines longer than MAX_LINE_BYTES are cut and marked.
        A lost connection gives exit_status None. Raises SshError when the node cannot be
        reached or keeps refusing channels.
        """
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")

        # 2>&1 merges the streams on the node, so lines keep the order they were written in.
        # stderr=STDOUT still catches what the login shell itself writes to stderr.
        command = quote_command(argv) + " 2>&1"
        entry, process = await self._open_channel(
            target, lambda conn: conn.create_process(command, stderr=asyncssh.STDOUT, encoding=None)
        )

        splitter = LineSplitter(on_line)
        timed_out = False
        try:
            async with asyncio.timeout(timeout):
                await self._pump_output(process, splitter)
                await process.wait_closed()
        except TimeoutError:
            timed_out = True
            self._stop_process(process, target)
        except (asyncssh.DisconnectError, ConnectionError):
            pass  # the connection ended, which exit_status None reports below
        finally:
            process.close()
            self._release_channel(entry)

        splitter.flush()

        if timed_out:
            logger.warning("node %s: command timed out after %g s on %s", target.node_id, timeout, target.describe())
            return CommandResult(exit_status=None, timed_out=True)

        result = CommandResult(exit_status=process.exit_status, timed_out=False)
        if process.exit_signal is not None:
            result.exit_signal = process.exit_signal[0]
        if result.lost:
            logger.warning("node %s: connection lost before the command finished on %s", target.node_id, target.describe())
            self._drop(entry)
        return result

    async def put_tree(self, target: SshTarget, local_dir: Path, remote_dir: str) -> None:
        """Copy a local directory tree into remote_dir over SFTP, creating directories as needed.

        A relative remote_dir is relative to the login directory. File modes are kept.
        """
        local_dir = Path(local_dir)
        if not local_dir.is_dir():
            raise FileNotFoundError(f"local directory {local_dir} does not exist")

        async with self._sftp(target, remote_dir) as sftp:
            await sftp.makedirs(remote_dir, exist_ok=True)

            for directory, subdirectories, files in os.walk(local_dir):
                relative = Path(directory).relative_to(local_dir)
                remote = posixpath.join(remote_dir, *relative.parts)

                for name in sorted(subdirectories):
                    await sftp.makedirs(posixpath.join(remote, name), exist_ok=True)
                for name in sorted(files):
                    await sftp.put(os.path.join(directory, name), posixpath.join(remote, name), preserve=True)

    async def put_bytes(self, target: SshTarget, data: bytes, remote_path: str, mode: int = 0o644) -> None:
        """Write data to remote_path with the given mode, creating its directory if missing.

        The data goes to a temporary name in the same directory first and is then renamed over
        remote_path, so a reader never sees a partial file. The rename needs OpenSSH's
        posix-rename extension.
        """
        parent = posixpath.dirname(remote_path)
        temporary = f"{remote_path}.tmp-{secrets.token_hex(4)}"

        async with self._sftp(target, remote_path) as sftp:
            if parent:
                await sftp.makedirs(parent, exist_ok=True)

            try:
                async with sftp.open(temporary, "wb") as remote_file:
                    await remote_file.write(data)

                # chmod after writing because the server's umask may have narrowed the mode.
                await sftp.chmod(temporary, mode)
                await sftp.posix_rename(temporary, remote_path)
            except BaseException:
                with contextlib.suppress(asyncssh.Error, OSError):
                    await sftp.remove(temporary)
                raise

    # Connection cache

    async def _connection(self, target: SshTarget) -> _Connection:
        lock = self._node_locks.setdefault(target.node_id, asyncio.Lock())
        async with lock:
            cached = self._connections.get(target.node_id)
            if cached is not None and cached.target == target and not cached.conn.is_closed():
                return cached
            if cached is not None:
                self._drop(cached)

            client_key = target.client_key or self.default_client_key
            conn, client = await self._handshaker.open(target, client_key, self._forget_lost)
            entry = _Connection(
                target=target,
                conn=conn,
                client=client,
                channels=asyncio.Semaphore(self.max_channels_per_connection),
            )
            self._connections[target.node_id] = entry
            return entry

    def _drop(self, entry: _Connection) -> None:
        """Forget a connection. An open one closes as soon as its last channel does."""
        if self._connections.get(entry.target.node_id) is entry:
            del self._connections[entry.target.node_id]

        if entry.conn.is_closed():
            self._retired.discard(entry)
        elif entry.open_channels == 0:
            entry.conn.close()
        else:
            entry.retired = True
            self._retired.add(entry)

    def _forget_lost(self, client: NodeClient) -> None:
        for entry in [*self._connections.values(), *self._retired]:
            if entry.client is client:
                logger.info("node %s: connection to %s closed", entry.target.node_id, entry.target.describe())
                self._drop(entry)

    # Channels

    async def _open_channel(
        self, target: SshTarget, opener: Callable[[asyncssh.SSHClientConnection], Awaitable[_T]]
    ) -> tuple[_Connection, _T]:
        """Open a channel on the node's connection; the caller hands the entry to _release_channel."""
        reopened = False
        failures = 0

        while True:
            entry = await self._connection(target)
            await entry.channels.acquire()
            entry.open_channels += 1

            try:
                return entry, await opener(entry.conn)
            except (asyncssh.ChannelOpenError, asyncssh.DisconnectError, ConnectionError) as exc:
                self._release_channel(entry)
                error = exc

            if entry.conn.is_closed():
                # A closed connection is reopened once; losing the new one at once is reported.
                self._drop(entry)
                if reopened:
                    raise log_error(
                        SshError(
                            f"The connection to the {target.describe()} closed again right after it was "
                            f"reopened ({error_reason(error)}), so check the node's sshd and its logs.",
                            kind="lost",
                            node_id=target.node_id,
                        )
                    )
                reopened = True
                continue

            failures += 1
            if failures >= _CHANNEL_OPEN_ATTEMPTS:
                raise log_error(
                    SshError(
                        f"Opening an SSH channel on the {target.describe()} failed {failures} times "
                        f"({error_reason(error)}), so raise MaxSessions in its sshd_config or lower the "
                        "installer's channels per connection.",
                        kind="channel",
                        node_id=target.node_id,
                    )
                )

            logger.info("node %s: opening an SSH channel failed (%s), retry %d", target.node_id, error_reason(error), failures)
            await self._wait_for_channel(entry, _CHANNEL_RETRY_DELAY * 2 ** min(failures, 5))

    def _release_channel(self, entry: _Connection) -> None:
        entry.open_channels -= 1
        entry.channels.release()

        # Wake the waiters of this closing and give later ones a fresh event.
        entry.channel_closed.set()
        entry.channel_closed = asyncio.Event()

        if entry.retired and entry.open_channels == 0:
            self._retired.discard(entry)
            entry.conn.close()

    @staticmethod
    async def _wait_for_channel(entry: _Connection, delay: float) -> None:
        """Wait until one of our channels on this connection closes, or at most delay seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(entry.channel_closed.wait(), delay)

    @contextlib.asynccontextmanager
    async def _sftp(self, target: SshTarget, remote_path: str) -> AsyncIterator[asyncssh.SFTPClient]:
        entry, sftp = await self._open_channel(target, lambda conn: conn.start_sftp_client())
        try:
            yield sftp
        except (asyncssh.SFTPConnectionLost, asyncssh.DisconnectError, ConnectionError) as exc:
            raise log_error(
                SshError(
                    f"The connection to the {target.describe()} was lost while writing {remote_path} "
                    f"({error_reason(exc)}), so check that the node is up and copy again.",
                    kind="lost",
                    node_id=target.node_id,
                )
            ) from None
        except asyncssh.SFTPError as exc:
            raise log_error(
                SshError(
                    f"Writing {remote_path} on the {target.describe()} failed ({error_reason(exc)}), "
                    f"so check that user {target.user} may write there.",
                    kind="sftp",
                    node_id=target.node_id,
                )
            ) from None
        finally:
            sftp.exit()
            self._release_channel(entry)

    # Command output

    @staticmethod
    async def _pump_output(process: asyncssh.SSHClientProcess, splitter: LineSplitter) -> None:
        while chunk := await process.stdout.read(_READ_CHUNK):
            splitter.feed(chunk)

    @staticmethod
    def _stop_process(process: asyncssh.SSHClientProcess, target: SshTarget) -> None:
        # NOTE: OpenSSH signals only the process sshd started; children that ignore the closed
        # channel may outlive the timeout.
        with contextlib.suppress(asyncssh.Error, OSError):
            process.send_signal("TERM")
        logger.info("node %s: sent TERM to the timed-out command on %s", target.node_id, target.describe())
