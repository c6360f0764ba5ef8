"""`qc-installer license keygen` and `issue`, and which vendor key serve and the wizard trust."""

from __future__ import annotations

import argparse
import io
import os
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.license import crypto
from engine.license.codes import read_license
from engine.license.trust import lab_vendor_key_path, trust_vendor_key_file, trusted_vendor_key
from qc_cli.license import trust_license_key
from qc_cli.main import main

REQUEST = {
    "action": "GenerateQingCloudCode", "request_type": "QingCloud", "description": "pek3 lab",
    "start_time": "2030-01-01 00:00:00", "end_time": "2031-01-01 00:00:00", "applicant": "admin@yunify.com",
    "hypernode_count": 8,
}


@pytest.fixture
def vendor_key(tmp_path: Path, capsys) -> Path:
    key_path = tmp_path / "vendor" / "KEY.pem"
    assert main(["license", "keygen", "--out", str(key_path)]) == 0
    capsys.readouterr()
    return key_path


@pytest.fixture
async def application_code(tmp_path: Path, vendor_key: Path) -> str:
    engine = Engine(tmp_path / "state")
    trust_vendor_key_file(engine, vendor_key.with_name("KEY.pub.pem"))
    try:
        response = await engine.call(REQUEST)
    finally:
        await engine.stop()
    return response["application_code"]


def test_keygen_writes_both_files(tmp_path: Path, capsys):
    key_path = tmp_path / "KEY.pem"

    status = main(["license", "keygen", "--out", str(key_path)])
    output = capsys.readouterr().out

    public = crypto.load_vendor_public_key(tmp_path / "KEY.pub.pem")
    assert status == 0
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert f"key id: {public.fingerprint}" in output
    assert "KEY.pub.pem" in output
    assert "BEGIN PRIVATE KEY" not in output


def test_keygen_refuses_existing_file(vendor_key: Path, capsys):
    before = vendor_key.read_bytes()

    status = main(["license", "keygen", "--out", str(vendor_key)])

    assert status == 1
    assert "exists" in capsys.readouterr().err
    assert vendor_key.read_bytes() == before


def issue(vendor_key: Path, code_argument: str, *options: str) -> int:
    return main(["license", "issue", "--vendor-key", str(vendor_key), *options, code_argument])


def test_issue_prints_verifiable_license(vendor_key: Path, application_code: str, capsys):
    status = issue(vendor_key, application_code)
    captured = capsys.readouterr()

    grant, _payload, _signature = read_license(crypto.load_vendor_public_key(vendor_key.with_name("KEY.pub.pem")),
                                               captured.out)
    assert status == 0
    assert captured.out.count("\n") == 1, "standard output holds the license code alone"
    assert grant.hypernode_count == 8
    assert grant.start_time == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert grant.end_time == datetime(2031, 1, 1, tzinfo=timezone.utc)
    assert f"license {grant.license_id}: 8 hyper node(s)" in captured.err
    assert "application from admin@yunify.com" in captured.err


def test_issue_reads_stdin_and_file(vendor_key: Path, application_code: str, tmp_path: Path, monkeypatch, capsys):
    code_file = tmp_path / "application.txt"
    code_file.write_text("\n".join(application_code[i:i + 60] for i in range(0, len(application_code), 60)) + "\n")

    from_file = issue(vendor_key, f"@{code_file}")
    file_output = capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO(application_code + "\n"))
    from_stdin = issue(vendor_key, "-")
    stdin_output = capsys.readouterr().out

    public = crypto.load_vendor_public_key(vendor_key.with_name("KEY.pub.pem"))
    assert from_file == 0
    assert from_stdin == 0
    assert read_license(public, file_output)[0].hypernode_count == 8
    assert read_license(public, stdin_output)[0].hypernode_count == 8


def test_issue_with_days_end_and_count(vendor_key: Path, application_code: str, capsys):
    public = crypto.load_vendor_public_key(vendor_key.with_name("KEY.pub.pem"))

    issue(vendor_key, application_code, "--days", "90", "--hypernode-count", "3")
    by_days, _, _ = read_license(public, capsys.readouterr().out)
    issue(vendor_key, application_code, "--end", "2030-06-30 12:00:00")
    by_end, _, _ = read_license(public, capsys.readouterr().out)

    assert by_days.end_time == datetime(2030, 4, 1, tzinfo=timezone.utc)
    assert by_days.hypernode_count == 3
    assert by_end.end_time == datetime(2030, 6, 30, 12, tzinfo=timezone.utc)


def test_issue_rejects_end_before_start(vendor_key: Path, application_code: str, capsys):
    status = issue(vendor_key, application_code, "--end", "2029-06-30 12:00:00")

    assert status == 1
    assert "is not after start_time" in capsys.readouterr().err


