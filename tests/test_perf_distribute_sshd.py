"""The distribute_config step's copy of the configuration to a real OpenSSH node.

All files of a node travel in one tar stream. These tests check what the node ends up with:
every file whole, mode 0644, earlier copies replaced, nothing else left in the directory, and
a failure that names the node.
"""

from __future__ import annotations

import stat

import pytest

from engine.engine import Engine
from engine.executor import Executor, JobNode
from engine.jobs import JobContext
from engine.preflight import distribute_to_node, node_file
from engine.ssh import SshError, SshPool
from tests.test_ssh import target_of

pytestmark = pytest.mark.sshd

HOSTNAME = "pek3ar01n01"
ZONE_FILES = {
    "variables.pek3a.yaml": "zone_id: pek3a\nntp_server: 172.16.80.1\n",
    "settings.pek3a.yaml": "deploy_mode: standard\n" + "".join(f"key{number}: {number}\n" for number in range(5000)),
    "hosts.pek3a": "# Nodes of zone pek3a, written by qingcloud-installer.\n172.16.80.11 pek3ar01n01\n",
}


@pytest.fixture
async def distribute(sshd_cluster, client_key, tmp_path):
    """Return (conf, run, node): the node's conf directory, run(), which distributes ZONE_FILES, and the node."""
    cluster = sshd_cluster([HOSTNAME])
    engine = Engine(tmp_path / "state")
    await engine.start()
    node = JobNode(
        node_id="n-pek3a01r01", hostname=HOSTNAME, zone_id="pek3a", role="ks-vm", sub_roles=["seed", "vbr"],
        mgmt_ip="172.16.80.11", target=target_of(cluster, HOSTNAME, node_id="n-pek3a01r01"),
    )
    job = engine.jobs.create("DeployQingCloud", owner="test", params={}, step_names=["distribute_config"],
                             lock_keys=["pek3a"])
    context = JobContext(engine.store, job)
    pool = SshPool(default_client_key=str(client_key.path))
    executor = Executor(context, engine.recipe, pool)

    async def run() -> None:
        await distribute_to_node(executor, node, ZONE_FILES)

    yield cluster.node(HOSTNAME).home / engine.recipe.stage_dir / "conf", run, node
    await pool.close()
    await engine.stop()


async def test_files_arrive_whole_with_mode(distribute):
    conf, run, node = distribute

    await run()

    assert sorted(path.name for path in conf.iterdir()) == sorted([*ZONE_FILES, "node.yaml"])
    for name, text in ZONE_FILES.items():
        assert (conf / name).read_text(encoding="utf-8") == text, name
    assert (conf / "node.yaml").read_text(encoding="utf-8") == node_file(node)
    for path in conf.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name


async def test_second_copy_replaces_first(distribute):
    conf, run, _node = distribute
    conf.mkdir(parents=True)
    (conf / "hosts.pek3a").write_text("# stale hosts list of an earlier deploy\n" * 1000, encoding="utf-8")
    (conf / "hosts.pek3a").chmod(0o600)

    await run()

    assert (conf / "hosts.pek3a").read_text(encoding="utf-8") == ZONE_FILES["hosts.pek3a"]
    assert stat.S_IMODE((conf / "hosts.pek3a").stat().st_mode) == 0o644


async def test_unwritable_directory_names_node(distribute):
    conf, run, _node = distribute
    # A file where the directory should be: mkdir fails even for root.
    conf.parent.mkdir(parents=True)
    conf.write_text("not a directory\n", encoding="utf-8")

    with pytest.raises(SshError) as raised:
        await run()

    assert HOSTNAME in str(raised.value)
    assert "conf" in str(raised.value)
