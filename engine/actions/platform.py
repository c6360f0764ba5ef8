"""DescribeQingCloud, ConfigQingCloud and the ValidateQingCloudConfig extension."""

from __future__ import annotations

import difflib
import logging
import uuid
from typing import TYPE_CHECKING, Any

from engine.dispatch import route
from engine.errors import BAD_REQUEST, ApiError, wrong_state
from engine.jobs import JobContext, StepFailed
from engine.license.status import is_platform_activated, is_zone_activated
from engine.models import qingcloud as q

if TYPE_CHECKING:
    from engine.config.report import ValidationReport
    from engine.engine import Engine

log = logging.getLogger("engine.platform")

CONFIG_STEPS = ["validate", "render"]

#: Platform-wide defaults, used until a configuration sets other values.
PLATFORM_DEFAULTS = {
    "platform_name": "qingcloud",
    "domain": "",
    "console_id": "qingcloud",
    "is_region": "0",
    "region_id": "",
    "site_protocol": "http",
}


def validate(engine: "Engine", config: dict[str, Any]) -> "ValidationReport":
    """Validate a ConfigQingCloud `config` against the recipe's role catalog and the registered nodes."""
    from engine.config.catalog import RoleCatalog
    from engine.config.report import NodeFacts
    from engine.config.validate import validate_config

    inventory = {
        node.node_id: NodeFacts(node_id=node.node_id, hostname=node.hostname, mgmt_ip=node.mgmt_ip)
        for node in engine.store.list_nodes()
    }
    catalog = RoleCatalog.from_dict(engine.recipe.role_catalog())
    return validate_config(config, catalog=catalog, inventory=inventory)


def zone_summary(report: "ValidationReport") -> dict[str, dict[str, Any]]:
    summary = {}
    for zone_id, zone in report.zones.items():
        counts = zone.counts
        summary[zone_id] = {
            "deploy_mode": zone.deploy_mode or "",
            "ks_node_num": counts.get("ks", 0),
            "vg_node_num": counts.get("vg", 0),
            "hyper_node_num": counts.get("hyper", 0),
            "role_node_num": counts.get("total", len(zone.roles)),
        }
    return summary


def issue_list(report: "ValidationReport") -> list[dict[str, str]]:
    return [
        {"severity": issue.severity, "zone": issue.zone, "path": issue.path, "message": issue.message}
        for issue in report.issues
    ]


