"""Slashing protection: a validator never signs two different headers at one (chain, number).

One SQLite row per (chain_id, number) holds the header hash signed there and its signing
message. The row is committed (WAL, synchronous=FULL: on disk, not in a cache) before a
signature leaves the process, so a crash or kill -9 at any point leaves either no signature
out or a row that forbids a conflicting one. Asked again for the same header, the validator
signs it again (EdDSA here is deterministic: the same signature); for a different header the
answer is AlreadySignedOther.

"The header signed last" is the highest number signed on a chain (in normal operation also the
most recent; unlike a timestamp it is well defined after an import).

Numbers are stored as 20-digit zero-padded text: SQLite integers stop at 2^63, block numbers
and chain ids are uint64, and padded text sorts like the numbers.

The interchange format follows EIP-3076 (Ethereum's slashing-protection interchange) in spirit:

    {"metadata": {"interchange_format": "zkstatesync.slashing-protection", "interchange_format_version": "1"},
     "data": [{"public_key": ["x", "y"],
               "signed_headers": [{"chain_id": "31337", "number": "40", "header_hash": "...",
                                   "signing_message": "..."}]}]}
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from statesync.babyjub import Point
from statesync.errors import ZkStateSyncError
from statesync.field import R
from statesync.model import SigningPurpose
from statesync.poseidon import poseidon

from ..db import DataDirLock, DurableSqlite, pad_number
from .wire import MalformedRequest, parse_decimal, parse_json_strictly

SCHEMA_VERSION: Final = "1"
INTERCHANGE_FORMAT: Final = "zkstatesync.slashing-protection"
INTERCHANGE_VERSION: Final = "1"
DB_NAME: Final = "slashing.sqlite"
LOCK_NAME: Final = "validator.lock"
MAX_INTERCHANGE_BYTES: Final = 256 * 2**20
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signed_headers (
    chain_id TEXT NOT NULL,
    number TEXT NOT NULL,
    header_hash TEXT NOT NULL,
    signing_message TEXT NOT NULL,
    signed_at REAL NOT NULL,
    PRIMARY KEY (chain_id, number)
);
"""


class SlashingError(ZkStateSyncError):
    """The slashing-protection database refuses, or cannot be used."""


class AlreadySignedOther(SlashingError):
    """A different header was signed at this (chain, number)."""

    def __init__(self, existing: SignedHeader) -> None:
        self.existing = existing
        super().__init__(
            f"header {existing.header_hash} was signed at chain {existing.chain_id} number {existing.number}"
        )


class NotLastSigned(SlashingError):
    """The header named as the last one signed is not (another was signed meanwhile)."""


@dataclass(frozen=True)
class SignedHeader:
    chain_id: int
    number: int
    header_hash: int
    signing_message: int


@dataclass(frozen=True)
class ImportSummary:
    imported: int
    already_present: int
    other_keys: int  # entries for public keys other than this database's, left out


def compute_header_signing_message(
    chain_id: int, header_hash: int, purpose: SigningPurpose = SigningPurpose.HEADER
) -> int:
    """statesync.model.compute_signing_message from a hash (the interchange carries no header or checkpoint)."""
    return poseidon([int(purpose), chain_id, header_hash])


def lock_data_dir(data_dir: Path) -> DataDirLock:
    """One validator process per data directory."""
    return DataDirLock(data_dir, LOCK_NAME, "validator", SlashingError)


