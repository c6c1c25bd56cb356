"""The relayer's durable record: proposals, signatures, proofs, transactions, each with an explicit status.

SQLite in WAL mode with synchronous=FULL: a row is on disk when its transaction commits, so
after kill -9 the store says everything up to the last completed step. It saves work (a
proposal's signatures, a proof that is still usable) and remembers what was sent; it never
decides what is executed: the receiver does (service.py reconciles the store with it on start
and after every error).

Statuses (the transitions are the only ones the code makes):

    proposal   proposed -> signed -> accepted        (the receiver accepted this header)
                       \\-> superseded               (the receiver moved to another header)
                       \\-> abandoned                (its block changed, or validators refuse it)
    batch      proving -> proven -> sent -> executed (our transaction executed it)
                     \\        \\<-/    \\-> executed_elsewhere (the receiver ran it by another transaction)
                      \\-> failed               obsolete (can never be used: the checkpoint moved)
    tx         signed -> sent -> succeeded | reverted | dropped (never mined, the node forgot it)

A transaction is recorded as `signed`, with its hash and raw bytes, before it is broadcast, so
a crash between the two leaves a hash to look up, never a transaction nobody knows of.
Numbers that may pass 2^63 (uint64 block numbers, event ids, field elements) are stored as
decimal text, uint64 ones zero-padded to 20 digits so that they sort.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from statesync.eddsa import Signature
from statesync.errors import ZkStateSyncError
from statesync.model import Header, compute_header_hash

from ..db import DataDirLock, DurableSqlite, pad_number

SCHEMA_VERSION: Final = "1"
DB_NAME: Final = "relayer.sqlite"
LOCK_NAME: Final = "relayer.lock"
TRANSACTIONS_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS transactions (
    hash TEXT PRIMARY KEY,
    batch_id INTEGER NOT NULL,
    method TEXT NOT NULL,
    sender TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    raw TEXT NOT NULL,
    status TEXT NOT NULL,
    block INTEGER,
    gas_used INTEGER,
    note TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_by_status ON transactions (status);
"""
_SCHEMA: Final = (
    """
CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS headers (
    hash TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    fields TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS proposals (
    hash TEXT PRIMARY KEY,
    parent_hash TEXT NOT NULL,
    number TEXT NOT NULL,
    first_id TEXT NOT NULL,
    event_count INTEGER NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS signatures (
    proposal_hash TEXT NOT NULL,
    slot INTEGER NOT NULL,
    validator TEXT NOT NULL,
    r8x TEXT NOT NULL,
    r8y TEXT NOT NULL,
    s TEXT NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (proposal_hash, slot)
);
CREATE TABLE IF NOT EXISTS aggregates (
    proposal_hash TEXT PRIMARY KEY,
    signers TEXT NOT NULL,
    r8x TEXT NOT NULL,
    r8y TEXT NOT NULL,
    s TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    circuit TEXT NOT NULL,
    header_hash TEXT NOT NULL,
    number TEXT NOT NULL,
    trusted_hash TEXT NOT NULL,
    first_id TEXT NOT NULL,
    event_count INTEGER NOT NULL,
    status TEXT NOT NULL,
    proof_dir TEXT NOT NULL,
    seconds REAL,
    note TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_by_status ON batches (status);
"""
    + TRANSACTIONS_SCHEMA
)


class StoreError(ZkStateSyncError):
    """The relayer's database cannot be used (another network's, another process holds it, corrupted)."""


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"
    SIGNED = "signed"
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"
    ABANDONED = "abandoned"


class BatchStatus(StrEnum):
    PROVING = "proving"
    PROVEN = "proven"
    SENT = "sent"
    EXECUTED = "executed"
    EXECUTED_ELSEWHERE = "executed_elsewhere"
    OBSOLETE = "obsolete"
    FAILED = "failed"


class TxStatus(StrEnum):
    SIGNED = "signed"
    SENT = "sent"
    SUCCEEDED = "succeeded"
    REVERTED = "reverted"
    DROPPED = "dropped"


OPEN_PROPOSALS: Final = (ProposalStatus.PROPOSED, ProposalStatus.SIGNED)
OPEN_BATCHES: Final = (BatchStatus.PROVING, BatchStatus.PROVEN, BatchStatus.SENT)
FINISHED_BATCHES: Final = (
    BatchStatus.EXECUTED,
    BatchStatus.EXECUTED_ELSEWHERE,
    BatchStatus.OBSOLETE,
    BatchStatus.FAILED,
)
OPEN_TRANSACTIONS: Final = (TxStatus.SIGNED, TxStatus.SENT)


