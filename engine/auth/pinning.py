"""Trusting an HTTPS server by its certificate: a CA file, or a pinned SHA-256 fingerprint.

A pinned fingerprint replaces the usual chain and host name checks: the
client accepts exactly the certificate whose DER encoding has that SHA-256
digest, which suits the self-signed certificate of an installer laptop.
The check runs inside the TLS handshake (through the context's
`sslobject_class` and `sslsocket_class`), so no request byte, and no
password, reaches a server that presents another certificate.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from pathlib import Path

_HEX_DIGITS = re.compile(r"^[0-9a-f]{64}$")


class FingerprintError(ValueError):
    """A fingerprint that is not 32 bytes of hexadecimal."""


def normalize_fingerprint(text: str) -> str:
    """Return the fingerprint as 64 lowercase hex digits; accepts colons and a 'sha256:' prefix."""
    cleaned = text.strip().lower()
    if cleaned.startswith("sha256:"):
        cleaned = cleaned[len("sha256:"):]
    cleaned = cleaned.replace(":", "")
    if not _HEX_DIGITS.match(cleaned):
        raise FingerprintError(
            f"'{text}' is not a SHA-256 fingerprint; expected 64 hex digits, colons allowed "
            "(as `openssl x509 -noout -fingerprint -sha256` prints it)"
        )
    return cleaned


def format_fingerprint(digest_hex: str) -> str:
    """Return the fingerprint in the colon-separated uppercase form OpenSSL prints."""
    upper = digest_hex.upper()
    return ":".join(upper[index:index + 2] for index in range(0, len(upper), 2))


def certificate_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def certificate_file_fingerprint(path: Path) -> str:
    """Return the SHA-256 fingerprint of the first certificate of a PEM file."""
    text = Path(path).read_text(encoding="ascii")
    begin = text.index("-----BEGIN CERTIFICATE-----")
    end = text.index("-----END CERTIFICATE-----", begin) + len("-----END CERTIFICATE-----")
    return certificate_fingerprint(ssl.PEM_cert_to_DER_cert(text[begin:end]))


class _PinnedContext(ssl.SSLContext):
    pinned_sha256 = ""


def _check_pin(connection: ssl.SSLObject | ssl.SSLSocket) -> None:
    der = connection.getpeercert(binary_form=True)
    seen = certificate_fingerprint(der) if der else "none"
    expected = connection.context.pinned_sha256
    if seen != expected:
        raise ssl.SSLCertVerificationError(
            f"the server's certificate has SHA-256 fingerprint {format_fingerprint(seen)}, "
            f"not the pinned {format_fingerprint(expected)}"
        )


class _PinnedSSLObject(ssl.SSLObject):
    """Used by asyncio and anyio streams (wrap_bio)."""

    def do_handshake(self) -> None:
        super().do_handshake()
        _check_pin(self)


class _PinnedSSLSocket(ssl.SSLSocket):
    """Used by blocking sockets (wrap_socket), e.g. a synchronous httpx client."""

    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        _check_pin(self)


def client_ssl_context(*, ca_file: Path | None = None, pinned_sha256: str | None = None) -> ssl.SSLContext:
    """Build the client's TLS context.

    With ca_file the server's chain must lead to that CA and name the host.
    With pinned_sha256 the certificate must have that fingerprint (both may
    be given; then both must hold). With neither, the system's CAs decide.
    """
    if pinned_sha256 is None:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)

    context = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.pinned_sha256 = normalize_fingerprint(pinned_sha256)
    context.sslobject_class = _PinnedSSLObject
    context.sslsocket_class = _PinnedSSLSocket
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
