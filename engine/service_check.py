"""Service checks: the services each node runs, checked with one SSH command per node.

For each node the engine builds one shell script that checks every service of
the node at once, each under the service catalog's timeout, and prints one line
per service: `@@qci-service NAME EXIT_STATUS FIRST_OUTPUT_LINE`. One command per
node keeps a check of hundreds of nodes to one round trip each on the
connection the pool opens anyway.

A service is Normal when its check command exits 0, Unknown when the check
could not say (node unreachable, timed out, command missing, LSB status 4),
Ignored when the configuration excludes it, and Abnormal otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import wrong_state
from engine.executor import Executor, JobNode, describe_result, fill_placeholders
from engine.jobs import JobContext
from engine.recipe_catalogs import ServiceCatalog
from engine.recipe_digest import digest_path
from engine.ssh import SshError, SshPool
from engine.store import utc_now

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("engine.check")

NORMAL, ABNORMAL, UNKNOWN, IGNORED = "Normal", "Abnormal", "Unknown", "Ignored"
STATUSES = (NORMAL, ABNORMAL, UNKNOWN, IGNORED)

#: Zone variable listing services not to check: names, or hostname:name for one node.
IGNORE_VARIABLE = "check_ignore_services"

SERVICE_MARKER = "@@qci-service"
RESTAGE_MARKER = "@@qci-restage"
_MAX_DETAIL = 200

# Exit statuses that mean the status is not known, rather than a stopped service.
# 4 is LSB's "status unknown". 124 and 137 are coreutils timeout's "timed out",
# after TERM and after KILL, and 125 is a failure of timeout itself. 126 and 127
# mean the shell could not run the command.
_TIMED_OUT = (124, 137)
_NOT_RUNNABLE = (125, 126, 127)
_STATUS_UNKNOWN = 4


@dataclass
class ServiceResult:
    service: str
    status: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"service": self.service, "status": self.status, "detail": self.detail}


@dataclass
class NodePlan:
    """The services of one node in catalog order, and the ignored ones with the reason."""

    node: JobNode
    services: list[str]
    ignored: dict[str, str] = field(default_factory=dict)

    @property
    def checked(self) -> list[str]:
        return [service for service in self.services if service not in self.ignored]


def service_catalog(engine: "Engine") -> ServiceCatalog:
    """Return the recipe's service catalog; raise 5200 when the recipe has none."""
    if engine.recipe.services is None:
        raise wrong_state(f"recipe {engine.recipe.name} has no service catalog, so there is no service to check")
    return engine.recipe.services


def zone_ignore_rules(merged_variables: dict[str, Any]) -> tuple[list[str], str]:
    """Return the entries of a zone's check_ignore_services, and a warning when the value is unusable."""
    value = merged_variables.get(IGNORE_VARIABLE)
    if value is None:
        return [], ""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()], ""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value if item.strip()], ""
    return [], (
        f"variable {IGNORE_VARIABLE} must be a list of service names or a comma-separated string, "
        f"got {type(value).__name__}; no service of the zone is ignored"
    )


def plan_node(catalog: ServiceCatalog, node: JobNode, zone_rules: list[str]) -> NodePlan:
    services = catalog.services_for(node.role, node.sub_roles)
    plan = NodePlan(node=node, services=services)
    for service in services:
        if service in catalog.ignore:
            plan.ignored[service] = "ignored by the recipe's service catalog"
        elif service in zone_rules or f"{node.hostname}:{service}" in zone_rules:
            plan.ignored[service] = f"ignored by variable {IGNORE_VARIABLE} of zone {node.zone_id}"
    return plan


def plan_check(engine: "Engine", catalog: ServiceCatalog, nodes: list[JobNode]) -> tuple[list[NodePlan], list[str]]:
    """Return what to check on each node, and warnings about unusable ignore settings, one per zone."""
    rules: dict[str, list[str]] = {}
    warnings = []
    for zone in engine.store.list_zones():
        rules[zone.zone_id], warning = zone_ignore_rules(zone.config.get("merged", {}))
        if warning:
            warnings.append(f"zone {zone.zone_id}: {warning}")
    plans = [plan_node(catalog, node, rules.get(node.zone_id, [])) for node in nodes]
    return plans, warnings


