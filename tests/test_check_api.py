"""CheckQingCloud without SSH: request checks, the service catalog, and the node-side check script.

The engine here has the reference's configuration and node records marked
deployed, but no node listens: every request these tests send is rejected
before a job would connect anywhere. The check script runs under the local sh.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.executor import JobNode
from engine.lab.layout import PEK3A_NODES, PEK3B_NODES
from engine.recipe import DEMO_RECIPE_DIR, RecipeError, load_recipe
from engine.recipe_catalogs import ServiceCatalog
from engine.service_check import (
    NodePlan,
    check_script,
    parse_markers,
    plan_node,
    verdict,
    zone_ignore_rules,
)
from engine.ssh import SshTarget
from engine.store import NodeRecord

SEED_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config-qingcloud.seed.json"
SEED_ROLES = {
    zone_id: zone["settings"]["roles"]
    for zone_id, zone in json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"].items()
}


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
    """The engine with the reference's configuration and pek3b's nodes registered; none deployed."""
    config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
    started = await call(engine, "ConfigQingCloud", config=config)
    await engine.jobs.wait(started["job_id"])
    for spec in [*PEK3B_NODES, PEK3A_NODES[0]]:
        # Port 9 on loopback: nothing listens, and these tests never let a job connect.
        engine.store.put_node(NodeRecord(
            node_id=spec.node_id, hostname=spec.hostname, ssh_host="127.0.0.1", ssh_port=9, ssh_user="root",
            ssh_key_file=None, mgmt_ip=spec.mgmt_ip, zone_id=spec.zone_id, status="ready", facts={}, host_keys=[],
        ))
    return engine


# -- requests ------------------------------------------------------------------------------------


async def test_check_before_deploy_is_wrong_state(configured):
    response = await call(configured, "CheckQingCloud")
    result = await call(configured, "GetQingCloudCheckResult")

    assert response["ret_code"] == 5200
    assert "none is deployed yet" in response["message"]
    assert result["ret_code"] == 2100
    assert "no check has finished yet" in result["message"]


async def test_unknown_and_undeployed_hostnames_rejected(configured):
    configured.store.set_node_status([spec.node_id for spec in PEK3B_NODES], "deployed")

    unknown = await call(configured, "CheckQingCloud", nodes="pek3br01n01,pek3br09n09,nosuchnode")
    undeployed = await call(configured, "CheckQingCloud", nodes=f"pek3br01n02,{PEK3A_NODES[0].hostname}")
    empty = await call(configured, "CheckQingCloud", nodes=" , ")
    bad_verbose = await call(configured, "CheckQingCloud", verbose="2")
    jobs = await call(configured, "DescribeJobs", "Job", job_action="CheckQingCloud")

    assert unknown["ret_code"] == 1100
    assert "nodes: pek3br09n09, nosuchnode are not hostnames of a registered node" in unknown["message"]
    assert undeployed["ret_code"] == 1100
    assert f"nodes: {PEK3A_NODES[0].hostname} is registered but not deployed" in undeployed["message"]
    assert empty["ret_code"] == 1100
    assert "nodes: no hostname given" in empty["message"]
    assert bad_verbose["ret_code"] == 1100
    assert "verbose" in bad_verbose["message"]
    assert jobs["total_count"] == 0


async def test_result_of_other_job_not_found(configured):
    config_job = (await call(configured, "DescribeJobs", "Job", job_action="ConfigQingCloud"))["job_set"][0]

    other = await call(configured, "GetQingCloudCheckResult", job_id=config_job["job_id"])
    missing = await call(configured, "GetQingCloudCheckResult", job_id="j-00000000")

    assert other["ret_code"] == 2100
    assert "is a ConfigQingCloud job, not a check" in other["message"]
    assert missing["ret_code"] == 2100
    assert "job 'j-00000000' not found" in missing["message"]


# -- the service catalog --------------------------------------------------------------------


def demo_node_services(role: str, sub_roles: str) -> list[str]:
    """Return the services the demo's start_services step starts on such a node, from common.sh."""
    script = f'. "{DEMO_RECIPE_DIR / "scripts" / "common.sh"}"; node_services "$1" "$2"'
    output = subprocess.run(["sh", "-c", script, "sh", role, sub_roles], capture_output=True, text=True, check=True)
    return output.stdout.split()


def test_catalog_matches_services_deploy_starts():
    catalog = load_recipe().services
    combinations = {(spec["role"], spec["sub_roles"]) for roles in SEED_ROLES.values() for spec in roles.values()}
    combinations |= {("hyper", "hyper"), ("ks-vm", "seed")}

    for role, sub_roles in sorted(combinations):
        expected = demo_node_services(role, sub_roles)
        assert sorted(catalog.services_for(role, sub_roles.split(","))) == sorted(expected), (role, sub_roles)


def test_catalog_with_unknown_role_rejected(tmp_path):
    recipe_dir = tmp_path / "recipe"
    recipe_dir.mkdir()
    text = (DEMO_RECIPE_DIR / "recipe.yaml").read_text(encoding="utf-8")
    (recipe_dir / "recipe.yaml").write_text(
        text.replace("    vg: [keepalived, haproxy]\n", "    vgw: [keepalived, haproxy]\n"), encoding="utf-8"
    )

    with pytest.raises(RecipeError, match="services.roles names unknown roles vgw"):
        load_recipe(recipe_dir)


