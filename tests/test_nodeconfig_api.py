"""The configuration-file actions' responses that need no node: bad requests, unknown zones, empty zones.

These run against an in-process engine without any SSH node, so every check
here happens before the engine would read a file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.recipe import RecipeError, load_recipe

SEED_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"


@pytest.fixture
async def engine(tmp_path):
    engine = Engine(tmp_path / "state")
    await engine.start()
    yield engine
    await engine.stop()


async def call(engine: Engine, action: str, **params) -> dict:
    return await engine.call({"action": action, "request_type": "QingCloud", **params})


async def configure(engine: Engine) -> None:
    config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
    started = await call(engine, "ConfigQingCloud", config=config)
    await engine.jobs.wait(started["job_id"])


async def test_unknown_zone_not_found(engine):
    response = await call(engine, "DescribeConfiguration", zone_id="pek9z", file_name="server.yaml", segment="common")

    assert response["ret_code"] == 2100
    assert response["message"] == "zone_id: zone 'pek9z' not found; configured zones: none"


async def test_zone_without_deployed_nodes_wrong_state(engine):
    await configure(engine)

    described = await call(engine, "DescribeConfiguration", zone_id="pek3a", file_name="server.yaml", segment="common")
    modified = await call(engine, "ModifyConfiguration", zone_id="pek3a", file_name="server.yaml",
                          segment={"account_server": {"qingstor_enable": 1}})

    for response in (described, modified):
        assert response["ret_code"] == 5200, response
        assert "no deployed node of zone pek3a has server.yaml" in response["message"]
        assert "roles ks-vm, hyper, hyper-repl" in response["message"]


@pytest.mark.parametrize("segment", ["action", "ret_code", "message"])
async def test_segment_named_like_response_field_rejected(engine, segment):
    response = await call(engine, "DescribeConfiguration", zone_id="pek3a", file_name="server.yaml", segment=segment)

    assert response["ret_code"] == 1100
    assert f"segment '{segment}' is also a field of every response" in response["message"]


@pytest.mark.parametrize(("segment", "message"), [
    ({}, "segment is empty"),
    ({"common": {"": 1}}, "segment.common: key '' is not accepted"),
    ("account_server.qingstor_enable=1", "ModifyConfiguration: parameter 'segment' is invalid"),
])
async def test_modify_change_shape_rejected(engine, segment, message):
    response = await call(engine, "ModifyConfiguration", zone_id="pek3a", file_name="server.yaml", segment=segment)

    assert response["ret_code"] == 1100
    assert message in response["message"]


async def test_restore_of_unknown_job(engine):
    response = await call(engine, "RestoreConfiguration", job_id="j-AbCd1234")

    assert response["ret_code"] == 2100
    assert response["message"] == "job_id: job j-AbCd1234 not found"


async def test_file_list_and_empty_history(engine):
    await configure(engine)

    files = await call(engine, "DescribeConfigurationFiles", zone_id="pek3a")
    changes = await call(engine, "DescribeConfigurationChanges", zone_id="pek3a")

    assert files["file_set"] == [{
        "file_name": "server.yaml", "path": "etc/qingcloud/server.yaml", "roles": ["ks-vm", "hyper", "hyper-repl"],
        "reload": ["sh", "{stage}/scripts/config_file.sh", "reload", "server.yaml"], "node_set": [],
    }]
    assert (changes["change_set"], changes["total_count"]) == ([], 0)


def test_recipe_rejects_bad_config_files(tmp_path):
    recipe_dir = tmp_path / "recipe"
    recipe_dir.mkdir()
    text = (load_recipe().directory / "recipe.yaml").read_text(encoding="utf-8")
    (recipe_dir / "recipe.yaml").write_text(text.replace("roles: [ks-vm, hyper, hyper-repl]\n    reload",
                                                         "roles: [ks-vm, storage]\n    reload"), encoding="utf-8")

    with pytest.raises(RecipeError, match="config_files: server.yaml names unknown roles storage"):
        load_recipe(recipe_dir)
