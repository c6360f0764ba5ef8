"""Deploying VDI and V2V into a deployed zone on real OpenSSH nodes.

The platform is the one the upgrade tests use: pek3b deployed on five sshd
nodes, pek3a configured but not deployed. In the fusion zone pek3b the three
hyper-repl nodes carry the seed sub-role, so they run VDI as well as V2V. The
two vg nodes run neither.
"""

from __future__ import annotations

import pytest

from engine.lab.layout import PEK3B_NODES
from engine.lab.nodedir import CONTROL_DIR
from tests.test_upgrade_sshd import Platform, deployed  # noqa: F401 (fixture)

pytestmark = pytest.mark.sshd

VG_NODES = PEK3B_NODES[:2]
HYPER_NODES = PEK3B_NODES[2:]


def components_of(platform: Platform, spec) -> list[str]:
    directory = platform.home(spec) / "var" / "lib" / "qingcloud-demo" / "components"
    return sorted(path.name for path in directory.iterdir()) if directory.is_dir() else []


async def describe_components(platform: Platform) -> dict[str, dict[str, int]]:
    described = await platform.call("DescribeQingCloud")
    return {zone_id: info["components"] for zone_id, info in described["qingcloud"]["zone_info"].items()}


async def test_vdi_then_v2v_deployed_and_described(deployed):  # noqa: F811
    before = await describe_components(deployed)

    _, first, first_lines = await deployed.run_job(
        "DeployQingCloudComponent",
        config={"pek3b": {"variables": {"vdi": {"deploy_vdi": "1"}, "v2v": {"deploy_v2v": "0"}}}},
    )
    after_vdi = await describe_components(deployed)
    vdi_nodes = {spec.hostname: components_of(deployed, spec) for spec in PEK3B_NODES}

    _, second, second_lines = await deployed.run_job(
        "DeployQingCloudComponent", config={"pek3b": {"variables": {"v2v": {"deploy_v2v": "1"}}}}
    )
    after_v2v = await describe_components(deployed)

    assert before == {"pek3a": {"vdi": 0, "v2v": 0}, "pek3b": {"vdi": 0, "v2v": 0}}
    assert first["status"] == "successful", first_lines[-10:]
    assert [step["name"] for step in first["steps"]] == ["preflight", "install_components", "verify_components"]
    assert after_vdi == {"pek3a": {"vdi": 0, "v2v": 0}, "pek3b": {"vdi": 1, "v2v": 0}}
    for spec in HYPER_NODES:
        assert vdi_nodes[spec.hostname] == ["vdi"], spec.hostname
        assert f"{spec.hostname} | component vdi runs on {spec.hostname}" in first_lines
    for spec in VG_NODES:
        assert vdi_nodes[spec.hostname] == [], spec.hostname

    assert second["status"] == "successful", second_lines[-10:]
    assert after_v2v == {"pek3a": {"vdi": 0, "v2v": 0}, "pek3b": {"vdi": 1, "v2v": 1}}
    for spec in HYPER_NODES:
        assert components_of(deployed, spec) == ["v2v", "vdi"], spec.hostname


async def test_failed_install_records_nothing(deployed):  # noqa: F811
    failing = HYPER_NODES[1]
    (deployed.home(failing) / CONTROL_DIR / "fail" / "component_install").write_text("once\n")

    _, status, lines = await deployed.run_job(
        "DeployQingCloudComponent", config={"pek3b": {"variables": {"vdi": {"deploy_vdi": "1"}}}}
    )
    after = await describe_components(deployed)

    assert status["status"] == "failed"
    assert status["steps"][1]["state"] == "failed"
    assert failing.hostname in lines[-1]
    assert after["pek3b"] == {"vdi": 0, "v2v": 0}
