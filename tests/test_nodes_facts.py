"""Hardware facts and names of nodes registered through AddNodes, against real OpenSSH nodes."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.facts import hostname_warning, is_valid_ssh_host, parse_facts
from engine.lab.layout import PEK3A_NODES
from engine.lab.nodedir import prepare_node_dir
from engine.ssh import generate_client_key
from tests.sshd import SshdCluster

SEED_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def start_cluster(sshd_cluster, state_dir: Path):
    """Return start(names), which starts sshd nodes that trust the engine's client key."""
    public_key = generate_client_key(state_dir / "ssh" / "id_ed25519")

    def start(names: list[str]) -> SshdCluster:
        return sshd_cluster(names, client_public_key=public_key)

    return start


@pytest.fixture
async def engine(state_dir: Path):
    engine = Engine(state_dir)
    await engine.start()
    yield engine
    await engine.stop()


async def call(engine: Engine, action: str, request_type: str = "Node", **params) -> dict:
    return await engine.call({"action": action, "request_type": request_type, **params})


def entry(cluster: SshdCluster, name: str, node_id: str, **extra) -> dict:
    node = cluster.node(name)
    return {"node_id": node_id, "ssh_host": node.host, "ssh_port": node.port, "ssh_user": node.user, **extra}


def write_identity(home: Path, **files: str) -> None:
    """Write .lab-node files of a node: each one replaces the matching probe of the facts command."""
    identity = home / ".lab-node"
    identity.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (identity / name).write_text(text)


def local_block_devices() -> list[str]:
    """Return "NAME SIZE_GB" for this machine's disks, read from /sys/block as the facts command should."""
    disks = []
    for device in sorted(Path("/sys/block").iterdir()):
        if device.name.startswith(("loop", "ram", "zram", "dm-")):
            continue
        sectors = int((device / "size").read_text())
        if sectors > 0:
            disks.append(f"{device.name} {sectors // 2097152}")
    return disks


def local_interface_addresses() -> list[str]:
    """Return "NAME ADDRESS/PREFIX" for this machine's IPv4 and global IPv6 addresses, lo left out."""
    interfaces = json.loads(subprocess.run(["ip", "-j", "addr", "show"], capture_output=True, text=True, check=True).stdout)
    addresses = []
    for interface in interfaces:
        if interface["ifname"] == "lo":
            continue
        for address in interface.get("addr_info", []):
            if address["family"] == "inet" or (address["family"] == "inet6" and address.get("scope") != "link"):
                addresses.append(f"{interface['ifname']} {address['local']}/{address['prefixlen']}")
    return addresses


