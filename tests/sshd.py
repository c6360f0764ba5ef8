"""Real OpenSSH sshd processes on loopback that play cluster nodes in tests.

Each node gets its own address (127.0.0.11, 127.0.0.12, ...) on one shared free port, its own
user and its own home directory, which is the node's filesystem. One sshd serves up to 16 nodes,
because a 17th ListenAddress makes sshd exit. Every sshd runs as root in private mount and PID
namespaces: a tmpfs on /run holds /run/sshd, and bind-mounted copies of /etc/passwd and
/etc/group add the node users, so the real /etc and /run stay untouched. Killing an sshd, the
init of its PID namespace, ends every session and command it started.
"""

from __future__ import annotations

import functools
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

SSHD = "/usr/sbin/sshd"
MAX_NODES_PER_SSHD = 16
FIRST_ADDRESS = 11  # node addresses are 127.0.0.11 upward
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_START_TIMEOUT = 10.0

# setpriv makes unshare, and through --kill-child its sshd, die with the thread that started
# it, so a test run that crashes before stop() leaves no sshd behind.
# NOTE: start clusters from a thread that outlives them; its exit kills their sshd.
_DIE_WITH_PARENT = ("setpriv", "--pdeathsig", "KILL", "--") if shutil.which("setpriv") else ()
_STOP_TIMEOUT = 10.0

# Runs inside the new namespaces before sshd replaces it: $1 passwd copy, $2 group copy, $3 config,
# $4 shadow copy or an empty string when no node logs in with a password.
_NAMESPACE_SETUP = """set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0755 /run/sshd
mount --bind "$1" /etc/passwd
mount --bind "$2" /etc/group
if [ -n "$4" ]; then mount --bind "$4" /etc/shadow; fi
if [ -d /var/log ]; then mount -t tmpfs tmpfs /var/log; fi
exec /usr/sbin/sshd -D -e -f "$3"
"""


