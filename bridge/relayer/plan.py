"""What the relayer does next, decided from the chains alone: pure functions of what was read.

The receiver is the source of truth: its checkpoint (trustedHeaderHash, lastNumber), the event
roots of the headers it accepted and lastExecutedId say exactly where the bridge stands, so the
decision never depends on what this relayer remembers; its store only saves work (signatures,
proofs) and records what it sent. The order of work follows the receiver's rules
(docs/PROTOCOL.md section 6):

0. The receiver is frozen or expired: wait (only a recovery moves it; docs/PROTOCOL.md section 9).
   The receiver accepted a header that is not the one the rootchain gives at its number (a
   conflict: equivocating validators, or a rootchain reorganised deeper than the confirmation
   depth): derive the canonical header at that number from the last agreeing one, have the
   validators sign it, and submit it as evidence (freezeWithHeader). While execution is paused,
   headers are still proposed, without their events, and events wait.
1. Events of an accepted header are still unexecuted (a header with more than B events, or
   one submitted by someone else without its events): execute the next batch of at most B,
   from lastExecutedId + 1, with an EventInclusion proof. Nothing else can run first, since
   every batch must start at lastExecutedId + 1.
2. Otherwise propose the next header over the range the proposal rule gives
   (statesync.proposal.select_range_end), parented by the trusted header, and run its first
   batch with the header in one StateSync proof. A quiet window of max_range blocks ends in an
   empty header (the rule, PROTOCOL.md section 2), submitted with a HeaderUpdate proof.
3. Otherwise wait.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from statesync.errors import ZkStateSyncError
from statesync.model import Header, StateSyncEvent, build_event_tree, compute_header_hash
from statesync.proposal import (
    PendingEvent,
    ProposalRules,
    RootBlock,
    derive_header,
    select_range_end,
    state_sync_events,
)


class PlanError(ZkStateSyncError):
    """The chains' state does not add up (events missing, a header that does not reconstruct)."""


class ReconstructionError(PlanError):
    """An accepted header's fields cannot be recovered from the chains and the configuration."""


@dataclass(frozen=True)
class ReceiverState:
    """ZkStateReceiver's state at one child-chain block."""

    trusted_hash: int
    last_number: int
    last_executed_id: int
    block: int  # the child-chain block it was read at
    frozen: bool = False
    expired: bool = False
    paused: bool = False
    paused_until: int = 0  # Unix seconds (the guardian's last pause; execution is paused before it)


@dataclass(frozen=True)
class AcceptedHeader:
    """A HeaderAccepted(number, headerHash, eventRoot) log of the receiver."""

    number: int
    header_hash: int
    event_root: int


@dataclass(frozen=True)
class HeaderRange:
    """An accepted header and every event of its range (executed or not), in id order."""

    header: AcceptedHeader
    parent_number: int
    pending: tuple[PendingEvent, ...]

    @property
    def events(self) -> tuple[StateSyncEvent, ...]:
        return state_sync_events([p.event for p in self.pending])


@dataclass(frozen=True)
class Conflict:
    """An accepted header that the rootchain does not give, after `linked`, the last accepted one it does."""

    accepted: AcceptedHeader
    linked: Header
    reason: str


@dataclass(frozen=True)
class ChainView:
    """Everything a decision needs, read from both chains (chain.py's observe)."""

    receiver: ReceiverState
    trusted: Header  # the full checkpoint, its hash checked against receiver.trusted_hash
    accepted: tuple[AcceptedHeader, ...]  # every HeaderAccepted log, by number
    head: int  # the rootchain head
    open_range: HeaderRange | None  # the accepted header holding event last_executed_id + 1, if any
    pending: tuple[PendingEvent, ...]  # StateSynced logs after trusted.number, up to head, id order
    sent_total: int  # StateSender.counter() at the head: events sent so far
    conflict: Conflict | None = None  # then `trusted` is conflict.linked, and nothing is open or pending


@dataclass(frozen=True)
class Wait:
    reason: str


