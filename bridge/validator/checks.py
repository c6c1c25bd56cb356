"""What a validator checks before it signs, and the machine-readable reason when it refuses.

A proposal is signed only if it is the header this validator derives itself from its own
nodes (statesync.proposal.validate_proposal): its end block is confirmed and has the hash its
node has, its timestamp is that block's, its event root is the tree of its node's StateSynced
logs of the range, its parent is a header it accepts, and its validator-set hashes are the
parent's next set and the configured set. The checks are ordered cheap first: everything that
needs no node, then the parent, then the rootchain. Each is a pure function of what was read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from statesync.errors import ZkStateSyncError
from statesync.exits import compute_exit_root
from statesync.model import Checkpoint, Signed, build_event_tree, compute_signed_hash
from statesync.proposal import (
    ProposalError,
    ProposalRules,
    SyncEvent,
    exit_events,
    state_sync_events,
    validate_proposal,
)

from ..rootchain import RangeView
from .wire import SignRequest


class RefusalCode(StrEnum):
    # The request itself (400, 404, 405, 413, 415, 429).
    MALFORMED_REQUEST = "malformed_request"
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    BUSY = "busy"
    WRONG_QUORUM_MODE = "wrong_quorum_mode"
    UNKNOWN_SESSION = "unknown_session"  # round two of a session this process does not hold (410)
    # A proposal this validator will not sign (422; 409 for a conflict with a signed header).
    WRONG_CHAIN = "wrong_chain"
    INVALID_RANGE = "invalid_range"
    RANGE_TOO_LONG = "range_too_long"
    PARENT_HASH_MISMATCH = "parent_hash_mismatch"
    VALIDATOR_SET_MISMATCH = "validator_set_mismatch"
    UNKNOWN_PARENT = "unknown_parent"
    ALREADY_SIGNED_OTHER = "already_signed_other"
    INSUFFICIENT_CONFIRMATIONS = "insufficient_confirmations"
    BLOCK_HASH_MISMATCH = "block_hash_mismatch"
    TIMESTAMP_MISMATCH = "timestamp_mismatch"
    TOO_MANY_EVENTS = "too_many_events"
    EVENT_ROOT_MISMATCH = "event_root_mismatch"
    PROPOSAL_MISMATCH = "proposal_mismatch"
    # This validator cannot decide now (503: ask again later); a bug (500).
    RPC_UNAVAILABLE = "rpc_unavailable"
    ROOTCHAIN_INCONSISTENT = "rootchain_inconsistent"
    INTERNAL_ERROR = "internal_error"


HTTP_STATUS: dict[RefusalCode, int] = {
    RefusalCode.MALFORMED_REQUEST: 400,
    RefusalCode.NOT_FOUND: 404,
    RefusalCode.METHOD_NOT_ALLOWED: 405,
    RefusalCode.ALREADY_SIGNED_OTHER: 409,
    RefusalCode.WRONG_QUORUM_MODE: 409,
    RefusalCode.UNKNOWN_SESSION: 410,
    RefusalCode.BODY_TOO_LARGE: 413,
    RefusalCode.UNSUPPORTED_MEDIA_TYPE: 415,
    RefusalCode.BUSY: 429,
    RefusalCode.RPC_UNAVAILABLE: 503,
    RefusalCode.ROOTCHAIN_INCONSISTENT: 503,
    RefusalCode.INTERNAL_ERROR: 500,
}


def http_status(code: RefusalCode) -> int:
    return HTTP_STATUS.get(code, 422)


class SigningRefused(ZkStateSyncError):
    """The validator does not sign; `code` says why, for machines, the message for people."""

    def __init__(self, code: RefusalCode, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


# The rotation hook: the next_validator_set_hash a proposal must carry, given it and its parent.
# Today the configured set signs every header (fixed_next_set); a rotation schedule plugs in here.
NextSetPolicy = Callable[[Signed, Signed], int]


def fixed_next_set(set_hash: int) -> NextSetPolicy:
    def policy(_proposal: Signed, _parent: Signed) -> int:
        return set_hash

    return policy


@dataclass(frozen=True)
class CheckContext:
    chain_id: int
    rules: ProposalRules
    next_set: NextSetPolicy


def check_request(request: SignRequest, context: CheckContext) -> None:
    """Everything decidable without a node; SigningRefused otherwise."""
    proposal, parent = request.proposal, request.parent
    for what, header in (("proposal", proposal), ("parent", parent)):
        if header.chain_id != context.chain_id:
            raise SigningRefused(
                RefusalCode.WRONG_CHAIN,
                f"the {what} is for chain {header.chain_id}, this validator signs {context.chain_id}",
            )
    if proposal.number <= parent.number:
        raise SigningRefused(
            RefusalCode.INVALID_RANGE, f"number {proposal.number} does not follow the parent's {parent.number}"
        )
    if proposal.number - parent.number > context.rules.max_range:
        raise SigningRefused(
            RefusalCode.RANGE_TOO_LONG,
            f"the range of {proposal.number - parent.number} blocks exceeds {context.rules.max_range}",
        )
    if type(proposal) is not type(parent):
        raise SigningRefused(RefusalCode.MALFORMED_REQUEST, "the proposal and its parent are of different kinds")
    if proposal.parent_hash != compute_signed_hash(parent):
        raise SigningRefused(RefusalCode.PARENT_HASH_MISMATCH, "the proposal's parent_hash is not the parent's hash")
    if proposal.validator_set_hash != parent.next_validator_set_hash:
        raise SigningRefused(
            RefusalCode.VALIDATOR_SET_MISMATCH, "validator_set_hash is not the parent's next_validator_set_hash"
        )
    if proposal.next_validator_set_hash != context.next_set(proposal, parent):
        raise SigningRefused(
            RefusalCode.VALIDATOR_SET_MISMATCH, "next_validator_set_hash is not the configured validator set's hash"
        )


def is_parent_accepted(parent_hash: int, *, last_signed: int | None, trusted: int | None) -> bool:
    """The parent is the header this validator signed last, or the one the child chain trusts now.

    `trusted` is the receiver's trustedHeaderHash, or the genesis header's hash when no receiver
    is configured (the genesis is the receiver's first checkpoint).
    """
    return parent_hash in {h for h in (last_signed, trusted) if h is not None}


def check_confirmations(request: SignRequest, head: int, rules: ProposalRules) -> None:
    number = request.proposal.number
    if number > head - rules.confirmations:
        raise SigningRefused(
            RefusalCode.INSUFFICIENT_CONFIRMATIONS,
            f"block {number} has {max(head - number, 0)} confirmations on this validator's node, "
            f"fewer than {rules.confirmations}",
        )


def compute_range_root(proposal: Signed, events: list[SyncEvent], rules: ProposalRules) -> int:
    """The root a range's events give: the keccak exit tree's for a checkpoint, the event tree's for a header."""
    if isinstance(proposal, Checkpoint):
        return compute_exit_root(exit_events(events))
    return build_event_tree(state_sync_events(events), rules.depth).root


def check_against_node(
    request: SignRequest, *, head: int, view: RangeView, rules: ProposalRules, next_set_hash: int
) -> None:
    """The proposal against the node's range; SigningRefused naming the first field that differs."""
    proposal, parent = request.proposal, request.parent
    check_confirmations(request, head, rules)
    if view.end.number != proposal.number or view.end.hash != proposal.block_hash:
        raise SigningRefused(
            RefusalCode.BLOCK_HASH_MISMATCH,
            f"block {proposal.number} has hash 0x{view.end.hash:064x} on this validator's node, "
            f"not 0x{proposal.block_hash:064x}",
        )
    if view.end.timestamp != proposal.timestamp:
        raise SigningRefused(
            RefusalCode.TIMESTAMP_MISMATCH,
            f"block {proposal.number} has timestamp {view.end.timestamp}, not {proposal.timestamp}",
        )
    events = [p.event for p in view.events]
    if len(events) > rules.max_events:
        raise SigningRefused(
            RefusalCode.TOO_MANY_EVENTS,
            f"the range holds {len(events)} events, more than a header's {rules.max_events}",
        )
    try:
        root = compute_range_root(proposal, events, rules)
    except ZkStateSyncError as exc:
        raise SigningRefused(RefusalCode.ROOTCHAIN_INCONSISTENT, f"the node's events make no tree: {exc}") from exc
    claimed, what = (proposal.exit_root, "exit") if isinstance(proposal, Checkpoint) else (proposal.event_root, "event")
    if root != claimed:
        raise SigningRefused(
            RefusalCode.EVENT_ROOT_MISMATCH,
            f"the {what} root of the node's {len(events)} events in blocks {parent.number + 1}..{proposal.number} "
            "is not the proposal's",
        )
    try:
        # The spec's own rule, last: anything the checks above missed still refuses.
        validate_proposal(
            proposal,
            parent=parent,
            head=head,
            end=view.end,
            events=events,
            rules=rules,
            next_validator_set_hash=next_set_hash,
        )
    except ProposalError as exc:
        raise SigningRefused(RefusalCode.PROPOSAL_MISMATCH, str(exc)) from exc
