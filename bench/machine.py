"""A description of the machine and software versions, printed before the figures."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _sshd_version() -> str:
    if not shutil.which("/usr/sbin/sshd"):
        return "not installed"
    finished = subprocess.run(["/usr/sbin/sshd", "-V"], capture_output=True, text=True, check=False)
    return (finished.stderr or finished.stdout).strip().splitlines()[0]


def describe_machine() -> list[str]:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return [
        "# Machine",
        f"CPU: {_cpu_model()}, {os.cpu_count()} cores; memory {_memory_gib():.1f} GiB; "
        f"kernel {platform.release()}",
        f"Python {platform.python_version()}; asyncssh {_version('asyncssh')}; textual {_version('textual')}; "
        f"ansible-core {_version('ansible-core')}; {_sshd_version()}",
        f"load average at start (1, 5, 15 min): {load}",
    ]
