"""One-time password bootstrap of AddNodes against a real OpenSSH node that accepts passwords."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from engine.engine import Engine
from engine.lab.nodedir import prepare_node_dir
from engine.ssh import fingerprint, generate_client_key
from tests.sshd import SshdCluster

pytestmark = pytest.mark.sshd

NAME = "pek3ar01n01"
PASSWORD = "Corr3ct-h0rse battery"


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def engine_log(state_dir: Path) -> Iterator[Path]:
    """Write every log record of the process, asyncssh's debug output included, to state/engine.log."""
    path = state_dir / "engine.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    asyncssh.set_debug_level(2)
    yield path
    asyncssh.set_debug_level(1)
    root.setLevel(previous_level)
    root.removeHandler(handler)
    handler.close()


@pytest.fixture
def cluster(sshd_cluster, state_dir: Path) -> SshdCluster:
    """One node that accepts PASSWORD and does not yet trust the engine's key."""
    generate_client_key(state_dir / "ssh" / "id_ed25519")
    # The shared authorized_keys file contains a key of no one, so only the bootstrap can let the engine in.
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    started = sshd_cluster([NAME], client_public_key=stranger, passwords={NAME: PASSWORD})
    prepare_node_dir(started.node(NAME).home, hostname=NAME, mgmt_ip="172.16.80.11")
    return started


@pytest.fixture
async def engine(state_dir: Path, engine_log: Path):
    engine = Engine(state_dir)
    await engine.start()
    yield engine
    await engine.stop()


async def call(engine: Engine, action: str, **params) -> dict:
    return await engine.call({"action": action, "request_type": "Node", **params})


def entry(cluster: SshdCluster) -> dict:
    node = cluster.node(NAME)
    return {"node_id": "n-pek3a01r01", "ssh_host": node.host, "ssh_port": node.port, "ssh_user": node.user}


def files_containing(directory: Path, secret: str) -> list[str]:
    needle = secret.encode()
    return sorted(str(path) for path in directory.rglob("*") if path.is_file() and needle in path.read_bytes())


async def test_password_installs_key_once(cluster, engine, state_dir):
    authorized_keys = cluster.node(NAME).home / ".ssh" / "authorized_keys"
    confirmed = [fingerprint(cluster.host_public_key(NAME))]

    without_password = await call(engine, "AddNodes", nodes=[entry(cluster)], trusted_fingerprints=confirmed)
    first = await call(engine, "AddNodes", nodes=[entry(cluster)], trusted_fingerprints=confirmed, ssh_password=PASSWORD)
    second = await call(engine, "AddNodes", nodes=[entry(cluster)], trusted_fingerprints=confirmed, ssh_password=PASSWORD)
    # Key authentication alone works from now on.
    third = await call(engine, "AddNodes", nodes=[entry(cluster)])
    described = await call(engine, "DescribeNodes")

    assert without_password["ret_code"] == 5200
    assert "rejected the installer's client key" in without_password["message"]
    assert first["ret_code"] == 0, first
    assert second["ret_code"] == 0, second
    assert third["ret_code"] == 0, third
    assert described["node_set"][0]["hostname"] == NAME
    assert authorized_keys.read_text().splitlines() == [engine.client_public_key]
    assert (authorized_keys.parent.stat().st_mode & 0o777) == 0o700
    assert (authorized_keys.stat().st_mode & 0o777) == 0o600

    responses = json.dumps([without_password, first, second, third, described])
    assert PASSWORD not in responses
    assert files_containing(state_dir, PASSWORD) == []


async def test_existing_authorized_keys_kept(cluster, engine):
    authorized_keys = cluster.node(NAME).home / ".ssh" / "authorized_keys"
    authorized_keys.parent.mkdir(mode=0o700)
    # An operator's key without a trailing newline must stay a line of its own.
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().strip()
    authorized_keys.write_text(other)
    confirmed = [fingerprint(cluster.host_public_key(NAME))]

    added = await call(engine, "AddNodes", nodes=[entry(cluster)], trusted_fingerprints=confirmed, ssh_password=PASSWORD)

    assert added["ret_code"] == 0, added
    assert authorized_keys.read_text().splitlines() == [other, engine.client_public_key]


async def test_wrong_password_named_not_shown(cluster, engine, state_dir):
    wrong = "Wr0ng-guess-2718"
    confirmed = [fingerprint(cluster.host_public_key(NAME))]

    refused = await call(engine, "AddNodes", nodes=[entry(cluster)], trusted_fingerprints=confirmed, ssh_password=wrong)
    described = await call(engine, "DescribeNodes")

    assert refused["ret_code"] == 5200
    assert "rejected the password of user" in refused["message"]
    assert wrong not in refused["message"]
    assert described["node_set"] == []
    assert not (cluster.node(NAME).home / ".ssh" / "authorized_keys").exists()
    assert files_containing(state_dir, wrong) == []


async def test_password_not_sent_before_host_key_confirmed(cluster, engine):
    refused = await call(engine, "AddNodes", nodes=[entry(cluster)], ssh_password=PASSWORD)

    assert refused["ret_code"] == 5200
    assert "not confirmed" in refused["message"]
    assert not (cluster.node(NAME).home / ".ssh").exists()


async def test_password_of_wrong_type_not_echoed(engine):
    number = 73519046
    response = await call(engine, "AddNodes", nodes=[{"ssh_host": "127.0.0.1"}], ssh_password=number)

    assert response["ret_code"] == 1100
    assert "ssh_password" in response["message"]
    assert str(number) not in response["message"]


async def test_password_with_key_file_rejected(engine, tmp_path):
    response = await call(
        engine, "AddNodes", nodes=[{"ssh_host": "127.0.0.1"}], ssh_password=PASSWORD, ssh_key_file=str(tmp_path / "key")
    )

    assert response["ret_code"] == 1100
    assert "ssh_key_file" in response["message"]
    assert PASSWORD not in response["message"]
