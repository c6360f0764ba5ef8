"""Test runs: the recipe's test cases run over SSH on the test runner, with results per case.

A test run is one TestQingCloud job. All its cases run on one node, the test
runner, which the test catalog's runner rules pick among the deployed nodes.
Each case's status, start and end time and output lines are stored per
attempt, so that RerunQingCloudTestCase can run cases of the newest run again
while the output of earlier attempts stays readable. CleanQingCloudTest, and
TestQingCloud in mode clean, run the catalog's clean command on the runner.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from engine.deployed_nodes import deployed_nodes
from engine.errors import bad_request, busy, wrong_state
from engine.executor import Executor, JobNode, describe_result, fill_placeholders
from engine.jobs import JobContext, StepFailed
from engine.recipe_catalogs import CommandSpec, TestCase, TestCatalog
from engine.ssh import SshError, SshPool
from engine.store import utc_now

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("engine.testrun")

RUN_ACTION = "TestQingCloud"
RERUN_ACTION = "RerunQingCloudTestCase"
CLEAN_ACTION = "CleanQingCloudTest"
TEST_ACTIONS = (RUN_ACTION, RERUN_ACTION, CLEAN_ACTION)

#: Steps of a TestQingCloud job in each mode; reruns have run_tests only, cleaning clean_resources only.
MODE_STEPS = {
    "all": ["prepare_user", "prepare_resources", "run_tests"],
    "user": ["prepare_user", "run_tests"],
    "res": ["prepare_resources", "run_tests"],
    "skip": ["run_tests"],
    "clean": ["clean_resources"],
}


def test_catalog(engine: "Engine") -> TestCatalog:
    """Return the recipe's test catalog; raise 5200 when the recipe has none."""
    if engine.recipe.tests is None:
        raise wrong_state(f"recipe {engine.recipe.name} has no test catalog, so there is no test case to run")
    return engine.recipe.tests


def choose_runner(engine: "Engine", catalog: TestCatalog, preferred_node_id: str = "") -> JobNode | None:
    """Return the test runner: the preferred node while it is deployed, else the first node the rules pick."""
    nodes = deployed_nodes(engine)
    for node in nodes:
        if node.node_id == preferred_node_id:
            return node

    for rule in catalog.runner:
        for node in nodes:
            if rule.selects(node.role, node.sub_roles):
                return node
    return None


def require_runner(engine: "Engine", catalog: TestCatalog, action: str, preferred_node_id: str = "") -> JobNode:
    runner = choose_runner(engine, catalog, preferred_node_id)
    if runner is None:
        rules = "; ".join(
            " or ".join(filter(None, [
                f"role {', '.join(rule.roles)}" if rule.roles else "",
                f"sub-role {', '.join(rule.sub_roles)}" if rule.sub_roles else "",
            ]))
            for rule in catalog.runner
        )
        raise wrong_state(
            f"{action} needs a deployed node to run the test cases on ({rules}), and none is deployed; "
            "deploy a zone with DeployQingCloud first"
        )
    return runner


def parse_task_names(text: str | None) -> list[str]:
    """Split a comma-separated list of test cases, dropping blanks and repeats."""
    if text is None:
        return []
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def reject_unknown_cases(catalog: TestCatalog, names: list[str], recipe_name: str) -> None:
    unknown = [name for name in names if catalog.case(name) is None]
    if unknown:
        raise bad_request(
            f"tasks: {', '.join(unknown)} {'is not a test case' if len(unknown) == 1 else 'are not test cases'} "
            f"of recipe {recipe_name}; DescribeQingCloudTestCases lists them ({', '.join(catalog.names())})"
        )


def reject_while_testing(engine: "Engine", action: str) -> None:
    """Raise 5100 while a test, rerun or clean job runs: they share the runner's test user and resources."""
    for job in engine.store.unfinished_jobs():
        if job.job_action in TEST_ACTIONS and engine.jobs.is_running(job.job_id):
            raise busy(
                f"{action} cannot start: {job.job_action} job {job.job_id} is still running; "
                f"wait for it to end (GetStatus job_id={job.job_id}) and try again"
            )


