"""Viewing and changing server.yaml on real OpenSSH nodes, through the engine's API.

Four sshd nodes stand in for part of the reference's pek3b: one vg node, which
does not hold server.yaml in the demo recipe, and three hyper nodes, which do.
The zone is configured with ConfigQingCloud and its nodes marked deployed, as a
deploy leaves them, with the demo recipe's server.yaml in each node's home.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.lab.layout import PEK3B_NODES, LabNodeSpec
from engine.lab.nodedir import CONTROL_DIR, prepare_node_dir
from engine.recipe import DEMO_RECIPE_DIR, Recipe, load_recipe
from engine.nodeconfig.remote import NodeFile
from engine.ssh import SshPool, SshTarget, fingerprint
from tests.sshd import SshdCluster

pytestmark = pytest.mark.sshd

SEED_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"
SERVER_YAML = (DEMO_RECIPE_DIR / "files" / "server.yaml").read_text(encoding="utf-8")
FILE = Path("etc") / "qingcloud" / "server.yaml"
ZONE = "pek3b"
VG = PEK3B_NODES[0]
FIRST, SECOND, THIRD = PEK3B_NODES[2:5]
HOLDERS = [FIRST, SECOND, THIRD]
DEADLINE_S = 30.0

REFERENCE_RESPONSE = {
    "action": "DescribeConfigurationResponse",
    "common.hypervisor_policies": {
        "cache": "lxc,kvm",
        "hadoop": "lxc,kvm",
        "loadbalancer": "lxc,kvm",
        "mongo": "kvm",
        "nfv": "lxc,kvm",
        "rdb": "lxc,kvm",
        "rdb_mysql5.5": "kvm",
        "router": "lxc,kvm",
    },
    "ret_code": 0,
}
REFERENCE_CHANGE = {"account_server": {"qingstor_enable": 1}}
QINGSTOR_OFF = "  qingstor_enable: 0            # 1 turns QingStor accounts on"
QINGSTOR_ON = "  qingstor_enable: 1            # 1 turns QingStor accounts on"
CHANGED_YAML = SERVER_YAML.replace(QINGSTOR_OFF, QINGSTOR_ON)

# A reload that waits on each node until the test creates `reload-release` in its home.
HELD_RELOAD = ["sh", "-c", "touch reload-started; while [ ! -e reload-release ]; do sleep 0.05; done; echo reloaded"]


@dataclass
class Zone:
    engine: Engine
    cluster: SshdCluster

    def home(self, spec: LabNodeSpec) -> Path:
        return self.cluster.node(spec.hostname).home

    def text(self, spec: LabNodeSpec) -> str:
        return (self.home(spec) / FILE).read_text(encoding="utf-8")

    def backups(self, spec: LabNodeSpec) -> list[str]:
        return sorted(path.name for path in (self.home(spec) / FILE.parent).glob("server.yaml.bak-*"))

    def leftovers(self, spec: LabNodeSpec) -> list[str]:
        return sorted(path.name for path in (self.home(spec) / FILE.parent).glob(".server.yaml.*"))

    async def call(self, action: str, request_type: str = "QingCloud", **params) -> dict:
        return await self.engine.call({"action": action, "request_type": request_type, **params})

    async def finish(self, job_action: str, job_id: str) -> tuple[dict, list[str]]:
        """Wait for a job to end; return its GetStatus response and its log lines."""
        await asyncio.wait_for(self.engine.jobs.wait(job_id), DEADLINE_S)
        status = await self.call("GetStatus", job_action=job_action, job_id=job_id)
        log = await self.call("GetLog", job_action=job_action, job_id=job_id)
        return status, list(log["log"].values())

    async def modify(self, change: dict) -> tuple[dict, dict, list[str]]:
        started = await self.call("ModifyConfiguration", zone_id=ZONE, file_name="server.yaml", segment=change)
        assert started["ret_code"] == 0, started
        status, lines = await self.finish("ModifyConfiguration", started["job_id"])
        return started, status, lines


async def wait_for_file(path: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {DEADLINE_S} s")
        await asyncio.sleep(0.02)


def recipe_with_reload(reload: list[str]) -> Recipe:
    recipe = load_recipe()
    files = [config_file.model_copy(update={"reload": reload}) for config_file in recipe.config_files]
    return recipe.model_copy(update={"config_files": files})


@pytest.fixture
async def start_zone(tmp_path, sshd_cluster) -> AsyncIterator[Callable[..., Awaitable[Zone]]]:
    """Return start(recipe=None), which sets up the zone's nodes and an engine on them."""
    engines: list[Engine] = []

    async def start(recipe: Recipe | None = None) -> Zone:
        engine = Engine(tmp_path / "state", recipe=recipe)
        engines.append(engine)
        await engine.start()

        specs = [VG, *HOLDERS]
        cluster = sshd_cluster([spec.hostname for spec in specs], client_public_key=engine.client_public_key)
        for spec in specs:
            home = cluster.node(spec.hostname).home
            prepare_node_dir(home, hostname=spec.hostname, mgmt_ip=spec.mgmt_ip, speed=100)
            (home / FILE.parent).mkdir(parents=True)
            (home / FILE).write_text(SERVER_YAML, encoding="utf-8")

        zone = Zone(engine, cluster)
        added = await zone.call("AddNodes", "Node", nodes=[
            {"node_id": spec.node_id, "ssh_host": cluster.node(spec.hostname).host,
             "ssh_port": cluster.node(spec.hostname).port, "ssh_user": cluster.node(spec.hostname).user,
             "mgmt_ip": spec.mgmt_ip}
            for spec in specs
        ], trusted_fingerprints=sorted({fingerprint(cluster.host_public_key(spec.hostname)) for spec in specs}))
        assert added["ret_code"] == 0, added

        config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
        configured = await zone.call("ConfigQingCloud", config=config)
        status, lines = await zone.finish("ConfigQingCloud", configured["job_id"])
        assert status["status"] == "successful", lines
        engine.store.set_node_status([spec.node_id for spec in specs], "deployed")
        return zone

    yield start

    for engine in engines:
        await engine.stop()


