"""The lab: one SSH server on loopback per simulated node.

Each node is a directory, `<lab_dir>/nodes/<node_id>/`. Its SSH server runs
every exec request as a real `/bin/sh -c COMMAND` with that directory as
working directory and HOME. It serves SFTP chrooted at that directory, so the
engine reaches a lab node the same way as a real one: connect, upload, run.
Host keys live in `<lab_dir>/hostkeys/`, outside the node directories, so
SFTP cannot read them, and they survive restarts, as do the node directories.

Only public-key authentication is offered, with the client keys given to
`Lab.start`; the user name is not checked. Interactive shells, ptys and
forwarding are rejected, because the engine only runs commands.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from engine.lab.layout import ALL_LAB_NODES, LAB_STEPS, LabNodeSpec
from engine.lab.nodedir import NODE_DIR, clear_failures, prepare_node_dir, set_failure, set_speed

logger = logging.getLogger(__name__)

LAB_HOST = "127.0.0.1"
LAB_USER = "root"

# How long `Lab.stop` waits for sessions to end after killing their processes.
_STOP_TIMEOUT_S = 10.0
_CHUNK_SIZE = 65536


@dataclass(frozen=True)
class LabNodeAddress:
    """A running lab node: its identity, where its SSH server listens and its directory."""

    node_id: str
    hostname: str
    zone_id: str
    mgmt_ip: str
    host: str
    port: int
    user: str
    #: The server's host key in OpenSSH format, e.g. "ssh-ed25519 AAAA...".
    host_public_key: str
    root: Path


class _ConnectionTracker(asyncssh.SSHServer):
    """Records the open connections of one node so that `Lab.stop` can close them."""

    def __init__(self, connections: set[asyncssh.SSHServerConnection]) -> None:
        self._connections = connections
        self._connection: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._connection = conn
        self._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._connection is not None:
            self._connections.discard(self._connection)


class Lab:
    """Simulated nodes served over SSH on loopback, with their state under `lab_dir`.

    `failures` contains (node id or hostname, step) pairs, and each one makes
    that step's demo script fail once on that node. `ports` maps node ids or
    hostnames to fixed ports. Other nodes get the port they had at the previous
    start when it is still free, else an ephemeral one.
    """

    def __init__(
        self,
        lab_dir: Path,
        *,
        specs: Sequence[LabNodeSpec] = ALL_LAB_NODES,
        speed: float = 1.0,
        failures: Sequence[tuple[str, str]] = (),
        ports: Mapping[str, int] | None = None,
    ) -> None:
        self.lab_dir = Path(lab_dir)
        self.specs: tuple[LabNodeSpec, ...] = tuple(specs)
        self.speed = speed
        self.nodes: list[LabNodeAddress] = []

        _check_unique_ids(self.specs)
        _check_speed(speed)
        self._failures = [(self._resolve(name).node_id, _check_step(step)) for name, step in failures]
        self._ports: dict[str, int] = {}
        for name, port in (ports or {}).items():
            if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
                raise ValueError(f"invalid port {port!r} for lab node {name!r}: expected 1 to 65535")
            self._ports[self._resolve(name).node_id] = port

        self._acceptors: list[asyncssh.SSHAcceptor] = []
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._sessions: set[asyncio.Task[None]] = set()
        self._process_groups: set[int] = set()

    async def start(self, authorized_client_keys: Sequence[str]) -> list[LabNodeAddress]:
        """Prepare every node directory and start its SSH server; return the addresses.

        `authorized_client_keys` are public keys in OpenSSH format; any of them logs in.
        """
        if self._acceptors:
            raise RuntimeError(f"lab in {self.lab_dir} is already started")
        if not authorized_client_keys:
            raise ValueError("no authorized client keys: expected at least one OpenSSH public key")
        authorized = asyncssh.import_authorized_keys("\n".join(authorized_client_keys) + "\n")

        remembered_ports = self._read_ports()
        try:
            for spec in self.specs:
                address = await self._start_node(spec, authorized, remembered_ports.get(spec.node_id))
                self.nodes.append(address)
        except BaseException:
            await self.stop()
            raise

        self._write_ports()
        logger.info("lab in %s started %d nodes", self.lab_dir, len(self.nodes))
        return list(self.nodes)

    async def stop(self) -> None:
        """Stop every SSH server, kill the processes still running and close the sessions."""
        for acceptor in self._acceptors:
            acceptor.close()
        for process_group in list(self._process_groups):
            _kill_process_group(process_group)
        connections = list(self._connections)
        for connection in connections:
            connection.close()

        for acceptor in self._acceptors:
            await acceptor.wait_closed()
        waiting = list(self._sessions)
        waiting += [asyncio.ensure_future(connection.wait_closed()) for connection in connections]
        if waiting:
            _, pending = await asyncio.wait(waiting, timeout=_STOP_TIMEOUT_S)
            for task in pending:
                logger.warning(
                    "lab session %s did not end within %.0f s; cancelling it", task.get_name(), _STOP_TIMEOUT_S
                )
                task.cancel()

        if self._acceptors:
            logger.info("lab in %s stopped", self.lab_dir)
        self._acceptors.clear()
        self.nodes.clear()

    def node(self, name: str) -> LabNodeAddress:
        """Return the running node with this id or hostname."""
        spec = self._resolve(name)
        for address in self.nodes:
            if address.node_id == spec.node_id:
                return address
        raise ValueError(f"lab node {name!r} is not running: start the lab first")

    def node_root(self, name: str) -> Path:
        """Return the directory of the node with this id or hostname, running or not."""
        return self.lab_dir / "nodes" / self._resolve(name).node_id

    def set_failure(self, name: str, step: str, *, once: bool = True, times: int | None = None) -> None:
        """Make `step` fail on the node with this id or hostname: once, always, or `times` runs.

        `start` replaces the injected failures with those given to the constructor,
        so call this on a running lab.
        """
        set_failure(self.node_root(name), step, once=once, times=times)

    def clear_failures(self) -> None:
        """Remove the injected failures of every node."""
        for spec in self.specs:
            clear_failures(self.node_root(spec.node_id))

    def set_speed(self, speed: float) -> None:
        """Change the pace of the demo scripts on every node, from their next pause on."""
        _check_speed(speed)
        self.speed = speed
        for spec in self.specs:
            set_speed(self.node_root(spec.node_id), speed)

    def _resolve(self, name: str) -> LabNodeSpec:
        for spec in self.specs:
            if name in (spec.node_id, spec.hostname):
                return spec
        known = ", ".join(spec.node_id for spec in self.specs)
        raise ValueError(f"unknown lab node {name!r}: expected a node id or hostname of the lab ({known})")

    def _load_host_key(self, node_id: str) -> asyncssh.SSHKey:
        """Return the node's host key, generating and saving it at the node's first start."""
        key_dir = self.lab_dir / "hostkeys"
        key_dir.mkdir(parents=True, exist_ok=True)
        key_dir.chmod(0o700)

        path = key_dir / node_id
        if path.exists():
            return asyncssh.read_private_key(path)

        key = asyncssh.generate_private_key("ssh-ed25519")
        temporary = path.with_name(f".{node_id}.tmp")
        key.write_private_key(temporary)
        temporary.chmod(0o600)
        os.replace(temporary, path)
        return key

    def _read_ports(self) -> dict[str, int]:
        path = self.lab_dir / "ports.json"
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable %s: %s", path, exc)
            return {}
        if not isinstance(recorded, dict):
            return {}
        return {node_id: port for node_id, port in recorded.items() if isinstance(port, int)}

    def _write_ports(self) -> None:
        path = self.lab_dir / "ports.json"
        ports = {address.node_id: address.port for address in self.nodes}
        temporary = path.with_name(".ports.json.tmp")
        temporary.write_text(json.dumps(ports, indent=1) + "\n", encoding="utf-8")
        os.replace(temporary, path)

    async def _start_node(
        self, spec: LabNodeSpec, authorized: asyncssh.SSHAuthorizedKeys, remembered_port: int | None
    ) -> LabNodeAddress:
        root = self.node_root(spec.node_id)
        if (root / NODE_DIR).is_dir():
            set_speed(root, self.speed)
        else:
            prepare_node_dir(root, hostname=spec.hostname, mgmt_ip=spec.mgmt_ip, speed=self.speed)
        clear_failures(root)
        for node_id, step in self._failures:
            if node_id == spec.node_id:
                set_failure(root, step, once=True)

        host_key = self._load_host_key(spec.node_id)
        acceptor = await self._listen(spec, root, host_key, authorized, remembered_port)
        self._acceptors.append(acceptor)

        return LabNodeAddress(
            node_id=spec.node_id,
            hostname=spec.hostname,
            zone_id=spec.zone_id,
            mgmt_ip=spec.mgmt_ip,
            host=LAB_HOST,
            port=acceptor.get_port(),
            user=LAB_USER,
            host_public_key=host_key.export_public_key("openssh").decode("ascii").strip(),
            root=root,
        )

    async def _listen(
        self,
        spec: LabNodeSpec,
        root: Path,
        host_key: asyncssh.SSHKey,
        authorized: asyncssh.SSHAuthorizedKeys,
        remembered_port: int | None,
    ) -> asyncssh.SSHAcceptor:
        # NOTE: asyncssh's SFTP chroot follows symbolic links, so a link that a command creates
        # inside the node directory can expose files outside it.
        chroot = str(root)

        async def run_session(process: asyncssh.SSHServerProcess) -> None:
            await self._run_session(spec, root, process)

        options = dict(
            server_host_keys=[host_key],
            authorized_client_keys=authorized,
            server_factory=lambda: _ConnectionTracker(self._connections),
            process_factory=run_session,
            sftp_factory=lambda channel: asyncssh.SFTPServer(channel, chroot=chroot),
            encoding=None,
            allow_pty=False,
            agent_forwarding=False,
            x11_forwarding=False,
            password_auth=False,
            kbdint_auth=False,
            gss_host=None,
        )

        if spec.node_id in self._ports:
            return await asyncssh.listen(LAB_HOST, self._ports[spec.node_id], **options)

        if remembered_port:
            try:
                return await asyncssh.listen(LAB_HOST, remembered_port, **options)
            except OSError as exc:
                logger.info("lab node %s: port %d of the last start is taken (%s); using a new one",
                            spec.node_id, remembered_port, exc)
        return await asyncssh.listen(LAB_HOST, 0, **options)

    async def _run_session(self, spec: LabNodeSpec, root: Path, process: asyncssh.SSHServerProcess) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            if process.command is None:
                process.stderr.write(
                    f"lab node {spec.node_id} runs commands only; interactive shells and "
                    "subsystems other than sftp are not supported\n".encode()
                )
                process.exit(1)
                return
            await self._run_command(spec, root, process)
        finally:
            self._sessions.discard(task)

    async def _run_command(self, spec: LabNodeSpec, root: Path, process: asyncssh.SSHServerProcess) -> None:
        username = process.get_extra_info("username") or LAB_USER
        env = {
            "HOME": str(root),
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "USER": username,
            "LOGNAME": username,
            "SHELL": "/bin/sh",
        }
        child = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", process.command,
            cwd=root,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        # With start_new_session the child leads its own process group, whose id is its pid.
        self._process_groups.add(child.pid)
        logger.debug("lab node %s: started pid %d: %s", spec.node_id, child.pid, process.command)

        try:
            completed = await _relay(process, child)
        finally:
            # Kill what the command left behind, or everything if the channel closed early.
            _kill_process_group(child.pid)
            await child.wait()
            self._process_groups.discard(child.pid)

        if not completed:
            logger.info("lab node %s: channel closed before pid %d ended; killed it", spec.node_id, child.pid)
            return
        _report_exit(process, child.returncode)


async def _relay(process: asyncssh.SSHServerProcess, child: asyncio.subprocess.Process) -> bool:
    """Copy the channel's input to the child and its output back until it exits.

    Return True when the child exited with the channel still open, False when
    the channel closed first.
    """
    feeding = asyncio.create_task(_feed_stdin(process, child))
    output = asyncio.create_task(_drain_child(process, child))
    closed = asyncio.create_task(process.channel.wait_closed())

    try:
        await asyncio.wait({output, closed}, return_when=asyncio.FIRST_COMPLETED)
        completed = output.done() and not output.cancelled() and output.result()
        return bool(completed) and not process.channel.is_closing()
    finally:
        for task in (feeding, output, closed):
            task.cancel()
        await asyncio.gather(feeding, output, closed, return_exceptions=True)


async def _drain_child(process: asyncssh.SSHServerProcess, child: asyncio.subprocess.Process) -> bool:
    # Both streams are copied to their end before the exit status is sent, so no
    # output line can arrive after the channel has closed.
    assert child.stdout is not None and child.stderr is not None
    copied = await asyncio.gather(
        _copy_output(child.stdout, process.stdout),
        _copy_output(child.stderr, process.stderr),
    )
    await child.wait()
    return all(copied)


async def _copy_output(source: asyncio.StreamReader, sink: asyncssh.SSHWriter) -> bool:
    """Copy one output stream of the child to the channel; return False if the channel went away."""
    while True:
        data = await source.read(_CHUNK_SIZE)
        if not data:
            return True
        try:
            sink.write(data)
            await sink.drain()
        except (OSError, asyncssh.Error):
            return False


async def _feed_stdin(process: asyncssh.SSHServerProcess, child: asyncio.subprocess.Process) -> None:
    assert child.stdin is not None
    try:
        while True:
            try:
                data = await process.stdin.read(_CHUNK_SIZE)
            except asyncssh.SignalReceived as exc:
                _forward_signal(child.pid, exc.signal)
                continue
            except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
                continue
            if not data:
                break
            child.stdin.write(data)
            await child.stdin.drain()
    except (OSError, asyncssh.Error):
        # The child closed its input or the channel went away: nothing more to feed.
        pass
    finally:
        child.stdin.close()


def _forward_signal(process_group: int, name: str) -> None:
    signum = getattr(signal, f"SIG{name}", None)
    if isinstance(signum, signal.Signals):
        try:
            os.killpg(process_group, signum)
        except ProcessLookupError:
            pass


def _report_exit(process: asyncssh.SSHServerProcess, returncode: int | None) -> None:
    try:
        if returncode is not None and returncode < 0:
            process.exit_with_signal(signal.Signals(-returncode).name.removeprefix("SIG"))
        else:
            process.exit(returncode or 0)
    except OSError:
        # The client closed the channel while the exit status was on its way.
        pass


def _kill_process_group(process_group: int) -> None:
    try:
        os.killpg(process_group, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _check_unique_ids(specs: Sequence[LabNodeSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        for name in (spec.node_id, spec.hostname):
            if name in seen:
                raise ValueError(
                    f"lab node name {name!r} is used twice: node ids and hostnames must be unique"
                )
            seen.add(name)


def _check_speed(speed: float) -> None:
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not speed > 0 or speed == float("inf"):
        raise ValueError(f"invalid lab speed {speed!r}: expected a positive number")


def _check_step(step: str) -> str:
    if step not in LAB_STEPS:
        accepted = ", ".join(LAB_STEPS)
        raise ValueError(f"unknown step {step!r} in lab failures: expected one of {accepted}")
    return step