@functools.cache
def missing_requirements() -> str | None:
    """Return why real sshd nodes cannot run here, or None when they can."""
    if not os.path.exists(SSHD):
        return f"{SSHD} is missing, so install it with `apt-get install openssh-server`."
    if os.geteuid() != 0:
        return "sshd test nodes need root, so run the tests as root (as CI does)."
    if shutil.which("unshare") is None:
        return "unshare is missing, so install util-linux."

    probe = subprocess.run(
        ["unshare", "-m", "-p", "-f", "--kill-child", "--mount-proc", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return (
            f"unshare cannot create mount and PID namespaces ({probe.stderr.strip()}), "
            "so run the tests as root with CAP_SYS_ADMIN (a privileged container)."
        )
    return None


@dataclass
class SshdNode:
    """One node: log in as user at host:port; home is its filesystem."""

    name: str
    user: str
    host: str
    port: int
    home: Path


@dataclass(eq=False)
class _Daemon:
    """One sshd process and the nodes it serves."""

    directory: Path
    nodes: list[SshdNode]
    host_key: Path
    process: subprocess.Popen | None = None
    sshd_pid: int | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.directory / "sshd.log"

    @property
    def config(self) -> Path:
        return self.directory / "sshd_config"


class SshdCluster:
    """Nodes served by real sshd on loopback, for tests of the SSH engine and above.

    Nodes that share an sshd share its host key. kill() and rekey() affect one node only:
    the node is first removed from a shared sshd, which reloads without it.

    passwords maps node names to login passwords. Such a node accepts password authentication
    and reads public keys only from ~/.ssh/authorized_keys in its own home, not from the shared
    file that contains client_public_key, so a test can install a key over a password login.
    """

    def __init__(
        self,
        workdir: Path,
        names: list[str],
        *,
        client_public_key: str,
        max_startups: str = "200:30:400",
        max_sessions: int = 10,
        passwords: dict[str, str] | None = None,
    ) -> None:
        if not names:
            raise ValueError("a cluster needs at least one node name")
        if len(set(names)) != len(names):
            raise ValueError(f"node names must be unique: {names}")
        if len(names) > 255 - FIRST_ADDRESS:
            raise ValueError(f"at most {255 - FIRST_ADDRESS} nodes fit on 127.0.0.0/24, got {len(names)}")
        for name in names:
            if not _USER_NAME.match(name):
                raise ValueError(f"node name {name!r} is not a valid user name (lowercase letters, digits, _ and -)")
        unknown = sorted(set(passwords or {}) - set(names))
        if unknown:
            raise ValueError(f"passwords name nodes that are not in the cluster: {unknown}")
        if any(character in str(workdir) for character in " %"):
            raise ValueError(f"workdir {workdir} must not contain spaces or %, which sshd_config would misread")

        self.workdir = Path(workdir)
        self.client_public_key = client_public_key.strip()
        self.max_startups = max_startups
        self.max_sessions = max_sessions
        self.passwords = dict(passwords or {})

        addresses = [f"127.0.0.{FIRST_ADDRESS + index}" for index in range(len(names))]
        port = _free_port(addresses)
        self.nodes = [
            SshdNode(name=name, user=name, host=address, port=port, home=self.workdir / "homes" / name)
            for name, address in zip(names, addresses)
        ]

        self._daemons: list[_Daemon] = []
        self._daemon_of: dict[str, _Daemon | None] = {}
        self._host_key_of: dict[str, Path] = {}
        self._keyless: set[str] = set()
        self._frozen: dict[str, set[int]] = {}

    def __enter__(self) -> SshdCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Lifecycle

    def start(self) -> None:
        """Write the users, keys and configs, start every sshd and wait until each sends its banner."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_accounts()

        for start in range(0, len(self.nodes), MAX_NODES_PER_SSHD):
            daemon = self._new_daemon(self.nodes[start : start + MAX_NODES_PER_SSHD], host_key=None)
            self._launch(daemon)

    def stop(self) -> None:
        """Kill every sshd, which ends every session and command of every node."""
        for name in list(self._frozen):
            self.thaw(name)
        for daemon in self._daemons:
            self._terminate(daemon)
        self._daemons.clear()
        for name in self._daemon_of:
            self._daemon_of[name] = None

    def node(self, name: str) -> SshdNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node named {name!r} in this cluster")

    def host_public_key(self, name: str) -> str:
        """Return the OpenSSH public key line of the host key that node presents."""
        self.node(name)
        return self._host_key_of[name].with_name(self._host_key_of[name].name + ".pub").read_text().strip()

    def kill(self, name: str) -> None:
        """Take one node down: its address refuses connections and its sessions end at once."""
        node = self.node(name)
        daemon = self._daemon_of.get(name)
        if daemon is None:
            return

        if len(daemon.nodes) == 1:
            self._terminate(daemon)
            self._daemons.remove(daemon)
        else:
            daemon.nodes.remove(node)
            self._write_config(daemon)
            self._reload(daemon, removed=node)
            self._kill_sessions(daemon, node.user)
        self._daemon_of[name] = None

    def restart(self, name: str) -> None:
        """Bring a node back up with the host key it had, on an sshd of its own."""
        self.kill(name)
        self._launch(self._new_daemon([self.node(name)], host_key=self._host_key_of[name]))

    def rekey(self, name: str) -> None:
        """Give one node a new host key, as a reinstall would; its sessions end."""
        self.kill(name)
        self._launch(self._new_daemon([self.node(name)], host_key=None))

    def reject_client_key(self, name: str) -> None:
        """Make one node reject the client key from now on (no authorized keys); its sessions end."""
        self._keyless.add(name)
        self.restart(name)

    def freeze(self, name: str) -> None:
        """Stop (SIGSTOP) one node's sessions and their commands: its connections stay open but go silent.

        New connections to the node still work; thaw() resumes the stopped processes.
        """
        self.node(name)
        daemon = self._daemon_of.get(name)
        if daemon is None or daemon.sshd_pid is None:
            raise RuntimeError(f"node {name} is not running, so it cannot be frozen")

        # Repeat until no new process shows up, because a shell may fork just before it stops.
        stopped = self._frozen.setdefault(name, set())
        while new := self._session_processes(daemon, self.node(name).user) - stopped:
            for pid in new:
                _signal(pid, signal.SIGSTOP)
            stopped |= new

    def thaw(self, name: str) -> None:
        """Resume the processes freeze() stopped on one node."""
        for pid in self._frozen.pop(name, set()):
            _signal(pid, signal.SIGCONT)

    def _session_processes(self, daemon: _Daemon, user: str) -> set[int]:
        """Return one user's sshd session processes and every process they started."""
        assert daemon.sshd_pid is not None
        title = re.compile(rf"^sshd: {re.escape(user)}([ @]|$)")
        marker = f"USER={user}".encode()
        return {
            pid for pid in _namespace_members(daemon.sshd_pid)
            if title.match(_command_line(pid)) or marker in _environment(pid)
        }

    # Files

    def _write_accounts(self) -> None:
        existing = Path("/etc/passwd").read_text()
        taken = {line.split(":", 1)[0] for line in existing.splitlines() if line}
        clashes = sorted(taken.intersection(node.user for node in self.nodes))
        if clashes:
            raise ValueError(f"node names {clashes} are users of this machine already, so pick other names")

        shell = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"
        # uid 0 so that commands on a node may write the root-owned files of the test directory.
        added = "".join(f"{node.user}:x:0:0:test node {node.name}:{node.home}:{shell}\n" for node in self.nodes)
        (self.workdir / "passwd").write_text(existing.rstrip("\n") + "\n" + added)
        shutil.copyfile("/etc/group", self.workdir / "group")

        for node in self.nodes:
            node.home.mkdir(parents=True, exist_ok=True)
        (self.workdir / "authorized_keys").write_text(self.client_public_key + "\n")

        if self.passwords:
            self._write_shadow()

    def _write_shadow(self) -> None:
        """Write a copy of /etc/shadow that adds a SHA-512 crypt hash for each node with a password."""
        existing = Path("/etc/shadow").read_text() if os.path.exists("/etc/shadow") else ""
        added = ""
        for name, password in sorted(self.passwords.items()):
            # The password goes to openssl on stdin, so it never shows in a process listing.
            hashed = subprocess.run(
                ["openssl", "passwd", "-6", "-stdin"], input=password + "\n", capture_output=True, text=True, check=True
            ).stdout.strip()
            # An empty "last change" field turns password ageing off, so the entry never expires.
            added += f"{self.node(name).user}:{hashed}::0:99999:7:::\n"

        shadow = self.workdir / "shadow"
        descriptor = os.open(shadow, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as shadow_file:
            shadow_file.write((existing.rstrip("\n") + "\n" + added) if existing.strip() else added)

    def _new_daemon(self, nodes: list[SshdNode], host_key: Path | None) -> _Daemon:
        directory = self.workdir / f"sshd-{len(list(self.workdir.glob('sshd-*')))}"
        directory.mkdir()

        key_path = directory / "ssh_host_ed25519_key"
        if host_key is None:
            _write_host_key(key_path)
        else:
            shutil.copyfile(host_key, key_path)
            shutil.copyfile(host_key.with_name(host_key.name + ".pub"), key_path.with_name(key_path.name + ".pub"))
            key_path.chmod(0o600)

        daemon = _Daemon(directory=directory, nodes=list(nodes), host_key=key_path)
        for node in nodes:
            self._daemon_of[node.name] = daemon
            self._host_key_of[node.name] = key_path
        self._write_config(daemon)
        return daemon

    def _write_config(self, daemon: _Daemon) -> None:
        lines = [f"ListenAddress {node.host}:{node.port}" for node in daemon.nodes]
        lines += [
            f"HostKey {daemon.host_key}",
            f"PidFile {daemon.directory / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.workdir / 'authorized_keys'}",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "Subsystem sftp internal-sftp",
            "LogLevel ERROR",
            f"MaxStartups {self.max_startups}",
            f"MaxSessions {self.max_sessions}",
        ]
        # Each address admits only its own node's user, so a wrong user/address pair fails to log in.
        for node in daemon.nodes:
            lines += [f"Match LocalAddress {node.host}", f"    AllowUsers {node.user}"]
            if node.name in self._keyless:
                lines += ["    AuthorizedKeysFile none"]
            if node.name in self.passwords:
                # Node users have uid 0, and sshd applies PermitRootLogin to every uid 0 login.
                lines += [
                    "    PasswordAuthentication yes",
                    "    PermitRootLogin yes",
                    "    AuthorizedKeysFile .ssh/authorized_keys",
                ]
        daemon.config.write_text("\n".join(lines) + "\n")

    # Processes

    def _launch(self, daemon: _Daemon) -> None:
        with daemon.log.open("ab") as log:
            daemon.process = subprocess.Popen(
                [
                    *_DIE_WITH_PARENT,
                    "unshare", "-m", "-p", "-f", "--kill-child", "--mount-proc", "--",
                    "/bin/sh", "-c", _NAMESPACE_SETUP, "sh",
                    str(self.workdir / "passwd"), str(self.workdir / "group"), str(daemon.config),
                    str(self.workdir / "shadow") if self.passwords else "",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self._daemons.append(daemon)

        last = daemon.nodes[-1]
        deadline = time.monotonic() + _START_TIMEOUT
        while not _answers_banner(last.host, last.port):
            if daemon.process.poll() is not None:
                raise RuntimeError(f"sshd for {last.name} exited at start: {daemon.log.read_text().strip()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd for {last.name} did not answer on {last.host}:{last.port} within {_START_TIMEOUT:g} s")
            time.sleep(0.01)

        daemon.sshd_pid = _only_child(daemon.process.pid)

    def _reload(self, daemon: _Daemon, removed: SshdNode) -> None:
        """Make a running sshd reread its config (SIGHUP); running sessions survive the reload."""
        assert daemon.sshd_pid is not None
        os.kill(daemon.sshd_pid, signal.SIGHUP)

        # A refused connection on the removed address proves the old listeners are closed, and a
        # banner on the last remaining address proves the new ones are open.
        # NOTE: nodes of this sshd refuse connections for the few milliseconds of the reload.
        deadline = time.monotonic() + _START_TIMEOUT
        last = daemon.nodes[-1]
        while _accepts(removed.host, removed.port) or not _answers_banner(last.host, last.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd serving {last.name} did not reload within {_START_TIMEOUT:g} s")
            time.sleep(0.01)

    def _kill_sessions(self, daemon: _Daemon, user: str) -> None:
        """Kill one user's sessions on a running sshd and every process they started."""
        assert daemon.sshd_pid is not None
        title = re.compile(rf"^sshd: {re.escape(user)}([ @]|$)")

        # The session processes go first: killed after its command, a session would still
        # report the command's exit signal to the client instead of just vanishing.
        sessions = {pid for pid in _namespace_members(daemon.sshd_pid) if title.match(_command_line(pid))}
        for pid in sessions:
            _signal(pid, signal.SIGKILL)
        _wait_gone(sessions)

        # Orphaned commands now belong to the namespace's init; sshd gave them USER in their
        # environment. Repeat until none is left, because a dying shell may still have forked.
        deadline = time.monotonic() + _STOP_TIMEOUT
        marker = f"USER={user}".encode()
        while orphans := {pid for pid in _namespace_members(daemon.sshd_pid) if marker in _environment(pid)}:
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes {sorted(orphans)} of node user {user} survive SIGKILL")
            for pid in orphans:
                _signal(pid, signal.SIGKILL)
            _wait_gone(orphans)

    def _terminate(self, daemon: _Daemon) -> None:
        if daemon.process is None or daemon.process.poll() is not None:
            return

        # Killing the namespace's init (sshd) makes the kernel kill every process in it, and
        # unshare returns only after that init is gone.
        if daemon.sshd_pid is not None:
            _signal(daemon.sshd_pid, signal.SIGKILL)
        daemon.process.kill()
        daemon.process.wait(timeout=_STOP_TIMEOUT)
        if daemon.sshd_pid is not None:
            _wait_gone({daemon.sshd_pid})


def _write_host_key(path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519", comment=f"test-node-{path.parent.name}")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(key.export_private_key("openssh"))
    path.with_name(path.name + ".pub").write_bytes(key.export_public_key("openssh"))


def _free_port(addresses: list[str]) -> int:
    """Pick a port below the ephemeral range that every address can bind."""
    for _ in range(100):
        port = random.randrange(20000, 32000)
        if all(_can_bind(address, port) for address in addresses):
            return port
    raise RuntimeError("no free port between 20000 and 32000 on the node addresses")


def _can_bind(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _answers_banner(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as connection:
            connection.settimeout(1.0)
            return connection.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def _only_child(pid: int) -> int:
    """Return the single child of pid: the sshd that unshare forked."""
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    if children_file.exists():
        children = [int(child) for child in children_file.read_text().split()]
    else:
        children = [child for child, parent in _parent_pids().items() if parent == pid]
    if len(children) != 1:
        raise RuntimeError(f"expected one sshd under unshare {pid}, found {children}")
    return children[0]


def _parent_pids() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in brackets may contain spaces, so parse after its closing bracket.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _namespace_members(init_pid: int) -> set[int]:
    """Return the running processes in the PID namespace of init_pid, without that init."""
    namespace = _namespace(init_pid)
    return {
        pid for pid in _parent_pids()
        if pid != init_pid and _namespace(pid) == namespace and _is_running(pid)
    }


def _environment(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return []


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def _wait_gone(pids: set[int]) -> None:
    """Wait until the processes have exited (a zombie counts as gone)."""
    deadline = time.monotonic() + _STOP_TIMEOUT
    remaining = set(pids)
    while remaining:
        remaining = {pid for pid in remaining if _is_running(pid)}
        if remaining and time.monotonic() > deadline:
            raise RuntimeError(f"processes {sorted(remaining)} still run {_STOP_TIMEOUT:g} s after SIGKILL")
        if remaining:
            time.sleep(0.01)


def _is_running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
