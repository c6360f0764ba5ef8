"""Registered nodes meeting deploys: a re-keyed node fails preflight, a deployed node stays registered.

The nodes are the thirteen sshd nodes of the deploy tests, and the engine runs as `qc-installer
serve`. The platform fixture registers them with the fingerprints that ScanNodeHostKeys returned.
"""

from __future__ import annotations

import pytest

from engine.ssh import fingerprint
from tests.test_deploy_sshd import ZONE_NODES, configure, platform  # noqa: F401  (platform is a fixture)

pytestmark = pytest.mark.sshd

NODE_IDS = [spec.node_id for spec in ZONE_NODES]


def test_deployed_node_cannot_be_deleted(platform):  # noqa: F811
    api, _ = platform
    configure(api)
    started = api.call("DeployQingCloud", node_ids=NODE_IDS)
    assert api.wait_for_job("DeployQingCloud", started["job_id"])[-1] == "successful"

    refused = api.call("DeleteNodes", "Node", node_ids=["n-pek3a01r03"])
    described = api.call("DescribeNodes", "Node", node_ids=["n-pek3a01r03"])

    assert refused["ret_code"] == 5200
    assert "n-pek3a01r03" in refused["message"]
    assert "deployed" in refused["message"]
    assert described["node_set"][0]["status"] == "deployed"


def test_rekeyed_node_fails_preflight_naming_both_keys(platform):  # noqa: F811
    api, cluster = platform
    configure(api)
    rekeyed = ZONE_NODES[5]
    old = fingerprint(cluster.host_public_key(rekeyed.hostname))
    cluster.rekey(rekeyed.hostname)
    new = fingerprint(cluster.host_public_key(rekeyed.hostname))

    started = api.call("DeployQingCloud", node_ids=NODE_IDS)
    seen = api.wait_for_job("DeployQingCloud", started["job_id"])
    status = api.call("GetStatus", job_action="DeployQingCloud", job_id=started["job_id"])
    lines = api.log_lines("DeployQingCloud", started["job_id"], job_status="step0")

    assert seen[-1] == "failed"
    assert status["steps"][0]["state"] == "failed"
    assert status["nodes"][rekeyed.node_id]["state"] == "failed"
    named = [line for line in lines if line.startswith(f"{rekeyed.hostname} | ")]
    assert any(old in line and new in line for line in named), lines
    other_nodes = [spec.hostname for spec in ZONE_NODES if spec is not rekeyed]
    assert not any(line.startswith(f"{hostname} | ") and "failed" in line for hostname in other_nodes for line in lines)
