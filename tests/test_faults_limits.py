"""Fan-out against sshd with low MaxStartups and MaxSessions, from the pool up to a whole deploy.

OpenSSH drops handshakes past MaxStartups and rejects channels past MaxSessions. The engine
retries dropped handshakes with backoff, reports them by name when the retries run out, and
learns a connection's session limit from the first rejected channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import defaultdict

import pytest

from engine.ssh import SshPool
from tests.test_faults_platform import DEPLOY, ZONE_NODES, make_platform  # noqa: F401  (a fixture)
from tests.test_ssh import hold_startup_slot, target_of

pytestmark = pytest.mark.sshd

_LEARNED = re.compile(r"so the installer opens at most (\d+) channels")


def engine_ssh_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "engine.ssh"]


async def test_fan_out_within_low_startups_and_sessions(sshd_cluster, client_key, caplog):
    caplog.set_level(logging.INFO, logger="engine.ssh")
    names = [f"pek3ar01n{slot:02d}" for slot in range(1, 17)]
    cluster = sshd_cluster(names, max_startups="3:100:3", max_sessions=2)
    connections: dict[str, set[str]] = defaultdict(set)
    # Each command lasts long enough that a node's five commands overlap.
    script = 'sleep 0.3; echo "$SSH_CONNECTION"'

    async with SshPool(default_client_key=str(client_key.path)) as pool:
        results = await asyncio.gather(*(
            pool.run(target_of(cluster, name), ["sh", "-c", script], timeout=60,
                     on_line=lambda line, name=name: connections[name].add(line))
            for name in names for _ in range(5)
        ))

    messages = engine_ssh_messages(caplog)
    learned = [int(match.group(1)) for message in messages if (match := _LEARNED.search(message))]
    assert [result.ok for result in results] == [True] * 80
    assert {name: len(seen) for name, seen in connections.items()} == {name: 1 for name in names}
    assert any("dropped the SSH handshake" in message for message in messages), "expected dropped handshakes"
    assert learned, "expected the session limit to be learned from a rejected channel"
    assert max(learned) <= 2


async def test_deploy_through_low_max_startups(make_platform, caplog):
    platform = await make_platform(max_startups="3:100:3", max_sessions=2)
    await platform.configure()
    caplog.clear()
    caplog.set_level(logging.INFO, logger="engine.ssh")

    status = await platform.wait_for_job(DEPLOY, await platform.deploy())

    assert status["status"] == "successful"
    assert any("dropped the SSH handshake" in message for message in engine_ssh_messages(caplog))


async def test_exhausted_handshake_retries_name_max_startups(make_platform):
    platform = await make_platform(max_startups="3:100:3")
    await platform.configure()
    first = platform.cluster.node(ZONE_NODES[0].hostname)

    # Three connections that never log in fill the sshd's startup slots, so it drops every handshake.
    with contextlib.ExitStack() as held:
        for _ in range(3):
            held.enter_context(hold_startup_slot(first.host, first.port))
        job_id = await platform.deploy()
        status = await platform.wait_for_job(DEPLOY, job_id)
    lines = await platform.log_lines(DEPLOY, job_id, job_status="step0")

    assert status["status"] == "failed"
    assert status["steps"][0]["state"] == "failed"
    for spec in ZONE_NODES:
        named = [line for line in lines if line.startswith(f"{spec.hostname} | step0 preflight failed")]
        assert len(named) == 1, (spec.hostname, lines[-5:])
        assert "dropped the SSH handshake 5 times in a row" in named[0]
        assert "raise MaxStartups in its sshd_config" in named[0]
    assert platform.integrity() == "ok"
