"""The engine's own share of a lab deploy of the reference's 13 nodes (pek3a and pek3b).

The demo recipe runs at its realistic pace (lab speed 1) on 13 real sshd nodes. Every node
command of the recipe, the preflight's facts command included, is wrapped so that the node
records when the command started and ended. The critical path of the node commands is, for each
task in order, the longest run over its nodes, summed over all tasks of all steps. Everything
else in the job's wall time is the engine's: SSH handshakes, channel opens, copying the recipe
and the configuration, log and status writes, and the gaps between tasks.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from bench.platform import SEED_CONFIG, BenchNode, start_nodes, stop_platform
from engine.lab.layout import PEK3A_NODES, PEK3B_NODES
from engine.recipe import Recipe, load_recipe

SPEED = 1.0
TIMES_DIR = ".bench-times"
# Appends "START END" in nanoseconds to $1 in the node's login directory, then exits as the command did.
_TIMED = (
    'record=$1; shift; start=$(date +%s%N); "$@"; status=$?; end=$(date +%s%N); '
    f'mkdir -p {TIMES_DIR}; echo "$start $end" >> "{TIMES_DIR}/$record"; exit $status'
)


def timed_recipe() -> tuple[Recipe, list[tuple[str, list[str]]]]:
    """Return the demo recipe with every node command timed, and the record names of each step in order."""
    recipe = load_recipe()
    recipe.facts.run = ["sh", "-c", _TIMED, "timed", "facts", *recipe.facts.run]
    steps = []
    for step in recipe.actions["DeployQingCloud"].steps:
        records = ["facts"] if step.builtin == "preflight" else []
        for index, task in enumerate(step.tasks):
            record = f"{step.name}-{index}"
            task.run = ["sh", "-c", _TIMED, "timed", record, *task.run]
            records.append(record)
        steps.append((step.name, records))
    return recipe, steps


def longest_run(homes: list[Path], record: str) -> float:
    """Return the longest duration in seconds that any node recorded under record."""
    longest = 0.0
    for home in homes:
        path = home / TIMES_DIR / record
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            start, end = (int(part) for part in line.split())
            longest = max(longest, (end - start) / 1e9)
    return longest


async def run(workdir: Path) -> list[str]:
    specs = [*PEK3A_NODES, *PEK3B_NODES]
    nodes = [BenchNode(node_id=spec.node_id, hostname=spec.hostname, mgmt_ip=spec.mgmt_ip) for spec in specs]
    config = json.loads(SEED_CONFIG.read_text(encoding="utf-8"))["config"]
    recipe, steps = timed_recipe()

    platform = await start_nodes(workdir, nodes, config, speed=SPEED, recipe=recipe, deploy=False)
    try:
        homes = [platform.home(node) for node in nodes]
        # AddNodes ran the facts command already; only the deploy's runs count.
        for home in homes:
            (home / TIMES_DIR / "facts").unlink(missing_ok=True)

        started = time.perf_counter()
        _, status_starts = await platform.run_job("DeployQingCloud", node_ids=[node.node_id for node in nodes])
        wall = time.perf_counter() - started
    finally:
        await stop_platform(platform)

    report = []
    critical = 0.0
    for index, (name, records) in enumerate(steps):
        step_path = sum(longest_run(homes, record) for record in records)
        critical += step_path
        step_wall = status_starts.get(f"step{index + 1}", status_starts["successful"]) - status_starts[f"step{index}"]
        report.append(f"  step{index} {name}: {step_wall:.2f} s, of which node commands {step_path:.2f} s")
    overhead = wall - critical
    return [
        f"lab deploy of {len(nodes)} nodes at lab speed {SPEED:g}: job wall time {wall:.2f} s, "
        f"node commands' critical path {critical:.2f} s, engine overhead {overhead:.2f} s "
        f"= {100 * overhead / wall:.1f}% (target < 5%)",
        *report,
    ]


def main() -> list[str]:
    with tempfile.TemporaryDirectory(prefix="qci-bench-") as directory:
        return asyncio.run(run(Path(directory)))
