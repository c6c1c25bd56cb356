"""Each message's journey, each header's and checkpoint's story, put together from what was read.

Pure functions over a `Facts` snapshot: the chains' logs (the truth: a message another relayer
carried still has its whole journey, told by the logs) and the relayer's store (what only this
relayer knows: who signed a proposal and when, how long a proof took, which transaction it sent).

A message's state is the furthest step it reached; `failed` (the receiver's call reverted; anyone
may retry it), `queued` (executed, but the sample bridge's token bucket holds its value back),
`frozen` and `paused` (the receiver's rails hold it) are said as such.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

from statesync.model import is_quorum

from ...chain.deploy import decode_revert
from ...chain.solc import Abi
from ..checkpoints import CheckpointReport
from ..store import BatchReport, BatchStatus, ProposalReport, ProposalStatus, StoreReport, TransactionReport
from .chainlogs import SeenEvent

ROOTCHAIN = "rootchain"
CHILD = "child"


class Direction(StrEnum):
    STATE_SYNC = "statesync"  # rootchain -> child chain: StateSender, headers, ZkStateReceiver
    EXIT = "exit"  # child chain -> rootchain: L2StateSender, checkpoints, ZkExitHelper


class MessageState(StrEnum):
    SENT = "sent"  # logged; waiting for its confirmations
    CONFIRMED = "confirmed"  # deep enough; waiting for a header (a checkpoint) to be signed
    SIGNED = "signed"  # more than 2/3 of the power signed a header (checkpoint) covering it
    PROVEN = "proven"
    SUBMITTED = "submitted"  # a transaction carrying it is on its way
    ACCEPTED = "accepted"  # its header (checkpoint) is accepted; execution is next (an exit: anyone's)
    PAUSED = "paused"  # the guardian's pause holds its execution
    FROZEN = "frozen"  # the receiver is frozen by evidence of equivocation
    FAILED = "failed"  # the receiver's call reverted; it may be retried
    SKIPPED = "skipped"  # governance's recovery moved the receiver past it: it never executes here
    EXECUTED = "executed"
    QUEUED = "queued"  # executed; its value waits in the sample bridge's token bucket


@dataclass(frozen=True)
class TxRef:
    chain: str
    tx_hash: str
    block: int | None


@dataclass(frozen=True)
class Step:
    name: str
    done: bool
    at: int | float | None  # Unix seconds: a block's timestamp, or the relayer's clock
    detail: str
    tx: TxRef | None = None


@dataclass(frozen=True)
class Journey:
    direction: Direction
    id: int
    sender: str
    receiver: str
    data: str  # 0x-hex
    state: MessageState
    detail: str
    steps: tuple[Step, ...]
    carrier: int | None  # the number of the header (checkpoint) that carries it, once accepted


@dataclass(frozen=True)
class Signer:
    slot: int
    name: str
    power: int


@dataclass(frozen=True)
class CarrierView:
    """A header (kind "header") or a checkpoint (kind "checkpoint"): accepted, or a proposal of this relayer."""

    kind: str
    number: int
    hash: int
    status: str  # "accepted", "conflicting" (the freeze's accepted header), or the proposal's status
    root: str  # the event root (decimal) or the exit root (0x-hex)
    accepted: TxRef | None
    accepted_at: int | None
    signers: tuple[Signer, ...]  # what this relayer collected; empty for another relayer's
    signed_power: int | None
    total_power: int
    messages: tuple[int, ...]  # the ids it carries
    rotation: bool | None  # names another next validator set (None: not known here)
    proof_seconds: float | None
    note: str


@dataclass(frozen=True)
class Facts:
    """Everything a page is built from, read at one moment."""

    root_head: int
    child_head: int
    root_confirmations: int
    child_confirmations: int
    powers: tuple[tuple[str, int], ...]  # (name, power) by slot
    times: Mapping[tuple[str, int], int]  # (chain, block) -> timestamp, for the blocks read
    state_synced: tuple[SeenEvent, ...]
    headers_accepted: tuple[SeenEvent, ...]
    results: tuple[SeenEvent, ...]  # StateSyncResult
    deposits_queue: tuple[SeenEvent, ...]  # ChildToken's TransferQueued / TransferReleased
    freezes: tuple[SeenEvent, ...]
    frozen: bool
    paused: bool
    store: StoreReport
    rotations: Mapping[int, bool]  # header hash -> names another next set (headers the store holds)
    genesis_number: int = 0  # the receiver's genesis header: ranges start after it
    checkpoint_genesis_number: int = 0
    recoveries: tuple[SeenEvent, ...] = ()  # Recovered: each starts an epoch
    expired: bool = False
    exits_paused: bool = False  # ZkExitHelper's guardian pause
    exits: tuple[SeenEvent, ...] = ()  # L2StateSynced
    checkpoints_accepted: tuple[SeenEvent, ...] = ()
    exits_processed: tuple[SeenEvent, ...] = ()
    withdrawals_queue: tuple[SeenEvent, ...] = ()  # RootBridge's TransferQueued / TransferReleased
    checkpoints: tuple[CheckpointReport, ...] = ()
    checkpoint_transactions: tuple[TransactionReport, ...] = ()
    revert_abis: tuple[Abi, ...] = ()  # what a failed call's revert data is decoded against

    @property
    def total_power(self) -> int:
        return sum(power for _, power in self.powers)

    @cached_property
    def epoch_headers(self) -> tuple[SeenEvent, ...]:
        """The headers accepted since the last recovery (the older ones execute nothing any more)."""
        if not self.recoveries:
            return self.headers_accepted
        last = self.recoveries[-1]
        return tuple(h for h in self.headers_accepted if (h.block, h.log_index) > (last.block, last.log_index))

    @cached_property
    def results_by_id(self) -> Mapping[int, tuple[SeenEvent, ...]]:
        return _by_id(self.results)

    @cached_property
    def processed_by_id(self) -> Mapping[int, tuple[SeenEvent, ...]]:
        return _by_id(self.exits_processed)

    @cached_property
    def deposits_queue_by_id(self) -> Mapping[int, tuple[SeenEvent, ...]]:
        return _by_id(self.deposits_queue)

    @cached_property
    def withdrawals_queue_by_id(self) -> Mapping[int, tuple[SeenEvent, ...]]:
        return _by_id(self.withdrawals_queue)

    def time(self, chain: str, block: int | None) -> int | None:
        return None if block is None else self.times.get((chain, block))


def build_journey(direction: Direction, sent: SeenEvent, facts: Facts) -> Journey:
    if direction is Direction.STATE_SYNC:
        return build_state_sync_journey(sent, facts)
    return build_exit_journey(sent, facts)


def build_state_sync_journey(sent: SeenEvent, facts: Facts) -> Journey:
    """A StateSynced event's way: confirmations, a signed header, a proof, its execution."""
    event_id = int(sent.args["id"])
    steps = [_emitted(sent, facts)]
    confirmed, confirmations = _confirmations(sent.block, facts.root_head, facts.root_confirmations)
    steps.append(
        Step(
            "confirmations",
            confirmed,
            facts.time(ROOTCHAIN, sent.block + facts.root_confirmations) if confirmed else None,
            confirmations,
        )
    )
    results = facts.results_by_id.get(event_id, ())
    outcome = results[-1] if results else None
    # Executed under a header of an earlier epoch, or waiting for one of this epoch.
    header = _covering(facts.headers_accepted if outcome is not None else facts.epoch_headers, sent.block)
    header_hash = None if header is None else int(header.args["headerHash"])
    proposal = _proposal_of(facts.store.proposals, event_id, header_hash)
    steps.append(_signed_step("header", proposal, header, facts))
    batch = _batch_of(facts.store.batches, event_id, header_hash)
    transaction = None if batch is None else _last_transaction(facts.store.transactions, batch.record.id)
    steps.append(
        _proven_step(batch, done=outcome is not None or (batch is not None and batch.record.seconds is not None))
    )
    steps.append(_submitted_step(transaction, CHILD, done=outcome is not None))
    steps.append(_accepted_step("header accepted", header, CHILD, facts))
    queued, released = _queue_of(facts.deposits_queue_by_id.get(event_id, ()))
    steps += _outcome_steps(outcome, queued, released, facts, CHILD)
    skipped_by = next((r for r in facts.recoveries if event_id <= int(r.args["lastExecutedId"])), None)

    if outcome is not None and outcome.args["success"]:
        state = MessageState.QUEUED if queued is not None and released is None else MessageState.EXECUTED
    elif skipped_by is not None:
        state = MessageState.SKIPPED
    elif outcome is not None:
        state = MessageState.FAILED
    elif facts.frozen:
        state = MessageState.FROZEN
    elif header is not None and facts.paused:
        state = MessageState.PAUSED
    else:
        state = _progress(steps, confirmed, transaction, header is not None, batch)
    return Journey(
        direction=Direction.STATE_SYNC,
        id=event_id,
        sender=str(sent.args["sender"]),
        receiver=str(sent.args["receiver"]),
        data="0x" + bytes(sent.args["data"]).hex(),
        state=state,
        detail=_state_detail(state, Direction.STATE_SYNC, outcome, queued, event_id, facts.revert_abis),
        steps=tuple(steps),
        carrier=None if header is None else int(header.args["number"]),
    )


