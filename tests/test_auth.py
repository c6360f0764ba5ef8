"""The pieces of engine.auth on their own: password hashes, users, backoff, audit lines, fingerprints."""

from __future__ import annotations

import json
import sqlite3

import pytest

from engine.auth.audit import AuditLog, audit_parameters
from engine.auth.backoff import FailureCounter, LoginBackoff
from engine.auth.passwords import SCRYPT_N, hash_password, verify_password
from engine.auth.pinning import FingerprintError, format_fingerprint, normalize_fingerprint
from engine.auth.users import UserError, Users
from engine.models.nodes import AddNodesRequest
from engine.models.qingcloud import ActivateQingCloudLicenseRequest


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_password_hash_is_salted_scrypt():
    first = hash_password("correct horse battery")
    second = hash_password("correct horse battery")

    assert first.startswith(f"scrypt${SCRYPT_N}$8$1$")
    assert first != second, "two hashes of one password must differ by their salt"
    assert "correct horse" not in first


def test_password_verifies_only_itself():
    stored = hash_password("correct horse battery")

    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("", stored)


@pytest.mark.parametrize("stored", [
    "", "plain", "scrypt$16384$8$1$c2FsdA==", "scrypt$16385$8$1$c2FsdA==$a2V5",
    "scrypt$1073741824$8$1$c2FsdA==$a2V5", "scrypt$16384$8$1$not base64$a2V5", "bcrypt$16384$8$1$c2FsdA==$a2V5",
])
def test_unreadable_stored_hash_matches_nothing(stored):
    assert not verify_password("anything", stored)


def test_users_keep_only_hashes(tmp_path):
    users = Users(tmp_path / "state.db")

    users.add("alice", "admin", "alice-password")
    users.add("bob", "viewer", "bob-password")
    stored = sqlite3.connect(tmp_path / "state.db").execute("SELECT password_hash FROM users").fetchall()

    assert [(user.user_id, user.role) for user in users.list()] == [("alice", "admin"), ("bob", "viewer")]
    assert all(row[0].startswith("scrypt$") for row in stored)
    assert b"alice-password" not in (tmp_path / "state.db").read_bytes()


@pytest.mark.parametrize("name, role, password, expected", [
    ("alice", "admin", "short", "too short"),
    ("9lives", "admin", "long-enough", "not a valid user name"),
    ("a b", "admin", "long-enough", "not a valid user name"),
    ("alice", "root", "long-enough", "not a role"),
    ("alice", "admin", "line\nbreak!", "line break"),
])
def test_users_reject_invalid_input(tmp_path, name, role, password, expected):
    users = Users(tmp_path / "state.db")

    with pytest.raises(UserError) as rejected:
        users.add(name, role, password)

    assert expected in str(rejected.value)
    assert users.count() == 0


def test_users_password_change_and_delete(tmp_path):
    users = Users(tmp_path / "state.db")
    users.add("alice", "admin", "first-password")

    users.set_password("alice", "second-password")
    user, stored = users.credentials("alice")

    assert user.role == "admin"
    assert verify_password("second-password", stored)
    assert not verify_password("first-password", stored)
    users.delete("alice")
    assert users.credentials("alice") is None
    with pytest.raises(UserError, match="not found"):
        users.delete("alice")


def test_backoff_locks_after_free_failures_and_doubles():
    clock = FakeClock()
    counter = FailureCounter(free_failures=3, base_delay=1.0, max_delay=8.0, forget_after=60.0,
                             max_entries=100, clock=clock)

    delays = [counter.record_failure("alice") for _ in range(7)]

    assert delays == [0.0, 0.0, 0.0, 1.0, 2.0, 4.0, 8.0]
    assert counter.retry_after("alice") == 8.0
    assert counter.retry_after("bob") == 0.0


def test_backoff_forgets_after_quiet_period():
    clock = FakeClock()
    counter = FailureCounter(free_failures=1, base_delay=1.0, max_delay=8.0, forget_after=60.0,
                             max_entries=100, clock=clock)
    counter.record_failure("alice")
    counter.record_failure("alice")

    clock.now += 61

    assert counter.retry_after("alice") == 0.0
    assert counter.record_failure("alice") == 0.0, "failures before the quiet period were forgotten"


def test_backoff_memory_is_bounded():
    counter = FailureCounter(free_failures=3, base_delay=1.0, max_delay=8.0, forget_after=60.0,
                             max_entries=50, clock=FakeClock())

    for index in range(1000):
        counter.record_failure(f"user{index}")

    assert len(counter) == 50


def test_login_success_clears_user_but_not_address():
    backoff = LoginBackoff(clock=FakeClock(), user_free_failures=1, address_free_failures=2)
    backoff.record_failure("alice", "10.0.0.1")
    backoff.record_failure("alice", "10.0.0.1")

    locked = backoff.retry_after("alice", "192.0.2.1")
    backoff.record_success("alice")

    assert locked == 1
    assert backoff.retry_after("alice", "192.0.2.1") == 0
    assert backoff.record_failure("bob", "10.0.0.1") == 1, "the address keeps counting after a success"


def test_audit_parameters_drop_secrets():
    request = {"action": "AddNodes", "request_type": "Node", "USER_ID": "alice", "PASSWORD": "cGFzcw==",
               "ssh_password": "hunter2", "nodes": [{"ssh_host": "127.0.0.1"}], "trust_new_host_keys": True,
               "db_password": "x", "note": "y" * 500}

    kept = audit_parameters(request, AddNodesRequest)

    assert kept == {"nodes": "<list of 1 items>", "trust_new_host_keys": True,
                    "note": "<string of 500 characters>"}


def test_audit_parameters_drop_model_secret_fields():
    kept = audit_parameters({"license_code": "abc", "other": 1}, ActivateQingCloudLicenseRequest)

    assert kept == {"other": 1}


def test_audit_log_writes_json_lines(tmp_path):
    audit = AuditLog(tmp_path / "audit.log")

    audit.write(user="alice", source="127.0.0.1", action="ConfigQingCloud", request_type="QingCloud",
                ret_code=0, job_id="j-abcdefgh", parameters={"config": {"keys": ["pek3a"]}})
    audit.write(user=None, source="127.0.0.1", action=["odd"], request_type=None, ret_code=1200, reason="x")
    lines = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]

    assert lines[0]["job_id"] == "j-abcdefgh"
    assert lines[0]["user"] == "alice"
    assert lines[1]["action"] is None
    assert "job_id" not in lines[1]
    assert (tmp_path / "audit.log").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("text", [
    "AB:CD:" + ":".join(["00"] * 30), "sha256:abcd" + "0" * 60, "ABCD" + "0" * 60, " abcd" + "0" * 60 + "\n",
])
def test_fingerprint_forms_normalize(text):
    assert normalize_fingerprint(text) == "abcd" + "0" * 60


@pytest.mark.parametrize("text", ["", "abcd", "g" * 64, "0" * 65, "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"])
def test_bad_fingerprint_is_rejected(text):
    with pytest.raises(FingerprintError, match="SHA-256"):
        normalize_fingerprint(text)


def test_fingerprint_prints_like_openssl():
    assert format_fingerprint("ab" * 32) == ":".join(["AB"] * 32)