def review_files(engine: "Engine", report: "ValidationReport") -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Render each valid zone's files and diff them against the zone's current version.

    Returns (zone -> file name -> text, zone -> unified diff). A zone never
    configured before is diffed against empty files.
    """
    from engine.config.render import render_zone_files

    files: dict[str, dict[str, str]] = {}
    diffs: dict[str, str] = {}
    for zone_id, zone in sorted(report.zones.items()):
        rendered = render_zone_files(zone)
        current = engine.store.get_zone(zone_id)
        applied = current.config.get("files", {}) if current else {}
        parts = []
        for name, text in rendered.items():
            parts.extend(difflib.unified_diff(
                applied.get(name, "").splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"applied/{name}",
                tofile=f"new/{name}",
            ))
        files[zone_id] = rendered
        diffs[zone_id] = "".join(parts)
    return files, diffs


@route("QingCloud", "ValidateQingCloudConfig", q.ValidateQingCloudConfigRequest, changes_state=False)
async def validate_qingcloud_config(
    engine: "Engine", request: q.ValidateQingCloudConfigRequest, owner: str
) -> dict[str, Any]:
    report = validate(engine, request.config)
    response: dict[str, Any] = {"valid": report.ok, "issues": issue_list(report), "zones": zone_summary(report)}
    if report.ok:
        response["files"], response["diff"] = review_files(engine, report)
    return response


def refuse_dropping_deployed_nodes(engine: "Engine", config: dict[str, Any]) -> None:
    """Raise 5200 when the new configuration of a zone leaves out or moves a node deployed in it.

    A configuration file loaded from before a scale-out would otherwise take
    the roles of the nodes the scale-out deployed, and the platform's record
    would no longer match what runs on them.
    """
    from engine.actions.nodes import configured_roles

    current = configured_roles(engine)
    dropped = []
    for node_id, (zone_id, role, _sub_roles) in sorted(current.items()):
        if zone_id not in config:
            continue
        node = engine.store.get_node(node_id)
        if node is None or node.status != "deployed":
            continue
        new_roles = (config[zone_id].get("settings") or {}).get("roles") or {}
        if node_id not in new_roles or str((new_roles[node_id] or {}).get("role", "")) != role:
            dropped.append(f"{node_id} ({role})")

    if dropped:
        raise wrong_state(
            f"config: deployed node(s) {', '.join(dropped)} would lose or change their role; keep them in "
            "settings.roles with the same role (DescribeQingCloudConfig returns the configuration in use)"
        )


@route("QingCloud", "ConfigQingCloud", q.ConfigQingCloudRequest, changes_state=True)
async def config_qingcloud(engine: "Engine", request: q.ConfigQingCloudRequest, owner: str) -> dict[str, Any]:
    # Validate before creating the job, so that a bad configuration is rejected
    # at once and leaves no job and no state behind.
    report = validate(engine, request.config)
    first = report.first_error()
    if first is not None:
        others = len(report.errors) - 1
        more = f" ({others} more error(s); ValidateQingCloudConfig lists them all)" if others else ""
        raise ApiError(BAD_REQUEST, f"config: {first}{more}")
    refuse_dropping_deployed_nodes(engine, request.config)

    zone_ids = sorted(report.zones)
    job = engine.jobs.create(
        "ConfigQingCloud",
        owner=owner,
        params={"zone_ids": zone_ids},
        step_names=CONFIG_STEPS,
        lock_keys=zone_ids,
        resources={"zone_ids": zone_ids},
        summary=f"zone(s) {', '.join(zone_ids)}",
    )

    async def body(context: JobContext) -> None:
        await run_config(engine, context, request.config)

    engine.jobs.start(job, body)
    return {"job_id": job.job_id}


async def run_config(engine: "Engine", context: JobContext, config: dict[str, Any]) -> None:
    from engine.config.render import render_zone_files

    context.begin_step(0)
    report = validate(engine, config)
    for issue in report.issues:
        context.log(f"{issue.severity}: {issue}")
    if not report.ok:
        raise StepFailed(f"configuration is invalid: {report.first_error()}")
    context.log(f"configuration valid: {len(report.zones)} zone(s), {len(report.warnings)} warning(s)")
    context.end_step(0)

    context.begin_step(1)
    for zone_id, zone in sorted(report.zones.items()):
        files = render_zone_files(zone)
        existing = engine.store.get_zone(zone_id)
        platform_id = existing.platform_id if existing else uuid.uuid4().hex
        version = engine.store.save_zone_config(
            zone_id,
            platform_id=platform_id,
            job_id=context.job_id,
            variables=config[zone_id].get("variables", {}),
            settings=config[zone_id].get("settings", {}),
            merged=zone.variables,
            files=files,
        )
        directory = engine.layout.zone_config_dir(zone_id, version)
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (directory / name).write_text(text, encoding="utf-8")
        context.log(f"zone {zone_id}: configuration version {version} written to {directory}")

        for node_id in zone.roles:
            node = engine.store.get_node(node_id)
            if node is not None:
                node.zone_id = zone_id
                if node.status == "registered":
                    node.status = "configured"
                engine.store.put_node(node)

    record_platform(engine, report)
    context.end_step(1)


def record_platform(engine: "Engine", report: "ValidationReport") -> None:
    platform = engine.store.get_platform() or dict(PLATFORM_DEFAULTS)
    for zone in report.zones.values():
        variables = zone.variables
        for key in ("domain", "region_id", "is_region", "console_id", "site_protocol"):
            if variables.get(key) not in (None, ""):
                platform[key] = str(variables[key])
    if len(engine.store.list_zones()) > 1:
        platform["is_region"] = "1"
    engine.store.put_platform(platform)


@route("QingCloud", "DescribeQingCloud", q.DescribeQingCloudRequest, changes_state=False)
async def describe_qingcloud(engine: "Engine", request: q.DescribeQingCloudRequest, owner: str) -> dict[str, Any]:
    from engine.store import utc_now

    platform = engine.store.get_platform() or {**PLATFORM_DEFAULTS, "create_time": utc_now(), "update_time": utc_now()}
    zones = engine.store.list_zones()
    nodes = engine.store.list_nodes()
    latest = engine.store.latest_job()

    zone_info = {}
    for zone in zones:
        zone_info[zone.zone_id] = describe_zone(engine, zone, nodes)

    qingcloud = {
        "platform_name": platform["platform_name"],
        "installer_version": engine.version,
        "qingcloud_version": engine.recipe.qingcloud_version,
        "domain": platform["domain"],
        "console_id": platform["console_id"],
        "is_region": platform["is_region"],
        "region_id": platform["region_id"],
        "is_deployed": int(bool(zones) and all(zone.is_deployed for zone in zones)),
        "is_activated": int(is_platform_activated(engine)),
        # NOTE: hosts stays empty because the recipe does not yet map service names to addresses.
        "hosts": [],
        "create_time": platform["create_time"],
        "update_time": platform["update_time"],
        "status": latest.status if latest else "",
        "pre_status": latest.pre_status if latest else "",
        "site_protocol": platform["site_protocol"],
        "zone_ids": [zone.zone_id for zone in zones],
        "zone_info": zone_info,
    }
    return {"qingcloud": qingcloud}


def describe_zone(engine: "Engine", zone: Any, nodes: list[Any]) -> dict[str, Any]:
    """Describe a zone; its node counts are counted from its configuration's roles."""
    from engine.actions.components import zone_components

    merged = zone.config.get("merged", {})
    roles = zone.config.get("settings", {}).get("roles", {})

    counts = {"ks": 0, "vg": 0, "hyper": 0}
    for spec in roles.values():
        kind = engine.recipe.role_kind(str(spec.get("role", "")))
        if kind in counts:
            counts[kind] += 1
    free = [node for node in nodes if node.zone_id == zone.zone_id and node.node_id not in roles]

    return {
        "zone_id": zone.zone_id,
        "cloud_type": str(merged.get("cloud_type", "private")),
        "deploy_mode": str(merged.get("deploy_mode", "")),
        "network_mode": str(merged.get("network_mode", "nfv")),
        "sdn_version": str(merged.get("sdn_version", "2")),
        "is_zone_deployed": int(zone.is_deployed),
        "is_zone_activated": int(is_zone_activated(engine, zone.zone_id, zone.platform_id)),
        "platform_id": zone.platform_id,
        "ks_node_num": counts["ks"],
        "vg_node_num": counts["vg"],
        "hyper_node_num": counts["hyper"],
        "role_node_num": len(roles),
        "free_node_num": len(free),
        "installer_allocate_vbc": int(str(merged.get("installer_allocate_vbc", "0")) == "1"),
        "create_time": zone.create_time,
        "update_time": zone.update_time,
        "components": zone_components(engine, zone.zone_id),
    }