def build_exit_journey(sent: SeenEvent, facts: Facts) -> Journey:
    """An L2StateSynced exit's way: child confirmations, a signed and proven checkpoint, anyone's exit."""
    exit_id = int(sent.args["id"])
    steps = [_emitted(sent, facts)]
    confirmed, confirmations = _confirmations(sent.block, facts.child_head, facts.child_confirmations)
    steps.append(
        Step(
            "confirmations",
            confirmed,
            facts.time(CHILD, sent.block + facts.child_confirmations) if confirmed else None,
            confirmations,
        )
    )
    checkpoint = _covering(facts.checkpoints_accepted, sent.block)
    report = _checkpoint_report_of(facts.checkpoints, sent.block, checkpoint)
    signers = () if report is None else _signers(report.signers, facts.powers)
    power = sum(s.power for s in signers)
    signed_done = checkpoint is not None or (report is not None and is_quorum(power, facts.total_power))
    steps.append(
        Step(
            "checkpoint signed",
            signed_done,
            None if report is None else report.times.created_at,
            _power_text(signers, facts.total_power, proven_on_chain=checkpoint is not None),
        )
    )
    transaction = None if report is None else _last_transaction(facts.checkpoint_transactions, report.number)
    proof = None if report is None else report.proof_seconds
    processed = facts.processed_by_id.get(exit_id, ())
    outcome = processed[-1] if processed else None
    steps.append(
        Step(
            "proven",
            checkpoint is not None or proof is not None,
            None if report is None or proof is None else report.times.updated_at,
            f"CheckpointUpdate in {proof:.1f} s" if proof is not None else _elsewhere(checkpoint is not None),
        )
    )
    steps.append(_submitted_step(transaction, ROOTCHAIN, done=checkpoint is not None))
    steps.append(_accepted_step("checkpoint accepted", checkpoint, ROOTCHAIN, facts))
    queued, released = _queue_of(facts.withdrawals_queue_by_id.get(exit_id, ()))
    steps += _outcome_steps(outcome, queued, released, facts, ROOTCHAIN)

    if outcome is not None and outcome.args["success"]:
        state = MessageState.QUEUED if queued is not None and released is None else MessageState.EXECUTED
    elif outcome is not None:
        state = MessageState.FAILED
    elif checkpoint is not None and facts.exits_paused:
        state = MessageState.PAUSED
    elif checkpoint is not None:
        state = MessageState.ACCEPTED
    elif transaction is not None and transaction.status.value in ("signed", "sent"):
        state = MessageState.SUBMITTED
    elif proof is not None:
        state = MessageState.PROVEN
    elif signed_done:
        state = MessageState.SIGNED
    else:
        state = MessageState.CONFIRMED if confirmed else MessageState.SENT
    return Journey(
        direction=Direction.EXIT,
        id=exit_id,
        sender=str(sent.args["sender"]),
        receiver=str(sent.args["receiver"]),
        data="0x" + bytes(sent.args["data"]).hex(),
        state=state,
        detail=_state_detail(state, Direction.EXIT, outcome, queued, exit_id, facts.revert_abis),
        steps=tuple(steps),
        carrier=None if checkpoint is None else int(checkpoint.args["number"]),
    )


