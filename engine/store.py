"""The engine's state in SQLite: platform, zones, configurations, nodes, jobs, logs.

One connection per engine, used from the event loop's thread only. WAL mode
lets another process (a second `qc-installer call`, a backup) read while the
engine writes. Log lines are written in batches: `flush()` commits them, and
the job runner calls it on a short timer and at every status change.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

SCHEMA = """
CREATE TABLE IF NOT EXISTS platform (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    data TEXT NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS zones (
    zone_id TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL,
    config_version INTEGER NOT NULL,
    is_deployed INTEGER NOT NULL DEFAULT 0,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS zone_configs (
    zone_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    job_id TEXT NOT NULL,
    variables TEXT NOT NULL,
    settings TEXT NOT NULL,
    merged TEXT NOT NULL,
    files TEXT NOT NULL,
    create_time TEXT NOT NULL,
    PRIMARY KEY (zone_id, version)
);
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    ssh_host TEXT NOT NULL,
    ssh_port INTEGER NOT NULL,
    ssh_user TEXT NOT NULL,
    ssh_key_file TEXT,
    mgmt_ip TEXT NOT NULL,
    zone_id TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    facts TEXT NOT NULL,
    host_keys TEXT NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    job_action TEXT NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    pre_status TEXT NOT NULL,
    steps TEXT NOT NULL,
    nodes TEXT NOT NULL,
    params TEXT NOT NULL,
    resources TEXT NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_action ON jobs (job_action, create_time);
CREATE TABLE IF NOT EXISTS job_log (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS test_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    mode TEXT NOT NULL,
    runner_node_id TEXT NOT NULL,
    runner_hostname TEXT NOT NULL,
    create_time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS test_cases (
    run_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    test TEXT NOT NULL,
    description TEXT NOT NULL,
    description_en TEXT NOT NULL,
    status TEXT NOT NULL,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    job_id TEXT NOT NULL,
    PRIMARY KEY (run_id, test)
);
CREATE TABLE IF NOT EXISTS test_case_log (
    run_id TEXT NOT NULL,
    test TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (run_id, test, attempt, seq)
);
CREATE TABLE IF NOT EXISTS checks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    check_time TEXT NOT NULL,
    verbose TEXT NOT NULL,
    qingcloud_status TEXT NOT NULL,
    result TEXT NOT NULL
);
"""

FINAL_STATUSES = ("successful", "failed")

#: Size of the reserve file kept beside the database: when the disk fills up, deleting it leaves
#: room to record why the running jobs stopped.
RESERVE_BYTES = 1024 * 1024


def is_disk_full(error: BaseException) -> bool:
    """Return whether an exception is SQLite's or the OS's report of a full disk or quota."""
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and code & 0xFF == sqlite3.SQLITE_FULL
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def utc_now() -> str:
    """Current UTC time in the reference's format, %Y-%m-%d %H:%M:%S."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class NodeRecord:
    node_id: str
    hostname: str
    ssh_host: str
    ssh_port: int
    ssh_user: str
    ssh_key_file: str | None
    mgmt_ip: str
    zone_id: str
    status: str
    facts: dict[str, Any]
    host_keys: list[str]
    create_time: str = ""
    update_time: str = ""


@dataclass
class JobRecord:
    job_id: str
    job_action: str
    owner: str
    status: str
    pre_status: str
    steps: list[dict[str, Any]]
    nodes: dict[str, dict[str, Any]]
    params: dict[str, Any]
    resources: dict[str, Any]
    create_time: str = ""
    update_time: str = ""


@dataclass
class ZoneRecord:
    zone_id: str
    platform_id: str
    config_version: int
    is_deployed: bool
    create_time: str
    update_time: str
    config: dict[str, Any] = field(default_factory=dict)


class Store:
    """Typed access to the state database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        self._pending_log: list[tuple[str, int, str, str]] = []
        self._log_next: dict[str, int] = {}

    def close(self) -> None:
        self.flush()
        self._db.close()

    # -- platform ----------------------------------------------------------

    def get_platform(self) -> dict[str, Any] | None:
        row = self._db.execute("SELECT data, create_time, update_time FROM platform WHERE id = 1").fetchone()
        if row is None:
            return None
        data = json.loads(row["data"])
        data["create_time"] = row["create_time"]
        data["update_time"] = row["update_time"]
        return data

    def put_platform(self, data: dict[str, Any]) -> None:
        now = utc_now()
        stored = {k: v for k, v in data.items() if k not in ("create_time", "update_time")}
        self._db.execute(
            "INSERT INTO platform (id, data, create_time, update_time) VALUES (1, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data, update_time = excluded.update_time",
            (json.dumps(stored), now, now),
        )

    # -- zones and their configuration versions ---------------------------

    def list_zones(self) -> list[ZoneRecord]:
        rows = self._db.execute("SELECT * FROM zones ORDER BY zone_id").fetchall()
        return [self._zone(row) for row in rows]

    def get_zone(self, zone_id: str) -> ZoneRecord | None:
        row = self._db.execute("SELECT * FROM zones WHERE zone_id = ?", (zone_id,)).fetchone()
        return self._zone(row) if row else None

    def _zone(self, row: sqlite3.Row) -> ZoneRecord:
        config_row = self._db.execute(
            "SELECT variables, settings, merged, files FROM zone_configs WHERE zone_id = ? AND version = ?",
            (row["zone_id"], row["config_version"]),
        ).fetchone()
        config: dict[str, Any] = {}
        if config_row is not None:
            config = {
                "variables": json.loads(config_row["variables"]),
                "settings": json.loads(config_row["settings"]),
                "merged": json.loads(config_row["merged"]),
                "files": json.loads(config_row["files"]),
            }
        return ZoneRecord(
            zone_id=row["zone_id"],
            platform_id=row["platform_id"],
            config_version=row["config_version"],
            is_deployed=bool(row["is_deployed"]),
            create_time=row["create_time"],
            update_time=row["update_time"],
            config=config,
        )

    def save_zone_config(
        self,
        zone_id: str,
        *,
        platform_id: str,
        job_id: str,
        variables: dict[str, Any],
        settings: dict[str, Any],
        merged: dict[str, Any],
        files: dict[str, str],
    ) -> int:
        """Store a new configuration version of a zone and make it current; returns the version."""
        now = utc_now()
        row = self._db.execute("SELECT MAX(version) FROM zone_configs WHERE zone_id = ?", (zone_id,)).fetchone()
        version = (row[0] or 0) + 1
        with self.transaction():
            self._db.execute(
                "INSERT INTO zone_configs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (zone_id, version, job_id, json.dumps(variables), json.dumps(settings),
                 json.dumps(merged), json.dumps(files), now),
            )
            self._db.execute(
                "INSERT INTO zones (zone_id, platform_id, config_version, is_deployed, create_time, update_time) "
                "VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT (zone_id) DO UPDATE SET "
                "config_version = excluded.config_version, update_time = excluded.update_time",
                (zone_id, platform_id, version, now, now),
            )
        return version

    def set_zone_deployed(self, zone_id: str, deployed: bool) -> None:
        self._db.execute(
            "UPDATE zones SET is_deployed = ?, update_time = ? WHERE zone_id = ?",
            (int(deployed), utc_now(), zone_id),
        )

    # -- nodes --------------------------------------------------------------

    def put_node(self, node: NodeRecord) -> None:
        now = utc_now()
        existing = self.get_node(node.node_id)
        create_time = existing.create_time if existing else now
        self._db.execute(
            "INSERT OR REPLACE INTO nodes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (node.node_id, node.hostname, node.ssh_host, node.ssh_port, node.ssh_user, node.ssh_key_file,
             node.mgmt_ip, node.zone_id, node.status, json.dumps(node.facts), json.dumps(node.host_keys),
             create_time, now),
        )

    def get_node(self, node_id: str) -> NodeRecord | None:
        row = self._db.execute("SELECT * FROM nodes WHERE node_id = ?", (node_id,)).fetchone()
        return self._node(row) if row else None

    def list_nodes(self) -> list[NodeRecord]:
        return [self._node(row) for row in self._db.execute("SELECT * FROM nodes ORDER BY node_id")]

    def delete_node(self, node_id: str) -> None:
        self._db.execute("DELETE FROM nodes WHERE node_id = ?", (node_id,))

    def set_node_status(self, node_ids: Iterable[str], status: str) -> None:
        now = utc_now()
        with self.transaction():
            for node_id in node_ids:
                self._db.execute(
                    "UPDATE nodes SET status = ?, update_time = ? WHERE node_id = ?", (status, now, node_id)
                )

    @staticmethod
    def _node(row: sqlite3.Row) -> NodeRecord:
        return NodeRecord(
            node_id=row["node_id"],
            hostname=row["hostname"],
            ssh_host=row["ssh_host"],
            ssh_port=row["ssh_port"],
            ssh_user=row["ssh_user"],
            ssh_key_file=row["ssh_key_file"],
            mgmt_ip=row["mgmt_ip"],
            zone_id=row["zone_id"],
            status=row["status"],
            facts=json.loads(row["facts"]),
            host_keys=json.loads(row["host_keys"]),
            create_time=row["create_time"],
            update_time=row["update_time"],
        )

    # -- jobs ---------------------------------------------------------------

    def put_job(self, job: JobRecord) -> None:
        now = utc_now()
        job.update_time = now
        if not job.create_time:
            job.create_time = now
        self._db.execute(
            "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job.job_id, job.job_action, job.owner, job.status, job.pre_status, json.dumps(job.steps),
             json.dumps(job.nodes), json.dumps(job.params), json.dumps(job.resources),
             job.create_time, job.update_time),
        )

    def get_job(self, job_id: str) -> JobRecord | None:
        row = self._db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return self._job(row) if row else None

    def latest_job(self, job_action: str | None = None) -> JobRecord | None:
        if job_action is None:
            row = self._db.execute("SELECT * FROM jobs ORDER BY create_time DESC, rowid DESC LIMIT 1").fetchone()
        else:
            row = self._db.execute(
                "SELECT * FROM jobs WHERE job_action = ? ORDER BY create_time DESC, rowid DESC LIMIT 1",
                (job_action,),
            ).fetchone()
        return self._job(row) if row else None

    def list_jobs(
        self,
        *,
        job_ids: list[str] | None = None,
        job_action: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[JobRecord], int]:
        clauses, args = [], []
        if job_ids is not None:
            clauses.append(f"job_id IN ({','.join('?' * len(job_ids))})")
            args.extend(job_ids)
        if job_action is not None:
            clauses.append("job_action = ?")
            args.append(job_action)
        if status is not None:
            clauses.append("status = ?")
            args.append(status)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self._db.execute(f"SELECT COUNT(*) FROM jobs {where}", args).fetchone()[0]
        rows = self._db.execute(
            f"SELECT * FROM jobs {where} ORDER BY create_time DESC, rowid DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()
        return [self._job(row) for row in rows], total

    def unfinished_jobs(self) -> list[JobRecord]:
        rows = self._db.execute("SELECT * FROM jobs WHERE status NOT IN ('successful', 'failed')").fetchall()
        return [self._job(row) for row in rows]

    @staticmethod
    def _job(row: sqlite3.Row) -> JobRecord:
        return JobRecord(
            job_id=row["job_id"],
            job_action=row["job_action"],
            owner=row["owner"],
            status=row["status"],
            pre_status=row["pre_status"],
            steps=json.loads(row["steps"]),
            nodes=json.loads(row["nodes"]),
            params=json.loads(row["params"]),
            resources=json.loads(row["resources"]),
            create_time=row["create_time"],
            update_time=row["update_time"],
        )

    # -- job logs -------------------------------------------------------------

    def append_log(self, job_id: str, status: str, line: str) -> None:
        """Queue one log line; it is visible to readers of this store at once, to others after flush()."""
        seq = self._log_next.get(job_id)
        if seq is None:
            row = self._db.execute("SELECT MAX(seq) FROM job_log WHERE job_id = ?", (job_id,)).fetchone()
            seq = (row[0] or 0) + 1
        self._log_next[job_id] = seq + 1
        self._pending_log.append((job_id, seq, status, line))

    def flush(self) -> None:
        if not self._pending_log:
            return
        pending, self._pending_log = self._pending_log, []
        try:
            with self.transaction():
                self._db.executemany("INSERT INTO job_log VALUES (?, ?, ?, ?)", pending)
        except sqlite3.Error:
            # The transaction wrote nothing, so the lines wait for the next flush instead of being lost.
            self._pending_log = pending + self._pending_log
            raise

    def read_log(
        self, job_id: str, *, status: str | None = None, offset: int = 0, limit: int | None = None
    ) -> tuple[list[tuple[int, str]], int]:
        """Return (seq, line) pairs after `offset` matching lines, and the count of all matching lines.

        On a full disk the lines not yet flushed are left out; the job runner handles that failure.
        """
        try:
            self.flush()
        except sqlite3.Error as error:
            if not is_disk_full(error):
                raise
        where, args = "job_id = ?", [job_id]
        if status is not None:
            where += " AND status = ?"
            args.append(status)
        total = self._db.execute(f"SELECT COUNT(*) FROM job_log WHERE {where}", args).fetchone()[0]
        rows = self._db.execute(
            f"SELECT seq, line FROM job_log WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",
            (*args, -1 if limit is None else limit, offset),
        ).fetchall()
        return [(row["seq"], row["line"]) for row in rows], total

    # -- plumbing -------------------------------------------------------------

    def transaction(self) -> "_Transaction":
        return _Transaction(self._db)

    def integrity_ok(self) -> bool:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- disk space -----------------------------------------------------------

    @property
    def reserve_path(self) -> Path:
        return self.path.with_name(self.path.name + "-reserve")

    def keep_reserve(self) -> bool:
        """Create the reserve file unless it exists; return False when the disk has no room for it."""
        if self.reserve_path.exists():
            return True

        temporary = self.reserve_path.with_name(self.reserve_path.name + ".new")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.posix_fallocate(descriptor, 0, RESERVE_BYTES)
            finally:
                os.close(descriptor)
            os.replace(temporary, self.reserve_path)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            if is_disk_full(error):
                return False
            raise
        return True

    def release_reserve(self) -> bool:
        """Delete the reserve file so that the next writes find room; return whether it existed."""
        try:
            self.reserve_path.unlink()
        except FileNotFoundError:
            return False
        return True

    # -- test runs and service checks ------------------------------------------
    # Results of TestQingCloud, RerunQingCloudTestCase and CheckQingCloud jobs.
    # Every run and check keeps its rows, so earlier ones stay readable. A rerun
    # updates the rows of its run and adds a log per attempt.

    _TEST_CASE_FIELDS = ("status", "start_time", "end_time", "attempts", "job_id")

    def add_test_run(
        self,
        run_id: str,
        *,
        mode: str,
        runner_node_id: str,
        runner_hostname: str,
        cases: list[tuple[str, str, str]],
    ) -> None:
        """Record a test run and its cases, (name, description, description_en) each, all pending."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO test_runs (run_id, mode, runner_node_id, runner_hostname, create_time) "
                "VALUES (?, ?, ?, ?, ?)",
                (run_id, mode, runner_node_id, runner_hostname, utc_now()),
            )
            self._db.executemany(
                "INSERT INTO test_cases VALUES (?, ?, ?, ?, ?, 'pending', '', '', 0, ?)",
                [(run_id, position, *case, run_id) for position, case in enumerate(cases)],
            )

    def get_test_run(self, run_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM test_runs WHERE run_id = ?", (run_id,)).fetchone()
        return dict(row) if row else None

    def latest_test_run(self) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM test_runs ORDER BY seq DESC LIMIT 1").fetchone()
        return dict(row) if row else None

    def list_test_cases(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM test_cases WHERE run_id = ? ORDER BY position", (run_id,))
        return [dict(row) for row in rows]

    def update_test_case(self, run_id: str, test: str, **changes: Any) -> None:
        """Change fields of a case's row: status, start_time, end_time, attempts, job_id."""
        unknown = sorted(set(changes) - set(self._TEST_CASE_FIELDS))
        if unknown:
            raise ValueError(f"test_cases has no fields {', '.join(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in changes)
        self._db.execute(
            f"UPDATE test_cases SET {assignments} WHERE run_id = ? AND test = ?",
            (*changes.values(), run_id, test),
        )

    def append_test_case_log(self, run_id: str, test: str, attempt: int, line: str) -> None:
        self._db.execute(
            "INSERT INTO test_case_log SELECT ?, ?, ?, COALESCE(MAX(seq), 0) + 1, ? FROM test_case_log "
            "WHERE run_id = ? AND test = ? AND attempt = ?",
            (run_id, test, attempt, line, run_id, test, attempt),
        )

    def read_test_case_log(self, run_id: str, test: str, attempt: int) -> list[str]:
        rows = self._db.execute(
            "SELECT line FROM test_case_log WHERE run_id = ? AND test = ? AND attempt = ? ORDER BY seq",
            (run_id, test, attempt),
        )
        return [row["line"] for row in rows]

    def save_check_result(
        self, job_id: str, *, check_time: str, verbose: str, qingcloud_status: str, result: list[dict[str, Any]]
    ) -> None:
        """Record the full result of a check job: every node and every service, whatever its verbose."""
        self._db.execute(
            "INSERT OR REPLACE INTO checks (job_id, check_time, verbose, qingcloud_status, result) VALUES (?, ?, ?, ?, ?)",
            (job_id, check_time, verbose, qingcloud_status, json.dumps(result)),
        )

    def get_check_result(self, job_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM checks WHERE job_id = ?", (job_id,)).fetchone()
        return self._check(row) if row else None

    def latest_check_result(self) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM checks ORDER BY seq DESC LIMIT 1").fetchone()
        return self._check(row) if row else None

    @staticmethod
    def _check(row: sqlite3.Row) -> dict[str, Any]:
        check = {key: row[key] for key in ("job_id", "check_time", "verbose", "qingcloud_status")}
        check["result"] = json.loads(row["result"])
        return check


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not exc_type:
            self._db.execute("COMMIT")
        elif self._db.in_transaction:
            # SQLite may have rolled back already (it does on a full disk), and a second
            # ROLLBACK would hide the error that caused it.
            self._db.execute("ROLLBACK")
