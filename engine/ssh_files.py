"""Copying files to nodes for SshPool: a directory tree as one tar stream, single files over SFTP.

NodeFiles is a base class of SshPool and uses the pool's channel bookkeeping; it is not used
on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import posixpath
import secrets
import shlex
import tarfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from engine.ssh_handshake import error_reason, log_error
from engine.ssh_types import SshError, SshTarget

logger = logging.getLogger("engine.ssh")

_T = TypeVar("_T")

# Seconds one put_tree may take, and the bytes of tar's messages it keeps for an error.
_COPY_TIMEOUT = 300.0
_MAX_COPY_OUTPUT = 65536


class NodeFiles:
    """File copies over the pool's cached connections; SshPool provides the channel methods."""

    async def _open_channel(
        self, target: SshTarget, opener: Callable[[asyncssh.SSHClientConnection], Awaitable[_T]]
    ) -> tuple[Any, _T]:
        raise NotImplementedError

    def _release_channel(self, entry: Any, *, established: bool = True) -> None:
        raise NotImplementedError

    def _drop(self, entry: Any) -> None:
        raise NotImplementedError

    def _stop_process(self, process: asyncssh.SSHClientProcess, target: SshTarget) -> None:
        raise NotImplementedError

    async def put_tree(self, target: SshTarget, local_dir: Path, remote_dir: str) -> None:
        """Copy a local directory tree into remote_dir, creating directories as needed.

        A relative remote_dir is relative to the login directory. File modes are kept, and
        symbolic links are copied as the files they point to. The tree travels as one tar
        archive on one command's stdin, a single round trip; a node without tar gets the
        files over SFTP one by one instead.
        """
        local_dir = Path(local_dir)
        if not local_dir.is_dir():
            raise FileNotFoundError(f"local directory {local_dir} does not exist")

        # --no-same-owner: files belong to the login user, not to the engine's uid stored in the archive.
        quoted = shlex.quote(remote_dir)
        command = f"mkdir -p -- {quoted} && tar --no-same-owner -xpf - -C {quoted}"
        what = f"copying {local_dir} to {remote_dir}"
        status, detail = await self._run_with_input(target, command, _tree_archive(local_dir), what)

        if status == 127:
            logger.info("node %s: tar is missing on %s, copying %s over SFTP", target.node_id, target.describe(), local_dir)
            await self._put_tree_sftp(target, local_dir, remote_dir)
        elif status != 0:
            raise log_error(self._write_error(target, what, f"tar exit status {status}", detail))

    async def put_bytes(self, target: SshTarget, data: bytes, remote_path: str, mode: int = 0o644) -> None:
        """Write data to remote_path with the given mode, creating its directory if missing.

        The data goes to a temporary name in the same directory first and is then renamed over
        remote_path, so a reader never sees a partial file. The rename needs OpenSSH's
        posix-rename extension.
        """
        parent = posixpath.dirname(remote_path)
        temporary = f"{remote_path}.tmp-{secrets.token_hex(4)}"

        async with self._sftp(target, remote_path) as sftp:
            if parent:
                await sftp.makedirs(parent, exist_ok=True)

            try:
                async with sftp.open(temporary, "wb") as remote_file:
                    await remote_file.write(data)

                # chmod after writing because the server's umask may have narrowed the mode.
                await sftp.chmod(temporary, mode)
                await sftp.posix_rename(temporary, remote_path)
            except BaseException:
                with contextlib.suppress(asyncssh.Error, OSError):
                    await sftp.remove(temporary)
                raise

    async def _run_with_input(self, target: SshTarget, command: str, data: bytes, what: str) -> tuple[int, str]:
        """Run a shell command with data on its stdin; return its exit status and last output line.

        Raises SshError when the command times out or the connection is lost.
        """
        entry, process = await self._open_channel(
            target, lambda conn: conn.create_process(command, stderr=asyncssh.STDOUT, encoding=None)
        )
        output = b""
        try:
            async with asyncio.timeout(_COPY_TIMEOUT):
                process.stdin.write(data)
                process.stdin.write_eof()
                output = await process.stdout.read(_MAX_COPY_OUTPUT)
                await process.wait_closed()
        except TimeoutError:
            self._stop_process(process, target)
            self._drop(entry)
            raise log_error(
                SshError(
                    f"{what.capitalize()} on the {target.describe()} timed out after {_COPY_TIMEOUT:g} s, "
                    "so check that the node is up and not overloaded.",
                    kind="timeout",
                    node_id=target.node_id,
                )
            ) from None
        except (asyncssh.DisconnectError, ConnectionError):
            pass  # exit_status None below reports it
        finally:
            process.close()
            self._release_channel(entry)

        if process.exit_status is None:
            self._drop(entry)
            raise log_error(
                SshError(
                    f"The connection to the {target.describe()} was lost while {what}, so check that the "
                    "node is up and run the action again.",
                    kind="lost",
                    node_id=target.node_id,
                )
            )
        lines = output.decode("utf-8", errors="replace").strip().splitlines()
        return process.exit_status, lines[-1] if lines else ""

    @staticmethod
    def _write_error(target: SshTarget, what: str, outcome: str, detail: str) -> SshError:
        return SshError(
            f"{what.capitalize()} on the {target.describe()} failed ({outcome}{': ' + detail if detail else ''}), "
            f"so check that user {target.user} may write there and that the disk has room.",
            kind="sftp",
            node_id=target.node_id,
        )

    async def _put_tree_sftp(self, target: SshTarget, local_dir: Path, remote_dir: str) -> None:
        async with self._sftp(target, remote_dir) as sftp:
            await sftp.makedirs(remote_dir, exist_ok=True)

            copies = []
            for directory, subdirectories, files in os.walk(local_dir):
                relative = Path(directory).relative_to(local_dir)
                remote = posixpath.join(remote_dir, *relative.parts)

                for name in sorted(subdirectories):
                    await sftp.makedirs(posixpath.join(remote, name), exist_ok=True)
                for name in sorted(files):
                    copies.append((os.path.join(directory, name), posixpath.join(remote, name)))

            # SFTP takes many requests in flight, so the files travel at once instead of one
            # round trip after another.
            await asyncio.gather(*(sftp.put(local, remote, preserve=True) for local, remote in copies))

    @contextlib.asynccontextmanager
    async def _sftp(self, target: SshTarget, remote_path: str) -> AsyncIterator[asyncssh.SFTPClient]:
        entry, sftp = await self._open_channel(target, lambda conn: conn.start_sftp_client())
        try:
            yield sftp
        except (asyncssh.SFTPConnectionLost, asyncssh.DisconnectError, ConnectionError) as exc:
            raise log_error(
                SshError(
                    f"The connection to the {target.describe()} was lost while writing {remote_path} "
                    f"({error_reason(exc)}), so check that the node is up and copy again.",
                    kind="lost",
                    node_id=target.node_id,
                )
            ) from None
        except asyncssh.SFTPError as exc:
            raise log_error(
                SshError(
                    f"Writing {remote_path} on the {target.describe()} failed ({error_reason(exc)}), "
                    f"so check that user {target.user} may write there.",
                    kind="sftp",
                    node_id=target.node_id,
                )
            ) from None
        finally:
            sftp.exit()
            self._release_channel(entry)


def _tree_archive(local_dir: Path) -> bytes:
    """Return an uncompressed tar archive of a directory's contents, links replaced by their targets."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", dereference=True, format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(local_dir.rglob("*")):
            if "__pycache__" in path.parts:
                continue
            archive.add(path, arcname=path.relative_to(local_dir).as_posix(), recursive=False)
    return buffer.getvalue()
