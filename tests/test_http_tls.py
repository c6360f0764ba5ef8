"""`serve` over HTTPS and the clients that trust it: by CA file, by pinned fingerprint, or not at all.

The server listens on 127.0.0.2 with a certificate for that address, signed
by a throwaway CA that the tests make with `cryptography`.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import ipaddress
import json
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from engine.auth.pinning import client_ssl_context, format_fingerprint
from engine.client import HttpClient
from tests.test_http_serve import ServeProcess, add_user

HOST = "127.0.0.2"
PASSWORD = "tls-admin-password"


@dataclass
class Certificates:
    ca: Path
    cert: Path
    key: Path
    fingerprint: str


def make_certificates(directory: Path) -> Certificates:
    """A CA and a server certificate for HOST signed by it, as PEM files."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test installer CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .issuer_name(ca_name).public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    directory.mkdir(parents=True, exist_ok=True)
    paths = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key",
                         hashlib.sha256(server_cert.public_bytes(serialization.Encoding.DER)).hexdigest())
    paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    return paths


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("tls")
    certificates = make_certificates(base / "certs")
    state = base / "state"
    add_user(state, "admin", "admin", PASSWORD)
    server = ServeProcess(state, host=HOST, scheme="https", verify=ssl.create_default_context(cafile=certificates.ca),
                          extra_args=["--tls-cert", str(certificates.cert), "--tls-key", str(certificates.key)])
    server.start()
    yield server, certificates
    server.stop()


def call(client: HttpClient, action: str, **params) -> dict:
    async def send() -> dict:
        try:
            return await client.call(action, params)
        finally:
            await client.close()

    return asyncio.run(send())


def config_calls_audited(server: ServeProcess) -> int:
    return sum(1 for line in server.audit_lines() if line["action"] == "ConfigQingCloud")


def test_client_trusts_server_by_ca_file(tls_server):
    server, certificates = tls_server

    answer = call(HttpClient(server.url, user_id="admin", password=PASSWORD, ca_file=certificates.ca),
                  "DescribeQingCloud")

    assert answer["ret_code"] == 0


def test_client_trusts_server_by_pinned_fingerprint(tls_server):
    server, certificates = tls_server
    pin = format_fingerprint(certificates.fingerprint)

    answer = call(HttpClient(server.url, user_id="admin", password=PASSWORD, pinned_sha256=pin), "DescribeQingCloud")

    assert answer["ret_code"] == 0


def test_client_refuses_untrusted_certificate(tls_server):
    server, _ = tls_server
    before = config_calls_audited(server)

    with pytest.raises(httpx.ConnectError) as refused:
        call(HttpClient(server.url, user_id="admin", password=PASSWORD), "ConfigQingCloud", config={})

    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
    assert config_calls_audited(server) == before, "the request reached the server"


def test_client_refuses_certificate_with_other_fingerprint(tls_server):
    server, certificates = tls_server
    other = "00" * 32
    before = config_calls_audited(server)

    with pytest.raises(httpx.ConnectError) as refused:
        call(HttpClient(server.url, user_id="admin", password=PASSWORD, pinned_sha256=other),
             "ConfigQingCloud", config={})

    assert format_fingerprint(certificates.fingerprint) in str(refused.value)
    assert format_fingerprint(other) in str(refused.value)
    assert config_calls_audited(server) == before, "the request reached the server"


def test_serve_prints_certificate_fingerprint(tls_server):
    server, certificates = tls_server

    printed = server.stderr_path.read_text()

    assert format_fingerprint(certificates.fingerprint) in printed
    assert f"https://{HOST}:{server.port}/" in printed


def run_call(server: ServeProcess, *args: str, password: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qc_cli.main", "call", "--server", server.url, "--user", "admin",
         "--password-stdin", *args, "DescribeQingCloud"],
        input=password + "\n", capture_output=True, text=True, timeout=60,
    )


def test_call_command_logs_in_over_pinned_tls(tls_server):
    server, certificates = tls_server

    result = run_call(server, "--tls-pin", certificates.fingerprint, password=PASSWORD)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ret_code"] == 0


def test_call_command_reports_wrong_pin_and_wrong_password(tls_server):
    server, certificates = tls_server

    wrong_pin = run_call(server, "--tls-pin", "ab" * 32, password=PASSWORD)
    wrong_password = run_call(server, "--tls-ca", str(certificates.ca), password="not-the-password")

    assert wrong_pin.returncode == 1
    assert "cannot reach" in wrong_pin.stderr
    assert "pinned" in wrong_pin.stderr
    assert wrong_password.returncode == 1
    assert json.loads(wrong_password.stdout)["ret_code"] == 1200


def test_pinned_context_also_guards_blocking_clients(tls_server):
    server, certificates = tls_server

    with httpx.Client(verify=client_ssl_context(pinned_sha256="cd" * 32)) as wrong:
        with pytest.raises(httpx.ConnectError) as refused:
            wrong.get(f"{server.url}/openapi.json")
    with httpx.Client(verify=client_ssl_context(pinned_sha256=certificates.fingerprint)) as right:
        answer = right.get(f"{server.url}/openapi.json")

    assert "not the pinned" in str(refused.value)
    assert answer.status_code == 200
