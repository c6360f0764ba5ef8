"""The licensed hyper node limit on DeployQingCloud with the lab's nodes, and no secret in any log.

The lab's sample configuration puts 13 nodes with a role in pek3a and pek3b,
7 of them hyper nodes (4 and 3). The lab is its own vendor, so the test issues
licenses with the lab's vendor key, as an operator trying the lab would.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.lab.layout import PEK3A_NODES, PEK3B_NODES
from engine.lab.session import SAMPLE_CONFIG, LabSession
from engine.license import crypto
from engine.license.codes import issue_license, open_application
from engine.license.times import REQUEST_FORMAT
from engine.license.trust import trust_lab_vendor_key

ROLE_NODE_IDS = [node.node_id for node in PEK3A_NODES + PEK3B_NODES]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def engine_log(tmp_path: Path):
    """Send the engine's log lines to engine.log in the state directory, as qc-installer does."""
    state_dir = tmp_path / "lab-state"
    state_dir.mkdir()
    handler = logging.FileHandler(state_dir / "engine.log", encoding="utf-8")
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield state_dir
    root.removeHandler(handler)
    root.setLevel(previous_level)
    handler.close()


@pytest.fixture
async def lab(engine_log: Path):
    engine = Engine(engine_log)
    engine.clock = Clock(datetime.now(timezone.utc).replace(microsecond=0))
    session = LabSession(engine, speed=100)
    await session.start()
    trust_lab_vendor_key(engine)

    request = json.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    configured = await engine.call(request)
    assert configured["ret_code"] == 0, configured
    await engine.jobs.wait(configured["job_id"])
    assert engine.store.get_job(configured["job_id"]).status == "successful"

    yield engine
    await session.stop()
    await engine.stop()


def lab_vendor(engine: Engine) -> crypto.VendorKeys:
    return crypto.load_vendor_keys(engine.license_trust.lab_private_key)


async def licensed(engine: Engine, hypernode_count: int, issued: datetime) -> tuple[str, str, str]:
    """Apply for a license on the lab, issue it with the lab's vendor key; return (application, license, id)."""
    now = engine.clock.now
    application_code = (await engine.call({
        "action": "GenerateQingCloudCode", "request_type": "QingCloud", "description": "lab",
        "start_time": (now - timedelta(days=1)).strftime(REQUEST_FORMAT),
        "end_time": (now + timedelta(days=30)).strftime(REQUEST_FORMAT),
        "applicant": "lab@yunify.com", "hypernode_count": hypernode_count,
    }))["application_code"]
    application = open_application(lab_vendor(engine), application_code)
    grant, license_code = issue_license(lab_vendor(engine), application, now=issued)
    activated = await engine.call({"action": "ActivateQingCloudLicense", "request_type": "QingCloud",
                                   "license_code": license_code})
    assert activated["ret_code"] == 0, activated
    return application_code, license_code, grant.license_id


async def deploy(engine: Engine) -> dict:
    return await engine.call({"action": "DeployQingCloud", "request_type": "QingCloud", "node_ids": ROLE_NODE_IDS})


async def deploy_jobs(engine: Engine) -> int:
    described = await engine.call({"action": "DescribeJobs", "request_type": "Job", "job_action": "DeployQingCloud"})
    return described["total_count"]


def secret_texts(engine: Engine, codes: list[str]) -> list[str]:
    """Return the strings no log may contain: the codes and the body lines of every private key."""
    secrets = list(codes)
    for path in (engine.license_trust.lab_private_key, engine.layout.client_key):
        for line in path.read_text().splitlines():
            if line and not line.startswith("-----"):
                secrets.append(line)
    keys = lab_vendor(engine)
    secrets.append(base64.b64encode(keys.signing.private_bytes_raw()).decode())
    secrets.append(base64.b64encode(keys.decryption.private_bytes_raw()).decode())
    return secrets


