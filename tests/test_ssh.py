"""The SSH engine against real OpenSSH nodes on loopback: commands, host keys, files and limits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import socket
import stat
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator

import pytest

from engine.ssh import (
    MAX_LINE_BYTES,
    HostKeyChanged,
    HostKeyUnknown,
    SshError,
    SshPool,
    SshTarget,
    fingerprint,
    generate_client_key,
    quote_command,
)
from engine.ssh_output import LineSplitter
from tests.sshd import SshdCluster

sshd = pytest.mark.sshd


def target_of(cluster: SshdCluster, name: str, *, trusted: bool = True, **changes: object) -> SshTarget:
    node = cluster.node(name)
    fields: dict[str, object] = {
        "node_id": f"n-{name}",
        "hostname": name,
        "host": node.host,
        "port": node.port,
        "user": node.user,
        "host_keys": (cluster.host_public_key(name),) if trusted else (),
    }
    fields.update(changes)
    return SshTarget(**fields)


@contextlib.contextmanager
def hold_startup_slot(host: str, port: int) -> Iterator[socket.socket]:
    """Keep one connection open before login, retrying while sshd still counts an earlier probe."""
    deadline = time.monotonic() + 10
    while True:
        idle = socket.create_connection((host, port))
        if idle.recv(64).startswith(b"SSH-"):
            break
        idle.close()
        assert time.monotonic() < deadline, f"sshd on {host}:{port} kept refusing the idle connection"
        time.sleep(0.01)

    with idle:
        yield idle


def retry_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "engine.ssh" and "retry" in record.getMessage()]


@pytest.fixture
async def pool(client_key):
    pool = SshPool(default_client_key=str(client_key.path))
    yield pool
    await pool.close()


# Commands


@sshd
async def test_fan_out_streams_lines_from_each_node(sshd_cluster, pool):
    names = [f"pek3ar01n{slot:02d}" for slot in range(1, 14)]
    cluster = sshd_cluster(names)
    lines: dict[str, list[str]] = defaultdict(list)

    # Each command waits for a file that the test creates only after seeing the command's first
    # line, so the command can finish only if that line arrived while it was still running.
    script = 'echo "ready $USER"; while [ ! -e go ]; do sleep 0.02; done; echo "done $PWD"'

    def on_line_of(name: str):
        def on_line(line: str) -> None:
            lines[name].append(line)
            if line.startswith("ready"):
                (cluster.node(name).home / "go").touch()

        return on_line

    results = await asyncio.gather(
        *(pool.run(target_of(cluster, name), ["sh", "-c", script], timeout=20, on_line=on_line_of(name)) for name in names)
    )

    assert [result.ok for result in results] == [True] * 13
    for name in names:
        assert lines[name] == [f"ready {name}", f"done {cluster.node(name).home}"]


@sshd
async def test_non_zero_exit_reports_status_and_output(sshd_cluster, pool):
    cluster = sshd_cluster(["pek3ar01n01"])
    lines: list[str] = []

    result = await pool.run(
        target_of(cluster, "pek3ar01n01"),
        ["sh", "-c", "echo checking disks; echo 'disk /dev/sdb missing' >&2; printf 'giving up'; exit 3"],
        timeout=10,
        on_line=lines.append,
    )

    assert result.exit_status == 3
    assert not result.ok
    assert not result.timed_out
    assert lines == ["checking disks", "disk /dev/sdb missing", "giving up"]


@sshd
async def test_timeout_returns_no_success(sshd_cluster, pool):
    cluster = sshd_cluster(["pek3ar01n01"])
    target = target_of(cluster, "pek3ar01n01")

    result = await pool.run(target, ["sleep", "30"], timeout=0.5)

    assert result.timed_out
    assert result.exit_status is None
    assert not result.ok
    assert (await pool.run(target, ["true"], timeout=10)).ok


@sshd
async def test_killed_sshd_gives_no_exit_status(sshd_cluster, pool):
    cluster = sshd_cluster(["pek3ar01n01", "pek3ar01n02", "pek3ar01n03"])
    started = asyncio.Event()

    command = pool.run(
        target_of(cluster, "pek3ar01n02"),
        ["sh", "-c", "echo started; sleep 30; echo finished"],
        timeout=20,
        on_line=lambda line: started.set(),
    )
    running = asyncio.create_task(command)
    await started.wait()
    cluster.kill("pek3ar01n02")
    result = await running

    assert result.exit_status is None
    assert result.lost
    assert not result.ok
    assert not result.timed_out
    for name in ["pek3ar01n01", "pek3ar01n03"]:
        assert (await pool.run(target_of(cluster, name), ["true"], timeout=10)).ok

    with pytest.raises(SshError) as raised:
        await pool.run(target_of(cluster, "pek3ar01n02"), ["true"], timeout=10)
    assert raised.value.kind == "connect"
    assert "pek3ar01n02" in str(raised.value)


@sshd
async def test_restarted_node_is_reconnected(sshd_cluster, pool):
    cluster = sshd_cluster(["pek3ar01n01", "pek3ar01n02"])
    target = target_of(cluster, "pek3ar01n01")
    assert (await pool.run(target, ["true"], timeout=10)).ok

    cluster.restart("pek3ar01n01")
    lines: list[str] = []
    result = await pool.run(target, ["echo", "back"], timeout=10, on_line=lines.append)

    assert result.ok
    assert lines == ["back"]


@sshd
async def test_long_line_is_cut_and_marked(sshd_cluster, pool):
    cluster = sshd_cluster(["pek3ar01n01"])
    lines: list[str] = []
    writer = "import sys; sys.stdout.write('x' * 200000 + '\\nnext\\n')"

    result = await pool.run(target_of(cluster, "pek3ar01n01"), ["python3", "-c", writer], timeout=10, on_line=lines.append)

    assert result.ok
    assert len(lines) == 2
    assert lines[0].startswith("x" * MAX_LINE_BYTES)
    assert lines[0].endswith(f" [line cut at {MAX_LINE_BYTES} bytes]")
    assert "x" * (MAX_LINE_BYTES + 1) not in lines[0]
    assert lines[1] == "next"


@sshd
async def test_hostile_arguments_stay_literal(sshd_cluster, pool):
    cluster = sshd_cluster(["pek3ar01n01"])
    node = cluster.node("pek3ar01n01")
    # Harmless stand-ins for destructive payloads: if quoting failed, a file named pwned-* appears.
    hostile = [
        "'; touch pwned-quote #",
        "$(touch pwned-subst)",
        "`touch pwned-backtick`",
        "first\nsecond; touch pwned-newline",
        '"; touch pwned-double; "',
        "&& touch pwned-and",
        "*",
        "$HOME",
        "\\",
        " padded ",
        "",
    ]
    lines: list[str] = []
    echo_arguments = "import json, sys; print(json.dumps(sys.argv[1:]))"

    result = await pool.run(
        target_of(cluster, "pek3ar01n01"), ["python3", "-c", echo_arguments, *hostile], timeout=10, on_line=lines.append
    )

    assert result.ok
    assert json.loads(lines[0]) == hostile
    assert sorted(path.name for path in node.home.glob("pwned*")) == []


def test_quote_command_rejects_a_single_string():
    with pytest.raises(TypeError):
        quote_command("rm -rf /tmp/x")


def test_quote_command_rejects_nul():
    with pytest.raises(ValueError):
        quote_command(["echo", "a\0b"])


# Limits of OpenSSH


@sshd
async def test_thirty_commands_share_ten_sessions(sshd_cluster, pool):
    cluster = sshd_cluster(["pek3ar01n01"], max_sessions=10)
    node = cluster.node("pek3ar01n01")
    target = target_of(cluster, "pek3ar01n01")
    waiting: list[str] = []
    connections: list[str] = []

    # The first ten commands wait until all ten run at once, so the channel cap is reached.
    script = 'echo waiting; while [ ! -e go ]; do sleep 0.02; done; echo "$SSH_CONNECTION"'

    def on_line(line: str) -> None:
        if line == "waiting":
            waiting.append(line)
            if len(waiting) == 10:
                (node.home / "go").touch()
        else:
            connections.append(line)

    results = await asyncio.gather(*(pool.run(target, ["sh", "-c", script], timeout=30, on_line=on_line) for _ in range(30)))

    assert [result.ok for result in results] == [True] * 30
    assert len(connections) == 30
    assert len(set(connections)) == 1, "all commands should share one connection"


@sshd
async def test_low_max_startups_still_connects_all_nodes(sshd_cluster, pool, caplog):
    caplog.set_level(logging.INFO, logger="engine.ssh")
    names = [f"pek3ar01n{slot:02d}" for slot in range(1, 21)]
    cluster = sshd_cluster(names, max_startups="3:100:3")

    await asyncio.gather(*(pool.connect(target_of(cluster, name)) for name in names))
    results = await asyncio.gather(*(pool.run(target_of(cluster, name), ["true"], timeout=10) for name in names))

    assert [result.ok for result in results] == [True] * 20
    assert retry_messages(caplog), "sshd should have dropped some of the 16 parallel handshakes"


@sshd
async def test_handshake_refused_too_often_names_max_startups(sshd_cluster, client_key):
    cluster = sshd_cluster(["pek3ar01n01"], max_startups="1:100:1")
    node = cluster.node("pek3ar01n01")
    pool = SshPool(default_client_key=str(client_key.path), handshake_retries=2, retry_base_delay=0.01)

    # An idle connection that never logs in takes the only startup slot.
    with hold_startup_slot(node.host, node.port):
        with pytest.raises(SshError) as raised:
            await pool.connect(target_of(cluster, "pek3ar01n01"))

    await pool.close()
    assert raised.value.kind == "refused_retries_exhausted"
    assert "3 times" in str(raised.value)
    assert "MaxStartups" in str(raised.value)
    assert "pek3ar01n01" in str(raised.value)


# Host keys and authentication


@sshd
async def test_scan_returns_the_node_host_key(sshd_cluster, pool):
    cluster = sshd_cluster(["pek3ar01n01"])
    node = cluster.node("pek3ar01n01")

    keys = await pool.scan_host_keys(node.host, node.port)

    assert [key.split()[:2] for key in keys] == [cluster.host_public_key("pek3ar01n01").split()[:2]]


@sshd
async def test_changed_host_key_is_refused(sshd_cluster, pool):
    cluster = sshd_cluster(["pek3ar01n01", "pek3ar01n02"])
    old_key = cluster.host_public_key("pek3ar01n01")
    target = target_of(cluster, "pek3ar01n01")
    await pool.connect(target)

    cluster.rekey("pek3ar01n01")
    new_key = cluster.host_public_key("pek3ar01n01")
    with pytest.raises(HostKeyChanged) as raised:
        await pool.run(target, ["true"], timeout=10)

    assert raised.value.kind == "host_key_changed"
    assert raised.value.trusted_fingerprints == [fingerprint(old_key)]
    assert raised.value.offered_fingerprints == [fingerprint(new_key)]
    assert fingerprint(old_key) in str(raised.value)
    assert fingerprint(new_key) in str(raised.value)
    assert "pek3ar01n01" in str(raised.value)


@sshd
async def test_unknown_host_key_is_refused(sshd_cluster, pool):
    cluster = sshd_cluster(["pek3ar01n01"])

    with pytest.raises(HostKeyUnknown) as raised:
        await pool.connect(target_of(cluster, "pek3ar01n01", trusted=False))

    offered = fingerprint(cluster.host_public_key("pek3ar01n01"))
    assert raised.value.kind == "host_key_unknown"
    assert raised.value.offered_fingerprints == [offered]
    assert offered in str(raised.value)


@sshd
async def test_wrong_client_key_fails_auth_without_retry(sshd_cluster, pool, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="engine.ssh")
    cluster = sshd_cluster(["pek3ar01n01"])
    stranger = tmp_path / "stranger" / "id_ed25519"
    stranger_public = generate_client_key(stranger)

    with pytest.raises(SshError) as raised:
        await pool.connect(target_of(cluster, "pek3ar01n01", client_key=str(stranger)))

    assert raised.value.kind == "auth"
    assert fingerprint(stranger_public) in str(raised.value)
    assert "authorized_keys" in str(raised.value)
    assert "PRIVATE KEY" not in str(raised.value)
    assert retry_messages(caplog) == []


# Files


@sshd
async def test_put_tree_lands_in_node_home(sshd_cluster, pool, tmp_path):
    cluster = sshd_cluster(["pek3ar01n01"])
    home = cluster.node("pek3ar01n01").home
    recipe = tmp_path / "recipe"
    (recipe / "steps").mkdir(parents=True)
    (recipe / "recipe.yaml").write_text("name: demo\n")
    (recipe / "steps" / "preflight.sh").write_text("#!/bin/sh\necho preflight ok\n")
    (recipe / "steps" / "preflight.sh").chmod(0o755)
    target = target_of(cluster, "pek3ar01n01")

    await pool.put_tree(target, recipe, "recipes/demo")
    lines: list[str] = []
    result = await pool.run(target, ["./recipes/demo/steps/preflight.sh"], timeout=10, on_line=lines.append)

    assert (home / "recipes/demo/recipe.yaml").read_text() == "name: demo\n"
    assert stat.S_IMODE((home / "recipes/demo/steps/preflight.sh").stat().st_mode) == 0o755
    assert result.ok
    assert lines == ["preflight ok"]


@sshd
async def test_put_bytes_replaces_file_atomically(sshd_cluster, pool):
    cluster = sshd_cluster(["pek3ar01n01"])
    home = cluster.node("pek3ar01n01").home
    target = target_of(cluster, "pek3ar01n01")

    await pool.put_bytes(target, b"token: first\n", "etc/installer.conf", mode=0o600)
    await pool.put_bytes(target, b"token: second\n", "etc/installer.conf", mode=0o600)

    assert (home / "etc/installer.conf").read_bytes() == b"token: second\n"
    assert stat.S_IMODE((home / "etc/installer.conf").stat().st_mode) == 0o600
    assert sorted(path.name for path in (home / "etc").iterdir()) == ["installer.conf"]


# Failures without a node


async def test_silent_peer_times_out(client_key):
    listener = socket.create_server(("127.0.0.1", 0))  # accepts TCP but never sends a banner
    port = listener.getsockname()[1]
    pool = SshPool(default_client_key=str(client_key.path), connect_timeout=0.3)
    target = SshTarget(node_id="n-silent", hostname="silent", host="127.0.0.1", port=port, user="root")

    with listener, pytest.raises(SshError) as raised:
        await pool.connect(target)

    await pool.close()
    assert raised.value.kind == "timeout"
    assert f"root@127.0.0.1:{port}" in str(raised.value)


async def test_closed_port_is_connect_error(client_key, caplog):
    caplog.set_level(logging.INFO, logger="engine.ssh")
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    pool = SshPool(default_client_key=str(client_key.path))
    target = SshTarget(node_id="n-down", hostname="down", host="127.0.0.1", port=port, user="root")

    with pytest.raises(SshError) as raised:
        await pool.connect(target)

    await pool.close()
    assert raised.value.kind == "connect"
    assert "refused" in str(raised.value)
    assert retry_messages(caplog) == []


# Keys and output helpers


def test_client_key_is_private_and_reused(tmp_path):
    path = tmp_path / "keys" / "id_ed25519"

    first = generate_client_key(path)
    second = generate_client_key(path)

    assert first == second
    assert first.startswith("ssh-ed25519 ")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (tmp_path / "keys" / "id_ed25519.pub").read_text().strip() == first


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed (apt-get install openssh-client)")
def test_fingerprint_matches_ssh_keygen(tmp_path):
    path = tmp_path / "id_ed25519"
    public_key = generate_client_key(path)

    printed = subprocess.run(["ssh-keygen", "-lf", f"{path}.pub"], capture_output=True, text=True, check=True).stdout

    assert printed.split()[1] == fingerprint(public_key)


def test_line_splitter_joins_chunks_and_passes_final_line():
    lines: list[str] = []
    splitter = LineSplitter(lines.append)

    for chunk in [b"fir", b"st\nsec", b"ond\r\n", b"\xff\n", b"tail"]:
        splitter.feed(chunk)
    splitter.flush()

    assert lines == ["first", "second", "\ufffd", "tail"]


def test_line_splitter_cuts_line_fed_in_pieces():
    lines: list[str] = []
    splitter = LineSplitter(lines.append, max_bytes=8)

    for chunk in [b"abcdef", b"ghijkl", b"mnop\nok\n"]:
        splitter.feed(chunk)
    splitter.flush()

    assert lines == ["abcdefgh [line cut at 8 bytes]", "ok"]
