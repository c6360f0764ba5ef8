"""Job bookkeeping: statuses, numbered logs, zone locks, recovery after a stop."""

import asyncio

import pytest

from engine.engine import Engine
from engine.errors import ApiError
from engine.jobs import Jobs, StepFailed
from engine.actions.jobs import log_keys
from engine.store import Store


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "state.db")
    yield store
    store.close()


def test_log_keys_pad_to_three_digits():
    assert log_keys(1, 3, 3) == ["001", "002", "003"]


def test_log_keys_widen_past_999():
    keys = log_keys(995, 10, 1004)

    assert keys[0] == "0995"
    assert keys[-1] == "1004"
    assert keys == sorted(keys)


async def test_job_walks_through_steps_in_order(store):
    jobs = Jobs(store)
    job = jobs.create("DeployQingCloud", owner="test", params={}, step_names=["a", "b"], lock_keys=["pek3a"])
    seen = []

    async def body(context):
        for index in range(2):
            context.begin_step(index)
            seen.append((context.job.status, context.job.pre_status))
            context.end_step(index)

    jobs.start(job, body)
    await jobs.wait(job.job_id)
    final = store.get_job(job.job_id)

    assert seen == [("step0", "pending"), ("step1", "step0")]
    assert final.status == "successful"
    assert final.pre_status == "step1"
    assert [step["state"] for step in final.steps] == ["done", "done"]


async def test_failed_step_fails_job_with_its_message(store):
    jobs = Jobs(store)
    job = jobs.create("DeployQingCloud", owner="test", params={}, step_names=["a", "b"], lock_keys=["pek3a"])

    async def body(context):
        context.begin_step(0)
        raise StepFailed("step0 a failed on pek3ar01n01")

    jobs.start(job, body)
    await jobs.wait(job.job_id)
    final = store.get_job(job.job_id)
    lines, _ = store.read_log(job.job_id)

    assert final.status == "failed"
    assert final.pre_status == "step0"
    assert final.steps[0]["state"] == "failed"
    assert final.steps[1]["state"] == "pending"
    assert lines[-1][1] == "step0 a failed on pek3ar01n01"


async def test_second_job_on_same_zone_is_busy(store):
    jobs = Jobs(store)
    gate = asyncio.Event()
    first = jobs.create("DeployQingCloud", owner="test", params={}, step_names=["a"], lock_keys=["pek3a"])

    async def body(context):
        await gate.wait()

    jobs.start(first, body)
    with pytest.raises(ApiError) as refused:
        jobs.create("ConfigQingCloud", owner="test", params={}, step_names=["a"], lock_keys=["pek3a"])
    other_zone = jobs.create("ConfigQingCloud", owner="test", params={}, step_names=["a"], lock_keys=["pek3b"])
    gate.set()
    await jobs.wait(first.job_id)

    assert refused.value.ret_code == 5100
    assert first.job_id in refused.value.message
    assert other_zone.status == "pending"


async def test_platform_lock_blocks_every_zone(store):
    jobs = Jobs(store)
    gate = asyncio.Event()
    first = jobs.create("DeployQingCloud", owner="test", params={}, step_names=["a"], lock_keys=["*"])

    async def body(context):
        await gate.wait()

    jobs.start(first, body)
    with pytest.raises(ApiError) as refused:
        jobs.create("ConfigQingCloud", owner="test", params={}, step_names=["a"], lock_keys=["pek3b"])
    gate.set()
    await jobs.wait(first.job_id)

    assert refused.value.ret_code == 5100
    assert "the platform" in refused.value.message


async def test_job_left_running_is_failed_at_next_start(tmp_path):
    state = tmp_path / "state"
    store = Store(state / "state.db")
    jobs = Jobs(store)
    job = jobs.create("DeployQingCloud", owner="test", params={}, step_names=["preflight", "install"], lock_keys=["pek3a"])
    job.status, job.pre_status = "step1", "step0"
    job.steps[0]["state"], job.steps[1]["state"] = "done", "running"
    store.put_job(job)
    store.close()

    engine = Engine(state)
    await engine.start()
    status = await engine.call({"action": "GetStatus", "request_type": "QingCloud", "job_action": "DeployQingCloud"})
    log = await engine.call({"action": "GetLog", "request_type": "QingCloud", "job_action": "DeployQingCloud"})
    await engine.stop()

    assert status["status"] == "failed"
    assert status["pre_status"] == "step1"
    assert [step["state"] for step in status["steps"]] == ["done", "failed"]
    last_line = list(log["log"].values())[-1]
    assert "interrupted" in last_line
    assert "step1 install" in last_line


async def test_get_log_offset_and_status(tmp_path):
    engine = Engine(tmp_path / "state")
    await engine.start()
    job = engine.jobs.create("DeployQingCloud", owner="test", params={}, step_names=["a", "b"], lock_keys=["z"])

    async def body(context):
        context.begin_step(0)
        context.log("first")
        context.end_step(0)
        context.begin_step(1)
        context.log("second")
        context.end_step(1)

    engine.jobs.start(job, body)
    await engine.jobs.wait(job.job_id)
    request = {"action": "GetLog", "request_type": "QingCloud", "job_action": "DeployQingCloud"}
    whole = await engine.call(request)
    tail = await engine.call({**request, "offset": whole["next_offset"] - 2})
    step1 = await engine.call({**request, "job_status": "step1"})
    await engine.stop()

    assert list(whole["log"])[:2] == ["001", "002"]
    assert len(tail["log"]) == 2
    assert list(tail["log"]) == [str(whole["next_offset"] - 1).zfill(3), str(whole["next_offset"]).zfill(3)]
    assert "second" in step1["log"].values()
    assert "first" not in step1["log"].values()
