"""`qc-installer user add|passwd|del|list`: what an operator types and sees."""

from __future__ import annotations

import argparse
import io
import sqlite3

import pytest

from engine.auth import passwords
from engine.auth.passwords import verify_password
from engine.auth.users import Users
from qc_cli import user as user_cli
from qc_cli.main import build_parser, main


class Terminal(io.StringIO):
    """Standard input that claims to be a terminal, for the prompt path."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    # Each hash stores its own cost, so a cheaper one exercises the same code in less time.
    monkeypatch.setattr(passwords, "SCRYPT_N", 2**10)


def user_command(monkeypatch, capsys, state, *args, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = main(["user", *args, "--state-dir", str(state)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def stored_hash(state, name: str) -> str:
    return Users(state / "state.db").credentials(name)[1]


def test_add_from_stdin_then_list(tmp_path, monkeypatch, capsys):
    state = tmp_path / "state"

    added = user_command(monkeypatch, capsys, state, "add", "alice", "--role", "admin", "--password-stdin",
                         stdin="alice-password\n")
    viewer = user_command(monkeypatch, capsys, state, "add", "bob", "--role", "viewer", "--password-stdin",
                          stdin="bob-password\r\n")
    status, listed, _ = user_command(monkeypatch, capsys, state, "list")

    assert added[0] == 0
    assert "user 'alice' added with role admin" in added[1]
    assert viewer[0] == 0
    assert status == 0
    rows = [line.split()[:2] for line in listed.splitlines()]
    assert rows == [["USER", "ROLE"], ["alice", "admin"], ["bob", "viewer"]]
    assert verify_password("alice-password", stored_hash(state, "alice"))
    assert verify_password("bob-password", stored_hash(state, "bob")), "the line break is not part of the password"
    assert b"alice-password" not in (state / "state.db").read_bytes()
    assert (state.stat().st_mode & 0o777) == 0o700


def test_add_prompts_twice_without_echo(tmp_path, monkeypatch, capsys):
    answers = iter(["typed-password", "typed-password"])
    prompts = []
    monkeypatch.setattr(user_cli.getpass, "getpass", lambda prompt: prompts.append(prompt) or next(answers))
    monkeypatch.setattr("sys.stdin", Terminal())

    status = main(["user", "add", "carol", "--role", "viewer", "--state-dir", str(tmp_path / "state")])

    assert status == 0
    assert prompts == ["New password for carol: ", "Repeat the new password: "]
    assert "typed-password" not in capsys.readouterr().out
    assert verify_password("typed-password", stored_hash(tmp_path / "state", "carol"))


def test_add_with_mismatched_prompts_adds_nobody(tmp_path, monkeypatch, capsys):
    answers = iter(["first-password", "other-password"])
    monkeypatch.setattr(user_cli.getpass, "getpass", lambda prompt: next(answers))
    monkeypatch.setattr("sys.stdin", Terminal())

    status = main(["user", "add", "carol", "--role", "admin", "--state-dir", str(tmp_path / "state")])

    assert status == 1
    assert "the two passwords differ" in capsys.readouterr().err
    assert Users(tmp_path / "state" / "state.db").count() == 0


def test_add_without_terminal_asks_for_password_stdin(tmp_path, monkeypatch, capsys):
    status, _, err = user_command(monkeypatch, capsys, tmp_path / "state", "add", "dave", "--role", "admin")

    assert status == 1
    assert "--password-stdin" in err


@pytest.mark.parametrize("args, stdin, expected", [
    (["add", "eve", "--role", "admin", "--password-stdin"], "short\n", "too short"),
    (["add", "eve", "--role", "admin", "--password-stdin"], "", "standard input has no password"),
    (["add", "1eve", "--role", "admin", "--password-stdin"], "long-enough\n", "not a valid user name"),
    (["passwd", "nobody", "--password-stdin"], "long-enough\n", "user 'nobody' not found"),
    (["del", "nobody"], "", "user 'nobody' not found"),
])
def test_invalid_user_commands_fail_with_message(tmp_path, monkeypatch, capsys, args, stdin, expected):
    status, _, err = user_command(monkeypatch, capsys, tmp_path / "state", *args, stdin=stdin)

    assert status == 1
    assert expected in err


def test_add_twice_is_refused(tmp_path, monkeypatch, capsys):
    state = tmp_path / "state"
    user_command(monkeypatch, capsys, state, "add", "alice", "--role", "admin", "--password-stdin", stdin="first-pass\n")

    status, _, err = user_command(monkeypatch, capsys, state, "add", "alice", "--role", "viewer", "--password-stdin",
                                  stdin="second-pass\n")

    assert status == 1
    assert "already exists" in err
    assert "qc-installer user passwd alice" in err
    assert verify_password("first-pass", stored_hash(state, "alice"))


def test_role_is_required(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit) as usage:
        user_command(monkeypatch, capsys, tmp_path / "state", "add", "alice", "--password-stdin", stdin="x" * 10)

    assert usage.value.code == 2


def test_passwd_replaces_password(tmp_path, monkeypatch, capsys):
    state = tmp_path / "state"
    user_command(monkeypatch, capsys, state, "add", "alice", "--role", "admin", "--password-stdin", stdin="first-pass\n")

    status, out, _ = user_command(monkeypatch, capsys, state, "passwd", "alice", "--password-stdin",
                                  stdin="second-pass\n")

    assert status == 0
    assert "password of user 'alice' changed" in out
    assert verify_password("second-pass", stored_hash(state, "alice"))
    assert not verify_password("first-pass", stored_hash(state, "alice"))


def test_delete_last_admin_warns(tmp_path, monkeypatch, capsys):
    state = tmp_path / "state"
    user_command(monkeypatch, capsys, state, "add", "alice", "--role", "admin", "--password-stdin", stdin="alice-pass\n")
    user_command(monkeypatch, capsys, state, "add", "bob", "--role", "viewer", "--password-stdin", stdin="bob-passwd\n")

    status, out, err = user_command(monkeypatch, capsys, state, "del", "alice")
    rows = sqlite3.connect(state / "state.db").execute("SELECT user_id FROM users").fetchall()

    assert status == 0
    assert "user 'alice' deleted" in out
    assert "no admin user is left" in err
    assert rows == [("bob",)]


def test_list_without_users_says_how_to_add(tmp_path, monkeypatch, capsys):
    status, out, _ = user_command(monkeypatch, capsys, tmp_path / "state", "list")

    assert status == 0
    assert "qc-installer user add NAME --role admin" in out


def login_args(**values) -> argparse.Namespace:
    return argparse.Namespace(**values)


def test_login_password_prefers_stdin_then_environment(monkeypatch):
    monkeypatch.setenv("QCI_PASSWORD", "from-environment")
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin\n"))

    from_stdin = user_cli.login_password(login_args(password_stdin=True), "alice")
    from_environment = user_cli.login_password(login_args(), "alice")

    assert from_stdin == "from-stdin"
    assert from_environment == "from-environment"


def test_login_password_prompts_on_terminal(monkeypatch):
    monkeypatch.delenv("QCI_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr(user_cli.getpass, "getpass", lambda prompt: f"typed after {prompt!r}")

    password = user_cli.login_password(login_args(), "alice")

    assert password == "typed after 'Password of alice: '"


def test_login_options_parse_for_call_and_wizard():
    parser = build_parser()

    call = parser.parse_args(["call", "--server", "https://127.0.0.2:8750", "--user", "alice", "--password-stdin",
                              "--tls-pin", "AB" * 32, "DescribeQingCloud"])
    wizard = parser.parse_args(["--server", "https://127.0.0.2:8750", "--user", "bob", "--tls-ca", "ca.pem"])

    assert (call.login_user, call.password_stdin, call.tls_pin) == ("alice", True, "ab" * 32)
    assert (wizard.login_user, str(wizard.tls_ca)) == ("bob", "ca.pem")


def test_bad_pin_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as usage:
        build_parser().parse_args(["call", "--tls-pin", "12:34", "DescribeQingCloud"])

    assert usage.value.code == 2
    assert "not a SHA-256 fingerprint" in capsys.readouterr().err