def check_script(catalog: ServiceCatalog, plan: NodePlan, stage: str, digest: str | None) -> str:
    """Build the shell script that checks every service of a node and prints one marker line per service.

    With a digest, the script first compares it with the staged recipe's and
    prints only the restage marker when they differ.
    """
    values = plan.node.placeholder_values(stage)
    lines = []
    if digest is not None:
        lines.append(
            f'if [ "$(cat {shlex.quote(digest_path(stage))} 2>/dev/null)" != {shlex.quote(digest)} ]; '
            f"then echo {RESTAGE_MARKER}; exit 0; fi"
        )
    lines += [
        'dir=$(mktemp -d "${TMPDIR:-/tmp}/qci-check.XXXXXX") || exit 1',
        "trap 'rm -rf \"$dir\"' EXIT",
        # Without coreutils' timeout a hung check blocks the node's result until the SSH command's timeout.
        f"if command -v timeout >/dev/null 2>&1; then limit='timeout -k 2 {catalog.timeout:g}'; else limit=; fi",
        'check() { name=$1; shift; $limit "$@" > "$dir/$name.out" 2>&1 < /dev/null; echo $? > "$dir/$name.rc"; }',
    ]
    for service in plan.checked:
        argv = fill_placeholders([part.replace("{service}", service) for part in catalog.check], values)
        lines.append(f"check {shlex.quote(service)} {' '.join(shlex.quote(part) for part in argv)} &")
    # Shell builtins only from here: a fork per service adds up on a node running many.
    lines += [
        "wait",
        f"for name in {' '.join(shlex.quote(service) for service in plan.checked)}; do",
        '  rc=; detail=',
        '  read -r rc 2>/dev/null < "$dir/$name.rc"',
        '  read -r detail 2>/dev/null < "$dir/$name.out"',
        f'  printf \'{SERVICE_MARKER} %s %s %s\\n\' "$name" "${{rc:-none}}" "$detail"',
        "done",
    ]
    return "\n".join(lines) + "\n"


def parse_markers(lines: list[str]) -> dict[str, tuple[int | None, str]]:
    """Return each service's exit status (None when none was reported) and first output line."""
    reported: dict[str, tuple[int | None, str]] = {}
    for line in lines:
        if not line.startswith(SERVICE_MARKER + " "):
            continue
        parts = line[len(SERVICE_MARKER) + 1:].split(" ", 2)
        if len(parts) < 2:
            continue
        name, status = parts[0], parts[1]
        detail = parts[2].strip()[:_MAX_DETAIL] if len(parts) > 2 else ""
        reported[name] = (int(status) if status.isdigit() else None, detail)
    return reported


def verdict(exit_status: int | None, detail: str, timeout: float) -> tuple[str, str]:
    """Return the status and detail of a service from its check's exit status and first output line."""
    if exit_status is None:
        return UNKNOWN, "the check reported no exit status"
    if exit_status == 0:
        return NORMAL, detail
    if exit_status in _TIMED_OUT:
        return UNKNOWN, f"the check timed out after {timeout:g} s"
    if exit_status in _NOT_RUNNABLE:
        return UNKNOWN, f"the check command could not run (exit status {exit_status}): {detail or 'no output'}"
    if exit_status == _STATUS_UNKNOWN:
        return UNKNOWN, detail or "the service manager does not know the status"
    return ABNORMAL, detail or f"exit status {exit_status}"


def unknown_results(plan: NodePlan, reason: str) -> list[ServiceResult]:
    return [
        ServiceResult(service, IGNORED, plan.ignored[service]) if service in plan.ignored
        else ServiceResult(service, UNKNOWN, reason)
        for service in plan.services
    ]


class NodeChecker:
    """Checks the services of nodes for one check job, over one SSH pool."""

    def __init__(self, engine: "Engine", context: JobContext, catalog: ServiceCatalog, pool: SshPool) -> None:
        self.catalog = catalog
        self.pool = pool
        self.executor = Executor(context, engine.recipe, pool)
        self.stage = self.executor.stage
        needs_stage = any("{stage}" in part for part in catalog.check)
        self.digest = self.executor.digest if needs_stage else None

    async def check(self, plan: NodePlan) -> list[ServiceResult]:
        """Check one node; a node that cannot be checked gets Unknown for each service, with the reason."""
        if not plan.checked:
            return unknown_results(plan, "")
        try:
            lines, outcome = await self._run(plan)
            if RESTAGE_MARKER in lines:
                # The node lacks this recipe's scripts (a deploy by an older installer, or none yet).
                # Staging writes the digest too, so the next check of this node finds it.
                await self.executor.stage_recipe(plan.node)
                lines, outcome = await self._run(plan)
        except SshError as error:
            return unknown_results(plan, f"node unreachable: {error}")

        if RESTAGE_MARKER in lines:
            return unknown_results(plan, "the recipe's scripts could not be staged on the node")
        reported = parse_markers(lines)
        if not reported and outcome:
            last = next((line for line in reversed(lines) if line.strip()), "")
            return unknown_results(plan, f"the check script failed ({outcome}){': ' + last if last else ''}")

        results = []
        for service in plan.services:
            if service in plan.ignored:
                results.append(ServiceResult(service, IGNORED, plan.ignored[service]))
            elif service in reported:
                results.append(ServiceResult(service, *verdict(*reported[service], self.catalog.timeout)))
            else:
                results.append(ServiceResult(service, UNKNOWN, outcome or "the check reported nothing for this service"))
        return results

    async def _run(self, plan: NodePlan) -> tuple[list[str], str]:
        """Run the node's check script; return its output lines and, unless it exited 0, why not."""
        lines: list[str] = []
        script = check_script(self.catalog, plan, self.stage, self.digest)
        result = await self.pool.run(
            plan.node.target, ["sh", "-c", script], timeout=self.catalog.node_timeout, on_line=lines.append
        )
        if result.ok:
            return lines, ""
        if result.timed_out:
            return lines, f"the check of the node timed out after {self.catalog.node_timeout:g} s"
        return lines, describe_result(result, self.catalog.node_timeout)


