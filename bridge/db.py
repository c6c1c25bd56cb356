"""SQLite as the services keep their state: durable commits, one process per data directory.

The validator's slashing database and the relayer's progress both promise that what was
committed survives kill -9 and power loss: WAL with synchronous=FULL (every COMMIT is fsynced),
autocommit mode with explicit BEGIN IMMEDIATE ... COMMIT transactions, and one connection
shared by the service's threads under a lock. A data directory is held by one process at a time
(flock, which the kernel releases when the process dies, kill -9 included).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from statesync.errors import ZkStateSyncError


def pad_number(value: int) -> str:
    """A non-negative integer as text that sorts as the number (SQLite's INTEGER stops at 2^63)."""
    return f"{value:020d}"


class DataDirLock:
    """An exclusive lock on `data_dir`; `error` (naming `holder`) if another process has it."""

    def __init__(self, data_dir: Path, lock_name: str, holder: str, error: type[ZkStateSyncError]) -> None:
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = data_dir / lock_name
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._fd)
            raise error(f"another {holder} process holds {self.path}") from exc

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class DurableSqlite:
    """The database at `path` with `schema` applied; failures raise `error`, naming it `what`."""

    def __init__(self, path: Path, schema: str, what: str, error: type[ZkStateSyncError], timeout: float) -> None:
        self.path = Path(path)
        self._what = what
        self._error = error
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()
        try:
            # Other threads (a status server) read too; every use holds self._lock.
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=timeout)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(schema)
        except sqlite3.Error as exc:
            raise error(f"cannot open the {what} {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads under the lock; a failure raises the store's own error."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise self._error(f"the {self._what} {self.path}: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (fsynced), rolled back if the body raises."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._error(f"the {self._what} {self.path}: {exc}") from exc
