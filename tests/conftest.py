"""Shared fixtures of the test suite."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.ssh import generate_client_key
from tests.sshd import SshdCluster, missing_requirements

# ---------------------------------------------------------------------------
# Real sshd nodes on loopback (tests/sshd.py)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientKey:
    """The installer's key pair for a test: private key file and public key line."""

    path: Path
    public_key: str


@pytest.fixture
def client_key(tmp_path: Path) -> ClientKey:
    path = tmp_path / "client-key" / "id_ed25519"
    return ClientKey(path=path, public_key=generate_client_key(path))


def require_sshd() -> None:
    """Skip the calling test when sshd nodes cannot run here, or fail it when CI is set."""
    reason = missing_requirements()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI needs real sshd test nodes: {reason}")
    pytest.skip(f"real sshd test nodes are unavailable: {reason}")


@pytest.fixture
def sshd_cluster(tmp_path: Path, client_key: ClientKey) -> Iterator[Callable[..., SshdCluster]]:
    """Return make(names, **kw), which starts an SshdCluster; every cluster stops at teardown.

    client_public_key defaults to the client_key fixture's public key.
    """
    clusters: list[SshdCluster] = []

    def make(names: list[str], **options: object) -> SshdCluster:
        require_sshd()
        options.setdefault("client_public_key", client_key.public_key)
        cluster = SshdCluster(tmp_path / f"cluster-{len(clusters)}", names, **options)
        clusters.append(cluster)
        cluster.start()
        return cluster

    yield make

    for cluster in clusters:
        cluster.stop()


# ---------------------------------------------------------------------------
# Fixtures of other parts of the suite go below this line.
# ---------------------------------------------------------------------------
