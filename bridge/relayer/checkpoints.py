"""The relayer's exit direction: child-chain checkpoints, signed, proven and submitted to the rootchain.

Each step reads the truth from the chains, never from a copy: the checkpoints ZkCheckpointManager
accepted (its CheckpointAccepted logs, each rebuilt from the child block at its number and checked
against the logged hash, so a checkpoint another relayer submitted counts the same), and the child
chain's L2StateSynced exits after the trusted one. When the proposal rule (statesync.proposal,
with the child's confirmations and range) yields a range, the relayer derives the checkpoint every
honest validator derives, collects signatures until more than 2/3 of the power signed, proves
CheckpointUpdate, checks the proof with the Python checkpoint client, and submits it.

Restarts lose nothing and repeat nothing that matters: a proof is kept under a name fixed by the
checkpoint and its trusted parent and reused; every rootchain transaction is journalled before it
is broadcast (checkpoints.sqlite) and looked up after a crash, and no new one is sent while one
is pending; a transaction that lands after its checkpoint was accepted otherwise reverts
(NumberNotRising) and changes nothing. Signatures are asked for again: the validators' slashing
protection returns the same deterministic signature for the same checkpoint.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from prover.inputs import build_checkpoint_update_inputs
from statesync.errors import ZkStateSyncError
from statesync.model import AnyCommit, Checkpoint, ValidatorSet, compute_checkpoint_hash
from statesync.proposal import ProposalRules, RootBlock, derive_checkpoint, exit_events, select_range_end
from verifier.checkpoint_client import CheckpointClientState, validate_checkpoint_proof
from verifier.light_client import LightClientError
from verifier.signals import CheckpointSignals

from ..chain.deploy import encode_call
from ..chain.solc import Abi
from ..chain.stack import CHECKPOINT_GAS, encode_proof_argument
from ..db import DurableSqlite
from ..receiver import AcceptedCheckpoint, CheckpointManager
from ..rootchain import RootchainReader
from .aggregating import AggregateCollector
from .proving import ProofRunner, is_published
from .signing import SignatureCollector, build_commit
from .store import (
    TRANSACTIONS_SCHEMA,
    Timed,
    TransactionRecord,
    TransactionReport,
    TxStatus,
    insert_transaction,
    select_transaction_reports,
    select_transactions,
    update_transaction_status,
)
from .submit import SubmissionDropped, SubmissionReverted, TransactionSender

JOURNAL_NAME: Final = "checkpoints.sqlite"
SQLITE_INTEGER_MAX: Final = 2**63 - 1
# What the explorer shows of each checkpoint this relayer relayed: who signed, how long the proof took.
CHECKPOINTS_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS checkpoints (
    number INTEGER NOT NULL,
    hash TEXT NOT NULL,
    signers TEXT NOT NULL,
    rotation INTEGER NOT NULL,
    proof_seconds REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (number, hash)
);
"""

log = logging.getLogger("zkstatesync.relayer.checkpoints")


class CheckpointRelayError(ZkStateSyncError):
    """The rootchain's checkpoints and the child chain disagree, or a checkpoint cannot be relayed."""