def build_header_views(facts: Facts) -> list[CarrierView]:
    """Accepted headers (from the receiver's logs) and this relayer's other proposals, newest first."""
    by_hash = {p.record.header_hash: p for p in facts.store.proposals}
    conflicting = {int(f.args["acceptedHash"]) for f in facts.freezes}
    batches: dict[int, float] = {}
    for batch in facts.store.batches:
        if batch.record.seconds is not None and batch.record.key.circuit in ("state_sync", "header_update"):
            batches.setdefault(batch.record.key.header_hash, batch.record.seconds)
    views = []
    previous = facts.genesis_number
    events = sorted(facts.headers_accepted + facts.recoveries, key=lambda e: (e.block, e.log_index))
    blocks = [e.block for e in facts.state_synced]
    for entry in events:
        if entry.name == "Recovered":  # a new genesis: the next range starts after it
            previous = int(entry.args["number"])
            continue
        number, header_hash = int(entry.args["number"]), int(entry.args["headerHash"])
        proposal = by_hash.pop(header_hash, None)
        ids = tuple(
            int(e.args["id"])
            for e in facts.state_synced[bisect_left(blocks, previous + 1) : bisect_left(blocks, number + 1)]
        )
        previous = number
        views.append(
            _carrier(
                "header",
                number,
                header_hash,
                "conflicting" if header_hash in conflicting else "accepted",
                str(int(entry.args["eventRoot"])),
                entry,
                proposal,
                facts,
                ids,
                batches.get(header_hash),
            )
        )
    for proposal in by_hash.values():
        record = proposal.record
        ids = tuple(range(record.first_id, record.first_id + record.event_count))
        views.append(
            _carrier(
                "header",
                record.number,
                record.header_hash,
                record.status.value,
                "",
                None,
                proposal,
                facts,
                ids,
                batches.get(record.header_hash),
            )
        )
    return sorted(views, key=lambda v: (v.number, v.accepted is not None), reverse=True)