def settle_interrupted(engine: "Engine", run_id: str) -> None:
    """Close the rows of cases whose job ended without finishing them, e.g. when the engine stopped.

    A case that was running counts as failed, one still waiting as skipped.
    """
    for row in engine.store.list_test_cases(run_id):
        if row["status"] not in ("pending", "running") or engine.jobs.is_running(row["job_id"]):
            continue
        if row["status"] == "running":
            engine.store.append_test_case_log(
                run_id, row["test"], row["attempts"],
                f"test case interrupted: job {row['job_id']} ended before the case finished",
            )
            job = engine.store.get_job(row["job_id"])
            end_time = job.update_time if job is not None else utc_now()
            engine.store.update_test_case(run_id, row["test"], status="failed", end_time=end_time)
        else:
            engine.store.update_test_case(run_id, row["test"], status="skipped")


class RunnerSession:
    """The commands of one test job on the test runner: preparation, cases, cleaning."""

    def __init__(self, engine: "Engine", context: JobContext, catalog: TestCatalog, runner: JobNode, run_id: str) -> None:
        self.engine = engine
        self.context = context
        self.catalog = catalog
        self.runner = runner
        self.run_id = run_id
        self.pool = SshPool(default_client_key=str(engine.layout.client_key))
        self.executor = Executor(context, engine.recipe, self.pool)

    async def close(self) -> None:
        await self.pool.close()

    def argv(self, command: list[str]) -> list[str]:
        return fill_placeholders(command, self.runner.placeholder_values(self.executor.stage))

    async def stage(self) -> None:
        """Copy the recipe's scripts to the runner, as every deploy step does."""
        try:
            await self.executor.stage_recipe(self.runner)
        except SshError as error:
            raise StepFailed(f"{self.runner.hostname} | copying the recipe to the test runner failed: {error}") from None

    async def run_command(self, spec: CommandSpec, step_label: str) -> None:
        """Run a preparation or clean command on the runner; raise StepFailed when it fails."""
        host = self.runner.hostname
        self.context.set_node(self.runner.node_id, host, "running")
        try:
            result = await self.pool.run(
                self.runner.target,
                self.argv(spec.run),
                timeout=spec.timeout,
                on_line=lambda line: self.context.log(f"{host} | {line}"),
            )
        except SshError as error:
            self.context.set_node(self.runner.node_id, host, "failed")
            raise StepFailed(f"{host} | {step_label} failed: {error}") from None

        state = "done" if result.ok else "failed"
        self.context.set_node(self.runner.node_id, host, state)
        self.context.save()
        if not result.ok:
            raise StepFailed(
                f"{host} | {step_label} failed: {describe_result(result, spec.timeout)}; "
                "fix the cause and run TestQingCloud again"
            )

    async def run_cases(self, names: list[str]) -> list[str]:
        """Run the named cases, `parallel` at a time; return the names of those that failed."""
        limit = asyncio.Semaphore(self.catalog.parallel)
        rows = {row["test"]: row for row in self.engine.store.list_test_cases(self.run_id)}
        failed: list[str] = []

        async def one(name: str) -> None:
            async with limit:
                case = self.catalog.case(name)
                ok = await self.run_case(case, rows[name]["attempts"] + 1) if case is not None else False
                if not ok:
                    failed.append(name)

        self.context.set_node(self.runner.node_id, self.runner.hostname, "running")
        await asyncio.gather(*(one(name) for name in names))
        state = "failed" if failed else "done"
        self.context.set_node(self.runner.node_id, self.runner.hostname, state)
        self.context.save()
        return [name for name in names if name in failed]

    async def run_case(self, case: TestCase, attempt: int) -> bool:
        """Run one case as attempt number `attempt`, storing its status, times and output lines."""
        store = self.engine.store
        host = self.runner.hostname
        store.update_test_case(
            self.run_id, case.name,
            status="running", start_time=utc_now(), end_time="", attempts=attempt, job_id=self.context.job_id,
        )
        self.context.log(f"{host} | {case.name}: started (attempt {attempt})")

        def record(line: str) -> None:
            store.append_test_case_log(self.run_id, case.name, attempt, line)
            self.context.log(f"{host} | {case.name} | {line}")

        try:
            result = await self.pool.run(
                self.runner.target, self.argv(self.catalog.command(case)), timeout=case.timeout, on_line=record
            )
        except SshError as error:
            record(f"test case {case.name} could not run on {host}: {error}")
            ok = False
        else:
            ok = result.ok
            if result.exit_status is None:
                record(f"test case {case.name} on {host}: {describe_result(result, case.timeout)}")

        status = "successful" if ok else "failed"
        store.update_test_case(self.run_id, case.name, status=status, end_time=utc_now())
        self.context.log(f"{host} | {case.name}: {status}")
        return ok