def test_issue_rejects_bad_end_format(vendor_key: Path, application_code: str, capsys):
    with pytest.raises(SystemExit) as exited:
        issue(vendor_key, application_code, "--end", "2030-06-30")

    assert exited.value.code == 2
    assert "is not a time in the format" in capsys.readouterr().err


def test_issue_with_another_vendor_key(tmp_path: Path, application_code: str, capsys):
    other = tmp_path / "other" / "KEY.pem"
    main(["license", "keygen", "--out", str(other)])
    capsys.readouterr()

    status = issue(other, application_code)
    error = capsys.readouterr().err

    assert status == 1
    assert "cannot be decrypted" in error
    assert "encrypted to vendor key" in error


@pytest.mark.parametrize(("code", "expected"), [
    ("not base64!", "not valid base64"),
    ("QUJDREVG", "not sealed by qingcloud-installer"),
])
def test_issue_rejects_garbage(vendor_key: Path, code: str, expected: str, capsys):
    status = issue(vendor_key, code)

    assert status == 1
    assert expected in capsys.readouterr().err


def test_issue_with_public_key_file_named(vendor_key: Path, application_code: str, capsys):
    status = issue(vendor_key.with_name("KEY.pub.pem"), application_code)

    assert status == 1
    assert "is not an unencrypted private key" in capsys.readouterr().err


def test_issue_with_missing_code_file(vendor_key: Path, tmp_path: Path, capsys):
    status = issue(vendor_key, f"@{tmp_path / 'missing.txt'}")

    assert status == 1
    assert "missing.txt cannot be read" in capsys.readouterr().err


def test_serve_and_wizard_accept_license_pubkey():
    for argv in (["--license-pubkey", "/keys/KEY.pub.pem"], ["serve", "--license-pubkey", "/keys/KEY.pub.pem"]):
        from qc_cli.main import build_parser

        args = build_parser().parse_args(argv)

        assert args.license_pubkey == Path("/keys/KEY.pub.pem"), argv


async def test_trust_from_option_environment_and_lab(tmp_path: Path, vendor_key: Path, monkeypatch):
    public_path = vendor_key.with_name("KEY.pub.pem")
    fingerprint = crypto.load_vendor_public_key(public_path).fingerprint
    monkeypatch.delenv("QCI_LICENSE_PUBKEY", raising=False)

    named = Engine(tmp_path / "named")
    trust_license_key(named, argparse.Namespace(license_pubkey=public_path), lab=False)
    monkeypatch.setenv("QCI_LICENSE_PUBKEY", str(public_path))
    from_environment = Engine(tmp_path / "environment")
    trust_license_key(from_environment, argparse.Namespace(), lab=False)
    monkeypatch.delenv("QCI_LICENSE_PUBKEY")
    lab = Engine(tmp_path / "lab")
    trust_license_key(lab, argparse.Namespace(), lab=True)
    untrusting = Engine(tmp_path / "none")
    trust_license_key(untrusting, argparse.Namespace(), lab=False)

    lab_key = lab_vendor_key_path(tmp_path / "lab")
    assert trusted_vendor_key(named).public_key.fingerprint == fingerprint
    assert trusted_vendor_key(from_environment).public_key.fingerprint == fingerprint
    assert trusted_vendor_key(lab).lab_private_key == lab_key
    assert stat.S_IMODE(os.stat(lab_key).st_mode) == 0o600
    assert trusted_vendor_key(lab).public_key.fingerprint == crypto.load_vendor_keys(lab_key).public.fingerprint
    assert trusted_vendor_key(untrusting) is None
    for engine in (named, from_environment, lab, untrusting):
        await engine.stop()


async def test_lab_keeps_its_vendor_key(tmp_path: Path):
    first = Engine(tmp_path / "lab")
    trust_license_key(first, argparse.Namespace(), lab=True)
    first_fingerprint = trusted_vendor_key(first).public_key.fingerprint
    await first.stop()
    second = Engine(tmp_path / "lab")
    trust_license_key(second, argparse.Namespace(), lab=True)
    second_fingerprint = trusted_vendor_key(second).public_key.fingerprint
    await second.stop()

    assert first_fingerprint == second_fingerprint


async def test_bad_pubkey_file_exits_with_message(tmp_path: Path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n")
    engine = Engine(tmp_path / "state")

    with pytest.raises(SystemExit) as exited:
        trust_license_key(engine, argparse.Namespace(license_pubkey=bad), lab=False)

    await engine.stop()
    assert "--license-pubkey" in str(exited.value.code)
    assert "contains no PEM block" in str(exited.value.code)