class CheckpointJournal(DurableSqlite):
    """Rootchain transactions of the exit direction, recorded before they are broadcast (the relayer
    store's transactions table; a row's batch_id is its checkpoint's number)."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path, TRANSACTIONS_SCHEMA + CHECKPOINTS_SCHEMA, "checkpoint journal", CheckpointRelayError, timeout=10.0
        )

    def record_transaction(
        self, batch_id: int, tx_hash: bytes, method: str, sender: str, nonce: int, raw: bytes
    ) -> None:
        if batch_id > SQLITE_INTEGER_MAX:
            raise CheckpointRelayError(f"checkpoint number {batch_id} does not fit the journal")
        with self._transaction() as db:
            insert_transaction(db, batch_id, tx_hash, method, sender, nonce, raw)

    def set_transaction_status(
        self, tx_hash: bytes, status: TxStatus, note: str = "", *, block: int | None = None, gas_used: int | None = None
    ) -> None:
        with self._transaction() as db:
            update_transaction_status(db, tx_hash, status, note, block, gas_used)

    def open_transactions(self) -> list[TransactionRecord]:
        with self._lock:
            return select_transactions(self._db, statuses=(TxStatus.SIGNED, TxStatus.SENT))

    def record_signed(self, number: int, checkpoint_hash: int, signers: Mapping[int, str], rotation: bool) -> None:
        """The quorum collected for a checkpoint (slot -> validator), replacing an earlier collection;
        `rotation`: the checkpoint names another next validator set."""
        if number > SQLITE_INTEGER_MAX:
            raise CheckpointRelayError(f"checkpoint number {number} does not fit the journal")
        now = time.time()
        names = json.dumps({str(slot): name for slot, name in sorted(signers.items())})
        with self._transaction() as db:
            db.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?, ?, NULL, ?, ?) ON CONFLICT(number, hash) "
                "DO UPDATE SET signers = excluded.signers, updated_at = excluded.updated_at",
                (number, str(checkpoint_hash), names, int(rotation), now, now),
            )

    def record_proven(self, number: int, checkpoint_hash: int, seconds: float) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE checkpoints SET proof_seconds = ?, updated_at = ? WHERE number = ? AND hash = ?",
                (seconds, time.time(), number, str(checkpoint_hash)),
            )

    def report(self, limit: int) -> tuple[tuple[CheckpointReport, ...], tuple[TransactionReport, ...]]:
        """The newest `limit` checkpoints this relayer collected signatures for, and their transactions."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT number, hash, signers, rotation, proof_seconds, created_at, updated_at FROM checkpoints "
                "ORDER BY number DESC LIMIT ?",
                (limit,),
            ).fetchall()
            transactions = select_transaction_reports(db, sorted({int(row[0]) for row in rows}))
        reports = tuple(
            CheckpointReport(
                number=int(number),
                checkpoint_hash=int(checkpoint_hash),
                signers=tuple(sorted((int(slot), str(name)) for slot, name in json.loads(signers).items())),
                rotation=bool(rotation),
                proof_seconds=seconds,
                times=Timed(float(created), float(updated)),
            )
            for number, checkpoint_hash, signers, rotation, seconds, created, updated in rows
        )
        return reports, transactions


@dataclass(frozen=True)
class CheckpointReport:
    number: int
    checkpoint_hash: int
    signers: tuple[tuple[int, str], ...]  # (slot, validator), by slot
    rotation: bool
    proof_seconds: float | None
    times: Timed


def rebuild_trusted_checkpoint(
    genesis: Checkpoint,
    accepted: Sequence[AcceptedCheckpoint],
    block: Callable[[int], RootBlock],
    set_hashes: Sequence[int],
) -> Checkpoint:
    """The last accepted checkpoint's fields, rebuilt from the child block at its number.

    Its parent's hash is the previous log's (or the genesis's), its exit root its own log's; the
    rest is the child chain's block and the validator sets this relayer knows (the genesis's and
    the configured one). One child block is read, however many checkpoints were accepted. A
    rebuilt checkpoint whose hash is not the logged one means the child chain no longer has that
    block (a reorganisation deeper than the confirmations) or the set rotated in a way this relayer
    was not told: CheckpointRelayError, never a guess.
    """
    if not accepted:
        return genesis
    entry = accepted[-1]
    parent_hash = accepted[-2].checkpoint_hash if len(accepted) > 1 else compute_checkpoint_hash(genesis)
    end = block(entry.number)
    for set_hash in dict.fromkeys(set_hashes):
        for next_set in dict.fromkeys(set_hashes):
            candidate = Checkpoint(
                chain_id=genesis.chain_id,
                number=entry.number,
                parent_hash=parent_hash,
                timestamp=end.timestamp,
                exit_root=entry.exit_root,
                validator_set_hash=set_hash,
                next_validator_set_hash=next_set,
                block_hash=end.hash,
            )
            if compute_checkpoint_hash(candidate) == entry.checkpoint_hash:
                return candidate
    raise CheckpointRelayError(
        f"checkpoint {entry.number} accepted on the rootchain is not the child chain's block {entry.number} "
        "(a reorganisation below the confirmations, or a validator set this relayer does not know)"
    )