@dataclass(frozen=True)
class ExecuteEvents:
    """The next batch of an accepted header's events (EventInclusion, executeEvents)."""

    header: AcceptedHeader
    header_events: tuple[StateSyncEvent, ...]
    batch: tuple[StateSyncEvent, ...]


@dataclass(frozen=True)
class ProposeHeader:
    """The header over (parent.number, end] and its first batch (empty: a HeaderUpdate over a gap)."""

    parent: Header
    end: int
    events: tuple[StateSyncEvent, ...]  # the range's events, in id order
    batch: tuple[StateSyncEvent, ...]
    resumed: bool  # the range is that of a stored proposal, whose signatures may be reused


@dataclass(frozen=True)
class SubmitEvidence:
    """The canonical header at the conflict's number, signed and proven after conflict.linked: a freeze."""

    conflict: Conflict


Action = Wait | ExecuteEvents | ProposeHeader | SubmitEvidence


def select_batch(
    events: Sequence[StateSyncEvent], last_executed_id: int, batch_size: int
) -> tuple[StateSyncEvent, ...]:
    """The next batch: at most batch_size events from id last_executed_id + 1 (empty if none is left)."""
    remaining = [e for e in events if e.id > last_executed_id]
    if remaining and remaining[0].id != last_executed_id + 1:
        raise PlanError(f"event {last_executed_id + 1} is missing: the next event here is {remaining[0].id}")
    return tuple(remaining[:batch_size])


def _events_in(pending: Iterable[PendingEvent], after: int, end: int) -> tuple[StateSyncEvent, ...]:
    return state_sync_events([p.event for p in pending if after < p.block_number <= end])


def is_resumable(proposal: Header, view: ChainView, rules: ProposalRules) -> bool:
    """A stored proposal is still one validators sign: a child of the checkpoint, confirmed, within the rules."""
    parent = view.trusted
    if proposal.parent_hash != compute_header_hash(parent) or proposal.number <= parent.number:
        return False
    if proposal.number > view.head - rules.confirmations or proposal.number - parent.number > rules.max_range:
        return False
    events = _events_in(view.pending, parent.number, proposal.number)
    if not events:
        return proposal.number == parent.number + rules.max_range  # the rule's only empty header
    return len(events) <= rules.max_events


def plan_next_action(
    view: ChainView, rules: ProposalRules, batch_size: int, in_flight: Sequence[Header] = ()
) -> Action:
    """The one next step (see the module docstring); `in_flight` are stored unfinished proposals."""
    receiver = view.receiver
    last_id = receiver.last_executed_id
    if receiver.frozen:
        return Wait("the receiver is frozen by evidence of equivocation: it waits for governance's recovery")
    if view.conflict is not None:
        return SubmitEvidence(view.conflict)
    if receiver.expired:
        return Wait("the receiver expired (no header within its trusting period): it waits for a recovery")
    if receiver.paused:
        return _plan_while_paused(view, rules, batch_size, in_flight)
    if view.open_range is not None:
        batch = select_batch(view.open_range.events, last_id, batch_size)
        if not batch:
            raise PlanError(
                f"header {view.open_range.header.number} should hold event {last_id + 1}, but its events end before it"
            )
        return ExecuteEvents(view.open_range.header, view.open_range.events, batch)
    parent = view.trusted
    unexecuted = [p for p in view.pending if p.event.id > last_id]
    if unexecuted and unexecuted[0].event.id != last_id + 1:
        raise PlanError(f"event {last_id + 1} is neither executed nor among the logs after block {parent.number}")
    for proposal in in_flight:
        if is_resumable(proposal, view, rules):
            events = _events_in(view.pending, parent.number, proposal.number)
            return ProposeHeader(parent, proposal.number, events, select_batch(events, last_id, batch_size), True)
    # The range counts every log after the parent, as validators do (executed ones too, if any).
    end = select_range_end(parent.number, view.head, view.pending, rules)
    if end is not None:
        events = _events_in(view.pending, parent.number, end)
        return ProposeHeader(parent, end, events, select_batch(events, last_id, batch_size), False)
    if view.sent_total > last_id:
        return Wait(f"{view.sent_total - last_id} events wait for {rules.confirmations} confirmations")
    return Wait("no event to relay")