def summarize_node(hostname: str, results: list[ServiceResult]) -> str:
    counts = count_statuses([results])
    shown = ", ".join(f"{counts[status]} {status}" for status in STATUSES if counts[status])
    problems = [f"{result.service}: {result.detail or result.status}" for result in results if result.status in (ABNORMAL, UNKNOWN)]
    reasons = {result.detail for result in results if result.status == UNKNOWN}
    if len(reasons) == 1 and not counts[NORMAL] and not counts[ABNORMAL]:
        # One reason for the whole node, e.g. unreachable, is logged once.
        return f"{hostname} | could not be checked: {reasons.pop()}; {shown}"
    line = f"{hostname} | {len(results)} services: {shown}"
    return line + (f" ({'; '.join(problems)})" if problems else "")


def count_statuses(node_results: list[list[ServiceResult]]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for results in node_results:
        for result in results:
            counts[result.status] += 1
    return counts


async def run_check(engine: "Engine", context: JobContext, plans: list[NodePlan], verbose: str, warnings: list[str]) -> None:
    """Carry out a CheckQingCloud job: check every planned node in parallel and store the result."""
    catalog = service_catalog(engine)
    limit = asyncio.Semaphore(catalog.parallel)
    outcomes: dict[str, list[ServiceResult]] = {}
    for plan in plans:
        context.set_node(plan.node.node_id, plan.node.hostname, "pending")

    context.begin_step(0)
    for warning in warnings:
        context.log(warning)

    pool = SshPool(default_client_key=str(engine.layout.client_key))
    checker = NodeChecker(engine, context, catalog, pool)

    async def one(plan: NodePlan) -> None:
        async with limit:
            node = plan.node
            context.set_node(node.node_id, node.hostname, "running")
            results = await checker.check(plan)
            outcomes[node.node_id] = results
            reachable = any(result.status in (NORMAL, ABNORMAL) for result in results) or not plan.checked
            context.set_node(node.node_id, node.hostname, "done" if reachable else "failed")
            context.log(summarize_node(node.hostname, results))

    try:
        await asyncio.gather(*(one(plan) for plan in plans))
    finally:
        await pool.close()

    result = [
        {
            "hostname": plan.node.hostname,
            "node_id": plan.node.node_id,
            "zone_id": plan.node.zone_id,
            "role": plan.node.role,
            "services": [service.as_dict() for service in outcomes[plan.node.node_id]],
        }
        for plan in plans
    ]
    counts = count_statuses(list(outcomes.values()))
    status = ABNORMAL if counts[ABNORMAL] or counts[UNKNOWN] else NORMAL
    engine.store.save_check_result(
        context.job_id, check_time=utc_now(), verbose=verbose, qingcloud_status=status, result=result
    )
    context.job.resources["qingcloud_status"] = status
    context.job.resources["counts"] = counts
    context.save()
    context.log(
        f"checked {len(plans)} node(s): {', '.join(f'{counts[name]} {name}' for name in STATUSES)}; "
        f"qingcloud_status {status}"
    )
    context.end_step(0)


def filter_result(result: list[dict[str, Any]], verbose: str) -> list[dict[str, Any]]:
    """Return the result filtered by verbose: everything for "1", only services not Normal for "0"."""
    if verbose == "1":
        return result
    shown = []
    for node in result:
        services = [service for service in node["services"] if service["status"] != NORMAL]
        if services:
            shown.append({**node, "services": services})
    return shown
