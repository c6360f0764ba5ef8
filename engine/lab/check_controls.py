"""Lab controls for test runs and service checks on a simulated node.

They are files under the node's `.lab-control/` that the demo recipe's test
and service scripts read:

- `test-fail/<name>` makes a test case fail, or one of the steps
  prepare_user, prepare_resources and clean_resources. Like the deploy
  steps' `fail/<step>`, it contains `once`, `always` or a count of runs.
- `service-stopped/<service>` makes the service report failed to CheckQingCloud.
- `service-hang/<service>` makes the service's check hang until its timeout.

The tests' OpenSSH nodes and the lab's own nodes both use these helpers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from engine.lab.nodedir import CONTROL_DIR
from engine.recipe_catalogs import SERVICE_NAME_PATTERN, TEST_NAME_PATTERN

TEST_FAIL_DIR = "test-fail"
SERVICE_STOPPED_DIR = "service-stopped"
SERVICE_HANG_DIR = "service-hang"

#: Steps of test jobs that can be made to fail besides the test cases.
TEST_STEPS = ("prepare_user", "prepare_resources", "clean_resources")


def set_test_failure(root: Path, name: str, *, once: bool = True, times: int | None = None) -> None:
    """Make a test case or test step fail on this node (the test runner): next run only, always, or `times` runs."""
    if name not in TEST_STEPS and not re.fullmatch(TEST_NAME_PATTERN, name):
        raise ValueError(f"invalid test case {name!r}: expected a case name such as lb-vxnet or one of {', '.join(TEST_STEPS)}")
    if times is not None and times < 1:
        raise ValueError(f"invalid failure count {times!r}: expected 1 or more")

    if times is not None:
        mode = f"{times}\n"
    elif once:
        mode = "once\n"
    else:
        mode = "always\n"
    write_atomic(_control(root, TEST_FAIL_DIR) / name, mode)


def stop_service(root: Path, service: str) -> None:
    """Make a service of this node report failed until start_service."""
    write_atomic(_control(root, SERVICE_STOPPED_DIR) / _checked(service), "stopped\n")


def start_service(root: Path, service: str) -> None:
    (_control(root, SERVICE_STOPPED_DIR) / _checked(service)).unlink(missing_ok=True)


def hang_service(root: Path, service: str, *, hang: bool = True) -> None:
    """Make the check of a service hang (until the check's timeout), or stop that with hang=False."""
    path = _control(root, SERVICE_HANG_DIR) / _checked(service)
    if hang:
        write_atomic(path, "hang\n")
    else:
        path.unlink(missing_ok=True)


def clear_check_controls(root: Path) -> None:
    """Remove every test failure, stopped service and hung check of this node."""
    for name in (TEST_FAIL_DIR, SERVICE_STOPPED_DIR, SERVICE_HANG_DIR):
        directory = root / CONTROL_DIR / name
        if directory.is_dir():
            for entry in directory.iterdir():
                if entry.is_file():
                    entry.unlink(missing_ok=True)


def _control(root: Path, name: str) -> Path:
    directory = root / CONTROL_DIR / name
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def write_atomic(path: Path, text: str) -> None:
    # The demo scripts may read a control while it is being written.
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _checked(service: str) -> str:
    if not re.fullmatch(SERVICE_NAME_PATTERN, service):
        raise ValueError(f"invalid service name {service!r}: expected letters, digits and @ . _ -")
    return service