def build_checkpoint_views(facts: Facts) -> list[CarrierView]:
    """Accepted checkpoints (the manager's logs) and the ones this relayer had signed, newest first."""
    reports = {r.checkpoint_hash: r for r in facts.checkpoints}
    views = []
    previous = facts.checkpoint_genesis_number
    blocks = [e.block for e in facts.exits]
    for entry in facts.checkpoints_accepted:
        number, checkpoint_hash = int(entry.args["number"]), int(entry.args["checkpointHash"])
        report = reports.pop(checkpoint_hash, None)
        ids = tuple(
            int(e.args["id"]) for e in facts.exits[bisect_left(blocks, previous + 1) : bisect_left(blocks, number + 1)]
        )
        previous = number
        signers = () if report is None else _signers(report.signers, facts.powers)
        views.append(
            CarrierView(
                kind="checkpoint",
                number=number,
                hash=checkpoint_hash,
                status="accepted",
                root="0x" + bytes(entry.args["exitRoot"]).hex(),
                accepted=TxRef(ROOTCHAIN, entry.tx_hash, entry.block),
                accepted_at=facts.time(ROOTCHAIN, entry.block),
                signers=signers,
                signed_power=None if report is None else sum(s.power for s in signers),
                total_power=facts.total_power,
                messages=ids,
                rotation=None if report is None else report.rotation,
                proof_seconds=None if report is None else report.proof_seconds,
                note="" if report is not None else "relayed by another relayer",
            )
        )
    for report in reports.values():
        signers = _signers(report.signers, facts.powers)
        views.append(
            CarrierView(
                kind="checkpoint",
                number=report.number,
                hash=report.checkpoint_hash,
                status="signed",
                root="",
                accepted=None,
                accepted_at=None,
                signers=signers,
                signed_power=sum(s.power for s in signers),
                total_power=facts.total_power,
                messages=tuple(int(e.args["id"]) for e in facts.exits if previous < e.block <= report.number),
                rotation=report.rotation,
                proof_seconds=report.proof_seconds,
                note="",
            )
        )
    return sorted(views, key=lambda v: (v.number, v.accepted is not None), reverse=True)


