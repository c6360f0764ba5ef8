"""Peak resident memory of the benchmark process, from /proc/self/status (Linux)."""

from __future__ import annotations

from pathlib import Path


def peak_resident_mb() -> float:
    """Return the process's peak resident set size (VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM is missing from /proc/self/status")


def reset_peak_resident() -> None:
    """Reset the peak to the current resident size, so the next reading covers what follows only.

    Needs Linux 4.0 or later; on older kernels the peak covers the whole process.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
