"""Reports of a real test run and check: the lab deployed by the engine, then reported in-process and by the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from engine.client import LocalClient
from engine.engine import Engine
from engine.lab.layout import PEK3A_NODES, PEK3B_NODES
from engine.lab.session import SAMPLE_CONFIG, LabSession
from engine.reports import FORMATS, render_report
from engine.reports.collect import NoRunRecorded, collect_check_report, collect_test_report
from tests.test_reports_junit import XSD_PATH, SchemaSubset

ROLE_NODE_IDS = [node.node_id for node in PEK3A_NODES + PEK3B_NODES]
JOB_DEADLINE_S = 180.0
PROJECT_ROOT = Path(__file__).resolve().parent.parent


async def wait_for_job(client: LocalClient, job_action: str, job_id: str) -> str:
    """Poll GetStatus until the job ends or the deadline passes; return its last status."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + JOB_DEADLINE_S
    status = ""
    while loop.time() < deadline:
        response = await client.call("GetStatus", {"job_action": job_action, "job_id": job_id})
        status = response.get("status", "")
        if status in ("successful", "failed"):
            return status
        await asyncio.sleep(0.1)
    return status


async def run_job(client: LocalClient, action: str, params: dict[str, Any]) -> str:
    started = await client.call(action, params)
    assert started["ret_code"] == 0, started
    return started["job_id"]


def run_cli(state: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    environment.pop("QCI_STATE_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "qc_cli.main", "report", *args, "--state-dir", str(state)],
        capture_output=True, text=True, encoding="utf-8", timeout=120, env=environment,
    )


async def test_lab_run_and_check_reported(tmp_path):
    state = tmp_path / "state"
    engine = Engine(state)
    client = LocalClient(engine, description="lab")
    session = LabSession(engine, speed=200)
    config = json.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))["config"]
    try:
        await session.start()

        configured = await run_job(client, "ConfigQingCloud", {"config": config})
        assert await wait_for_job(client, "ConfigQingCloud", configured) == "successful"
        deployed = await run_job(client, "DeployQingCloud", {"node_ids": ROLE_NODE_IDS})
        assert await wait_for_job(client, "DeployQingCloud", deployed) == "successful"

        with pytest.raises(NoRunRecorded):
            await collect_test_report(client)

        run_id = await run_job(client, "TestQingCloud", {"mode": "all"})
        assert await wait_for_job(client, "TestQingCloud", run_id) in ("successful", "failed")
        check_id = await run_job(client, "CheckQingCloud", {"verbose": "1"})
        assert await wait_for_job(client, "CheckQingCloud", check_id) in ("successful", "failed")

        status = await client.call("GetQingCloudTestCasesStatus", {"job_id": run_id})
        test_report = await collect_test_report(client)
        check_report = await collect_check_report(client)

        assert test_report.run_id == run_id
        assert [case.test for case in test_report.cases] == [row["test"] for row in status["result"]]
        assert [case.status for case in test_report.cases] == [row["status"] for row in status["result"]]
        first_log = await client.call("GetQingCloudTestCasesLog", {"task": test_report.cases[0].test, "job_id": run_id})
        assert list(test_report.cases[0].log_lines) == [first_log["log"][key] for key in sorted(first_log["log"])]
        assert check_report.job_id == check_id
        assert check_report.qingcloud_status in ("Normal", "Abnormal")
        assert check_report.nodes(), "a check of the deployed lab lists its nodes"
        assert {zone.zone_id for zone in test_report.header.zones} == {"pek3a", "pek3b"}

        for report in (test_report, check_report):
            for report_format in FORMATS:
                assert render_report(report, report_format)
            junit = ET.fromstring(render_report(report, "junit").encode("utf-8"))
            assert SchemaSubset(XSD_PATH).validate(junit) == []
    finally:
        await session.stop()
        await engine.stop()

    # The engine has stopped, so the command can open the state directory itself.
    result = run_cli(state, "test", "--format", "json")
    unknown = run_cli(state, "test", "--run", "j-zzzzzzzz")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["run"]["job_id"] == run_id
    assert unknown.returncode == 2, unknown.stderr
    assert "j-zzzzzzzz" in unknown.stderr