@dataclass(frozen=True)
class StoreIdentity:
    """The network a store belongs to: a store of another network is refused, never mixed in."""

    rootchain_chain_id: int
    child_chain_id: int
    receiver: str
    genesis_hash: int

    def items(self) -> dict[str, str]:
        return {
            "rootchain_chain_id": str(self.rootchain_chain_id),
            "child_chain_id": str(self.child_chain_id),
            "receiver": self.receiver.lower(),
            "genesis_hash": str(self.genesis_hash),
        }


@dataclass(frozen=True)
class ProposalRecord:
    header_hash: int
    parent_hash: int
    number: int
    first_id: int
    event_count: int
    status: ProposalStatus
    note: str


@dataclass(frozen=True)
class BatchKey:
    """What a proof proves. header_hash: the proven header (state_sync, header_update) or the accepted
    header the events are under (event_inclusion); trusted_hash: the checkpoint it links to (0 for events)."""

    circuit: str
    header_hash: int
    number: int
    trusted_hash: int
    first_id: int
    event_count: int

    @property
    def last_id(self) -> int:
        return self.first_id + self.event_count - 1


@dataclass(frozen=True)
class BatchRecord:
    id: int
    key: BatchKey
    status: BatchStatus
    proof_dir: Path
    seconds: float | None
    note: str


@dataclass(frozen=True)
class TransactionRecord:
    tx_hash: bytes
    batch_id: int
    method: str
    sender: str
    nonce: int
    raw: bytes
    status: TxStatus
    block: int | None
    note: str


@dataclass(frozen=True)
class Timed:
    """When a row was written first and last (Unix seconds): the explorer's timings."""

    created_at: float
    updated_at: float


@dataclass(frozen=True)
class ProposalReport:
    record: ProposalRecord
    times: Timed
    signers: tuple[tuple[int, str, float], ...]  # (slot, validator, received at), by slot


@dataclass(frozen=True)
class BatchReport:
    record: BatchRecord
    times: Timed


@dataclass(frozen=True)
class TransactionReport:
    tx_hash: str
    batch_id: int
    method: str
    status: TxStatus
    block: int | None
    gas_used: int | None
    note: str
    times: Timed


@dataclass(frozen=True)
class StoreReport:
    """The store's rows with their times, for the explorer (read in one go, under the store's lock)."""

    proposals: tuple[ProposalReport, ...]
    batches: tuple[BatchReport, ...]
    transactions: tuple[TransactionReport, ...]


def lock_data_dir(data_dir: Path) -> DataDirLock:
    """One relayer process per data directory."""
    return DataDirLock(data_dir, LOCK_NAME, "relayer", StoreError)