async def wait_for_job(engine: Engine, job_action: str, job_id: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = (await call(engine, "GetStatus", "QingCloud", job_action=job_action, job_id=job_id))["status"]
        if status in ("successful", "failed"):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end within 60 s")


# Parsing


def test_parse_facts_reads_disks_and_nics():
    facts = parse_facts([
        "hostname=pek3ar01n01",
        "cpus=8",
        "cpu_virt=yes",
        "disk=vda 100",
        "disk=nvme0n1   1863",
        "disk=broken",
        "disk=sdb 12GB",
        "nic=eth0 172.16.80.11/24",
    ])

    assert facts["disks"] == ["vda 100", "nvme0n1 1863"]
    assert facts["nics"] == ["eth0 172.16.80.11/24"]
    assert facts["cpus"] == 8
    assert facts["cpu_virt"] is True


@pytest.mark.parametrize(
    ("hostname", "zone_id", "expected"),
    [
        ("pek3ar01n01", "pek3a", None),
        ("pek3ar01n01", None, None),
        ("pek3ar01n01", "pek3b", "names zone 'pek3a' but the node is in zone pek3b"),
        ("storage-01", None, "does not follow the convention <zone_id>r<rack>n<slot>"),
    ],
)
def test_hostname_convention_warning(hostname, zone_id, expected):
    warning = hostname_warning(hostname, zone_id)

    if expected is None:
        assert warning is None
    else:
        assert expected in warning


@pytest.mark.parametrize(
    ("host", "valid"),
    [("127.0.0.11", True), ("::1", True), ("node-1.example.com", True), ("node_1", False), ("10.0.0.010", False),
     ("-node", False), ("", False)],
)
def test_ssh_host_validation(host, valid):
    assert is_valid_ssh_host(host) is valid


# Real nodes


@pytest.mark.sshd
async def test_disks_and_nics_reported_for_sshd_node(start_cluster, engine):
    cluster = start_cluster(["pek3ar01n01"])
    # Only the hostname is simulated; disks and NICs come from /sys/block and ip on this machine.
    write_identity(cluster.node("pek3ar01n01").home, hostname="pek3ar01n01\n")

    added = await call(engine, "AddNodes", nodes=[entry(cluster, "pek3ar01n01", "n-pek3a01r01")], trust_new_host_keys=True)
    described = await call(engine, "DescribeNodes", node_ids=["n-pek3a01r01"])

    assert added["ret_code"] == 0, added
    node = described["node_set"][0]
    assert node["disks"] == local_block_devices()
    if shutil.which("ip"):
        assert node["nics"] == local_interface_addresses()
    assert node["hostname"] == "pek3ar01n01"
    assert node["cpus"] >= 1
    assert node["mem_mb"] > 0
    assert node["kernel"]
    assert node["warnings"] == []


@pytest.mark.sshd
async def test_simulated_disks_file_wins(start_cluster, engine):
    cluster = start_cluster(["pek3ar01n01"])
    home = cluster.node("pek3ar01n01").home
    prepare_node_dir(home, hostname="pek3ar01n01", mgmt_ip="172.16.80.11")
    write_identity(home, disks="disk=vda 100\ndisk=vdb 2000\n")

    await call(engine, "AddNodes", nodes=[entry(cluster, "pek3ar01n01", "n-pek3a01r01")], trust_new_host_keys=True)
    described = await call(engine, "DescribeNodes", node_ids=["n-pek3a01r01"])

    node = described["node_set"][0]
    assert node["disks"] == ["vda 100", "vdb 2000"]
    assert node["nics"] == ["eth0 172.16.80.11/24"]
    assert node["cpu_virt"] is True


@pytest.mark.sshd
async def test_unconventional_hostname_only_warns(start_cluster, engine):
    cluster = start_cluster(["storage01"])
    write_identity(cluster.node("storage01").home, hostname="storage-01\n")

    added = await call(engine, "AddNodes", nodes=[entry(cluster, "storage01", "n-storage01")], trust_new_host_keys=True)
    described = await call(engine, "DescribeNodes", node_ids=["n-storage01"])

    assert added["ret_code"] == 0, added
    assert len(added["warnings"]) == 1
    assert added["warnings"][0].startswith("n-storage01: hostname 'storage-01' does not follow")
    assert added["node_set"][0]["warnings"] == [added["warnings"][0].removeprefix("n-storage01: ")]
    assert described["node_set"][0]["warnings"] == added["node_set"][0]["warnings"]


@pytest.mark.sshd
async def test_invalid_hostname_registers_no_node(start_cluster, engine):
    cluster = start_cluster(["pek3ar01n01", "badnode"])
    prepare_node_dir(cluster.node("pek3ar01n01").home, hostname="pek3ar01n01", mgmt_ip="172.16.80.11")
    write_identity(cluster.node("badnode").home, hostname="bad_node\n")
    nodes = [entry(cluster, "pek3ar01n01", "n-pek3a01r01"), entry(cluster, "badnode", "n-badnode")]

    refused = await call(engine, "AddNodes", nodes=nodes, trust_new_host_keys=True)
    described = await call(engine, "DescribeNodes")

    assert refused["ret_code"] == 5200
    assert "n-badnode" in refused["message"]
    assert "'bad_node'" in refused["message"]
    assert "RFC 1123" in refused["message"]
    assert described["node_set"] == []


@pytest.mark.sshd
async def test_duplicate_hostname_registers_no_node(start_cluster, engine):
    cluster = start_cluster(["first", "second"])
    for name in ("first", "second"):
        write_identity(cluster.node(name).home, hostname="pek3ar01n01\n")
    nodes = [entry(cluster, "first", "n-first01"), entry(cluster, "second", "n-second01")]

    refused = await call(engine, "AddNodes", nodes=nodes, trust_new_host_keys=True)
    described = await call(engine, "DescribeNodes")

    assert refused["ret_code"] == 5200
    assert "n-first01 and n-second01" in refused["message"]
    assert "'pek3ar01n01'" in refused["message"]
    assert described["node_set"] == []


@pytest.mark.sshd
async def test_hyper_node_without_virtualisation_warns(start_cluster, engine):
    hyper, vg = PEK3A_NODES[4], PEK3A_NODES[2]
    cluster = start_cluster([hyper.hostname, vg.hostname])
    for spec in (hyper, vg):
        home = cluster.node(spec.hostname).home
        prepare_node_dir(home, hostname=spec.hostname, mgmt_ip=spec.mgmt_ip)
        write_identity(home, cpuinfo="processor\t: 0\nflags\t\t: fpu sse sse2\n")
    nodes = [entry(cluster, spec.hostname, spec.node_id, mgmt_ip=spec.mgmt_ip) for spec in (hyper, vg)]
    added = await call(engine, "AddNodes", nodes=nodes, trust_new_host_keys=True)
    assert added["ret_code"] == 0, added
    assert added["warnings"] == []

    config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
    started = await call(engine, "ConfigQingCloud", "QingCloud", config=config)
    assert started["ret_code"] == 0, started
    assert await wait_for_job(engine, "ConfigQingCloud", started["job_id"]) == "successful"
    described = await call(engine, "DescribeNodes", zone_id="pek3a")

    warnings = {node["node_id"]: node["warnings"] for node in described["node_set"]}
    assert warnings[vg.node_id] == []
    assert len(warnings[hyper.node_id]) == 1
    assert "role hyper-repl needs CPU virtualisation" in warnings[hyper.node_id][0]