def _plan_while_paused(view: ChainView, rules: ProposalRules, batch_size: int, in_flight: Sequence[Header]) -> Action:
    """Headers are still accepted while execution is paused, without their batches: nothing is lost,
    and the receiver never expires because of a pause. Events wait, in order."""
    receiver = replace(view.receiver, paused=False)
    if view.open_range is not None:
        # The accepted headers' events wait; the next header's range starts after the checkpoint,
        # so plan it as if they had run (the first event after the checkpoint comes next).
        waiting = view.pending[0].event.id - 1 if view.pending else view.sent_total
        receiver = replace(receiver, last_executed_id=waiting)
    action = plan_next_action(replace(view, receiver=receiver, open_range=None), rules, batch_size, in_flight)
    if isinstance(action, ProposeHeader):
        return replace(action, batch=())
    if isinstance(action, Wait) and view.open_range is not None:
        return Wait(f"execution is paused until {view.receiver.paused_until}: events wait in order")
    return action


def build_proposal(
    parent: Header, end: RootBlock, events: Sequence[StateSyncEvent], rules: ProposalRules, next_set_hash: int
) -> Header:
    """The header every honest validator derives for the range (statesync.proposal.derive_header)."""
    return derive_header(parent, end, events, rules, next_set_hash)


def reconstruct_header(
    accepted: AcceptedHeader,
    *,
    parent_hash: int,
    block: RootBlock,
    chain_id: int,
    set_hashes: Sequence[int],
    next_set_hash: int,
) -> Header:
    """An accepted header's fields from the chains: its number and root from the receiver's log, the
    block's hash and timestamp from the rootchain, the parent's hash from the log before, and the
    signing set among the candidates (the genesis' next set, the configured set); checked against its hash."""
    if block.number != accepted.number:
        raise ReconstructionError(f"block {block.number} is not header {accepted.number}'s block")
    for set_hash in dict.fromkeys(set_hashes):
        header = Header(
            chain_id=chain_id,
            number=accepted.number,
            parent_hash=parent_hash,
            timestamp=block.timestamp,
            event_root=accepted.event_root,
            validator_set_hash=set_hash,
            next_validator_set_hash=next_set_hash,
            block_hash=block.hash,
        )
        if compute_header_hash(header) == accepted.header_hash:
            return header
    raise ReconstructionError(
        f"accepted header {accepted.number} does not hash to {accepted.header_hash} from the rootchain's block "
        "and the configured validator sets (a deeper reorganisation, or a rotation this relayer does not know)"
    )


def check_range_events(header: AcceptedHeader, events: Sequence[StateSyncEvent], depth: int) -> None:
    """PlanError unless the events read for an accepted header's range make its event root."""
    if build_event_tree(events, depth).root != header.event_root:
        raise PlanError(
            f"the {len(events)} events read for header {header.number} do not make its accepted event root "
            "(the rootchain reorganised below the confirmation depth)"
        )


@dataclass(frozen=True)
class Lag:
    pending_events: int
    blocks: int  # rootchain blocks since the oldest unexecuted event's block
    oldest_block: int | None


def measure_lag(view: ChainView) -> Lag:
    """How far the child chain is behind: unexecuted events, and blocks since the oldest one."""
    last_id = view.receiver.last_executed_id
    pending = max(view.sent_total - last_id, 0)
    candidates = (*view.open_range.pending, *view.pending) if view.open_range is not None else view.pending
    oldest = next((p.block_number for p in candidates if p.event.id > last_id), None)
    if pending == 0 or oldest is None:
        return Lag(pending, 0, None)
    return Lag(pending, max(view.head - oldest, 0), oldest)
