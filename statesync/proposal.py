"""The proposal rule: which header any honest validator derives for the next range of rootchain blocks.

A header covers the rootchain blocks after its parent's block up to an end block E, and commits
to E exactly (number, 256-bit hash, timestamp) and to the StateSynced events of those blocks in
id order (docs/PROTOCOL.md section 2, "Ranges"). Given the same chain, two honest validators
compute the same E and so the same header:

    E = min(head - confirmations, parent.number + max_range)
    and, if the range (parent.number, E] holds more than max_events events, E is moved back to
    the last block before the first event that does not fit.

A confirmed range without events yields no header (nothing to prove) until it is max_range
blocks long: then an empty header ends at P + max_range, so the next header's range can reach
later events (the cap would otherwise leave them out of reach for ever). A single block with
more events than fit a header cannot be proposed (ProposalError: the tree is too small for it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import ModelError
from .exits import EXIT_TREE_DEPTH, ExitEvent, compute_exit_root
from .model import (
    Checkpoint,
    Header,
    Signed,
    StateSyncEvent,
    build_event_tree,
    compute_checkpoint_hash,
    compute_header_hash,
)

SyncEvent = StateSyncEvent | ExitEvent
"""A StateSynced event (rootchain, for headers) or an L2StateSynced exit (child chain, for checkpoints)."""


class ProposalError(ModelError):
    """No header can be proposed, or a proposal breaks the rule (the reason says which)."""


@dataclass(frozen=True)
class ProposalRules:
    confirmations: int  # blocks on top of E before it may be signed (the reorg buffer)
    max_range: int  # at most this many rootchain blocks per header
    max_events: int  # at most this many events per header (at most 2^D)
    depth: int  # D, the event tree's depth

    def __post_init__(self) -> None:
        if self.confirmations < 0 or self.max_range < 1 or self.depth < 1:
            raise ProposalError(f"unusable proposal rules {self}")
        if not 1 <= self.max_events <= 2**self.depth:
            raise ProposalError(f"max_events must be in 1..2^{self.depth}, got {self.max_events}")


@dataclass(frozen=True)
class RootBlock:
    """A rootchain block as a node reports it."""

    number: int
    hash: int  # 256-bit
    timestamp: int


@dataclass(frozen=True)
class PendingEvent:
    """A StateSynced (or L2StateSynced) log and the block it is in."""

    event: SyncEvent
    block_number: int


def state_sync_events(events: Sequence[SyncEvent]) -> tuple[StateSyncEvent, ...]:
    """The events as rootchain StateSync events; ProposalError if an exit is among them."""
    if not all(isinstance(e, StateSyncEvent) for e in events):
        raise ProposalError("a header's range holds StateSynced events only")
    return tuple(e for e in events if isinstance(e, StateSyncEvent))


def exit_events(events: Sequence[SyncEvent]) -> tuple[ExitEvent, ...]:
    """The events as child-chain exits; ProposalError if a StateSync event is among them."""
    if not all(isinstance(e, ExitEvent) for e in events):
        raise ProposalError("a checkpoint's range holds L2StateSynced exits only")
    return tuple(e for e in events if isinstance(e, ExitEvent))


def select_range_end(
    parent_number: int, head: int, pending: Sequence[PendingEvent], rules: ProposalRules
) -> int | None:
    """E for the next header, or None while the confirmed range holds no event and is shorter than max_range.

    `pending` are the events after the parent's block, in id order (blocks ascending).
    """
    end = min(head - rules.confirmations, parent_number + rules.max_range)
    if end <= parent_number:
        return None
    in_range = [p for p in pending if parent_number < p.block_number <= end]
    if not in_range:
        return end if end == parent_number + rules.max_range else None
    if len(in_range) > rules.max_events:
        overflow_block = in_range[rules.max_events].block_number
        end = overflow_block - 1
        if end <= parent_number:
            raise ProposalError(
                f"block {overflow_block} alone holds more than {rules.max_events} events: no header can carry them"
            )
    return end


def derive_header(
    parent: Header, end: RootBlock, events: Sequence[StateSyncEvent], rules: ProposalRules, next_validator_set_hash: int
) -> Header:
    """The header over (parent.number, end.number] with exactly `events` (the range's, in id order)."""
    _check_range(parent, end, events, rules)
    return Header(
        chain_id=parent.chain_id,
        number=end.number,
        parent_hash=compute_header_hash(parent),
        timestamp=end.timestamp,
        event_root=build_event_tree(events, rules.depth).root,
        validator_set_hash=parent.next_validator_set_hash,
        next_validator_set_hash=next_validator_set_hash,
        block_hash=end.hash,
    )


def derive_checkpoint(
    parent: Checkpoint, end: RootBlock, exits: Sequence[ExitEvent], rules: ProposalRules, next_validator_set_hash: int
) -> Checkpoint:
    """The checkpoint over child blocks (parent.number, end.number] with exactly `exits` (docs section 8)."""
    _check_range(parent, end, exits, rules)
    return Checkpoint(
        chain_id=parent.chain_id,
        number=end.number,
        parent_hash=compute_checkpoint_hash(parent),
        timestamp=end.timestamp,
        exit_root=compute_exit_root(exits),
        validator_set_hash=parent.next_validator_set_hash,
        next_validator_set_hash=next_validator_set_hash,
        block_hash=end.hash,
    )


def derive_signed(
    parent: Signed, end: RootBlock, events: Sequence[SyncEvent], rules: ProposalRules, next_validator_set_hash: int
) -> Signed:
    """derive_header or derive_checkpoint, by the parent's kind."""
    if isinstance(parent, Checkpoint):
        return derive_checkpoint(parent, end, exit_events(events), rules, next_validator_set_hash)
    return derive_header(parent, end, state_sync_events(events), rules, next_validator_set_hash)


def checkpoint_rules(confirmations: int, max_range: int) -> ProposalRules:
    """The rules of checkpoints: the exit tree's fixed depth bounds the exits per checkpoint."""
    return ProposalRules(
        confirmations=confirmations, max_range=max_range, max_events=2**EXIT_TREE_DEPTH, depth=EXIT_TREE_DEPTH
    )


def _check_range(parent: Signed, end: RootBlock, events: Sequence[SyncEvent], rules: ProposalRules) -> None:
    if end.number <= parent.number:
        raise ProposalError(f"block {end.number} does not follow the parent's block {parent.number}")
    if len(events) > rules.max_events:
        raise ProposalError(f"{len(events)} events exceed the {rules.max_events} a header holds")


def validate_proposal(
    proposal: Signed,
    *,
    parent: Signed,
    head: int,
    end: RootBlock,
    events: Sequence[SyncEvent],
    rules: ProposalRules,
    next_validator_set_hash: int,
) -> None:
    """Raise ProposalError unless `proposal` is the header (or checkpoint) this node derives itself.

    `head`, `end` and `events` come from the validator's own node: its head, its block at the
    proposal's number, and the StateSynced (L2StateSynced) logs it sees in the range.
    """
    if type(proposal) is not type(parent):
        raise ProposalError(f"a {type(proposal).__name__.lower()} cannot follow a {type(parent).__name__.lower()}")
    if proposal.number > head - rules.confirmations:
        confirmations = max(head - proposal.number, 0)
        raise ProposalError(
            f"block {proposal.number} has {confirmations} confirmations, fewer than {rules.confirmations}"
        )
    if proposal.number - parent.number > rules.max_range:
        raise ProposalError(f"the range of {proposal.number - parent.number} blocks exceeds {rules.max_range}")
    if end.number != proposal.number or end.hash != proposal.block_hash:
        raise ProposalError(f"block {proposal.number}'s hash is not the one this node has")
    expected = derive_signed(parent, end, events, rules, next_validator_set_hash)
    root = "exit_root" if isinstance(proposal, Checkpoint) else "event_root"
    for field in ("chain_id", "parent_hash", "timestamp", root, "validator_set_hash", "next_validator_set_hash"):
        if getattr(proposal, field) != getattr(expected, field):
            raise ProposalError(f"the proposal's {field} is not what this node derives")
