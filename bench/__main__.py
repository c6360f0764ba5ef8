"""Run every benchmark, or those named, and print their figures with a description of the machine.

usage: python -m bench [health_check] [job_log_pane] [deploy_overhead]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from bench import deploy_overhead, health_check, job_log_pane
from bench.machine import describe_machine

BENCHMARKS = {
    "deploy_overhead": ("Engine overhead of a 13-node lab deploy", deploy_overhead.main),
    "job_log_pane": ("TUI live log pane under load", job_log_pane.main),
    "health_check": ("Health check over 50, 100 and 200 sshd nodes", health_check.main),
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run the installer's benchmarks.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; expected some of {', '.join(BENCHMARKS)}")
    # Engine warnings (retries, dropped handshakes) go to stderr; the figures go to stdout.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")

    for line in describe_machine():
        sys.stdout.write(line + "\n")
    for name in args.names or list(BENCHMARKS):
        title, run = BENCHMARKS[name]
        sys.stdout.write(f"\n## {title} ({name})\n")
        sys.stdout.flush()
        started = time.perf_counter()
        for line in run():
            sys.stdout.write(line + "\n")
        sys.stdout.write(f"(benchmark took {time.perf_counter() - started:.0f} s)\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
