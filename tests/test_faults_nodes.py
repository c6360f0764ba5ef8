"""Deploys whose nodes fail under them: sshd killed, a silent node, a new host key, a rejected key.

Each test stops one node at a known point (see test_faults_platform), breaks it, and checks what
the operator sees: the job fails in the right step, the log names the node and what to do, the
other nodes' work is recorded as done, the state database stays sound, and a re-run resumes.
"""

from __future__ import annotations

import logging

import pytest

from engine.ssh import fingerprint
from tests.test_faults_platform import (  # noqa: F401  (make_platform is a fixture)
    CONFIGURE_NETWORK_TIMEOUT,
    DEPLOY,
    HOLD_LINE,
    ZONE_NODES,
    make_platform,
)

pytestmark = pytest.mark.sshd

CONFIGURE_NETWORK_STEP = 3
VICTIM = ZONE_NODES[4]  # pek3ar01n05, a hyper node of pek3a
OTHERS = [spec for spec in ZONE_NODES if spec is not VICTIM]


def holding(line: str) -> bool:
    return line == f"{VICTIM.hostname} | {HOLD_LINE}"


def assert_failed_in_configure_network(status: dict) -> None:
    assert status["status"] == "failed"
    assert status["pre_status"] == "step3"
    assert [step["state"] for step in status["steps"]] == ["done", "done", "done", "failed", "pending", "pending"]
    assert status["nodes"][VICTIM.node_id] == {"hostname": VICTIM.hostname, "step": "step3", "state": "failed"}
    for spec in OTHERS:
        assert status["nodes"][spec.node_id]["state"] == "done", spec.hostname


async def test_killed_sshd_fails_step_then_resumes(make_platform):
    platform = await make_platform()
    await platform.configure()
    hold_file = platform.hold(VICTIM.hostname)

    job_id = await platform.deploy()
    await platform.wait_for_line(job_id, holding)
    platform.cluster.kill(VICTIM.hostname)
    status = await platform.wait_for_job(DEPLOY, job_id)
    lines = await platform.log_lines(DEPLOY, job_id)

    assert_failed_in_configure_network(status)
    # Other nodes' lines may come after the victim's, so look through the whole log.
    lost = f"{VICTIM.hostname} | step3 configure_network failed: connection lost before the command ended"
    assert any(lost in line for line in lines[:-1]), lines[-10:]
    assert VICTIM.hostname in lines[-1]
    assert "run the action again to resume from this step" in lines[-1]
    assert platform.integrity() == "ok"

    platform.cluster.restart(VICTIM.hostname)
    hold_file.unlink()
    rerun = await platform.wait_for_job(DEPLOY, await platform.deploy())

    assert rerun["status"] == "successful"
    assert [step["state"] for step in rerun["steps"]] == ["skipped", "skipped", "skipped", "done", "done", "done"]


async def test_silent_node_times_out_at_step_timeout(make_platform):
    platform = await make_platform()
    await platform.configure()
    hold_file = platform.hold(VICTIM.hostname)

    job_id = await platform.deploy()
    await platform.wait_for_line(job_id, holding)
    # The node's connection stays open, but its sshd session and command stop responding.
    platform.cluster.freeze(VICTIM.hostname)
    status = await platform.wait_for_job(DEPLOY, job_id)
    lines = await platform.log_lines(DEPLOY, job_id)

    assert_failed_in_configure_network(status)
    expected = (
        f"{VICTIM.hostname} | step3 configure_network failed: timed out after {CONFIGURE_NETWORK_TIMEOUT:g} s "
        "and was stopped (the node stopped answering or the command hangs)"
    )
    assert expected in lines
    assert platform.integrity() == "ok"

    platform.cluster.thaw(VICTIM.hostname)
    hold_file.unlink()
    rerun = await platform.wait_for_job(DEPLOY, await platform.deploy())

    assert rerun["status"] == "successful"
    assert rerun["steps"][CONFIGURE_NETWORK_STEP]["state"] == "done"


async def test_host_key_changed_mid_deploy_names_both_keys(make_platform):
    platform = await make_platform()
    await platform.configure()
    platform.hold(VICTIM.hostname)
    trusted = fingerprint(platform.cluster.host_public_key(VICTIM.hostname))

    job_id = await platform.deploy()
    await platform.wait_for_line(job_id, holding)
    # A reinstall under a running deploy: the node comes back with a new host key.
    platform.cluster.rekey(VICTIM.hostname)
    offered = fingerprint(platform.cluster.host_public_key(VICTIM.hostname))
    first = await platform.wait_for_job(DEPLOY, job_id)
    rerun_id = await platform.deploy()
    rerun = await platform.wait_for_job(DEPLOY, rerun_id)
    rerun_lines = await platform.log_lines(DEPLOY, rerun_id)
    described = await platform.call("DescribeNodes", "Node", node_ids=[VICTIM.node_id])

    assert_failed_in_configure_network(first)
    assert rerun["status"] == "failed"
    assert rerun["steps"][CONFIGURE_NETWORK_STEP]["state"] == "failed"
    refused = [line for line in rerun_lines if line.startswith(f"{VICTIM.hostname} | ") and "host key" in line]
    assert refused, rerun_lines[-5:]
    assert trusted in refused[0]
    assert offered in refused[0]
    assert "TrustNodeHostKey" in refused[0]
    # The engine trusts nothing by itself: the stored key is still the old one.
    assert described["node_set"][0]["host_key_fingerprints"] == [trusted]
    assert platform.integrity() == "ok"


async def test_rejected_client_key_fails_preflight_once(make_platform, caplog):
    caplog.set_level(logging.INFO, logger="engine.ssh")
    platform = await make_platform()
    await platform.configure()
    platform.cluster.reject_client_key(VICTIM.hostname)

    job_id = await platform.deploy()
    status = await platform.wait_for_job(DEPLOY, job_id)
    lines = await platform.log_lines(DEPLOY, job_id, job_status="step0")

    assert status["status"] == "failed"
    assert [step["state"] for step in status["steps"]][:2] == ["failed", "pending"]
    assert status["nodes"][VICTIM.node_id]["state"] == "failed"
    named = [line for line in lines if line.startswith(f"{VICTIM.hostname} | step0 preflight failed")]
    assert len(named) == 1, lines
    assert "rejected the installer's client key" in named[0]
    assert "authorized_keys" in named[0]
    retries = [record.getMessage() for record in caplog.records
               if VICTIM.node_id in record.getMessage() and "retry" in record.getMessage()]
    assert retries == []
    for spec in OTHERS:
        assert status["nodes"][spec.node_id]["state"] == "done", spec.hostname
    assert platform.integrity() == "ok"
