"""The engine's SSH layer: one cached connection per node, remote commands and file copies.

Every connection checks the node's host key strictly against the keys the installer stored for
it, logs in with the installer's client key only and ignores the user's ~/.ssh. Handshakes are
bounded globally and per SSH address, and channels per connection, because OpenSSH drops surplus
handshakes (MaxStartups, default 10:30:100) and refuses surplus channels (MaxSessions, default 10).
A server that refuses a channel while some are open lowers that connection's channel limit to
the number open, so the pool stops asking for more than the server allows.

A connection that may have stalled (a command timed out, a channel open got no answer) is
dropped, so the next command on that node starts on a fresh connection instead of waiting on a
dead one. Each command's output reaches on_line only up to a limit, then only its tail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import asyncssh

from engine.ssh_files import NodeFiles
from engine.ssh_handshake import HandshakeSettings, Handshaker, NodeClient, error_reason, log_error
from engine.ssh_keys import fingerprint, generate_client_key
from engine.ssh_output import LOGGED_TAIL_CHARS, MAX_LINE_BYTES, MAX_LOGGED_CHARS, LineSplitter, OutputLimiter
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
# Seconds close() waits for a connection to finish closing before it aborts the connection.
_CLOSE_TIMEOUT = 5.0


@dataclass(eq=False)
class _Connection:
    """A cached connection and the channels open on it."""

    target: SshTarget
    conn: asyncssh.SSHClientConnection
    client: NodeClient
    channel_limit: int
    channel_closed: asyncio.Event = field(default_factory=asyncio.Event)
    opening: asyncio.Lock = field(default_factory=asyncio.Lock)
    open_channels: int = 0
    """Channels counted against channel_limit: open ones and those waiting to open."""
    established: int = 0
    """Channels whose open request succeeded and that are not closed yet."""
    retired: bool = False


class SshPool(NodeFiles):
    """SSH connections to nodes, one per node and reused until closed.

    max_connections bounds handshakes in flight over all nodes, max_per_host those to one SSH
    address, and max_channels_per_connection the channels (commands, SFTP sessions) open at
    once on one connection. A channel open request without a response within connect_timeout counts
    as a stalled connection. Each command passes at most max_logged_chars characters of output
    to on_line, then only its last logged_tail_chars. Times are in seconds.
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
        max_logged_chars: int = MAX_LOGGED_CHARS,
        logged_tail_chars: int = LOGGED_TAIL_CHARS,
    ) -> None:
        self.default_client_key = default_client_key
        self.max_channels_per_connection = max_channels_per_connection
        self.channel_open_timeout = connect_timeout
        self.max_logged_chars = max_logged_chars
        self.logged_tail_chars = logged_tail_chars
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
            # A peer that stopped reading can keep a closing connection open for good.
            try:
                async with asyncio.timeout(_CLOSE_TIMEOUT):
                    await entry.conn.wait_closed()
            except TimeoutError:
                logger.warning("node %s: the connection to %s did not close within %g s, aborted it",
                               entry.target.node_id, entry.target.describe(), _CLOSE_TIMEOUT)
                entry.conn.abort()

    async def run(
        self,
        target: SshTarget,
        argv: Sequence[str],
        *,
        timeout: float,
        on_line: Callable[[str], None] | None = None,
        limit_output: bool = True,
    ) -> CommandResult:
        """Run a command on a node with stdout and stderr merged, passing each line to on_line as it arrives.

        The timeout counts from the start of the command, not while the pool waits for a
        connection or a free channel. Lines longer than MAX_LINE_BYTES are cut and marked, and
        output past max_logged_chars reaches on_line only as a tail (see OutputLimiter) unless
        limit_output is False, which callers that collect the output as data need.
        A lost connection gives exit_status None. A timed-out command gets SIGTERM and its
        connection is dropped, so a node that stopped answering costs one timeout, not a hang.
        Raises SshError when the node cannot be reached or keeps refusing channels.
        """
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")

        # 2>&1 merges the streams on the node, so lines keep the order they were written in.
        # stderr=STDOUT still catches what the login shell itself writes to stderr.
        command = quote_command(argv) + " 2>&1"
        entry, process = await self._open_channel(
            target, lambda conn: conn.create_process(command, stderr=asyncssh.STDOUT, encoding=None)
        )

        limiter = None
        if on_line is not None and limit_output:
            limiter = OutputLimiter(on_line, head_chars=self.max_logged_chars, tail_chars=self.logged_tail_chars)
        splitter = LineSplitter(limiter if limiter is not None else on_line)
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
        cut_lines = 0
        if limiter is not None:
            limiter.finish()
            cut_lines = limiter.cut_lines

        if timed_out:
            logger.warning("node %s: command timed out after %g s on %s", target.node_id, timeout, target.describe())
            # The command may hang because the connection itself stalled; the next one reconnects.
            self._drop(entry)
            return CommandResult(exit_status=None, timed_out=True, output_cut_lines=cut_lines)

        result = CommandResult(exit_status=process.exit_status, timed_out=False, output_cut_lines=cut_lines)
        if process.exit_signal is not None:
            result.exit_signal = process.exit_signal[0]
        if result.lost:
            logger.warning("node %s: connection lost before the command finished on %s", target.node_id, target.describe())
            self._drop(entry)
        return result

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
            entry = _Connection(target=target, conn=conn, client=client, channel_limit=self.max_channels_per_connection)
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
            await self._reserve_channel(entry)

            # One open request at a time per connection, so that when the server rejects one,
            # `established` is exactly the number of channels it has open for us.
            async with entry.opening:
                try:
                    async with asyncio.timeout(self.channel_open_timeout):
                        channel = await opener(entry.conn)
                except TimeoutError:
                    error: Exception = TimeoutError(
                        f"no response to the channel open request within {self.channel_open_timeout:g} s"
                    )
                    stalled = True
                except (asyncssh.ChannelOpenError, asyncssh.DisconnectError, ConnectionError) as exc:
                    error = exc
                    stalled = False
                else:
                    entry.established += 1
                    return entry, channel
                others = entry.established
            self._release_channel(entry, established=False)

            if stalled or entry.conn.is_closed():
                # A closed or stalled connection is reopened once; losing the new one at once is reported.
                self._drop(entry)
                if reopened:
                    raise log_error(self._reopen_error(target, error, stalled))
                logger.info("node %s: reconnecting to %s (%s)", target.node_id, target.describe(), error_reason(error))
                reopened = True
                continue

            if isinstance(error, asyncssh.ChannelOpenError) and others > 0:
                # The server rejected one channel more than it has open for us, which is its
                # MaxSessions. NOTE: a server that has not yet freed a channel we just closed
                # rejects one too early, so the learned limit may be one below MaxSessions.
                entry.channel_limit = min(entry.channel_limit, others)
                logger.info(
                    "node %s: %s rejected a channel with %d open (%s), so the installer opens at most %d "
                    "channels on that connection", target.node_id, target.describe(), others,
                    error_reason(error), entry.channel_limit,
                )
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

    @staticmethod
    def _reopen_error(target: SshTarget, error: Exception, stalled: bool) -> SshError:
        if stalled:
            return SshError(
                f"The {target.describe()} stopped answering: a fresh connection to it also left a channel "
                f"open unanswered ({error_reason(error)}), so check whether the node is hung or overloaded.",
                kind="stalled",
                node_id=target.node_id,
            )
        return SshError(
            f"The connection to the {target.describe()} closed again right after it was "
            f"reopened ({error_reason(error)}), so check the node's sshd and its logs.",
            kind="lost",
            node_id=target.node_id,
        )

    @staticmethod
    async def _reserve_channel(entry: _Connection) -> None:
        """Wait until the connection has room for one more channel under its limit, and count it."""
        while entry.open_channels >= entry.channel_limit:
            await entry.channel_closed.wait()
        entry.open_channels += 1

    def _release_channel(self, entry: _Connection, *, established: bool = True) -> None:
        entry.open_channels -= 1
        if established:
            entry.established -= 1

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

