"""Who is calling over HTTP, and whether that caller may run the action.

A request names its user in USER_ID and carries PASSWORD, the base64 of
the password. Missing, malformed and wrong credentials all get the same
1200 response, so a client cannot tell which part was wrong or whether the
user exists (an unknown user costs a decoy hash check, taking as long as
a real one). Failed logins back off per user name and per source address.

A client sends its password with every call, and the wizard polls several
times a second, so a successful check is remembered for VERIFIED_TTL
seconds as an HMAC of the password under a key that lives only in this
process; a changed password hash in the database voids it at once.

With no users in the database, a server listening on loopback lets
requests from loopback through as the local operator, with the admin
role, so a fresh installation works before anyone adds a user. The first
user added switches that off at the next request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from engine.auth.audit import AuditLog
from engine.auth.backoff import LoginBackoff
from engine.auth.passwords import MAX_PASSWORD_BYTES, spend_verification_time, verify_password
from engine.auth.users import Users, is_valid_user_name
from engine.errors import AUTH_FAILED, PERMISSION_DENIED, ApiError

log = logging.getLogger("engine.auth")

ADMIN = "admin"

AUTH_FAILED_MESSAGE = (
    "authentication failed: send USER_ID and PASSWORD (the base64 of the password) of a user of this installer"
)

#: Password checks run at once; each takes 32 MiB with the scrypt cost of engine.auth.passwords.
MAX_CONCURRENT_CHECKS = 2
#: Seconds a successful password check is remembered.
VERIFIED_TTL = 600.0
#: Users whose successful checks are remembered at once.
MAX_VERIFIED = 1000


class LoginFailed(ApiError):
    """A 1200 error; retry_after is set when the caller is locked out for a while."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(AUTH_FAILED, message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Caller:
    """The sender of one HTTP request."""

    user_id: str | None
    role: str
    source: str

    @property
    def owner(self) -> str:
        """Return the owner recorded on the jobs this caller starts."""
        return self.user_id if self.user_id is not None else f"http:{self.source}"


def decode_password(value: Any) -> str | None:
    """Return the password PASSWORD encodes, or None when it is not base64 of UTF-8 text."""
    if not isinstance(value, str) or not value or len(value) > 2 * MAX_PASSWORD_BYTES:
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


class VerifiedLogins:
    """Recently verified (user, password) pairs, kept as HMACs under a per-process key."""

    def __init__(self, *, ttl: float = VERIFIED_TTL, max_entries: int = MAX_VERIFIED) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[str, tuple[bytes, str, float]] = OrderedDict()

    def _tag(self, user_id: str, password: str) -> bytes:
        message = user_id.encode("utf-8") + b"\x00" + password.encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def matches(self, user_id: str, password: str, stored_hash: str) -> bool:
        entry = self._entries.get(user_id)
        if entry is None:
            return False
        tag, verified_hash, expires = entry
        if time.monotonic() >= expires or verified_hash != stored_hash:
            del self._entries[user_id]
            return False
        return hmac.compare_digest(tag, self._tag(user_id, password))

    def remember(self, user_id: str, password: str, stored_hash: str) -> None:
        self._entries[user_id] = (self._tag(user_id, password), stored_hash, time.monotonic() + self.ttl)
        self._entries.move_to_end(user_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class Gate:
    """Checks credentials of HTTP requests against the users table."""

    def __init__(self, users: Users, audit: AuditLog, *, local_operator: bool,
                 backoff: LoginBackoff | None = None) -> None:
        self.users = users
        self.audit = audit
        self.local_operator = local_operator
        self.backoff = backoff or LoginBackoff()
        self.verified = VerifiedLogins()
        self._checks = asyncio.Semaphore(MAX_CONCURRENT_CHECKS)

    async def identify(self, request: dict[str, Any], source: str, *, local_request: bool) -> Caller:
        """Return the caller of `request`, or raise LoginFailed.

        local_request is True when the request came from loopback and named
        a loopback host, which lets it act as the local operator while the
        database has no users.
        """
        if self.local_operator and local_request and self.users.count() == 0:
            return Caller(user_id=None, role=ADMIN, source=source)

        claimed = request.get("USER_ID")
        user_key = claimed if is_valid_user_name(claimed) else None

        wait = self.backoff.retry_after(user_key, source)
        if wait > 0:
            raise LoginFailed(f"authentication failed: too many failed attempts; try again in {wait} s", wait)

        found = self.users.credentials(user_key) if user_key is not None else None
        known_user = found[0].user_id if found is not None else None
        password = decode_password(request.get("PASSWORD"))
        if password is None:
            raise self._login_failed(user_key, known_user, source, request)

        if found is not None and self.verified.matches(found[0].user_id, password, found[1]):
            return Caller(user_id=found[0].user_id, role=found[0].role, source=source)

        async with self._checks:
            if found is None:
                await asyncio.to_thread(spend_verification_time, password)
                raise self._login_failed(user_key, known_user, source, request)
            matched = await asyncio.to_thread(verify_password, password, found[1])
        if not matched:
            raise self._login_failed(user_key, known_user, source, request)

        user, stored_hash = found
        self.verified.remember(user.user_id, password, stored_hash)
        self.backoff.record_success(user.user_id)
        return Caller(user_id=user.user_id, role=user.role, source=source)

    def _login_failed(self, user_key: str | None, known_user: str | None, source: str,
                      request: dict[str, Any]) -> LoginFailed:
        """Count a failed login, log and audit it, and return the error to raise.

        Only the name of an existing user is written: an unknown USER_ID may
        be a password typed into the wrong field.
        """
        lockout = self.backoff.record_failure(user_key, source)
        shown_user = known_user if known_user is not None else "(unknown or missing)"
        reason = "wrong or missing credentials"
        if lockout:
            reason += f"; locked out for {lockout} s"
            log.warning("login failed for user %s from %s; further logins rejected for %d s",
                        shown_user, source, lockout)
        else:
            log.warning("login failed for user %s from %s", shown_user, source)
        self.audit.write(user=known_user, source=source, action=request.get("action"),
                         request_type=request.get("request_type"), ret_code=AUTH_FAILED, reason=reason)
        return LoginFailed(AUTH_FAILED_MESSAGE)


def authorize(caller: Caller, action: str, changes_state: bool) -> None:
    """Raise a 1400 ApiError when the caller's role may not run an action that changes state."""
    if changes_state and caller.role != ADMIN:
        raise ApiError(
            PERMISSION_DENIED,
            f"permission denied: {action} changes state and needs role admin; "
            f"user '{caller.user_id}' has role {caller.role}, which may only run actions that change nothing",
        )