def node(hostname: str, role: str, sub_roles: list[str], zone_id: str = "pek3a") -> JobNode:
    target = SshTarget(node_id="n-test0001", hostname=hostname, host="127.0.0.1", port=9, user="root")
    return JobNode("n-test0001", hostname, zone_id, role, sub_roles, "172.16.80.7", target)


def test_ignored_by_recipe_and_by_zone_variable():
    catalog = load_recipe().services.model_copy(update={"ignore": ["netconsole"]})
    rules, warning = zone_ignore_rules({"check_ignore_services": "kdump, pek3ar01n05:ntp"})
    on_named_node = plan_node(catalog, node("pek3ar01n05", "hyper", ["hyper", "seed"]), rules)
    on_other_node = plan_node(catalog, node("pek3ar01n06", "hyper", ["hyper", "seed"]), rules)

    assert warning == ""
    assert on_named_node.ignored == {
        "kdump": "ignored by variable check_ignore_services of zone pek3a",
        "netconsole": "ignored by the recipe's service catalog",
        "ntp": "ignored by variable check_ignore_services of zone pek3a",
    }
    assert set(on_other_node.ignored) == {"kdump", "netconsole"}
    assert "ntp" in on_other_node.checked


@pytest.mark.parametrize("value, expected", [
    (None, []),
    ("", []),
    ("kdump,  netconsole ,", ["kdump", "netconsole"]),
    (["kdump", "pek3ar01n05:ntp"], ["kdump", "pek3ar01n05:ntp"]),
])
def test_zone_ignore_rules_accepted(value, expected):
    assert zone_ignore_rules({"check_ignore_services": value} if value is not None else {}) == (expected, "")


def test_zone_ignore_rules_of_wrong_type_warn():
    rules, warning = zone_ignore_rules({"check_ignore_services": {"kdump": True}})

    assert rules == []
    assert "check_ignore_services must be a list of service names or a comma-separated string" in warning


# -- verdicts and the check script ----------------------------------------------------------------


@pytest.mark.parametrize("exit_status, detail, expected", [
    (0, "active", ("Normal", "active")),
    (3, "inactive", ("Abnormal", "inactive")),
    (1, "", ("Abnormal", "exit status 1")),
    (4, "unknown", ("Unknown", "unknown")),
    (124, "", ("Unknown", "the check timed out after 10 s")),
    (137, "", ("Unknown", "the check timed out after 10 s")),
    (127, "sh: systemctl: not found", ("Unknown", "the check command could not run (exit status 127): sh: systemctl: not found")),
    (None, "", ("Unknown", "the check reported no exit status")),
])
def test_verdict_of_exit_status(exit_status, detail, expected):
    assert verdict(exit_status, detail, 10) == expected


def test_markers_parsed_and_other_lines_skipped():
    lines = [
        "some login banner",
        "@@qci-service apache2 0 active",
        "@@qci-service pitrix-vbr 3 failed (stopped by the lab)",
        "@@qci-service dns none ",
        "@@qci-service broken",
    ]

    assert parse_markers(lines) == {
        "apache2": (0, "active"),
        "pitrix-vbr": (3, "failed (stopped by the lab)"),
        "dns": (None, ""),
    }


def test_check_script_runs_every_service_under_its_timeout(tmp_path):
    # Stands in for `systemctl is-active`: a running, a stopped, an unknown and a hung service.
    check = ["sh", "-c", "case $1 in up) echo active ;; down) echo failed; exit 3 ;; "
                         "lost) echo unknown; exit 4 ;; stuck) sleep 30 ;; esac", "sh", "{service}"]
    catalog = ServiceCatalog(check=check, timeout=0.5, roles={"vg": ["up", "down", "lost", "stuck", "skipped"]})
    plan = NodePlan(node=node("pek3ar01n03", "vg", []), services=catalog.roles["vg"], ignored={"skipped": "ignored"})

    script = check_script(catalog, plan, ".qingcloud-installer", digest=None)
    completed = subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=20)
    reported = parse_markers(completed.stdout.splitlines())

    assert completed.returncode == 0, completed.stderr
    assert reported == {"up": (0, "active"), "down": (3, "failed"), "lost": (4, "unknown"), "stuck": (124, "")}
    assert [verdict(*reported[name], catalog.timeout)[0] for name in ("up", "down", "lost", "stuck")] == [
        "Normal", "Abnormal", "Unknown", "Unknown"
    ]


def test_check_script_asks_for_restage_when_digest_differs(tmp_path):
    catalog = ServiceCatalog(check=["true"], roles={"vg": ["up"]})
    plan = NodePlan(node=node("pek3ar01n03", "vg", []), services=["up"])
    stage = tmp_path / ".qingcloud-installer"
    stage.mkdir()
    (stage / ".recipe-digest").write_text("old\n")

    stale = subprocess.run(["sh", "-c", check_script(catalog, plan, ".qingcloud-installer", "new")],
                           cwd=tmp_path, capture_output=True, text=True, timeout=20)
    (stage / ".recipe-digest").write_text("new\n")
    current = subprocess.run(["sh", "-c", check_script(catalog, plan, ".qingcloud-installer", "new")],
                             cwd=tmp_path, capture_output=True, text=True, timeout=20)

    assert stale.stdout.splitlines() == ["@@qci-restage"]
    assert current.stdout.splitlines() == ["@@qci-service up 0 "]
