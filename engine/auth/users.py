"""The installer's users: name, role and password hash in the `users` table of the state database.

Every operation opens its own short connection, so `qc-installer user ...`
can change users while `serve` runs on the same database, and the server
sees the change at the next request.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.auth.passwords import PasswordPolicyError, check_new_password, hash_password
from engine.store import utc_now

ROLES = ("admin", "viewer")

USER_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9._@-]{0,63}$")
USER_NAME_RULE = "1 to 64 characters: letters, digits, '.', '_', '@' and '-', starting with a letter"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    password_hash TEXT NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
"""


class UserError(Exception):
    """A user operation that cannot be carried out; the message names the user and the fix."""


@dataclass(frozen=True)
class User:
    """A user as listed: no password hash."""

    user_id: str
    role: str
    create_time: str
    update_time: str


def is_valid_user_name(name: object) -> bool:
    return isinstance(name, str) and USER_NAME_PATTERN.match(name) is not None


def check_user_name(name: str) -> None:
    if not is_valid_user_name(name):
        raise UserError(f"'{name}' is not a valid user name; use {USER_NAME_RULE}")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"'{role}' is not a role; use one of {', '.join(ROLES)}")


class Users:
    """The users table of one state database."""

    def __init__(self, database: Path) -> None:
        self.database = Path(database)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.database, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=5000")
            yield db
        finally:
            db.close()

    def count(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM users").fetchone()[0]

    def list(self) -> list[User]:
        with self._connect() as db:
            rows = db.execute("SELECT user_id, role, create_time, update_time FROM users ORDER BY user_id").fetchall()
        return [User(*row) for row in rows]

    def get(self, user_id: str) -> User | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT user_id, role, create_time, update_time FROM users WHERE user_id = ?", (user_id,)
            ).fetchone()
        return User(*row) if row else None

    def credentials(self, user_id: str) -> tuple[User, str] | None:
        """Return the user and its stored password hash, or None for an unknown user."""
        with self._connect() as db:
            row = db.execute(
                "SELECT user_id, role, create_time, update_time, password_hash FROM users WHERE user_id = ?",
                (user_id,),
            ).fetchone()
        if row is None:
            return None
        return User(*row[:4]), row[4]

    def add(self, user_id: str, role: str, password: str) -> User:
        """Add a user; raises UserError for a taken or invalid name, an unknown role or a weak password."""
        check_user_name(user_id)
        check_role(role)
        self._check_password(password)
        password_hash = hash_password(password)

        now = utc_now()
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO users (user_id, role, password_hash, create_time, update_time) VALUES (?, ?, ?, ?, ?)",
                    (user_id, role, password_hash, now, now),
                )
        except sqlite3.IntegrityError:
            raise UserError(
                f"user '{user_id}' already exists; change its password with `qc-installer user passwd {user_id}`"
            ) from None
        return User(user_id, role, now, now)

    def set_password(self, user_id: str, password: str) -> None:
        """Replace a user's password; raises UserError for an unknown user or a weak password."""
        self._check_password(password)
        password_hash = hash_password(password)

        with self._connect() as db:
            changed = db.execute(
                "UPDATE users SET password_hash = ?, update_time = ? WHERE user_id = ?",
                (password_hash, utc_now(), user_id),
            ).rowcount
        if not changed:
            raise UserError(self._not_found(user_id))

    def delete(self, user_id: str) -> None:
        with self._connect() as db:
            removed = db.execute("DELETE FROM users WHERE user_id = ?", (user_id,)).rowcount
        if not removed:
            raise UserError(self._not_found(user_id))

    def admin_count(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM users WHERE role = 'admin'").fetchone()[0]

    @staticmethod
    def _check_password(password: str) -> None:
        try:
            check_new_password(password)
        except PasswordPolicyError as error:
            raise UserError(str(error)) from None

    @staticmethod
    def _not_found(user_id: str) -> str:
        return f"user '{user_id}' not found; `qc-installer user list` shows the users"
