"""What a caller gets back for malformed and unknown calls, and that every action of the reference is answered."""

import json
from pathlib import Path

import pytest

from engine.dispatch import ROUTES
from engine.engine import Engine

SEED_EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "seed-examples.json"


@pytest.fixture
async def engine(tmp_path):
    engine = Engine(tmp_path / "state")
    await engine.start()
    yield engine
    await engine.stop()


async def test_describe_before_config_shows_empty_platform(engine):
    response = await engine.call({"action": "DescribeQingCloud", "request_type": "QingCloud"})

    assert response["ret_code"] == 0
    assert response["action"] == "DescribeQingCloudResponse"
    assert response["qingcloud"]["is_deployed"] == 0
    assert response["qingcloud"]["zone_ids"] == []
    assert response["qingcloud"]["zone_info"] == {}


async def test_unknown_action_names_it(engine):
    response = await engine.call({"action": "DescribeEverything", "request_type": "QingCloud"})

    assert response["ret_code"] == 1100
    assert "DescribeEverything" in response["message"]


async def test_unknown_request_type_lists_accepted(engine):
    response = await engine.call({"action": "DescribeQingCloud", "request_type": "Cloud"})

    assert response["ret_code"] == 1100
    assert "QingCloud, Node, Job" in response["message"]


async def test_missing_action_is_bad_request(engine):
    response = await engine.call({"request_type": "QingCloud"})

    assert response["ret_code"] == 1100
    assert "'action' is missing" in response["message"]


async def test_non_object_request_is_bad_request(engine):
    response = await engine.call(["DescribeQingCloud"])

    assert response["ret_code"] == 1100


async def test_wrong_type_names_the_field(engine):
    response = await engine.call({"action": "DeployQingCloud", "request_type": "QingCloud", "node_ids": "n-abcd1234"})

    assert response["ret_code"] == 1100
    assert "'node_ids'" in response["message"]


async def test_bad_node_id_format_names_the_element(engine):
    response = await engine.call({"action": "DeployQingCloud", "request_type": "QingCloud", "node_ids": ["node 1"]})

    assert response["ret_code"] == 1100
    assert "node_ids.0" in response["message"]


async def test_unknown_fields_are_ignored(engine):
    response = await engine.call({"action": "DescribeQingCloud", "request_type": "QingCloud", "colour": "blue"})

    assert response["ret_code"] == 0


async def test_deploy_before_config_is_wrong_state(engine):
    response = await engine.call({"action": "DeployQingCloud", "request_type": "QingCloud", "node_ids": ["n-pek3a01r01"]})

    assert response["ret_code"] == 5200
    assert "before ConfigQingCloud" in response["message"]


async def test_every_seed_action_has_a_handler(engine):
    actions = {example["action"] for example in json.loads(SEED_EXAMPLES.read_text(encoding="utf-8"))}

    routed = {action for (_request_type, action) in ROUTES}

    assert actions - routed == set()


async def test_every_seed_request_gets_a_response_family(engine):
    """Each of the reference's 22 requests is routed, and succeeds or fails with a known family."""
    examples = json.loads(SEED_EXAMPLES.read_text(encoding="utf-8"))
    assert len(examples) == 22

    for example in examples:
        request = dict(example["request"])
        request.setdefault("action", example["action"])
        response = await engine.call(request)
        assert response["action"] == f"{example['action']}Response", example["action"]
        assert response["ret_code"] in (0, 1100, 2100, 5200), (example["action"], response)
        if response["ret_code"] == 1100:
            assert "unknown" not in response["message"], (example["action"], response)


async def test_get_status_without_jobs_is_not_found(engine):
    response = await engine.call({"action": "GetStatus", "request_type": "QingCloud", "job_action": "DeployQingCloud"})

    assert response["ret_code"] == 2100
    assert "no DeployQingCloud job" in response["message"]


async def test_get_log_of_unknown_job_names_it(engine):
    response = await engine.call(
        {"action": "GetLog", "request_type": "QingCloud", "job_action": "DeployQingCloud", "job_id": "j-abcdefgh"}
    )

    assert response["ret_code"] == 2100
    assert "j-abcdefgh" in response["message"]


async def test_validate_returns_files_and_diff(engine):
    config = json.loads((SEED_EXAMPLES.parent / "config-qingcloud.seed.json").read_text(encoding="utf-8"))["config"]

    response = await engine.call({"action": "ValidateQingCloudConfig", "request_type": "QingCloud", "config": config})

    assert response["valid"] is True
    assert sorted(response["files"]["pek3b"]) == ["settings.pek3b.yaml", "variables.pek3b.yaml"]
    assert "deploy_mode: fusion" in response["files"]["pek3b"]["variables.pek3b.yaml"]
    assert "+++ new/variables.pek3a.yaml" in response["diff"]["pek3a"]
    assert "+deploy_mode: standard" in response["diff"]["pek3a"]