# --- the steps ---------------------------------------------------------------------------------


def _emitted(sent: SeenEvent, facts: Facts) -> Step:
    what = "StateSender.StateSynced" if sent.name == "StateSynced" else "L2StateSender.L2StateSynced"
    return Step(
        "emitted",
        True,
        facts.time(sent.chain, sent.block),
        f"{what} in {sent.chain} block {sent.block}",
        TxRef(sent.chain, sent.tx_hash, sent.block),
    )


def _confirmations(block: int, head: int, needed: int) -> tuple[bool, str]:
    have = max(0, head - block)
    return have >= needed, f"{min(have, needed)} of {needed} blocks"


def _covering(accepted: Sequence[SeenEvent], block: int) -> SeenEvent | None:
    """The first accepted header (checkpoint) whose range holds `block` (its number is the range's end;
    the contracts accept rising numbers only, so the logs are in number order)."""
    index = bisect_left(accepted, block, key=lambda a: int(a.args["number"]))
    return accepted[index] if index < len(accepted) else None


def _signed_step(kind: str, proposal: ProposalReport | None, accepted: SeenEvent | None, facts: Facts) -> Step:
    signers = () if proposal is None else _signers(tuple((s, n) for s, n, _ in proposal.signers), facts.powers)
    power = sum(s.power for s in signers)
    done = accepted is not None or (proposal is not None and is_quorum(power, facts.total_power))
    at = max((at for _, _, at in proposal.signers), default=None) if proposal is not None else None
    return Step(
        f"{kind} signed", done, at, _power_text(signers, facts.total_power, proven_on_chain=accepted is not None)
    )


def _proven_step(batch: BatchReport | None, *, done: bool) -> Step:
    if batch is not None and batch.record.seconds is not None:
        seconds = batch.record.seconds
        return Step("proven", True, batch.times.created_at + seconds, f"{batch.record.key.circuit} in {seconds:.1f} s")
    if batch is not None and not done:
        return Step("proven", False, None, f"{batch.record.key.circuit}: {batch.record.status.value}")
    return Step("proven", done, None, _elsewhere(done))


def _submitted_step(transaction: TransactionReport | None, chain: str, *, done: bool) -> Step:
    if transaction is None:
        return Step("submitted", done, None, _elsewhere(done))
    detail = f"{transaction.method}: {transaction.status.value}"
    if transaction.gas_used is not None:
        detail += f", {transaction.gas_used:,} gas"
    if transaction.note:
        detail += f" ({transaction.note})"
    succeeded = transaction.status.value == "succeeded"
    return Step(
        "submitted",
        done or succeeded,
        transaction.times.created_at,
        detail,
        TxRef(chain, transaction.tx_hash, transaction.block),
    )


def _accepted_step(name: str, accepted: SeenEvent | None, chain: str, facts: Facts) -> Step:
    if accepted is None:
        return Step(name, False, None, "not yet")
    return Step(
        name,
        True,
        facts.time(chain, accepted.block),
        f"number {int(accepted.args['number'])}",
        TxRef(chain, accepted.tx_hash, accepted.block),
    )


def _outcome_steps(
    outcome: SeenEvent | None, queued: SeenEvent | None, released: SeenEvent | None, facts: Facts, chain: str
) -> list[Step]:
    if outcome is None:
        return [Step("executed", False, None, "not yet")]
    if outcome.args["success"]:
        steps = [
            Step(
                "executed",
                True,
                facts.time(chain, outcome.block),
                "the receiver's call succeeded",
                TxRef(chain, outcome.tx_hash, outcome.block),
            )
        ]
    else:
        steps = [
            Step(
                "executed",
                False,
                facts.time(chain, outcome.block),
                f"failed: {_message(outcome, facts.revert_abis)}",
                TxRef(chain, outcome.tx_hash, outcome.block),
            )
        ]
    if queued is not None:
        amount = int(queued.args["amount"])
        lane = "the large-transfer lane" if queued.args["large"] else "the queue"
        steps.append(
            Step(
                "value queued",
                True,
                facts.time(chain, queued.block),
                f"{amount} wei in {lane} of the token bucket",
                TxRef(chain, queued.tx_hash, queued.block),
            )
        )
        steps.append(
            Step("value released", False, None, "waits for the bucket; anyone may call releaseQueued")
            if released is None
            else Step(
                "value released",
                True,
                facts.time(chain, released.block),
                f"{amount} wei paid out",
                TxRef(chain, released.tx_hash, released.block),
            )
        )
    return steps