@pytest.fixture
async def zone(start_zone) -> Zone:
    return await start_zone()


# -- reading --------------------------------------------------------------------------


async def test_reference_segment_read_as_reference_shows(zone):
    response = await zone.call("DescribeConfiguration", zone_id=ZONE, file_name="server.yaml",
                               segment="common.hypervisor_policies")

    assert response == REFERENCE_RESPONSE


async def test_dotted_key_segment_read(zone):
    response = await zone.call("DescribeConfiguration", zone_id=ZONE, file_name="server.yaml",
                               segment="common.hypervisor_policies.rdb_mysql5.5")

    assert response["ret_code"] == 0, response
    assert response["common.hypervisor_policies.rdb_mysql5.5"] == "kvm"


async def test_missing_segment_names_deepest_part(zone):
    response = await zone.call("DescribeConfiguration", zone_id=ZONE, file_name="server.yaml",
                               segment="common.hypervisor_policies.rdb_mysql8.0")

    assert response["ret_code"] == 2100
    assert "segment 'common.hypervisor_policies.rdb_mysql8.0' not found in server.yaml" in response["message"]
    assert "common.hypervisor_policies has no 'rdb_mysql8.0'" in response["message"]


BAD_FILE_NAMES = [
    ("../../etc/passwd", 1100, "file_name: '../../etc/passwd' is a path; give the bare name of an editable file (server.yaml)"),
    ("etc/qingcloud/server.yaml", 1100, "is a path"),
    ("..", 1100, "is a path"),
    ("nosuch.yaml", 2100, "file_name: 'nosuch.yaml' is not an editable file of recipe demo; editable files: server.yaml"),
]


async def test_bad_file_names_rejected_before_reading(zone):
    # With every node down, a read would fail with 5200, so these responses prove that nothing was read.
    zone.cluster.stop()

    for file_name, ret_code, message in BAD_FILE_NAMES:
        described = await zone.call("DescribeConfiguration", zone_id=ZONE, file_name=file_name, segment="common")
        modified = await zone.call("ModifyConfiguration", zone_id=ZONE, file_name=file_name, segment=REFERENCE_CHANGE)

        for response in (described, modified):
            assert response["ret_code"] == ret_code, (file_name, response)
            assert message in response["message"], file_name


async def test_whole_file_and_file_list(zone):
    files = await zone.call("DescribeConfigurationFiles", zone_id=ZONE)
    whole = await zone.call("DescribeConfigurationFile", zone_id=ZONE, file_name="server.yaml")

    assert [entry["file_name"] for entry in files["file_set"]] == ["server.yaml"]
    assert [node["hostname"] for node in files["file_set"][0]["node_set"]] == [spec.hostname for spec in HOLDERS]
    assert whole["content"] == SERVER_YAML
    assert whole["hostname"] == FIRST.hostname
    assert whole["configuration"]["account_server"]["qingstor_enable"] == 0
    paths = {tuple(entry["path"]) for entry in whole["outline"]}
    assert ("common", "hypervisor_policies", "rdb_mysql5.5") in paths


