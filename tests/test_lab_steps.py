"""How many times the lab fails a step that --lab-fail names: enough to fail one whole job."""

from __future__ import annotations

import pytest

from engine.engine import Engine
from engine.lab.session import LabSession


@pytest.fixture
def session(tmp_path):
    engine = Engine(tmp_path / "state")
    yield LabSession(engine)
    engine.state_lock.release()
    engine.store.close()


@pytest.mark.parametrize("step, attempts", [
    ("install", 2),
    ("configure_network", 1),
    ("refresh_zone", 1),
    ("upgrade", 1),
    ("health_check", 3),
    ("component_install", 1),
])
def test_attempts_outlast_the_step_retries(session, step, attempts):
    assert session.step_attempts(step) == attempts