def _progress(
    steps: Sequence[Step],
    confirmed: bool,
    transaction: TransactionReport | None,
    accepted: bool,
    batch: BatchReport | None,
) -> MessageState:
    # A transaction that succeeded, or a batch the store calls executed, whose result the logs read
    # do not hold yet: submitted, never a step back.
    if transaction is not None and transaction.status.value in ("signed", "sent", "succeeded"):
        return MessageState.SUBMITTED
    if batch is not None and batch.record.status in (BatchStatus.SENT, BatchStatus.EXECUTED):
        return MessageState.SUBMITTED
    if accepted:
        return MessageState.ACCEPTED
    if batch is not None and batch.record.status is BatchStatus.PROVEN:
        return MessageState.PROVEN
    if steps[2].done:
        return MessageState.SIGNED
    return MessageState.CONFIRMED if confirmed else MessageState.SENT


def _state_detail(
    state: MessageState,
    direction: Direction,
    outcome: SeenEvent | None,
    queued: SeenEvent | None,
    message_id: int,
    abis: Sequence[Abi],
) -> str:
    if state is MessageState.FAILED and outcome is not None:
        how = (
            "anyone may retry it (ZkStateReceiver.retry)"
            if direction is Direction.STATE_SYNC
            else f"anyone may execute it again (zkstatesync exit --id {message_id})"
        )
        return f"the receiver's call failed ({_message(outcome, abis)}); {how}"
    if state is MessageState.QUEUED and queued is not None:
        return f"executed; {int(queued.args['amount'])} wei wait in the token bucket's queue"
    if state is MessageState.SKIPPED:
        return "governance's recovery moved the receiver past it: it will not execute here"
    if state is MessageState.PAUSED and direction is Direction.EXIT:
        return "its checkpoint is accepted; the guardian's pause holds exits until it ends"
    if state is MessageState.FROZEN:
        return "the receiver is frozen by evidence of equivocation: nothing executes until governance recovers"
    if state is MessageState.PAUSED:
        return "the guardian's pause holds execution; it resumes in order when the pause ends"
    if state is MessageState.ACCEPTED and direction is Direction.EXIT:
        return f"its checkpoint is accepted: anyone may execute it (zkstatesync exit --id {message_id})"
    return {
        MessageState.SENT: "waiting for confirmations",
        MessageState.CONFIRMED: "waiting for validators to sign",
        MessageState.SIGNED: "signed; waiting for the proof",
        MessageState.PROVEN: "proven; waiting to be submitted",
        MessageState.SUBMITTED: "submitted; waiting for the transaction",
        MessageState.ACCEPTED: "its header is accepted; waiting for execution",
        MessageState.EXECUTED: "executed",
    }.get(state, state.value)


def _message(outcome: SeenEvent, abis: Sequence[Abi]) -> str:
    key = "message" if "message" in outcome.args else "returnData"
    return str(decode_revert(bytes(outcome.args[key]), abis))


def _elsewhere(done: bool) -> str:
    return "by another relayer (the chains show it)" if done else "not yet"


def _power_text(signers: Sequence[Signer], total: int, *, proven_on_chain: bool) -> str:
    if signers:
        names = ", ".join(s.name for s in signers)
        return f"{sum(s.power for s in signers)} of {total} power ({names})"
    if proven_on_chain:
        return f"more than 2/3 of {total} power (the proof says so)"
    return "not yet"