async def test_preview_changes_nothing(zone):
    preview = await zone.call("PreviewConfiguration", zone_id=ZONE, file_name="server.yaml", segment=REFERENCE_CHANGE)

    assert preview["ret_code"] == 0, preview
    assert preview["changed"] is True
    assert preview["diffs"][0]["hostnames"] == [spec.hostname for spec in HOLDERS]
    assert f"-{QINGSTOR_OFF}\n+{QINGSTOR_ON}\n" in preview["diffs"][0]["diff"]
    for spec in HOLDERS:
        assert zone.text(spec) == SERVER_YAML
        assert zone.backups(spec) == []


# -- changing -------------------------------------------------------------------------


async def test_reference_change_touches_one_line_on_holders(zone):
    started, status, lines = await zone.modify(REFERENCE_CHANGE)
    job_id = started["job_id"]
    read_back = await zone.call("DescribeConfiguration", zone_id=ZONE, file_name="server.yaml",
                                segment="account_server.qingstor_enable")

    assert status["status"] == "successful", lines
    assert [step["name"] for step in status["steps"]] == ["read", "backup", "write", "verify", "push", "reload"]
    assert f"-{QINGSTOR_OFF}" in lines
    assert f"+{QINGSTOR_ON}" in lines
    assert read_back["account_server.qingstor_enable"] == 1
    for spec in HOLDERS:
        assert zone.text(spec) == CHANGED_YAML, spec.hostname
        assert [name for name in zone.backups(spec) if name.endswith(job_id)], spec.hostname
        assert zone.leftovers(spec) == [], spec.hostname
        assert any(line.startswith(f"{spec.hostname} | services reloaded") for line in lines), spec.hostname
    assert zone.text(VG) == SERVER_YAML, "the vg node does not hold server.yaml and is left alone"
    assert zone.backups(VG) == []


async def test_node_with_own_values_keeps_them(zone):
    own = SERVER_YAML.replace("  quota_check: off", "  quota_check: on")
    (zone.home(THIRD) / FILE).write_text(own, encoding="utf-8")

    _started, status, _lines = await zone.modify(REFERENCE_CHANGE)
    changes = await zone.call("DescribeConfigurationChanges", zone_id=ZONE, file_name="server.yaml")

    assert status["status"] == "successful"
    assert zone.text(THIRD) == own.replace(QINGSTOR_OFF, QINGSTOR_ON)
    assert zone.text(FIRST) == CHANGED_YAML
    assert [group["hostnames"] for group in changes["change_set"][0]["diffs"]] == [
        [FIRST.hostname, SECOND.hostname], [THIRD.hostname]]


async def test_value_already_set_changes_nothing(zone):
    _started, status, lines = await zone.modify({"account_server": {"qingstor_enable": 0}})

    assert status["status"] == "successful"
    assert [step["state"] for step in status["steps"]] == ["done"] + ["skipped"] * 5
    assert any("nothing to change" in line for line in lines)
    for spec in HOLDERS:
        assert zone.text(spec) == SERVER_YAML
        assert zone.backups(spec) == []


async def test_mapping_over_scalar_rejected_before_job(zone):
    response = await zone.call("ModifyConfiguration", zone_id=ZONE, file_name="server.yaml", segment={"common": "x"})

    assert response["ret_code"] == 1100
    assert "segment.common: the file has a mapping here" in response["message"]
    assert (await zone.call("DescribeJobs", "Job", job_action="ModifyConfiguration"))["total_count"] == 0


async def test_reload_failure_puts_backups_back(zone):
    marker = zone.home(SECOND) / CONTROL_DIR / "fail" / "reload_config"
    marker.write_text("always\n")

    _started, status, lines = await zone.modify(REFERENCE_CHANGE)

    assert status["status"] == "failed"
    assert status["steps"][5] == {"status": "step5", "name": "reload", "state": "failed"}
    assert status["nodes"][SECOND.node_id]["state"] == "failed"
    assert "failure injected by the lab" in lines[-1]
    assert f"the previous server.yaml is back on {FIRST.hostname}, {SECOND.hostname}, {THIRD.hostname}" in lines[-1]
    for spec in HOLDERS:
        assert zone.text(spec) == SERVER_YAML, spec.hostname
        assert any(line.startswith(f"{spec.hostname} | restored etc/qingcloud/server.yaml from") for line in lines)
        assert zone.leftovers(spec) == [], spec.hostname
    # The first node had reloaded the new file, so it reloads again with the restored one.
    assert sum(line == f"{FIRST.hostname} | services reloaded" for line in lines) == 2


