"""Users and login for the HTTP API.

- `passwords`: salted scrypt hashes and constant-time comparison.
- `users`: the users table of the state database (name, role, hash).
- `backoff`: refusing a user or a source address for a while after failed logins.
- `audit`: audit.log, one JSON line per changing call or failed password check.
- `gate`: checking a request's USER_ID and PASSWORD and what the caller's role allows.
- `pinning`: trusting a server certificate by its SHA-256 fingerprint (client side).

In-process calls (the TUI's LocalClient, `qc-installer call` without --server)
never pass through here: they act as the local operator.
"""
