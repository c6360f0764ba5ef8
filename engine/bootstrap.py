"""One-time password bootstrap: log in with a password once to install the installer's public key.

After the bootstrap the engine logs in with its key only, like on any other node. The password
lives only in the request object for the duration of the call: it is never stored, logged or
put in a message. The login checks the host key strictly against the keys the operator just
confirmed, so the password never goes to a server that cannot prove it has one of them.
"""

from __future__ import annotations

import asyncio
import logging
import random

import asyncssh

from engine.ssh import SshError, SshTarget, quote_command
from engine.ssh_handshake import error_reason
from engine.ssh_keys import host_key_algorithms, parse_public_key

log = logging.getLogger("engine.bootstrap")

# $1 is the public key line. The grep looks for the key's base64 body only, so the key is not
# added again when it is already there with another comment or with options in front.
# ~/.ssh and the file get the modes sshd's StrictModes wants only when this script creates them.
_INSTALL_KEY_SCRIPT = """set -e
key=$1
body=$(printf '%s\\n' "$key" | awk '{print $2}')
file="$HOME/.ssh/authorized_keys"
if [ ! -d "$HOME/.ssh" ]; then mkdir -m 700 "$HOME/.ssh"; fi
if [ ! -f "$file" ]; then (umask 077 && : > "$file"); fi
if grep -qF "$body" "$file"; then exit 0; fi
if [ -s "$file" ] && [ -n "$(tail -c 1 "$file")" ]; then echo >> "$file"; fi
printf '%s\\n' "$key" >> "$file"
"""

_COMMAND_TIMEOUT = 30.0
_HANDSHAKE_RETRIES = 3
_RETRY_BASE_DELAY = 0.25


async def install_public_key(
    target: SshTarget,
    password: str,
    public_key: str,
    *,
    connect_timeout: float = 15.0,
    login_timeout: float = 30.0,
) -> None:
    """Log in to a node with a password and append public_key to the user's ~/.ssh/authorized_keys.

    target.host_keys must hold the confirmed host keys. Raises SshError naming the node and the
    fix; no message contains the password.
    """
    where = target.describe()
    trusted = [parse_public_key(line) for line in target.host_keys]
    if not trusted:
        raise SshError(f"No host key is trusted for the {where} yet, so no password is sent to it.",
                       kind="host_key_unknown", node_id=target.node_id)

    conn = await _login(target, password, trusted, connect_timeout, login_timeout)
    async with conn:
        try:
            result = await conn.run(
                quote_command(["sh", "-c", _INSTALL_KEY_SCRIPT, "sh", public_key]), timeout=_COMMAND_TIMEOUT
            )
        except asyncssh.TimeoutError:
            raise SshError(
                f"Installing the installer's public key on the {where} timed out after {_COMMAND_TIMEOUT:g} s, "
                "so check that the node's disk and shell respond.",
                kind="timeout",
                node_id=target.node_id,
            ) from None
        except (asyncssh.Error, OSError) as exc:
            raise SshError(
                f"The connection to the {where} was lost while installing the installer's public key "
                f"({error_reason(exc)}), so check the node and add it again.",
                kind="lost",
                node_id=target.node_id,
            ) from None

    if result.exit_status != 0:
        output = (str(result.stderr or "") + str(result.stdout or "")).strip().splitlines()
        status = "connection lost" if result.exit_status is None else f"exit status {result.exit_status}"
        raise SshError(
            f"Installing the installer's public key in ~/.ssh/authorized_keys of user {target.user} on the "
            f"{where} failed ({status}: {output[-1] if output else 'no output'}), "
            "so check that the user's home directory is writable.",
            kind="auth",
            node_id=target.node_id,
        )
    log.info("node %s: installer's public key installed for user %s on %s", target.node_id, target.user, where)


async def _login(
    target: SshTarget,
    password: str,
    trusted: list[asyncssh.SSHKey],
    connect_timeout: float,
    login_timeout: float,
) -> asyncssh.SSHClientConnection:
    """Open a password-authenticated connection, retrying handshakes that sshd dropped (MaxStartups)."""
    where = target.describe()
    last_reason = "no error"

    for retry in range(_HANDSHAKE_RETRIES + 1):
        if retry:
            # Jitter spreads the retries of handshakes dropped together, so they do not collide again.
            await asyncio.sleep(_RETRY_BASE_DELAY * 2 ** (retry - 1) * random.uniform(0.5, 1.5))
        try:
            return await asyncssh.connect(
                target.host,
                target.port,
                username=target.user,
                password=password,
                client_keys=None,
                preferred_auth="password,keyboard-interactive",
                known_hosts=(trusted, [], []),
                server_host_key_algs=host_key_algorithms(trusted),
                # Explicit values, so that the user's ~/.ssh and agent never change behaviour.
                config=None,
                agent_path=None,
                x509_trusted_certs=None,
                gss_kex=False,
                gss_auth=False,
                connect_timeout=connect_timeout,
                login_timeout=login_timeout,
            )
        except asyncssh.PermissionDenied:
            raise SshError(
                f"The {where} rejected the password of user {target.user}, so check the password and that "
                "its sshd allows PasswordAuthentication or KbdInteractiveAuthentication.",
                kind="auth",
                node_id=target.node_id,
            ) from None
        except asyncssh.HostKeyNotVerifiable:
            raise SshError(
                f"The {where} offered a host key other than the one just confirmed, so no password was sent; "
                "scan its host keys again with ScanNodeHostKeys.",
                kind="host_key_changed",
                node_id=target.node_id,
            ) from None
        except TimeoutError:
            raise SshError(
                f"Connecting to the {where} timed out after {connect_timeout:g} s, so check that the node is up "
                f"and that nothing blocks port {target.port} on the way.",
                kind="timeout",
                node_id=target.node_id,
            ) from None
        except (asyncssh.ConnectionLost, ConnectionResetError, BrokenPipeError) as exc:
            # NOTE: asyncssh marks its own login timeout only by this message text.
            if "Login timeout" in str(exc):
                raise SshError(
                    f"Logging in to the {where} with a password timed out after {login_timeout:g} s, so check "
                    "the node's sshd and its logs.",
                    kind="timeout",
                    node_id=target.node_id,
                ) from None
            last_reason = error_reason(exc)
            if retry < _HANDSHAKE_RETRIES:
                log.info("node %s: %s dropped the SSH handshake (%s), retry %d of %d",
                         target.node_id, where, last_reason, retry + 1, _HANDSHAKE_RETRIES)
        except (OSError, asyncssh.Error) as exc:
            raise SshError(
                f"Connecting to the {where} for the password login failed ({error_reason(exc)}), so check "
                "the address and that sshd runs on the node.",
                kind="connect",
                node_id=target.node_id,
            ) from None

    raise SshError(
        f"The {where} dropped the SSH handshake {_HANDSHAKE_RETRIES + 1} times in a row ({last_reason}), so raise "
        "MaxStartups in its sshd_config or add fewer nodes at once.",
        kind="refused_retries_exhausted",
        node_id=target.node_id,
    )