async def test_push_failure_on_one_node_restores_others(zone):
    stuck = zone.home(SECOND) / FILE
    # An immutable file cannot be renamed over, even by root: the push fails on this node only.
    made_immutable = subprocess.run(["chattr", "+i", str(stuck)], capture_output=True, check=False)
    if made_immutable.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {made_immutable.stderr.decode().strip()}")
    try:
        _started, status, lines = await zone.modify(REFERENCE_CHANGE)
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=True)

    assert status["status"] == "failed"
    assert status["steps"][4]["state"] == "failed"
    assert f"step4 push failed on {SECOND.hostname}" in lines[-1]
    assert f"the previous server.yaml is back on {FIRST.hostname}, {THIRD.hostname}" in lines[-1]
    for spec in HOLDERS:
        assert zone.text(spec) == SERVER_YAML, spec.hostname
        assert zone.leftovers(spec) == [], spec.hostname


async def test_unreachable_node_fails_job_before_any_change(zone):
    zone.cluster.kill(SECOND.hostname)

    _started, status, lines = await zone.modify(REFERENCE_CHANGE)

    assert status["status"] == "failed"
    assert status["steps"][0]["state"] == "failed"
    assert f"step0 read failed on {SECOND.hostname}" in lines[-1]
    assert lines[-1].endswith("no node was changed")
    for spec in (FIRST, THIRD):
        assert zone.text(spec) == SERVER_YAML
        assert zone.backups(spec) == []


async def test_node_lost_mid_reload_restored_when_back(start_zone):
    zone = await start_zone(recipe_with_reload(HELD_RELOAD))
    for spec in (SECOND, THIRD):
        (zone.home(spec) / "reload-release").touch()

    started = await zone.call("ModifyConfiguration", zone_id=ZONE, file_name="server.yaml", segment=REFERENCE_CHANGE)
    await wait_for_file(zone.home(FIRST) / "reload-started")
    busy = await zone.call("ModifyConfiguration", zone_id=ZONE, file_name="server.yaml",
                           segment={"common": {"log_level": "debug"}})
    zone.cluster.kill(SECOND.hostname)
    (zone.home(FIRST) / "reload-release").touch()
    status, lines = await zone.finish("ModifyConfiguration", started["job_id"])
    changes = await zone.call("DescribeConfigurationChanges", zone_id=ZONE)

    assert busy["ret_code"] == 5100
    assert started["job_id"] in busy["message"]
    assert status["status"] == "failed"
    assert zone.text(FIRST) == SERVER_YAML
    assert zone.text(THIRD) == SERVER_YAML
    assert zone.text(SECOND) == CHANGED_YAML, "an unreachable node keeps the new file"
    assert f"it could not be put back on {SECOND.hostname}" in lines[-1]
    assert f"run RestoreConfiguration with job_id {started['job_id']}" in lines[-1]
    assert changes["change_set"][0]["restorable"] is True

    zone.cluster.restart(SECOND.hostname)
    restore = await zone.call("RestoreConfiguration", job_id=started["job_id"])
    restore_status, restore_lines = await zone.finish("RestoreConfiguration", restore["job_id"])

    assert restore_status["status"] == "successful", restore_lines
    for spec in HOLDERS:
        assert zone.text(spec) == SERVER_YAML, spec.hostname
    assert any(line.startswith(f"{SECOND.hostname} | restored") for line in restore_lines)
    assert not any(line.startswith(f"{FIRST.hostname} | ") for line in restore_lines), "the job restored it already"


# -- history and restore ----------------------------------------------------------------


