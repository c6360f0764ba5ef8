"""Password hashes of the installer's users: salted scrypt and a constant-time comparison.

A stored hash is one text line, `scrypt$<n>$<r>$<p>$<salt>$<key>` with salt
and key in base64. The cost parameters travel with each hash, so raising
them later leaves existing hashes valid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from functools import lru_cache

# N=2**15, r=8 needs 32 MiB per hash (128 * r * N bytes) and took about 0.1 s on
# a 2-CPU build machine; p=1 keeps it at one pass.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32

# Stored parameters are bounded so that a tampered database cannot make one
# login allocate gigabytes: at most 256 MiB for scrypt's table of 128 * r * N bytes.
_MAX_TABLE_BYTES = 256 * 1024 * 1024
_MAX_R = 32
_MAX_P = 16

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 1024

SCHEME = "scrypt"


class PasswordPolicyError(ValueError):
    """A new password that the installer does not accept; the message says why."""


def check_new_password(password: str) -> None:
    """Raise PasswordPolicyError unless `password` is acceptable for a user."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise PasswordPolicyError(f"the password is too short; use at least {MIN_PASSWORD_CHARS} characters")
    if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
        raise PasswordPolicyError(f"the password is too long; use at most {MAX_PASSWORD_BYTES} bytes")
    if any(char in password for char in "\r\n\x00"):
        raise PasswordPolicyError("the password contains a line break or NUL character")


def _derive(password: bytes, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # OpenSSL counts the table and the p blocks against maxmem, so leave room for both.
    memory_limit = 2 * 128 * r * n + 128 * r * p
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=memory_limit, dklen=length)


def hash_password(password: str) -> str:
    """Return the storable hash of `password` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password.encode("utf-8"), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_BYTES)
    encoded_salt = base64.b64encode(salt).decode("ascii")
    encoded_key = base64.b64encode(key).decode("ascii")
    return f"{SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encoded_salt}${encoded_key}"


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        return None
    power_of_two = n > 1 and n & (n - 1) == 0
    if not power_of_two or not 0 < r <= _MAX_R or not 0 < p <= _MAX_P or 128 * r * n > _MAX_TABLE_BYTES:
        return None
    if not salt or not key:
        return None
    return n, r, p, salt, key


def verify_password(password: str, stored: str) -> bool:
    """Return whether `password` matches the stored hash; an unreadable hash matches nothing."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    n, r, p, salt, key = parsed

    candidate = _derive(password.encode("utf-8", "surrogatepass"), salt, n, r, p, len(key))
    return hmac.compare_digest(candidate, key)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def spend_verification_time(password: str) -> None:
    """Run a verification that always fails, so an unknown user costs as much time as a known one."""
    verify_password(password, _decoy_hash())