def _signers(slots: Sequence[tuple[int, str]], powers: Sequence[tuple[str, int]]) -> tuple[Signer, ...]:
    return tuple(Signer(slot, name, powers[slot][1] if slot < len(powers) else 0) for slot, name in slots)


def _proposal_of(proposals: Sequence[ProposalReport], event_id: int, header_hash: int | None) -> ProposalReport | None:
    """This relayer's proposal covering the event: the accepted header's own once one is accepted
    (another relayer's header has no proposal here), else the most advanced one."""
    covering = [
        p
        for p in proposals
        if p.record.event_count
        and p.record.first_id <= event_id < p.record.first_id + p.record.event_count
        and (header_hash is None or p.record.header_hash == header_hash)
    ]
    rank = {ProposalStatus.ACCEPTED: 0, ProposalStatus.SIGNED: 1, ProposalStatus.PROPOSED: 2}
    return min(covering, key=lambda p: rank.get(p.record.status, 3), default=None)


def _batch_of(batches: Sequence[BatchReport], event_id: int, header_hash: int | None) -> BatchReport | None:
    """The batch carrying the event (under the accepted header, once one is); failed and obsolete
    proofs are history, not progress."""
    covering = [
        b
        for b in batches
        if b.record.key.event_count
        and b.record.key.first_id <= event_id <= b.record.key.last_id
        and b.record.status not in (BatchStatus.FAILED, BatchStatus.OBSOLETE)
        and (header_hash is None or b.record.key.header_hash == header_hash)
    ]
    rank = {BatchStatus.EXECUTED: 0, BatchStatus.SENT: 1, BatchStatus.PROVEN: 2, BatchStatus.PROVING: 3}
    return min(covering, key=lambda b: (rank.get(b.record.status, 4), -b.record.id), default=None)


def _last_transaction(transactions: Sequence[TransactionReport], batch_id: int) -> TransactionReport | None:
    return next((t for t in reversed(transactions) if t.batch_id == batch_id), None)


def _checkpoint_report_of(
    reports: Sequence[CheckpointReport], block: int, accepted: SeenEvent | None
) -> CheckpointReport | None:
    if accepted is not None:
        return next((r for r in reports if r.checkpoint_hash == int(accepted.args["checkpointHash"])), None)
    return min((r for r in reports if r.number >= block), key=lambda r: r.number, default=None)


def _queue_of(queue: Sequence[SeenEvent]) -> tuple[SeenEvent | None, SeenEvent | None]:
    queued = next((q for q in queue if q.name == "TransferQueued"), None)
    released = next((q for q in queue if q.name == "TransferReleased"), None)
    return queued, released


def _by_id(events: Sequence[SeenEvent]) -> dict[int, tuple[SeenEvent, ...]]:
    grouped: dict[int, list[SeenEvent]] = {}
    for event in events:
        grouped.setdefault(int(event.args["id"]), []).append(event)
    return {key: tuple(group) for key, group in grouped.items()}


def _carrier(
    kind: str,
    number: int,
    header_hash: int,
    status: str,
    root: str,
    entry: SeenEvent | None,
    proposal: ProposalReport | None,
    facts: Facts,
    ids: tuple[int, ...],
    proof_seconds: float | None,
) -> CarrierView:
    signers = () if proposal is None else _signers(tuple((s, n) for s, n, _ in proposal.signers), facts.powers)
    return CarrierView(
        kind=kind,
        number=number,
        hash=header_hash,
        status=status,
        root=root,
        accepted=None if entry is None else TxRef(CHILD, entry.tx_hash, entry.block),
        accepted_at=None if entry is None else facts.time(CHILD, entry.block),
        signers=signers,
        signed_power=None if proposal is None else sum(s.power for s in signers),
        total_power=facts.total_power,
        messages=ids,
        rotation=facts.rotations.get(header_hash),
        proof_seconds=proof_seconds,
        note=("relayed by another relayer" if proposal is None else proposal.record.note),
    )


def to_json(value: Any) -> Any:
    """Dataclasses, enums and big integers as JSON: integers of 2^53 and more as decimal strings."""
    from dataclasses import fields, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)