class SlashingDB(DurableSqlite):
    """The database at `path`, bound to one public key (refused for another: it protects that key)."""

    def __init__(self, path: Path, public_key: Point) -> None:
        self.public_key = public_key
        super().__init__(path, _SCHEMA, "slashing database", SlashingError, timeout=10.0)
        self._bind_key()

    def _bind_key(self) -> None:
        key_text = f"{self.public_key[0]},{self.public_key[1]}"
        with self._transaction() as db:
            rows = dict(db.execute("SELECT key, value FROM metadata").fetchall())
            if not rows:
                db.execute("INSERT INTO metadata VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                db.execute("INSERT INTO metadata VALUES ('public_key', ?)", (key_text,))
                return
        if rows.get("schema_version") != SCHEMA_VERSION:
            raise SlashingError(f"{self.path} has schema {rows.get('schema_version')!r}, not {SCHEMA_VERSION}")
        if rows.get("public_key") != key_text:
            raise SlashingError(f"{self.path} protects another public key ({rows.get('public_key')})")

    # --- queries ---------------------------------------------------------------------------

    def lookup(self, chain_id: int, number: int) -> SignedHeader | None:
        with self._lock:
            row = self._db.execute(
                "SELECT chain_id, number, header_hash, signing_message FROM signed_headers"
                " WHERE chain_id = ? AND number = ?",
                (pad_number(chain_id), pad_number(number)),
            ).fetchone()
        return _to_record(row) if row else None

    def last_signed(self, chain_id: int) -> SignedHeader | None:
        with self._lock:
            return self._last_signed(self._db, chain_id)

    @staticmethod
    def _last_signed(db: sqlite3.Connection, chain_id: int) -> SignedHeader | None:
        row = db.execute(
            "SELECT chain_id, number, header_hash, signing_message FROM signed_headers"
            " WHERE chain_id = ? ORDER BY number DESC LIMIT 1",
            (pad_number(chain_id),),
        ).fetchone()
        return _to_record(row) if row else None

    def records(self) -> tuple[SignedHeader, ...]:
        with self._lock:
            rows = self._db.execute(
                "SELECT chain_id, number, header_hash, signing_message FROM signed_headers ORDER BY chain_id, number"
            ).fetchall()
        return tuple(_to_record(row) for row in rows)

    # --- the one write --------------------------------------------------------------------

    def record(self, entry: SignedHeader, *, require_last: int | None = None) -> bool:
        """Commit `entry` before its signature is released; False if exactly it was there already.

        AlreadySignedOther for another header at the same (chain, number); with `require_last`,
        NotLastSigned unless the highest header signed on the chain has that hash (checked in
        the same transaction, so nothing can be signed in between).
        """
        with self._transaction() as db:
            row = db.execute(
                "SELECT chain_id, number, header_hash, signing_message FROM signed_headers"
                " WHERE chain_id = ? AND number = ?",
                (pad_number(entry.chain_id), pad_number(entry.number)),
            ).fetchone()
            if row is not None:
                existing = _to_record(row)
                if existing.header_hash != entry.header_hash:
                    raise AlreadySignedOther(existing)
                return False
            if require_last is not None:
                last = self._last_signed(db, entry.chain_id)
                if last is None or last.header_hash != require_last:
                    raise NotLastSigned(f"the last header signed on chain {entry.chain_id} is not {require_last}")
            db.execute(
                "INSERT INTO signed_headers VALUES (?, ?, ?, ?, ?)",
                (
                    pad_number(entry.chain_id),
                    pad_number(entry.number),
                    str(entry.header_hash),
                    str(entry.signing_message),
                    time.time(),
                ),
            )
            return True

    # --- interchange ----------------------------------------------------------------------

    def export_interchange(self) -> dict[str, Any]:
        return {
            "metadata": {"interchange_format": INTERCHANGE_FORMAT, "interchange_format_version": INTERCHANGE_VERSION},
            "data": [
                {
                    "public_key": [str(self.public_key[0]), str(self.public_key[1])],
                    "signed_headers": [
                        {
                            "chain_id": str(r.chain_id),
                            "number": str(r.number),
                            "header_hash": str(r.header_hash),
                            "signing_message": str(r.signing_message),
                        }
                        for r in self.records()
                    ],
                }
            ],
        }

    def import_interchange(self, document: Mapping[str, Any]) -> ImportSummary:
        """Merge another database's records for this key: all or nothing, refusing any conflict."""
        entries, other_keys = parse_interchange(document, self.public_key)
        imported = present = 0
        with self._transaction() as db:
            for entry in entries:
                row = db.execute(
                    "SELECT chain_id, number, header_hash, signing_message FROM signed_headers"
                    " WHERE chain_id = ? AND number = ?",
                    (pad_number(entry.chain_id), pad_number(entry.number)),
                ).fetchone()
                if row is not None:
                    if _to_record(row).header_hash != entry.header_hash:
                        raise SlashingError(
                            f"the import conflicts at chain {entry.chain_id} number {entry.number}: header "
                            f"{entry.header_hash} there, {_to_record(row).header_hash} here; nothing was imported"
                        )
                    present += 1
                    continue
                db.execute(
                    "INSERT INTO signed_headers VALUES (?, ?, ?, ?, ?)",
                    (
                        pad_number(entry.chain_id),
                        pad_number(entry.number),
                        str(entry.header_hash),
                        str(entry.signing_message),
                        time.time(),
                    ),
                )
                imported += 1
        return ImportSummary(imported=imported, already_present=present, other_keys=other_keys)


def _to_record(row: tuple[str, str, str, str]) -> SignedHeader:
    return SignedHeader(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def parse_interchange_text(data: bytes) -> Mapping[str, Any]:
    try:
        document = parse_json_strictly(data, MAX_INTERCHANGE_BYTES)
    except MalformedRequest as exc:
        raise SlashingError(f"the interchange file is not strict JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise SlashingError("the interchange file is not a JSON object")
    return document


def parse_interchange(document: Mapping[str, Any], public_key: Point) -> tuple[list[SignedHeader], int]:
    """This key's records of an interchange document (checked), and how many entries are other keys'."""
    metadata = document.get("metadata")
    if (
        not isinstance(metadata, dict)
        or metadata.get("interchange_format") != INTERCHANGE_FORMAT
        or metadata.get("interchange_format_version") != INTERCHANGE_VERSION
    ):
        raise SlashingError(f"not a {INTERCHANGE_FORMAT} version {INTERCHANGE_VERSION} document")
    data = document.get("data")
    if not isinstance(data, list):
        raise SlashingError("the interchange's data must be a list")
    ours: list[SignedHeader] = []
    other_keys = 0
    try:
        for index, item in enumerate(data):
            if not isinstance(item, dict) or set(item) != {"public_key", "signed_headers"}:
                raise SlashingError(f"data[{index}] must have exactly public_key and signed_headers")
            key = item["public_key"]
            if not isinstance(key, list) or len(key) != 2:
                raise SlashingError(f"data[{index}].public_key must be [x, y]")
            point = (parse_decimal(key[0], "public_key x", R), parse_decimal(key[1], "public_key y", R))
            headers = item["signed_headers"]
            if not isinstance(headers, list):
                raise SlashingError(f"data[{index}].signed_headers must be a list")
            if point != tuple(public_key):
                other_keys += 1
                continue
            for position, raw in enumerate(headers):
                ours.append(_parse_interchange_record(raw, f"data[{index}].signed_headers[{position}]"))
    except MalformedRequest as exc:
        raise SlashingError(f"the interchange is malformed: {exc}") from exc
    seen: dict[tuple[int, int], int] = {}
    for entry in ours:
        key_ = (entry.chain_id, entry.number)
        if seen.setdefault(key_, entry.header_hash) != entry.header_hash:
            raise SlashingError(f"the interchange itself has two headers at chain {key_[0]} number {key_[1]}")
    return ours, other_keys


def _parse_interchange_record(raw: object, where: str) -> SignedHeader:
    if not isinstance(raw, dict) or set(raw) != {"chain_id", "number", "header_hash", "signing_message"}:
        raise SlashingError(f"{where} must have exactly chain_id, number, header_hash, signing_message")
    entry = SignedHeader(
        chain_id=parse_decimal(raw["chain_id"], f"{where}.chain_id", 2**64),
        number=parse_decimal(raw["number"], f"{where}.number", 2**64),
        header_hash=parse_decimal(raw["header_hash"], f"{where}.header_hash", R),
        signing_message=parse_decimal(raw["signing_message"], f"{where}.signing_message", R),
    )
    # A row is a header's (rootchain) or a checkpoint's (child chain): the message says which purpose.
    if entry.signing_message not in {
        compute_header_signing_message(entry.chain_id, entry.header_hash, purpose) for purpose in SigningPurpose
    }:
        raise SlashingError(f"{where}: the signing message is not that of the header hash on that chain")
    return entry