class RelayerStore(DurableSqlite):
    """The database at `path`, bound to one network (`identity`)."""

    def __init__(self, path: Path, identity: StoreIdentity) -> None:
        super().__init__(path, _SCHEMA, "relayer database", StoreError, timeout=30.0)
        self._bind(identity)

    def _bind(self, identity: StoreIdentity) -> None:
        with self._transaction() as db:
            stored = dict(db.execute("SELECT key, value FROM metadata").fetchall())
            if not stored:
                db.executemany(
                    "INSERT INTO metadata VALUES (?, ?)",
                    [("schema_version", SCHEMA_VERSION), *identity.items().items()],
                )
                return
            if stored.get("schema_version") != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema {stored.get('schema_version')!r}, this relayer reads {SCHEMA_VERSION}"
                )
            for key, value in identity.items().items():
                if stored.get(key) != value:
                    raise StoreError(
                        f"{self.path} belongs to another network ({key} {stored.get(key)!r}, configured {value!r}); "
                        "use another data_dir"
                    )

    # --- headers ---------------------------------------------------------------------------------

    def save_header(self, header: Header, source: str) -> None:
        fields = json.dumps([str(v) for v in header.fields()])
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO headers VALUES (?, ?, ?, ?, ?)",
                (str(compute_header_hash(header)), pad_number(header.number), fields, source, time.time()),
            )

    def header(self, header_hash: int) -> Header | None:
        with self._lock:
            row = self._db.execute("SELECT fields FROM headers WHERE hash = ?", (str(header_hash),)).fetchone()
        if row is None:
            return None
        header = Header.from_fields([int(v) for v in json.loads(row[0])])
        if compute_header_hash(header) != header_hash:
            raise StoreError(f"{self.path}: the stored header {header_hash} does not hash to its key")
        return header

    # --- proposals -------------------------------------------------------------------------------

    def record_proposal(self, header: Header, first_id: int, event_count: int) -> ProposalRecord:
        """Record a proposal (again: an abandoned one becomes proposed, an open one stays as it is)."""
        header_hash = compute_header_hash(header)
        self.save_header(header, "proposed")
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO proposals VALUES (?, ?, ?, ?, ?, ?, '', ?, ?)",
                (
                    str(header_hash),
                    str(header.parent_hash),
                    pad_number(header.number),
                    pad_number(first_id),
                    event_count,
                    ProposalStatus.PROPOSED.value,
                    now,
                    now,
                ),
            )
            db.execute(
                "UPDATE proposals SET status = ?, updated_at = ? WHERE hash = ? AND status = ?",
                (ProposalStatus.PROPOSED.value, now, str(header_hash), ProposalStatus.ABANDONED.value),
            )
        record = self.proposal(header_hash)
        if record is None:  # pragma: no cover - the row was written in the transaction above
            raise StoreError(f"{self.path}: proposal {header_hash} vanished")
        return record

    def proposal(self, header_hash: int) -> ProposalRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT hash, parent_hash, number, first_id, event_count, status, note FROM proposals WHERE hash = ?",
                (str(header_hash),),
            ).fetchone()
        return None if row is None else _proposal(row)

    def open_proposals(self) -> list[ProposalRecord]:
        """Proposals still in progress, newest (highest number) first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT hash, parent_hash, number, first_id, event_count, status, note FROM proposals "
                "WHERE status IN (?, ?) ORDER BY number DESC",
                tuple(s.value for s in OPEN_PROPOSALS),
            ).fetchall()
        return [_proposal(r) for r in rows]

    def set_proposal_status(self, header_hash: int, status: ProposalStatus, note: str = "") -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE proposals SET status = ?, note = ?, updated_at = ? WHERE hash = ?",
                (status.value, note[:500], time.time(), str(header_hash)),
            )

    def add_signature(self, header_hash: int, slot: int, validator: str, signature: Signature) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO signatures VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    str(header_hash),
                    slot,
                    validator,
                    str(signature.r8[0]),
                    str(signature.r8[1]),
                    str(signature.s),
                    time.time(),
                ),
            )

    def signatures(self, header_hash: int) -> dict[int, Signature]:
        with self._lock:
            rows = self._db.execute(
                "SELECT slot, r8x, r8y, s FROM signatures WHERE proposal_hash = ?", (str(header_hash),)
            ).fetchall()
        return {int(slot): Signature((int(x), int(y)), int(s)) for slot, x, y, s in rows}

    def save_aggregate(self, header_hash: int, signers: Mapping[int, str], signature: Signature) -> None:
        """The aggregate mode's one signature on a proposal, and who signed it (slot -> name)."""
        listed = json.dumps([[slot, signers[slot]] for slot in sorted(signers)])
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO aggregates VALUES (?, ?, ?, ?, ?, ?)",
                (str(header_hash), listed, str(signature.r8[0]), str(signature.r8[1]), str(signature.s), time.time()),
            )

    def aggregate(self, header_hash: int) -> tuple[dict[int, str], Signature] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT signers, r8x, r8y, s FROM aggregates WHERE proposal_hash = ?", (str(header_hash),)
            ).fetchone()
        if row is None:
            return None
        signers = {int(slot): str(name) for slot, name in json.loads(row[0])}
        return signers, Signature((int(row[1]), int(row[2])), int(row[3]))

    # --- batches ---------------------------------------------------------------------------------

    def start_batch(self, key: BatchKey, proof_dir: Path) -> BatchRecord:
        now = time.time()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO batches (circuit, header_hash, number, trusted_hash, first_id, event_count, status, "
                "proof_dir, seconds, note, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, '', ?, ?)",
                (
                    key.circuit,
                    str(key.header_hash),
                    pad_number(key.number),
                    str(key.trusted_hash),
                    pad_number(key.first_id),
                    key.event_count,
                    BatchStatus.PROVING.value,
                    str(proof_dir),
                    now,
                    now,
                ),
            )
            batch_id = cursor.lastrowid
        if batch_id is None:  # pragma: no cover - sqlite always sets it after an INSERT
            raise StoreError(f"{self.path}: no row id for the new batch")
        return BatchRecord(batch_id, key, BatchStatus.PROVING, proof_dir, None, "")

    def batch(self, batch_id: int) -> BatchRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_BATCH_COLUMNS} FROM batches WHERE id = ?", (batch_id,)).fetchone()
        return None if row is None else _batch(row)

    def find_batches(self, statuses: Sequence[BatchStatus], **match: int | str) -> list[BatchRecord]:
        """Batches in `statuses` whose key fields equal `match` (circuit, header_hash, first_id, ...), newest first."""
        clauses = [f"status IN ({', '.join('?' * len(statuses))})"]
        values: list[object] = [s.value for s in statuses]
        for name, value in match.items():
            encode = _KEY_COLUMNS.get(name)
            if encode is None:
                raise StoreError(f"batches have no key field {name!r}")
            clauses.append(f"{name} = ?")
            values.append(encode(value))
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_BATCH_COLUMNS} FROM batches WHERE {' AND '.join(clauses)} ORDER BY id DESC", values
            ).fetchall()
        return [_batch(r) for r in rows]

    def set_batch_status(
        self, batch_id: int, status: BatchStatus, note: str = "", *, seconds: float | None = None
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE batches SET status = ?, note = ?, seconds = COALESCE(?, seconds), updated_at = ? WHERE id = ?",
                (status.value, note[:500], seconds, time.time(), batch_id),
            )

    # --- transactions ----------------------------------------------------------------------------

    def record_transaction(
        self, batch_id: int, tx_hash: bytes, method: str, sender: str, nonce: int, raw: bytes
    ) -> None:
        with self._transaction() as db:
            now = insert_transaction(db, batch_id, tx_hash, method, sender, nonce, raw)
            db.execute(
                "UPDATE batches SET status = ?, updated_at = ? WHERE id = ?", (BatchStatus.SENT.value, now, batch_id)
            )

    def set_transaction_status(
        self, tx_hash: bytes, status: TxStatus, note: str = "", *, block: int | None = None, gas_used: int | None = None
    ) -> None:
        with self._transaction() as db:
            update_transaction_status(db, tx_hash, status, note, block, gas_used)

    def transactions(
        self, *, batch_id: int | None = None, statuses: Sequence[TxStatus] = ()
    ) -> list[TransactionRecord]:
        with self._lock:
            return select_transactions(self._db, batch_id=batch_id, statuses=statuses)

    # --- reporting -------------------------------------------------------------------------------

    def summary(self) -> dict[str, dict[str, int]]:
        """Rows per status, per table (the status page)."""
        result: dict[str, dict[str, int]] = {}
        with self._lock:
            for table in ("proposals", "batches", "transactions"):
                rows = self._db.execute(f"SELECT status, COUNT(*) FROM {table} GROUP BY status").fetchall()
                result[table] = {str(status): int(count) for status, count in rows}
        return result

    def report(self, limit: int) -> StoreReport:
        """The newest `limit` proposals and batches, and the transactions of those batches."""
        with self._reading() as db:
            proposals = db.execute(
                "SELECT hash, parent_hash, number, first_id, event_count, status, note, created_at, updated_at "
                "FROM proposals ORDER BY number DESC, created_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
            signers: dict[str, list[tuple[int, str, float]]] = {row[0]: [] for row in proposals}
            for proposal_hash, slot, name, at in db.execute(
                "SELECT proposal_hash, slot, validator, received_at FROM signatures WHERE proposal_hash IN "
                "(SELECT hash FROM proposals ORDER BY number DESC, created_at DESC LIMIT ?) ORDER BY slot",
                (limit,),
            ):
                if proposal_hash in signers:
                    signers[proposal_hash].append((int(slot), str(name), float(at)))
            for proposal_hash, listed, at in db.execute(
                "SELECT proposal_hash, signers, received_at FROM aggregates WHERE proposal_hash IN "
                "(SELECT hash FROM proposals ORDER BY number DESC, created_at DESC LIMIT ?)",
                (limit,),
            ):
                if proposal_hash in signers:
                    named = json.loads(listed)
                    signers[proposal_hash].extend((int(slot), str(name), float(at)) for slot, name in named)
            batches = db.execute(
                f"SELECT {_BATCH_COLUMNS}, created_at, updated_at FROM batches ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
            ids = [int(row[0]) for row in batches]
            transactions = select_transaction_reports(db, ids)
        return StoreReport(
            proposals=tuple(
                ProposalReport(_proposal(row[:7]), Timed(row[7], row[8]), tuple(signers[row[0]])) for row in proposals
            ),
            batches=tuple(BatchReport(_batch(row[:11]), Timed(row[11], row[12])) for row in batches),
            transactions=transactions,
        )


def _encode_uint64(value: int | str) -> str:
    return pad_number(int(value))


# How each key field is stored (what find_batches compares with).
_KEY_COLUMNS: Final[dict[str, Callable[[int | str], object]]] = {
    "circuit": str,
    "header_hash": str,
    "number": _encode_uint64,
    "trusted_hash": str,
    "first_id": _encode_uint64,
    "event_count": int,
}
_BATCH_COLUMNS: Final = (
    "id, circuit, header_hash, number, trusted_hash, first_id, event_count, status, proof_dir, seconds, note"
)


def _proposal(row: tuple[str, str, str, str, int, str, str]) -> ProposalRecord:
    header_hash, parent_hash, number, first_id, count, status, note = row
    return ProposalRecord(
        int(header_hash), int(parent_hash), int(number), int(first_id), int(count), ProposalStatus(status), note
    )


def _batch(row: tuple[int, str, str, str, str, str, int, str, str, float | None, str]) -> BatchRecord:
    batch_id, circuit, header_hash, number, trusted, first_id, count, status, proof_dir, seconds, note = row
    key = BatchKey(circuit, int(header_hash), int(number), int(trusted), int(first_id), int(count))
    return BatchRecord(int(batch_id), key, BatchStatus(status), Path(proof_dir), seconds, note)


# --- the transactions table, shared with the checkpoint journal (relayer/checkpoints.py) -------


def insert_transaction(
    db: sqlite3.Connection, batch_id: int, tx_hash: bytes, method: str, sender: str, nonce: int, raw: bytes
) -> float:
    """A signed transaction's row, before it is broadcast; the time written.

    The same bytes may be signed again after a crash before their broadcast (same nonce, same
    fees, a deterministic signature): that is the same transaction, and its row is marked signed anew.
    """
    now = time.time()
    db.execute(
        "INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, '', ?, ?) "
        "ON CONFLICT(hash) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
        ("0x" + tx_hash.hex(), batch_id, method, sender, nonce, "0x" + raw.hex(), TxStatus.SIGNED.value, now, now),
    )
    return now


def update_transaction_status(
    db: sqlite3.Connection, tx_hash: bytes, status: TxStatus, note: str, block: int | None, gas_used: int | None
) -> None:
    db.execute(
        "UPDATE transactions SET status = ?, note = ?, block = COALESCE(?, block), "
        "gas_used = COALESCE(?, gas_used), updated_at = ? WHERE hash = ?",
        (status.value, note[:500], block, gas_used, time.time(), "0x" + tx_hash.hex()),
    )


def select_transactions(
    db: sqlite3.Connection, *, batch_id: int | None = None, statuses: Sequence[TxStatus] = ()
) -> list[TransactionRecord]:
    clauses: list[str] = []
    values: list[object] = []
    if batch_id is not None:
        clauses.append("batch_id = ?")
        values.append(batch_id)
    if statuses:
        clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
        values += [s.value for s in statuses]
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = db.execute(
        "SELECT hash, batch_id, method, sender, nonce, raw, status, block, note FROM transactions "
        f"{where} ORDER BY created_at",
        values,
    ).fetchall()
    return [
        TransactionRecord(
            tx_hash=bytes.fromhex(h[2:]),
            batch_id=int(b),
            method=str(m),
            sender=str(s),
            nonce=int(n),
            raw=bytes.fromhex(r[2:]),
            status=TxStatus(st),
            block=None if blk is None else int(blk),
            note=str(note),
        )
        for h, b, m, s, n, r, st, blk, note in rows
    ]


def select_transaction_reports(db: sqlite3.Connection, batch_ids: Sequence[int]) -> tuple[TransactionReport, ...]:
    """The transactions of `batch_ids` (batches, or checkpoint numbers in the journal), oldest first."""
    if not batch_ids:
        return ()
    rows = db.execute(
        "SELECT hash, batch_id, method, status, block, gas_used, note, created_at, updated_at FROM transactions "
        f"WHERE batch_id IN ({', '.join('?' * len(batch_ids))}) ORDER BY created_at",
        list(batch_ids),
    ).fetchall()
    return tuple(
        TransactionReport(
            str(h),
            int(b),
            str(m),
            TxStatus(st),
            None if blk is None else int(blk),
            None if gas is None else int(gas),
            str(note),
            Timed(float(created), float(updated)),
        )
        for h, b, m, st, blk, gas, note, created, updated in rows
    )
