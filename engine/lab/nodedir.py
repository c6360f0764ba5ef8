"""Make a directory look like a simulated node, and steer the demo scripts run in it.

A simulated node is a login directory with two hidden directories that a real
node lacks:

- `.lab-node/` contains the node's identity, which the recipe's facts command
  prefers over the host's: `hostname`, `cpuinfo` (with the vmx flag, so hyper
  nodes pass the virtualisation check) and `nics` (`nic=eth0 <mgmt_ip>/24`).
- `.lab-control/` steers the demo scripts: `speed` divides every pause, and
  `fail/<step>` makes the script of that step fail, once or always.

The lab's SSH servers and the tests' OpenSSH nodes both use these helpers.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from engine.lab.layout import LAB_STEPS

NODE_DIR = ".lab-node"
CONTROL_DIR = ".lab-control"

_CPU_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush "
    "mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl "
    "xtopology cpuid pni pclmulqdq vmx ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe "
    "popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch "
    "invpcid_single ssbd ibrs ibpb stibp tpr_shadow vnmi flexpriority ept vpid "
    "fsgsbase bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq rdseed adx smap "
    "clflushopt clwb avx512cd avx512bw avx512vl xsaveopt xsavec xgetbv1 arat pku ospke"
)


def prepare_node_dir(root: Path, *, hostname: str, mgmt_ip: str, speed: float = 1.0) -> None:
    """Write the identity files of a simulated node into `root` and set its speed.

    Existing files of the node (installed packages, started services) are kept.
    """
    identity = root / NODE_DIR
    identity.mkdir(parents=True, exist_ok=True)

    _write_atomic(identity / "hostname", f"{hostname}\n")
    _write_atomic(identity / "cpuinfo", _cpuinfo_text())
    _write_atomic(identity / "nics", f"nic=eth0 {mgmt_ip}/24\n")
    # Two disks of a typical QingCloud node: a system SSD and a data disk.
    _write_atomic(identity / "disks", "disk=sda 480\ndisk=sdb 3840\n")

    (root / CONTROL_DIR / "fail").mkdir(parents=True, exist_ok=True)
    set_speed(root, speed)


def set_speed(root: Path, speed: float) -> None:
    """Set the factor by which the demo scripts of this node shorten their pauses.

    1 is the realistic pace: a deploy of the lab's 13 zone nodes took about 30 s on
    a 2-core machine. At 100 the same deploy took under 2 s.
    """
    if isinstance(speed, bool) or not isinstance(speed, (int, float)):
        raise ValueError(f"invalid lab speed {speed!r}: expected a positive number")
    if not math.isfinite(speed) or speed <= 0:
        raise ValueError(f"invalid lab speed {speed!r}: expected a positive number")

    control = root / CONTROL_DIR
    control.mkdir(parents=True, exist_ok=True)
    _write_atomic(control / "speed", f"{float(speed):g}\n")


def set_failure(root: Path, step: str, *, once: bool = True, times: int | None = None) -> None:
    """Make the demo script of `step` fail on this node: at its next run only, always, or `times` runs.

    A step the recipe retries needs `times` equal to its attempts to fail a
    whole job: a single failure is absorbed by the retry.
    """
    if step not in LAB_STEPS:
        raise ValueError(f"unknown step {step!r}: expected one of {', '.join(LAB_STEPS)}")
    if times is not None and times < 1:
        raise ValueError(f"invalid failure count {times!r}: expected 1 or more")

    fail_dir = root / CONTROL_DIR / "fail"
    fail_dir.mkdir(parents=True, exist_ok=True)
    if times is not None:
        mode = f"{times}\n"
    else:
        mode = "once\n" if once else "always\n"
    _write_atomic(fail_dir / step, mode)


def clear_failures(root: Path) -> None:
    """Remove every injected failure of this node."""
    fail_dir = root / CONTROL_DIR / "fail"
    if not fail_dir.is_dir():
        return

    for entry in fail_dir.iterdir():
        if entry.is_file():
            entry.unlink(missing_ok=True)


def _cpuinfo_text() -> str:
    lines = [
        "processor\t: 0",
        "vendor_id\t: GenuineIntel",
        "cpu family\t: 6",
        "model name\t: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz",
        "cpu cores\t: 20",
        f"flags\t\t: {_CPU_FLAGS}",
    ]
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    # The demo scripts read these files while the lab may be rewriting them.
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
