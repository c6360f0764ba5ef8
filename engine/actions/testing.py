"""TestQingCloud, RerunQingCloudTestCase, CleanQingCloudTest and the reads of test results.

DescribeQingCloudTestCases (extension) lists the test catalog.
GetQingCloudTestCasesStatus and GetQingCloudTestCasesLog read a test run: the
newest one, or the one their extension parameter job_id names (a
TestQingCloud job, or a RerunQingCloudTestCase job, which stands for the run it
reran). Every run keeps its results, so earlier runs stay readable.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine.actions.jobs import log_keys
from engine.dispatch import route
from engine.errors import bad_request, not_found, wrong_state
from engine.jobs import JobContext
from engine.models import qingcloud as q
from engine.testrun import (
    CLEAN_ACTION,
    MODE_STEPS,
    RERUN_ACTION,
    RUN_ACTION,
    choose_runner,
    describe_cases,
    new_run_rows,
    parse_task_names,
    reject_unknown_cases,
    reject_while_testing,
    require_runner,
    reset_for_rerun,
    run_test_job,
    settle_interrupted,
    test_catalog,
)

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("engine.testing")


@route("QingCloud", "DescribeQingCloudTestCases", q.DescribeQingCloudTestCasesRequest, changes_state=False)
async def describe_test_cases(engine: "Engine", request: q.DescribeQingCloudTestCasesRequest, owner: str) -> dict[str, Any]:
    catalog = engine.recipe.tests
    if catalog is None:
        return {"test_set": [], "total_count": 0, "runner_hostname": ""}

    latest = engine.store.latest_test_run()
    runner = choose_runner(engine, catalog, latest["runner_node_id"] if latest else "")
    test_set = [
        {"test": case.name, "description": case.description, "description_en": case.description_en}
        for case in catalog.cases
    ]
    return {"test_set": test_set, "total_count": len(test_set), "runner_hostname": runner.hostname if runner else ""}


@route("QingCloud", RUN_ACTION, q.TestQingCloudRequest, changes_state=True)
async def test_qingcloud(engine: "Engine", request: q.TestQingCloudRequest, owner: str) -> dict[str, Any]:
    catalog = test_catalog(engine)
    names = parse_task_names(request.tasks)
    reject_unknown_cases(catalog, names, engine.recipe.name)
    if request.mode == "clean":
        # Cleaning runs no case, so tasks only had to name known cases.
        names = []
    elif not names:
        names = catalog.names()
    else:
        names = [name for name in catalog.names() if name in names]

    reject_while_testing(engine, RUN_ACTION)
    latest = engine.store.latest_test_run()
    # Resources prepared by earlier runs live on their runner, so the runner stays while it is deployed.
    runner = require_runner(engine, catalog, RUN_ACTION, latest["runner_node_id"] if latest else "")
    step_names = MODE_STEPS[request.mode]
    job = engine.jobs.create(
        RUN_ACTION,
        owner=owner,
        params={"mode": request.mode, "tasks": names},
        step_names=step_names,
        lock_keys=[],
        resources={"mode": request.mode, "tasks": names, "runner": runner.hostname, "node_ids": [runner.node_id]},
        summary=f"mode {request.mode}, {len(names)} test case(s) on {runner.hostname}",
    )
    if names:
        engine.store.add_test_run(
            job.job_id,
            mode=request.mode,
            runner_node_id=runner.node_id,
            runner_hostname=runner.hostname,
            cases=new_run_rows(catalog, names),
        )

    async def body(context: JobContext) -> None:
        await run_test_job(engine, context, catalog, runner, job.job_id, step_names, names)

    engine.jobs.start(job, body)
    log.info("job %s: test run in mode %s of %d cases on %s started by %s",
             job.job_id, request.mode, len(names), runner.hostname, owner)
    return {"job_id": job.job_id}


@route("QingCloud", RERUN_ACTION, q.RerunQingCloudTestCaseRequest, changes_state=True)
async def rerun_test_cases(engine: "Engine", request: q.RerunQingCloudTestCaseRequest, owner: str) -> dict[str, Any]:
    catalog = test_catalog(engine)
    names = parse_task_names(request.tasks)
    if not names:
        raise bad_request("tasks: no test case named; give the comma-separated cases to run again, e.g. lb-vxnet")
    reject_unknown_cases(catalog, names, engine.recipe.name)

    run = engine.store.latest_test_run()
    if run is None:
        raise wrong_state(f"{RERUN_ACTION} reruns cases of the newest test run, and none has run yet; run TestQingCloud first")
    run_id = run["run_id"]
    rows = engine.store.list_test_cases(run_id)
    in_run = [row["test"] for row in rows]
    ran = {row["test"] for row in rows if row["attempts"] > 0}
    never_ran = [name for name in names if name not in ran]
    if never_ran:
        # A case the run skipped (its preparation failed) never had the run's test
        # user and resources; running it alone would test nothing meaningful.
        raise bad_request(
            f"tasks: {', '.join(never_ran)} did not run in the newest test run {run_id} "
            f"(cases that ran: {', '.join(sorted(ran)) or 'none'}); run them with TestQingCloud"
        )

    reject_while_testing(engine, RERUN_ACTION)
    settle_interrupted(engine, run_id)
    runner = require_runner(engine, catalog, RERUN_ACTION, run["runner_node_id"])
    names = [name for name in in_run if name in names]
    job = engine.jobs.create(
        RERUN_ACTION,
        owner=owner,
        params={"run_id": run_id, "tasks": names},
        step_names=["run_tests"],
        lock_keys=[],
        resources={"run_id": run_id, "tasks": names, "runner": runner.hostname, "node_ids": [runner.node_id]},
        summary=f"{len(names)} test case(s) of run {run_id} on {runner.hostname}",
    )
    reset_for_rerun(engine, run_id, names, job.job_id)

    async def body(context: JobContext) -> None:
        await run_test_job(engine, context, catalog, runner, run_id, ["run_tests"], names)

    engine.jobs.start(job, body)
    log.info("job %s: rerun of %s from run %s started by %s", job.job_id, ", ".join(names), run_id, owner)
    return {"job_id": job.job_id}


@route("QingCloud", CLEAN_ACTION, q.CleanQingCloudTestRequest, changes_state=True)
async def clean_test(engine: "Engine", request: q.CleanQingCloudTestRequest, owner: str) -> dict[str, Any]:
    catalog = test_catalog(engine)
    reject_while_testing(engine, CLEAN_ACTION)
    latest = engine.store.latest_test_run()
    runner = require_runner(engine, catalog, CLEAN_ACTION, latest["runner_node_id"] if latest else "")
    job = engine.jobs.create(
        CLEAN_ACTION,
        owner=owner,
        params={},
        step_names=["clean_resources"],
        lock_keys=[],
        resources={"runner": runner.hostname, "node_ids": [runner.node_id]},
        summary=f"test resources on {runner.hostname}",
    )

    async def body(context: JobContext) -> None:
        await run_test_job(engine, context, catalog, runner, "", ["clean_resources"], [])

    engine.jobs.start(job, body)
    log.info("job %s: cleaning of test resources on %s started by %s", job.job_id, runner.hostname, owner)
    return {"job_id": job.job_id}


def find_run(engine: "Engine", job_id: str | None) -> dict[str, Any]:
    """Return the test run a request names, or the newest; raise 2100 when there is none.

    A RerunQingCloudTestCase job stands for the run it reran. A TestQingCloud
    job in mode clean is a run without cases.
    """
    if job_id is None:
        run = engine.store.latest_test_run()
        if run is None:
            raise not_found("no test run has been started yet; TestQingCloud starts one")
        return run

    run = engine.store.get_test_run(job_id)
    if run is not None:
        return run
    job = engine.store.get_job(job_id)
    if job is None:
        raise not_found(f"job_id: job '{job_id}' not found")
    if job.job_action == RERUN_ACTION:
        run = engine.store.get_test_run(job.params.get("run_id", ""))
        if run is not None:
            return run
    if job.job_action == RUN_ACTION:
        return {"run_id": job.job_id, "mode": job.params.get("mode", "")}
    raise not_found(f"job_id: job '{job_id}' is a {job.job_action} job, not a test run (TestQingCloud)")


@route("QingCloud", "GetQingCloudTestCasesStatus", q.GetQingCloudTestCasesStatusRequest, changes_state=False)
async def get_test_cases_status(
    engine: "Engine", request: q.GetQingCloudTestCasesStatusRequest, owner: str
) -> dict[str, Any]:
    run = find_run(engine, request.job_id)
    settle_interrupted(engine, run["run_id"])
    rows = engine.store.list_test_cases(run["run_id"])
    return {"job_id": run["run_id"], "mode": run["mode"], "result": describe_cases(rows)}


@route("QingCloud", "GetQingCloudTestCasesLog", q.GetQingCloudTestCasesLogRequest, changes_state=False)
async def get_test_cases_log(engine: "Engine", request: q.GetQingCloudTestCasesLogRequest, owner: str) -> dict[str, Any]:
    run = find_run(engine, request.job_id)
    run_id = run["run_id"]
    settle_interrupted(engine, run_id)
    rows = {row["test"]: row for row in engine.store.list_test_cases(run_id)}
    row = rows.get(request.task)
    if row is None:
        cases = ", ".join(rows) or "none"
        raise not_found(f"task: test case '{request.task}' is not part of test run {run_id} (its cases: {cases})")

    attempt = row["attempts"] if request.attempt is None else request.attempt
    if attempt > row["attempts"]:
        raise not_found(
            f"attempt: {request.task} of test run {run_id} has no attempt {attempt}; it ran {row['attempts']} time(s)"
        )
    lines = engine.store.read_test_case_log(run_id, request.task, attempt) if attempt else []
    # The reference numbers a case's log from "000".
    keys = log_keys(0, len(lines), max(len(lines) - 1, 0))
    return {"job_id": run_id, "task": request.task, "attempt": attempt, "log": dict(zip(keys, lines))}
