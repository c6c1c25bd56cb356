"""The proposal rule: one header per range, derived the same by every honest validator."""

from __future__ import annotations

from dataclasses import replace

import pytest

from statesync.model import Header, StateSyncEvent, build_event_tree, compute_header_hash
from statesync.proposal import (
    PendingEvent,
    ProposalError,
    ProposalRules,
    RootBlock,
    derive_header,
    select_range_end,
    state_sync_events,
    validate_proposal,
)

RULES = ProposalRules(confirmations=12, max_range=100, max_events=4, depth=4)
PARENT = Header(chain_id=31337, number=10, parent_hash=0, timestamp=0, event_root=0, validator_set_hash=7,
                next_validator_set_hash=7)  # fmt: skip


def pending(*blocks: int) -> list[PendingEvent]:
    return [PendingEvent(StateSyncEvent(i + 1, 1, 2, bytes([i])), block) for i, block in enumerate(blocks)]


def block(number: int) -> RootBlock:
    return RootBlock(number, int.from_bytes(bytes([number % 256]) * 32, "big"), 1_700_000_000 + 12 * number)


def test_the_end_is_the_last_confirmed_block_within_the_range() -> None:
    assert select_range_end(10, 40, pending(12, 20), RULES) == 28
    assert select_range_end(10, 400, pending(12, 20), RULES) == 110  # max_range
    assert select_range_end(10, 22, pending(12, 20), RULES) is None  # 10 < E = 10: nothing confirmed
    assert select_range_end(10, 40, pending(30), RULES) is None  # the event is not confirmed yet
    assert select_range_end(10, 40, [], RULES) is None


def test_a_quiet_window_of_max_range_blocks_gets_an_empty_header() -> None:
    # Without it an event past P + max_range could never be covered: the chain would stall.
    assert select_range_end(10, 122, pending(200), RULES) == 110
    assert select_range_end(10, 121, pending(200), RULES) is None  # not yet a whole window
    empty = derive_header(PARENT, block(110), [], RULES, 7)
    assert empty.event_root == build_event_tree([], RULES.depth).root and empty.number == 110


def test_the_end_moves_back_so_the_events_fit() -> None:
    # Six events in blocks 11, 11, 12, 13, 13, 14: four fit, the fifth is in block 13, so E = 12.
    assert select_range_end(10, 100, pending(11, 11, 12, 13, 13, 14), RULES) == 12
    with pytest.raises(ProposalError, match="block 11 alone holds more than 4 events"):
        select_range_end(10, 100, pending(11, 11, 11, 11, 11), RULES)


def test_two_validators_derive_the_same_header() -> None:
    events = list(state_sync_events([p.event for p in pending(12, 20)]))
    one = derive_header(PARENT, block(28), events, RULES, 7)
    two = derive_header(PARENT, block(28), list(events), RULES, 7)
    assert one == two and compute_header_hash(one) == compute_header_hash(two)
    assert (one.number, one.block_hash, one.timestamp) == (28, block(28).hash, block(28).timestamp)
    assert one.event_root == build_event_tree(events, RULES.depth).root
    assert one.parent_hash == compute_header_hash(PARENT) and one.validator_set_hash == PARENT.next_validator_set_hash


def test_a_validator_refuses_what_its_node_does_not_show() -> None:
    events = list(state_sync_events([p.event for p in pending(12, 20)]))
    honest = derive_header(PARENT, block(28), events, RULES, 7)

    def check(
        proposal: Header, *, head: int = 40, end: RootBlock | None = None, seen: list[StateSyncEvent] = events
    ) -> None:
        validate_proposal(
            proposal,
            parent=PARENT,
            head=head,
            end=end or block(28),
            events=seen,
            rules=RULES,
            next_validator_set_hash=7,
        )

    check(honest)
    with pytest.raises(ProposalError, match="confirmations"):
        check(honest, head=39)
    with pytest.raises(ProposalError, match="hash is not the one this node has"):
        check(honest, end=replace(block(28), hash=1))  # a reorg: its node has another block 28
    with pytest.raises(ProposalError, match="event_root"):
        check(honest, seen=events[:1])  # an event left out
    with pytest.raises(ProposalError, match="next_validator_set_hash"):
        check(replace(honest, next_validator_set_hash=8))
    with pytest.raises(ProposalError, match="parent_hash"):
        check(replace(honest, parent_hash=5))
    with pytest.raises(ProposalError, match="exceeds 100"):
        far = derive_header(PARENT, block(111), events, RULES, 7)
        check(far, head=200, end=block(111))


def test_block_hashes_keep_all_256_bits() -> None:
    top = 2**256 - 1
    header = replace(PARENT, block_hash=top)
    assert Header.from_fields(header.fields()) == header
    assert compute_header_hash(header) != compute_header_hash(replace(PARENT, block_hash=top - 2**128))
    with pytest.raises(ProposalError):
        ProposalRules(confirmations=1, max_range=1, max_events=17, depth=4)
