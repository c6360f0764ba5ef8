"""Host keys of nodes through the API, against real OpenSSH nodes: scan, confirm, refuse, re-trust."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.lab.nodedir import prepare_node_dir
from engine.ssh import fingerprint, generate_client_key
from tests.sshd import SshdCluster

pytestmark = pytest.mark.sshd

NAMES = ["pek3ar01n01", "pek3ar01n02"]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def cluster(sshd_cluster, state_dir: Path) -> SshdCluster:
    """Two sshd nodes that trust the engine's client key and report hostnames after the convention."""
    public_key = generate_client_key(state_dir / "ssh" / "id_ed25519")
    started = sshd_cluster(NAMES, client_public_key=public_key)
    for index, name in enumerate(NAMES):
        prepare_node_dir(started.node(name).home, hostname=name, mgmt_ip=f"172.16.80.{11 + index}")
    return started


@pytest.fixture
async def engine(state_dir: Path):
    engine = Engine(state_dir)
    await engine.start()
    yield engine
    await engine.stop()


async def call(engine: Engine, action: str, **params) -> dict:
    return await engine.call({"action": action, "request_type": "Node", **params})


def entry(cluster: SshdCluster, name: str) -> dict:
    node = cluster.node(name)
    return {"node_id": f"n-{name}", "ssh_host": node.host, "ssh_port": node.port, "ssh_user": node.user}


def host_fingerprint(cluster: SshdCluster, name: str) -> str:
    return fingerprint(cluster.host_public_key(name))