class CheckpointRelay:
    """One step at a time: resolve what was sent, rebuild the accepted chain, relay the next checkpoint."""

    def __init__(
        self,
        *,
        genesis: Checkpoint,
        rules: ProposalRules,
        validator_set: ValidatorSet,
        set_hash: int,
        child: RootchainReader,
        manager: CheckpointManager,
        manager_abi: Abi,
        manager_from_block: int,
        collector: SignatureCollector,
        aggregator: AggregateCollector | None,
        prover: ProofRunner,
        sender: TransactionSender,
        journal: CheckpointJournal,
        proofs_dir: Path,
    ) -> None:
        self.genesis = genesis
        self.rules = rules
        self.validator_set = validator_set
        self.set_hash = set_hash
        self.child = child
        self.manager = manager
        self.manager_abi = manager_abi
        self.manager_from_block = manager_from_block
        self.collector = collector
        self.aggregator = aggregator
        self.prover = prover
        self.sender = sender
        self.journal = journal
        self.proofs_dir = proofs_dir
        self.status: dict[str, Any] = {}
        # The accepted checkpoints' logs read so far and the rootchain block they were read to:
        # each step reads only newer logs; a mismatch with the manager's state starts over once.
        self._accepted: list[AcceptedCheckpoint] = []
        self._scanned_to = manager_from_block - 1

    def accepted_chain(self) -> tuple[list[AcceptedCheckpoint], Checkpoint]:
        """The accepted checkpoints' logs and the trusted checkpoint's fields, as the manager holds them."""
        sets = (self.genesis.next_validator_set_hash, self.set_hash)
        for attempt in range(2):
            head_block = self.manager.block_number()
            trusted_hash = self.manager.trusted_checkpoint_hash(head_block)
            if head_block > self._scanned_to:
                for entry in self.manager.accepted(self._scanned_to + 1, head_block):
                    # A log seen again (its transaction re-mined after a rootchain reorganisation).
                    if not self._accepted or entry.number > self._accepted[-1].number:
                        self._accepted.append(entry)
                self._scanned_to = head_block
            last_hash = self._accepted[-1].checkpoint_hash if self._accepted else compute_checkpoint_hash(self.genesis)
            if last_hash == trusted_hash:
                return self._accepted, rebuild_trusted_checkpoint(self.genesis, self._accepted, self.child.block, sets)
            if attempt == 0:  # a rootchain reorganisation removed logs: read everything again
                self._accepted, self._scanned_to = [], self.manager_from_block - 1
        raise CheckpointRelayError("the manager's trusted checkpoint is not the last one its logs accepted")

    def step(self) -> bool:
        """False when there was nothing to do (or a transaction is still on its way)."""
        if not self._resolve_open():
            return False
        accepted, trusted = self.accepted_chain()
        self.prune_proofs(trusted.number)
        head = self.child.head()
        last = min(head, trusted.number + self.rules.max_range)
        pending = (
            [seen.pending for seen in self.child.state_synced(trusted.number + 1, last)]
            if last > trusted.number
            else []
        )
        end = select_range_end(trusted.number, head, pending, self.rules)
        self.status = {"trusted_number": trusted.number, "child_head": head, "pending_exits": len(pending)}
        if end is None:
            return False
        view = self.child.read_range(trusted.number, end)
        checkpoint = derive_checkpoint(
            trusted, view.end, exit_events([p.event for p in view.events]), self.rules, self.set_hash
        )
        self.relay(trusted, checkpoint, accepted, len(view.events))
        return True

    def relay(
        self, trusted: Checkpoint, checkpoint: Checkpoint, accepted: Sequence[AcceptedCheckpoint], exits: int
    ) -> None:
        if trusted.next_validator_set_hash != self.set_hash:
            raise CheckpointRelayError(
                f"checkpoint {trusted.number} names another validator set than the configured one: a rotation "
                "this relayer was not configured for (no quorum of the configured set can follow it)"
            )
        commit, signers = self.sign(checkpoint, trusted)
        trusted_hash, checkpoint_hash = compute_checkpoint_hash(trusted), compute_checkpoint_hash(checkpoint)
        self.journal.record_signed(
            checkpoint.number,
            checkpoint_hash,
            signers,
            rotation=checkpoint.next_validator_set_hash != checkpoint.validator_set_hash,
        )
        out_dir = self.proofs_dir / f"checkpoint-{checkpoint.number}-{checkpoint_hash:064x}-{trusted_hash:064x}"[:200]
        if is_published(out_dir):
            checked = self.prover.load_checked("checkpoint_update", out_dir)
        else:
            inputs = build_checkpoint_update_inputs(trusted=trusted, commit=commit, validator_set=self.validator_set)
            checked, timing = self.prover.prove("checkpoint_update", inputs, out_dir)
            self.journal.record_proven(checkpoint.number, checkpoint_hash, timing.seconds)
        signals = checked.signals
        if not isinstance(signals, CheckpointSignals):
            raise CheckpointRelayError(f"a {checked.key.circuit} proof is no checkpoint proof")
        state = CheckpointClientState(trusted, {a.number: a.exit_root for a in accepted})
        try:
            validate_checkpoint_proof(state, checked.key, checked.proof, signals, checkpoint)
        except LightClientError as exc:
            raise CheckpointRelayError(f"the checkpoint client refuses the proof: {exc}") from exc
        argument = encode_proof_argument(checked.proof, signals.values())
        root = checkpoint.exit_root.to_bytes(32, "big")
        data = encode_call(self.manager_abi, "submit", [argument, checkpoint_hash, checkpoint.number, root])
        try:
            receipt = self.sender.send(checkpoint.number, "submit", self.manager.address, data, CHECKPOINT_GAS)
        except SubmissionReverted as exc:
            if exc.reason.name == "ZkCheckpointManager__NumberNotRising":
                log.info("checkpoint.accepted_elsewhere", extra={"fields": {"number": checkpoint.number}})
                return
            raise
        log.info(
            "checkpoint.submitted",
            extra={
                "fields": {
                    "number": checkpoint.number,
                    "exits": exits,
                    "tx": "0x" + receipt.tx_hash.hex(),
                    "gas_used": receipt.gas_used,
                    "signers": sorted(signers),
                }
            },
        )

    def sign(self, checkpoint: Checkpoint, trusted: Checkpoint) -> tuple[AnyCommit, dict[int, str]]:
        """A quorum's signatures on the checkpoint, in the network's quorum mode, and the signers by slot."""
        if self.aggregator is not None:
            signed = self.aggregator.collect(checkpoint, trusted)
            return signed.commit, dict(signed.signers)
        collected = self.collector.collect(checkpoint, trusted, {}, lambda _endpoint, _signature: None)
        names = {endpoint.slot: endpoint.name for endpoint in self.collector.endpoints}
        commit = build_commit(checkpoint, collected.signatures, self.validator_set.size)
        return commit, {slot: names[slot] for slot in collected.signatures}

    def prune_proofs(self, trusted_number: int) -> None:
        """Proofs of checkpoints at or below the trusted one are done with: disk use stays bounded."""
        if not self.proofs_dir.is_dir():
            return
        for directory in self.proofs_dir.glob("checkpoint-*"):
            number = directory.name.split("-")[1]
            if number.isdigit() and int(number) <= trusted_number and directory.is_dir():
                shutil.rmtree(directory, ignore_errors=True)

    def _resolve_open(self) -> bool:
        """Follow journalled transactions to their end; False while one is still pending."""
        for record in self.journal.open_transactions():
            try:
                receipt = self.sender.resolve(record)
            except SubmissionDropped:
                continue  # filed as dropped: the checkpoint is relayed again from the chains' state
            if receipt is None:
                return False  # still pending: a second transaction would only race it
            try:
                self.sender.settle(record.method, self.manager.address, b"", CHECKPOINT_GAS, receipt)
            except SubmissionReverted:
                log.info("checkpoint.reverted", extra={"fields": {"number": record.batch_id}})
        return True