def close_unfinished_rows(engine: "Engine", run_id: str, job_id: str) -> None:
    """Mark the cases this job left open: running ones failed, waiting ones skipped."""
    for row in engine.store.list_test_cases(run_id):
        if row["job_id"] != job_id:
            continue
        if row["status"] == "running":
            engine.store.update_test_case(run_id, row["test"], status="failed", end_time=utc_now())
        elif row["status"] == "pending":
            engine.store.update_test_case(run_id, row["test"], status="skipped")


def count_statuses(engine: "Engine", run_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in engine.store.list_test_cases(run_id):
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


async def run_test_job(
    engine: "Engine",
    context: JobContext,
    catalog: TestCatalog,
    runner: JobNode,
    run_id: str,
    step_names: list[str],
    case_names: list[str],
) -> None:
    """Carry out a TestQingCloud, RerunQingCloudTestCase or CleanQingCloudTest job, step by step.

    A run whose cases failed ends failed, in step run_tests, naming them.
    """
    session = RunnerSession(engine, context, catalog, runner, run_id)
    context.set_node(runner.node_id, runner.hostname, "pending")
    try:
        for index, step_name in enumerate(step_names):
            context.begin_step(index)
            label = f"step{index} {step_name}"
            if index == 0:
                await session.stage()

            if step_name == "prepare_user":
                await session.run_command(catalog.prepare_user, label)
            elif step_name == "prepare_resources":
                await session.run_command(catalog.prepare_resources, label)
            elif step_name == "clean_resources":
                await session.run_command(catalog.clean, label)
            elif step_name == "run_tests":
                failed = await session.run_cases(case_names)
                if failed:
                    raise StepFailed(
                        f"{label}: {len(failed)} of {len(case_names)} test cases failed on {runner.hostname}: "
                        f"{', '.join(failed)}; GetQingCloudTestCasesLog shows a case's log, "
                        "RerunQingCloudTestCase runs it again"
                    )
            context.end_step(index)
    finally:
        await session.close()
        if case_names:
            close_unfinished_rows(engine, run_id, context.job_id)
            context.job.resources["counts"] = count_statuses(engine, run_id)
            context.save()


def new_run_rows(catalog: TestCatalog, names: list[str]) -> list[tuple[str, str, str]]:
    """Return the (name, description, description_en) rows of a new run's cases."""
    rows = []
    for name in names:
        case = catalog.case(name)
        assert case is not None
        rows.append((case.name, case.description, case.description_en))
    return rows


def reset_for_rerun(engine: "Engine", run_id: str, names: list[str], job_id: str) -> None:
    """Make the named cases of a run wait for a rerun job; their attempt counts stay."""
    for name in names:
        engine.store.update_test_case(run_id, name, status="pending", start_time="", end_time="", job_id=job_id)


def describe_cases(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the API rows of a run's cases, as GetQingCloudTestCasesStatus shows them."""
    fields = ("test", "description", "description_en", "status", "start_time", "end_time", "attempts")
    return [{field: row[field] for field in fields} for row in rows]