def closed_port() -> int:
    """Return a loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def registered_ids(engine: Engine) -> list[str]:
    described = await call(engine, "DescribeNodes")
    return [node["node_id"] for node in described["node_set"]]


async def test_new_keys_rejected_until_confirmed(cluster, engine):
    nodes = [entry(cluster, name) for name in NAMES]

    refused = await call(engine, "AddNodes", nodes=nodes)

    assert refused["ret_code"] == 5200
    for name in NAMES:
        assert f"n-{name}" in refused["message"]
        assert host_fingerprint(cluster, name) in refused["message"]
    assert "ScanNodeHostKeys" in refused["message"]
    assert "trusted_fingerprints" in refused["message"]
    assert await registered_ids(engine) == []

    scanned = await call(engine, "ScanNodeHostKeys", nodes=nodes)
    assert scanned["ret_code"] == 0, scanned
    assert [item["state"] for item in scanned["host_keys"]] == ["new", "new"]
    assert [item["fingerprints"] for item in scanned["host_keys"]] == [[host_fingerprint(cluster, name)] for name in NAMES]

    added = await call(
        engine, "AddNodes", nodes=nodes, trusted_fingerprints=[host_fingerprint(cluster, name) for name in NAMES]
    )
    assert added["ret_code"] == 0, added
    assert added["node_ids"] == [f"n-{name}" for name in NAMES]
    assert [node["host_key_fingerprints"] for node in added["node_set"]] == [[host_fingerprint(cluster, name)] for name in NAMES]

    rescanned = await call(engine, "ScanNodeHostKeys", nodes=nodes)
    assert [item["state"] for item in rescanned["host_keys"]] == ["trusted", "trusted"]
    assert [item["node_id"] for item in rescanned["host_keys"]] == [f"n-{name}" for name in NAMES]


async def test_one_unconfirmed_node_registers_none(cluster, engine):
    # Nodes of one sshd share its host key; the second node gets a key of its own.
    cluster.rekey("pek3ar01n02")
    nodes = [entry(cluster, name) for name in NAMES]

    refused = await call(engine, "AddNodes", nodes=nodes, trusted_fingerprints=[host_fingerprint(cluster, NAMES[0])])

    assert refused["ret_code"] == 5200
    assert "n-pek3ar01n02" in refused["message"]
    assert host_fingerprint(cluster, "pek3ar01n02") in refused["message"]
    assert "n-pek3ar01n01" not in refused["message"]
    assert await registered_ids(engine) == []


async def test_trust_new_host_keys_skips_confirmation(cluster, engine):
    added = await call(engine, "AddNodes", nodes=[entry(cluster, name) for name in NAMES], trust_new_host_keys=True)

    assert added["ret_code"] == 0, added
    assert await registered_ids(engine) == [f"n-{name}" for name in NAMES]


async def test_changed_key_rejected_until_trusted(cluster, engine):
    name = "pek3ar01n01"
    old = host_fingerprint(cluster, name)
    added = await call(engine, "AddNodes", nodes=[entry(cluster, name)], trusted_fingerprints=[old])
    assert added["ret_code"] == 0, added

    cluster.rekey(name)
    new = host_fingerprint(cluster, name)
    # Neither an unattended run nor a confirmed fingerprint gets past a changed key.
    again = await call(engine, "AddNodes", nodes=[entry(cluster, name)], trusted_fingerprints=[new], trust_new_host_keys=True)
    scanned = await call(engine, "ScanNodeHostKeys", nodes=[entry(cluster, name)])

    assert again["ret_code"] == 5200
    assert old in again["message"]
    assert new in again["message"]
    assert "TrustNodeHostKey" in again["message"]
    assert scanned["host_keys"][0]["state"] == "changed"
    assert scanned["host_keys"][0]["fingerprints"] == [new]
    assert scanned["host_keys"][0]["trusted_fingerprints"] == [old]

    trusted = await call(engine, "TrustNodeHostKey", node_id=f"n-{name}", fingerprint=new)
    assert trusted["ret_code"] == 0, trusted
    assert trusted == {
        "action": "TrustNodeHostKeyResponse",
        "node_id": f"n-{name}",
        "host_key_fingerprints": [new],
        "ret_code": 0,
    }

    readded = await call(engine, "AddNodes", nodes=[entry(cluster, name)])
    assert readded["ret_code"] == 0, readded
    assert readded["node_set"][0]["host_key_fingerprints"] == [new]


async def test_trust_with_wrong_fingerprint_rejected(cluster, engine):
    name = "pek3ar01n01"
    old = host_fingerprint(cluster, name)
    await call(engine, "AddNodes", nodes=[entry(cluster, name)], trusted_fingerprints=[old])
    cluster.rekey(name)
    new = host_fingerprint(cluster, name)

    refused = await call(engine, "TrustNodeHostKey", node_id=f"n-{name}", fingerprint=old)
    described = await call(engine, "DescribeNodes", node_ids=[f"n-{name}"])

    assert refused["ret_code"] == 5200
    assert f"now offers {new}, not {old}" in refused["message"]
    assert described["node_set"][0]["host_key_fingerprints"] == [old]


async def test_trust_of_unknown_node_not_found(engine):
    response = await call(engine, "TrustNodeHostKey", node_id="n-nosuchnode", fingerprint="SHA256:" + "A" * 43)

    assert response["ret_code"] == 2100
    assert "n-nosuchnode" in response["message"]


async def test_trust_with_malformed_fingerprint_names_field(engine):
    response = await call(engine, "TrustNodeHostKey", node_id="n-pek3ar01n01", fingerprint="MD5:ab:cd")

    assert response["ret_code"] == 1100
    assert "fingerprint" in response["message"]


async def test_scan_of_closed_port_gives_entry_error(cluster, engine):
    port = closed_port()
    nodes = [entry(cluster, "pek3ar01n01"), {"ssh_host": "127.0.0.1", "ssh_port": port}]

    scanned = await call(engine, "ScanNodeHostKeys", nodes=nodes)

    assert scanned["ret_code"] == 0, scanned
    reachable, closed = scanned["host_keys"]
    assert reachable["state"] == "new"
    assert reachable["error"] == ""
    assert closed["state"] == "unreachable"
    assert closed["fingerprints"] == []
    assert f"127.0.0.1:{port}" in closed["error"]
    assert "refused" in closed["error"]


async def test_add_with_unreachable_node_registers_none(cluster, engine):
    port = closed_port()
    nodes = [entry(cluster, "pek3ar01n01"), {"node_id": "n-gone0001", "ssh_host": "127.0.0.1", "ssh_port": port}]

    refused = await call(engine, "AddNodes", nodes=nodes, trust_new_host_keys=True)

    assert refused["ret_code"] == 5200
    assert f"127.0.0.1:{port}" in refused["message"]
    assert await registered_ids(engine) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"nodes": [{"ssh_host": "node_1.example.com"}]}, "nodes.0.ssh_host"),
        ({"nodes": [{"ssh_host": "10.0.0.010"}]}, "nodes.0.ssh_host"),
        ({"nodes": [{"ssh_host": "127.0.0.1", "node_id": "n-has_underscore"}]}, "nodes.0.node_id"),
        ({"nodes": [{"ssh_host": "127.0.0.1"}], "trusted_fingerprints": ["ab:cd"]}, "trusted_fingerprints.0"),
        ({"nodes": [{"ssh_host": "127.0.0.1"}] * 2001}, "nodes"),
    ],
)
async def test_invalid_names_rejected_before_ssh(engine, params, field):
    for action in ("AddNodes", "ScanNodeHostKeys"):
        if action == "ScanNodeHostKeys" and field not in ("nodes.0.ssh_host", "nodes"):
            continue

        response = await call(engine, action, **params)

        assert response["ret_code"] == 1100, (action, response)
        assert f"'{field}'" in response["message"], (action, response)
