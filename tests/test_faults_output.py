"""A step whose command prints hundreds of megabytes, some of it one endless line.

The engine runs in the test process, so the test process's peak resident memory bounds what the
engine used for the output. The job log must keep the head of the output, say that the rest was
cut, and end with the command's last lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.engine import Engine
from engine.executor import Executor, JobNode
from engine.recipe import Task
from engine.ssh import SshPool
from engine.ssh_output import LOGGED_TAIL_CHARS, MAX_LOGGED_CHARS, OutputLimiter
from tests.test_ssh import target_of

pytestmark = pytest.mark.sshd

HUGE_MB = 200
ENDLESS_MB = 100
#: Growth of the test process's peak resident memory allowed while the output streams through.
MEMORY_BOUND_MB = 120

# 200 MB of 1000-byte lines, then 100 MB without a newline, then two short lines.
HUGE_OUTPUT = (
    f'line=$(printf "%0999d" 0); yes "$line" | head -c {HUGE_MB * 1000 * 1000}; '
    f"head -c {ENDLESS_MB * 1000 * 1000} /dev/zero | tr '\\0' y; echo; "
    'echo "second to last line"; echo "last line"'
)


def peak_resident_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("VmHWM is missing from /proc/self/status")


def reset_peak_resident() -> None:
    """Reset VmHWM to the current resident size (Linux 4.0 and later)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError as error:
        pytest.skip(f"cannot reset the peak resident size through /proc/self/clear_refs: {error}")


async def test_huge_output_keeps_memory_and_tail(sshd_cluster, client_key, tmp_path):
    cluster = sshd_cluster(["pek3ar01n01"])
    engine = Engine(tmp_path / "state")
    await engine.start()
    node = JobNode(
        node_id="n-pek3a01r01", hostname="pek3ar01n01", zone_id="pek3a", role="ks-vm", sub_roles=["seed"],
        mgmt_ip="172.16.80.11", target=target_of(cluster, "pek3ar01n01", node_id="n-pek3a01r01"),
    )
    task = Task(run=["sh", "-c", HUGE_OUTPUT], timeout=600)
    job = engine.jobs.create("DeployQingCloud", owner="test", params={}, step_names=["install"], lock_keys=["pek3a"])

    async def body(context) -> None:
        context.begin_step(0)
        async with SshPool(default_client_key=str(client_key.path)) as pool:
            await Executor(context, engine.recipe, pool).run_task(task, [node], "step0 install")
        context.end_step(0)

    reset_peak_resident()
    before = peak_resident_kib()
    engine.jobs.start(job, body)
    await engine.jobs.wait(job.job_id)
    growth_mb = (peak_resident_kib() - before) / 1024
    status = await engine.call({"action": "GetStatus", "request_type": "QingCloud", "job_action": "DeployQingCloud"})
    log = await engine.call({"action": "GetLog", "request_type": "QingCloud", "job_action": "DeployQingCloud"})
    await engine.stop()
    lines = list(log["log"].values())
    output = [line for line in lines if line.startswith("pek3ar01n01 | ")]

    assert status["status"] == "successful"
    assert growth_mb < MEMORY_BOUND_MB, f"peak resident memory grew by {growth_mb:.0f} MB"
    assert output[0] == "pek3ar01n01 | " + "0" * 999
    cut_notices = [line for line in output if "[output cut:" in line]
    assert len(cut_notices) == 2, cut_notices
    assert "printed more than 1024 KiB" in cut_notices[0]
    assert "lines left out; the last" in cut_notices[1]
    assert output[-2:] == ["pek3ar01n01 | second to last line", "pek3ar01n01 | last line"]
    logged_chars = sum(len(line) + 1 for line in output)
    assert logged_chars < MAX_LOGGED_CHARS + LOGGED_TAIL_CHARS + 2 * 65536


def test_output_limiter_keeps_head_and_tail():
    lines: list[str] = []
    # Each "line N" counts 7 characters with its newline: four fit in the head, two in the tail.
    limiter = OutputLimiter(lines.append, head_chars=30, tail_chars=14)

    for number in range(10):
        limiter(f"line {number}")
    limiter.finish()

    assert lines[:4] == ["line 0", "line 1", "line 2", "line 3"]
    assert lines[4].startswith("[output cut: this command printed more than")
    assert lines[5] == "[output cut: 4 lines left out; the last 2 lines follow]"
    assert lines[6:] == ["line 8", "line 9"]
    assert limiter.cut_lines == 6
