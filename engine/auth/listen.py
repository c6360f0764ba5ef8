"""Whether `serve` may listen on an address, and how: TLS files, --insecure, users.

The rules:

- loopback (127.0.0.0/8, ::1, localhost) needs nothing; while the state
  database has no users, loopback calls act as the local operator;
- any other address needs a TLS certificate and key, or --insecure, which
  sends passwords as readable base64 and is logged as a warning;
- any other address also needs at least one user, because nobody could
  log in otherwise.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from engine.auth.pinning import certificate_file_fingerprint, format_fingerprint
from engine.auth.users import Users
from engine.paths import StateLayout


class ListenError(Exception):
    """serve must not start with these options; the message names what to change."""


@dataclass
class ListenPlan:
    """Listen settings of serve: URL scheme, uvicorn's TLS options, and the lines to log at start."""

    loopback: bool
    tls_cert: Path | None
    tls_key: Path | None
    fingerprint: str | None
    warnings: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert is not None else "http"

    @property
    def uvicorn_options(self) -> dict[str, str]:
        if self.tls_cert is None or self.tls_key is None:
            return {}
        return {"ssl_certfile": str(self.tls_cert), "ssl_keyfile": str(self.tls_key)}


def count_users(state_dir: Path) -> int:
    """Return the users of a state directory without creating anything when it has no database yet."""
    database = StateLayout(state_dir).database
    if not database.exists():
        return 0
    return Users(database).count()


def check_tls_files(cert: Path, key: Path) -> str:
    """Return the certificate's SHA-256 fingerprint; raises ListenError when the pair does not load."""
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(str(cert), str(key))
        return certificate_file_fingerprint(cert)
    except FileNotFoundError as error:
        raise ListenError(f"TLS file {error.filename} not found") from None
    except (ssl.SSLError, OSError, ValueError) as error:
        raise ListenError(
            f"the TLS certificate {cert} and key {key} cannot be loaded ({error}); "
            "give a PEM certificate and its matching unencrypted PEM private key"
        ) from None


def plan_listen(host: str, state_dir: Path, *, loopback: bool, tls_cert: Path | None, tls_key: Path | None,
                insecure: bool) -> ListenPlan:
    """Check the listen options against the rules above; raises ListenError naming the fix."""
    if (tls_cert is None) != (tls_key is None):
        raise ListenError("--tls-cert and --tls-key go together; give both files or neither")

    fingerprint = check_tls_files(tls_cert, tls_key) if tls_cert is not None and tls_key is not None else None
    plan = ListenPlan(loopback=loopback, tls_cert=tls_cert, tls_key=tls_key, fingerprint=fingerprint)

    if not loopback and fingerprint is None:
        if not insecure:
            raise ListenError(
                f"{host} is not a loopback address, so the API needs TLS there: pass --tls-cert FILE --tls-key FILE, "
                "or --insecure to send passwords without encryption"
            )
        plan.warnings.append(
            f"serving on {host} without TLS (--insecure): passwords and every response cross the network "
            "readable by anyone on the path; use --tls-cert and --tls-key instead"
        )

    users = count_users(state_dir)
    if users == 0 and not loopback:
        raise ListenError(
            f"the state directory {state_dir} has no users, so nobody could log in on {host}; add one with "
            f"`qc-installer user add NAME --role admin --state-dir {state_dir}`"
        )
    if users == 0:
        plan.notices.append(
            "no users yet: HTTP calls from this machine act as the local operator without a password; "
            f"`qc-installer user add NAME --role admin --state-dir {state_dir}` makes every call log in"
        )
    if fingerprint is not None:
        plan.notices.append(
            f"TLS certificate SHA-256 fingerprint {format_fingerprint(fingerprint)}; "
            "clients without the CA can pin it with --tls-pin"
        )
    return plan