async def test_deploy_beyond_license_refused_then_allowed(lab: Engine):
    issued = lab.clock.now
    application_3, license_3, small_id = await licensed(lab, 3, issued)

    refused = await deploy(lab)

    assert refused["ret_code"] == 2400
    assert "0 deployed + 7 in this request = 7 hyper node(s)" in refused["message"]
    assert f"license {small_id} allows 3" in refused["message"]
    assert await deploy_jobs(lab) == 0, "a refused deploy starts no job"

    application_7, license_7, large_id = await licensed(lab, 7, issued + timedelta(seconds=1))
    accepted = await deploy(lab)
    assert accepted["ret_code"] == 0, accepted
    await lab.jobs.wait(accepted["job_id"])

    job = lab.store.get_job(accepted["job_id"])
    platform = (await lab.call({"action": "DescribeQingCloud", "request_type": "QingCloud"}))["qingcloud"]
    licenses = await lab.call({"action": "DescribeQingCloudLicenses", "request_type": "QingCloud"})
    assert job.status == "successful"
    assert platform["is_activated"] == 1
    assert [platform["zone_info"][zone]["is_zone_activated"] for zone in ("pek3a", "pek3b")] == [1, 1]
    assert licenses["deployed_hypernode_count"] == 7
    assert licenses["licensed_hypernode_count"] == 7
    assert [entry["license_id"] for entry in licenses["license_set"]] == [large_id, small_id]

    lab.clock.now = lab.clock.now + timedelta(days=31)
    expired = await deploy(lab)
    platform = (await lab.call({"action": "DescribeQingCloud", "request_type": "QingCloud"}))["qingcloud"]
    assert expired["ret_code"] == 2400
    assert "no license is enabled" in expired["message"]
    assert "so 0 are allowed" in expired["message"]
    assert platform["is_activated"] == 0

    # Rejected activations are logged too: a changed code and one activated before.
    tampered = license_7[:40] + ("B" if license_7[40] != "B" else "C") + license_7[41:]
    for code in (tampered, license_7):
        rejected = await lab.call({"action": "ActivateQingCloudLicense", "request_type": "QingCloud",
                                   "license_code": code})
        assert rejected["ret_code"] == 1100
    lab.store.flush()

    logged = {
        "engine.log": (lab.layout.root / "engine.log").read_text(encoding="utf-8"),
        "state.db": (lab.layout.root / "state.db").read_bytes().decode("latin-1"),
        "state.db-wal": (lab.layout.root / "state.db-wal").read_bytes().decode("latin-1"),
    }
    job_logs = "\n".join(line for job in lab.store.list_jobs()[0] for _seq, line in lab.store.read_log(job.job_id)[0])
    logged["job logs"] = job_logs

    assert f"license {large_id} activated" in logged["engine.log"], "the engine log was written"
    assert job_logs, "the job logs were read"
    for secret in secret_texts(lab, [application_3, license_3, application_7, license_7, tampered]):
        for name, content in logged.items():
            assert secret not in content, f"{name} contains a secret starting {secret[:8]}"
    for name in ("engine.log", "job logs"):
        assert "PRIVATE KEY" not in logged[name]


async def test_no_limit_before_any_license(lab: Engine):
    accepted = await deploy(lab)

    assert accepted["ret_code"] == 0, accepted
    await lab.jobs.wait(accepted["job_id"])
    assert lab.store.get_job(accepted["job_id"]).status == "successful"


async def test_scale_out_counts_deployed_nodes(lab: Engine):
    await licensed(lab, 4, lab.clock.now)

    pek3a = [node.node_id for node in PEK3A_NODES]
    first = await lab.call({"action": "DeployQingCloud", "request_type": "QingCloud", "node_ids": pek3a})
    assert first["ret_code"] == 0, first
    await lab.jobs.wait(first["job_id"])
    pek3b = [node.node_id for node in PEK3B_NODES]
    second = await lab.call({"action": "DeployQingCloud", "request_type": "QingCloud", "node_ids": pek3b})
    redeploy = await lab.call({"action": "DeployQingCloud", "request_type": "QingCloud", "node_ids": pek3a})

    assert second["ret_code"] == 2400
    assert "4 deployed + 3 in this request = 7 hyper node(s)" in second["message"]
    assert redeploy["ret_code"] == 0, "deploying nodes that are deployed already adds no hyper node"
    await lab.jobs.wait(redeploy["job_id"])