async def test_restore_puts_modification_back(zone):
    started, _status, _lines = await zone.modify(REFERENCE_CHANGE)
    listed = await zone.call("DescribeConfigurationChanges", zone_id=ZONE, file_name="server.yaml")

    restore = await zone.call("RestoreConfiguration", job_id=started["job_id"])
    status, lines = await zone.finish("RestoreConfiguration", restore["job_id"])
    again = await zone.call("RestoreConfiguration", job_id=started["job_id"])
    relisted = await zone.call("DescribeConfigurationChanges", zone_id=ZONE, file_name="server.yaml")

    change = listed["change_set"][0]
    assert (change["job_id"], change["restorable"], change["segment"]) == (started["job_id"], True, REFERENCE_CHANGE)
    assert f"+{QINGSTOR_ON}" in change["diffs"][0]["diff"].splitlines()
    assert status["status"] == "successful", lines
    assert f"+{QINGSTOR_OFF}" in lines
    for spec in HOLDERS:
        assert zone.text(spec) == SERVER_YAML, spec.hostname
    assert again["ret_code"] == 5200
    assert f"job {restore['job_id']} (RestoreConfiguration) changed server.yaml" in again["message"]
    assert [entry["job_action"] for entry in relisted["change_set"]] == ["RestoreConfiguration", "ModifyConfiguration"]
    assert [entry["restorable"] for entry in relisted["change_set"]] == [False, False]


async def test_restore_refuses_file_changed_since(zone):
    started, _status, _lines = await zone.modify(REFERENCE_CHANGE)
    (zone.home(THIRD) / FILE).write_text(CHANGED_YAML + "# edited by hand\n", encoding="utf-8")

    restore = await zone.call("RestoreConfiguration", job_id=started["job_id"])
    status, lines = await zone.finish("RestoreConfiguration", restore["job_id"])

    assert status["status"] == "failed"
    assert f"etc/qingcloud/server.yaml on {THIRD.hostname} changed after job {started['job_id']}" in lines[-1]
    assert lines[-1].endswith("nothing was restored")
    assert zone.text(FIRST) == CHANGED_YAML


async def test_restore_of_other_job_rejected(zone):
    config_job = (await zone.call("DescribeJobs", "Job", job_action="ConfigQingCloud"))["job_set"][0]["job_id"]

    response = await zone.call("RestoreConfiguration", job_id=config_job)

    assert response["ret_code"] == 1100
    assert f"job_id: {config_job} is a ConfigQingCloud job" in response["message"]


def test_demo_recipe_installs_server_yaml_once(tmp_path):
    """The deploy task of the demo recipe puts the file in place and keeps an edited one."""
    home = tmp_path / "node"
    stage = home / ".qingcloud-installer"
    shutil.copytree(DEMO_RECIPE_DIR, stage)
    command = ["sh", ".qingcloud-installer/scripts/config_file.sh", "install", "server.yaml"]

    first = subprocess.run(command, cwd=home, capture_output=True, text=True, check=False)
    (home / FILE).write_text(CHANGED_YAML, encoding="utf-8")
    second = subprocess.run(command, cwd=home, capture_output=True, text=True, check=False)

    assert first.returncode == 0, first.stderr
    assert "installed /etc/qingcloud/server.yaml" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "already in place, keeping it" in second.stdout
    assert (home / FILE).read_text(encoding="utf-8") == CHANGED_YAML



# -- files over a command's logged output limit -------------------------------------------

# Just over 1 MiB, the maximum output of one command that reaches the job log, and its base64
# text on the wire is a third larger. Larger files would only slow the pure-Python YAML parse.
LARGE_YAML = SERVER_YAML + "".join(f"# padding line {number:06d} of a large server.yaml {'.' * 40}\n"
                                   for number in range(13000))


async def test_file_over_one_mib_shown_whole(zone):
    for spec in HOLDERS:
        (zone.home(spec) / FILE).write_text(LARGE_YAML, encoding="utf-8")

    whole = await zone.call("DescribeConfigurationFile", zone_id=ZONE, file_name="server.yaml")

    assert len(LARGE_YAML.encode()) > 1024 * 1024
    assert whole["ret_code"] == 0, whole
    assert whole["content"] == LARGE_YAML


async def test_node_file_reads_large_binary_intact(tmp_path, sshd_cluster, client_key):
    cluster = sshd_cluster([FIRST.hostname])
    node = cluster.node(FIRST.hostname)
    # Every byte value, CR and CRLF pairs, no final newline: what a line-based read would damage.
    data = bytes(range(256)) * 5000 + b"tail\r\nlast line\rwithout newline"
    (node.home / "large.bin").write_bytes(data)
    target = SshTarget(node_id=FIRST.node_id, hostname=FIRST.hostname, host=node.host, port=node.port,
                       user=node.user, host_keys=(cluster.host_public_key(FIRST.hostname),))

    async with SshPool(default_client_key=str(client_key.path)) as pool:
        read_back = await NodeFile(pool, target, "large.bin").read()

    assert len(data) > 1024 * 1024
    assert len(read_back) == len(data)
    assert read_back == data
