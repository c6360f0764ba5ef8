"""TestQingCloud and its reads without SSH: the test catalog, request checks, the runner rule.

No node listens here: every request these tests send is rejected before a
job would connect anywhere, or reads what the store holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.lab.check_controls import set_test_failure, stop_service
from engine.lab.layout import PEK3A_NODES, PEK3B_NODES
from engine.recipe import DEMO_RECIPE_DIR, RecipeError, load_recipe
from engine.store import NodeRecord
from engine.testrun import choose_runner

SEED_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"


async def call(engine: Engine, action: str, request_type: str = "QingCloud", **params) -> dict:
    return await engine.call({"action": action, "request_type": request_type, **params})


@pytest.fixture
async def engine(tmp_path):
    engine = Engine(tmp_path / "state")
    await engine.start()
    yield engine
    await engine.stop()


@pytest.fixture
async def configured(engine):
    """The engine with the reference's configuration and the nodes of both zones registered; none deployed."""
    config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
    started = await call(engine, "ConfigQingCloud", config=config)
    await engine.jobs.wait(started["job_id"])
    for spec in [*PEK3A_NODES, *PEK3B_NODES]:
        # Port 9 on loopback: nothing listens, and these tests never let a job connect.
        engine.store.put_node(NodeRecord(
            node_id=spec.node_id, hostname=spec.hostname, ssh_host="127.0.0.1", ssh_port=9, ssh_user="root",
            ssh_key_file=None, mgmt_ip=spec.mgmt_ip, zone_id=spec.zone_id, status="ready", facts={}, host_keys=[],
        ))
    return engine


async def test_catalog_lists_cases_in_both_languages(engine):
    response = await call(engine, "DescribeQingCloudTestCases")
    cases = {case["test"]: case for case in response["test_set"]}

    assert response["ret_code"] == 0
    assert response["total_count"] == len(response["test_set"]) == 12
    assert list(cases)[:3] == ["vm-instance-capture", "vm-instance-volume", "lb-vxnet"]
    assert cases["lb-vxnet"] == {
        "test": "lb-vxnet", "description": "测试vxnet负载均衡功能", "description_en": "Load balancer on a VxNet"
    }
    assert cases["vm-instance-volume"]["description"] == "测试虚拟型主机磁盘的挂载,迁移,备份等功能"
    assert {"eip-associate", "vxnet-basic", "security-group", "volume-snapshot", "image-custom",
            "router-vxnet"} <= set(cases)
    assert response["runner_hostname"] == ""


async def test_test_before_deploy_is_wrong_state(configured):
    response = await call(configured, "TestQingCloud", mode="res", tasks="vm-instance-capture,lb-vxnet")
    clean = await call(configured, "CleanQingCloudTest")

    assert response["ret_code"] == 5200
    assert "needs a deployed node to run the test cases on (role ks-vm; sub-role seed)" in response["message"]
    assert clean["ret_code"] == 5200


async def test_unknown_tasks_rejected_by_name(configured):
    response = await call(configured, "TestQingCloud", mode="all", tasks="lb-vxnet, nosuch-case ,other-case")

    assert response["ret_code"] == 1100
    assert "tasks: nosuch-case, other-case are not test cases of recipe demo" in response["message"]
    assert "lb-vxnet" in response["message"].split("(")[1]


async def test_invalid_mode_rejected(engine):
    response = await call(engine, "TestQingCloud", mode="fast")

    assert response["ret_code"] == 1100
    assert "parameter 'mode' is invalid" in response["message"]


async def test_reads_before_any_run(engine):
    rerun = await call(engine, "RerunQingCloudTestCase", tasks="lb-vxnet")
    empty_rerun = await call(engine, "RerunQingCloudTestCase", tasks=" ,")
    status = await call(engine, "GetQingCloudTestCasesStatus")
    log = await call(engine, "GetQingCloudTestCasesLog", task="lb-vxnet")
    other_job = await call(engine, "GetQingCloudTestCasesStatus", job_id="j-00000000")

    assert rerun["ret_code"] == 5200
    assert "none has run yet" in rerun["message"]
    assert empty_rerun["ret_code"] == 1100
    assert status["ret_code"] == 2100
    assert "no test run has been started yet" in status["message"]
    assert log["ret_code"] == 2100
    assert other_job["ret_code"] == 2100


async def test_runner_is_first_ks_vm_node_else_first_seed_node(configured):
    catalog = configured.recipe.tests
    pek3b = [spec.node_id for spec in PEK3B_NODES]
    pek3a = [spec.node_id for spec in PEK3A_NODES]

    configured.store.set_node_status(pek3b, "deployed")
    fusion_only = choose_runner(configured, catalog)
    configured.store.set_node_status(pek3a, "deployed")
    both = choose_runner(configured, catalog)
    kept = choose_runner(configured, catalog, preferred_node_id=fusion_only.node_id)
    described = await call(configured, "DescribeQingCloudTestCases")

    assert fusion_only.hostname == "pek3br01n03"
    assert both.hostname == "pek3ar01n01"
    assert kept.hostname == "pek3br01n03"
    assert described["runner_hostname"] == "pek3ar01n01"


def test_test_catalog_with_repeated_case_rejected(tmp_path):
    recipe_dir = tmp_path / "recipe"
    recipe_dir.mkdir()
    text = (DEMO_RECIPE_DIR / "recipe.yaml").read_text(encoding="utf-8")
    (recipe_dir / "recipe.yaml").write_text(text.replace("- name: keypair-login", "- name: lb-vxnet"), encoding="utf-8")

    with pytest.raises(RecipeError, match="test cases lb-vxnet are listed more than once"):
        load_recipe(recipe_dir)


def test_every_case_command_is_a_demo_script():
    catalog = load_recipe().tests
    script = (DEMO_RECIPE_DIR / "scripts" / "testcase.sh").read_text(encoding="utf-8")

    for case in catalog.cases:
        assert catalog.command(case) == ["sh", "{stage}/scripts/testcase.sh", case.name]
        assert f"    {case.name})\n" in script, f"testcase.sh has no branch for {case.name}"


def test_lab_controls_reject_bad_names(tmp_path):
    with pytest.raises(ValueError, match="invalid test case"):
        set_test_failure(tmp_path, "../escape")
    with pytest.raises(ValueError, match="invalid service name"):
        stop_service(tmp_path, "a b")
