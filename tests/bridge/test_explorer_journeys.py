"""Where a message is, from the logs and the store's rows: every state, and each one on the page.

The facts are written as the chains and the store give them (SeenEvent, the store's reports); the
network test (test_explorer_network.py) reads the same from a running devnet.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bridge.chain.solc import compile_directory
from bridge.relayer.checkpoints import CheckpointReport
from bridge.relayer.explorer.chainlogs import SeenEvent
from bridge.relayer.explorer.journeys import (
    Direction,
    Facts,
    MessageState,
    build_checkpoint_views,
    build_exit_journey,
    build_header_views,
    build_state_sync_journey,
    to_json,
)
from bridge.relayer.explorer.pages import render_carrier, render_index, render_message
from bridge.relayer.explorer.reader import Snapshot
from bridge.relayer.store import (
    BatchKey,
    BatchRecord,
    BatchReport,
    BatchStatus,
    ProposalRecord,
    ProposalReport,
    ProposalStatus,
    StoreReport,
    Timed,
    TransactionReport,
    TxStatus,
)
from bridge.status import ValidatorState

ALICE, BOB = "0x" + "aa" * 20, "0x" + "bb" * 20
HEADER_HASH = 123456789
POWERS = (("alice", 4), ("bob", 3), ("carol", 2), ("dave", 1))


def seen(chain: str, name: str, block: int, tx: int, **args: Any) -> SeenEvent:
    return SeenEvent(chain, name, args, block, "0x" + f"{tx:064x}", 0)


def state_synced(event_id: int, block: int = 10) -> SeenEvent:
    return seen("rootchain", "StateSynced", block, event_id, id=event_id, sender=ALICE, receiver=BOB, data=b"\x01")


def accepted(number: int = 12, block: int = 30) -> SeenEvent:
    return seen("child", "HeaderAccepted", block, 900 + number, number=number, headerHash=HEADER_HASH, eventRoot=7)


def result(event_id: int, success: bool, block: int = 31, message: bytes = b"") -> SeenEvent:
    return seen("child", "StateSyncResult", block, 800 + block, id=event_id, success=success, message=message)


def recovered(number: int, last_executed_id: int, block: int = 40) -> SeenEvent:
    return seen("child", "Recovered", block, 700 + block, number=number, headerHash=5, lastExecutedId=last_executed_id)


def proposal(signers: tuple[tuple[int, str], ...], status: ProposalStatus = ProposalStatus.SIGNED) -> ProposalReport:
    record = ProposalRecord(HEADER_HASH, 1, 12, 1, 2, status, "")
    return ProposalReport(record, Timed(100.0, 101.0), tuple((slot, name, 101.0) for slot, name in signers))


def batch(status: BatchStatus, seconds: float | None) -> BatchReport:
    key = BatchKey("state_sync", HEADER_HASH, 12, 1, 1, 2)
    return BatchReport(BatchRecord(5, key, status, Path("/nowhere"), seconds, ""), Timed(102.0, 110.0))


def transaction(status: TxStatus) -> TransactionReport:
    return TransactionReport("0x" + "cd" * 32, 5, "syncState", status, None, None, "", Timed(111.0, 111.0))


def facts(**changes: Any) -> Facts:
    base = Facts(
        root_head=11,
        child_head=20,
        root_confirmations=4,
        child_confirmations=4,
        powers=POWERS,
        times={},
        state_synced=(state_synced(1),),
        headers_accepted=(),
        results=(),
        deposits_queue=(),
        freezes=(),
        frozen=False,
        paused=False,
        store=StoreReport((), (), ()),
        rotations={},
    )
    return replace(base, **changes)


SIGNED = proposal(((0, "alice"), (1, "bob")))  # 7 of 10: more than 2/3
STORE_PROVEN = StoreReport((SIGNED,), (batch(BatchStatus.PROVEN, 4.2),), ())
STORE_SENT = StoreReport((SIGNED,), (batch(BatchStatus.SENT, 4.2),), (transaction(TxStatus.SENT),))

# Each state, from the facts that put a message there.
STATE_SYNC_CASES: dict[MessageState, Facts] = {
    MessageState.SENT: facts(),
    MessageState.CONFIRMED: facts(root_head=14),
    MessageState.SIGNED: facts(root_head=20, store=StoreReport((SIGNED,), (), ())),
    MessageState.PROVEN: facts(root_head=20, store=STORE_PROVEN),
    MessageState.SUBMITTED: facts(root_head=20, store=STORE_SENT),
    MessageState.ACCEPTED: facts(root_head=20, headers_accepted=(accepted(),)),
    MessageState.PAUSED: facts(root_head=20, headers_accepted=(accepted(),), paused=True),
    MessageState.FROZEN: facts(root_head=20, headers_accepted=(accepted(),), frozen=True),
    MessageState.FAILED: facts(
        root_head=20, headers_accepted=(accepted(),), results=(result(1, False, message=bytes.fromhex("deadbeef")),)
    ),
    MessageState.SKIPPED: facts(root_head=20, headers_accepted=(accepted(),), recoveries=(recovered(20, 1),)),
    MessageState.EXECUTED: facts(root_head=20, headers_accepted=(accepted(),), results=(result(1, True),)),
    MessageState.QUEUED: facts(
        root_head=20,
        headers_accepted=(accepted(),),
        results=(result(1, True),),
        deposits_queue=(seen("child", "TransferQueued", 31, 77, id=1, to=BOB, amount=5, large=True, index=0),),
    ),
}


@pytest.mark.parametrize("state", list(STATE_SYNC_CASES), ids=lambda s: s.value)
def test_a_state_sync_is_in_the_state_its_facts_say(state: MessageState) -> None:
    assert build_state_sync_journey(state_synced(1), STATE_SYNC_CASES[state]).state is state


def test_every_state_has_a_case() -> None:
    assert set(STATE_SYNC_CASES) == set(MessageState)


def test_confirmations_count_from_the_event_block() -> None:
    at_three = build_state_sync_journey(state_synced(1), facts(root_head=13))
    at_four = build_state_sync_journey(state_synced(1), facts(root_head=14))
    assert (at_three.state, at_three.steps[1].detail) == (MessageState.SENT, "3 of 4 blocks")
    assert (at_four.state, at_four.steps[1].detail) == (MessageState.CONFIRMED, "4 of 4 blocks")


def test_a_quorum_is_more_than_two_thirds_of_the_power() -> None:
    exactly = proposal(((0, "alice"), (2, "carol")))  # 6 of 10 is not above 2/3
    journey = build_state_sync_journey(state_synced(1), facts(root_head=20, store=StoreReport((exactly,), (), ())))
    assert journey.state is MessageState.CONFIRMED and journey.steps[2].detail == "6 of 10 power (alice, carol)"


def test_a_retry_that_succeeds_makes_a_failed_event_executed() -> None:
    retried = replace(STATE_SYNC_CASES[MessageState.FAILED], results=(result(1, False, 31), result(1, True, 35)))
    journey = build_state_sync_journey(state_synced(1), retried)
    assert journey.state is MessageState.EXECUTED and journey.steps[-1].tx is not None
    assert journey.steps[-1].tx.block == 35


def test_a_failure_names_the_receivers_error_and_the_retry() -> None:
    child_token = compile_directory().get("ChildToken").abi
    selector_data = bytes.fromhex("deadbeef")
    journey = build_state_sync_journey(
        state_synced(1), replace(STATE_SYNC_CASES[MessageState.FAILED], revert_abis=(child_token,))
    )
    assert "0x" + selector_data.hex() in journey.detail and "ZkStateReceiver.retry" in journey.detail


def test_a_message_another_relayer_carried_has_its_journey_from_the_chains() -> None:
    journey = build_state_sync_journey(state_synced(1), STATE_SYNC_CASES[MessageState.EXECUTED])
    steps = {step.name: step for step in journey.steps}
    assert all(step.done for step in journey.steps)
    assert steps["header signed"].detail == "more than 2/3 of 10 power (the proof says so)"
    assert steps["proven"].detail == steps["submitted"].detail == "by another relayer (the chains show it)"
    assert journey.carrier == 12


def test_the_covering_header_is_the_first_whose_number_reaches_the_event_block() -> None:
    early = seen("child", "HeaderAccepted", 25, 1, number=9, headerHash=1, eventRoot=7)
    late = seen("child", "HeaderAccepted", 30, 2, number=12, headerHash=HEADER_HASH, eventRoot=7)
    journey = build_state_sync_journey(state_synced(1), facts(root_head=20, headers_accepted=(early, late)))
    assert journey.carrier == 12


def exit_facts(**changes: Any) -> Facts:
    sent = seen("child", "L2StateSynced", 10, 1, id=1, sender=ALICE, receiver=BOB, data=b"")
    return facts(state_synced=(), exits=(sent,), child_head=20, **changes)


def test_an_exit_goes_from_its_checkpoint_to_anyones_execution() -> None:
    sent = exit_facts().exits[0]
    checkpoint = seen("rootchain", "CheckpointAccepted", 50, 3, number=12, checkpointHash=55, exitRoot=b"\x01" * 32)
    report = CheckpointReport(12, 55, ((0, "alice"), (1, "bob"), (2, "carol")), False, 3.5, Timed(1.0, 2.0))
    ready = build_exit_journey(sent, exit_facts(checkpoints_accepted=(checkpoint,), checkpoints=(report,)))
    assert ready.state is MessageState.ACCEPTED and "zkstatesync exit --id 1" in ready.detail
    assert {s.name: s.detail for s in ready.steps}["checkpoint signed"] == "9 of 10 power (alice, bob, carol)"
    processed = seen("rootchain", "ExitProcessed", 60, 4, id=1, success=False, returnData=b"")
    failed = build_exit_journey(sent, exit_facts(checkpoints_accepted=(checkpoint,), exits_processed=(processed,)))
    assert failed.state is MessageState.FAILED and "execute it again" in failed.detail
    done = replace(processed, args={**processed.args, "success": True})
    executed = build_exit_journey(sent, exit_facts(checkpoints_accepted=(checkpoint,), exits_processed=(done,)))
    assert executed.state is MessageState.EXECUTED and executed.direction is Direction.EXIT
    assert executed.steps[0].tx is not None and executed.steps[0].tx.chain == "child"
    assert executed.steps[-1].tx is not None and executed.steps[-1].tx.chain == "rootchain"


def test_headers_show_the_proposals_power_and_the_conflicting_one() -> None:
    frozen = STATE_SYNC_CASES[MessageState.FROZEN]
    freeze = seen("child", "Frozen", 40, 5, number=12, acceptedHash=HEADER_HASH, conflictingHash=2, reporter=ALICE)
    views = build_header_views(replace(frozen, store=StoreReport((SIGNED,), (), ()), freezes=(freeze,)))
    assert [(v.number, v.status, v.signed_power, v.messages) for v in views] == [(12, "conflicting", 7, (1,))]
    page = render_carrier("headers", views)
    assert "conflicting" in page and "alice (4)" in page


def test_checkpoint_views_list_accepted_and_only_signed_ones() -> None:
    checkpoint = seen("rootchain", "CheckpointAccepted", 50, 3, number=12, checkpointHash=55, exitRoot=b"\x01" * 32)
    pending = CheckpointReport(20, 66, ((0, "alice"),), True, None, Timed(1.0, 1.0))
    later = seen("child", "L2StateSynced", 15, 2, id=2, sender=ALICE, receiver=BOB, data=b"")
    of = exit_facts(checkpoints_accepted=(checkpoint,), checkpoints=(pending,))
    views = build_checkpoint_views(replace(of, exits=(*of.exits, later)))
    assert [(v.number, v.status, v.signed_power, v.rotation, v.messages) for v in views] == [
        (20, "signed", 4, True, (2,)),  # exit 1 is in checkpoint 12 already
        (12, "accepted", None, None, (1,)),
    ]


def test_a_recovery_starts_an_epoch_whose_headers_alone_carry_what_waits() -> None:
    waiting = state_synced(2)
    of = facts(
        root_head=20,
        state_synced=(state_synced(1), waiting),
        headers_accepted=(accepted(),),
        results=(result(1, True),),
        recoveries=(recovered(12, 1),),
    )
    journey = build_state_sync_journey(waiting, of)
    assert (journey.state, journey.carrier) == (MessageState.CONFIRMED, None)
    assert build_state_sync_journey(state_synced(1), of).state is MessageState.EXECUTED  # before the recovery
    after = seen("child", "HeaderAccepted", 50, 3, number=15, headerHash=77, eventRoot=8)
    moved = build_state_sync_journey(waiting, replace(of, headers_accepted=(accepted(), after)))
    assert (moved.state, moved.carrier) == (MessageState.ACCEPTED, 15)
    views = build_header_views(replace(of, headers_accepted=(accepted(), after), genesis_number=5))
    assert [(v.number, v.messages) for v in views] == [(15, ()), (12, (1, 2))]


def test_another_relayers_header_is_not_told_with_this_relayers_proposal() -> None:
    theirs = seen("child", "HeaderAccepted", 30, 9, number=12, headerHash=999, eventRoot=7)
    of = facts(root_head=20, headers_accepted=(theirs,), store=STORE_PROVEN, results=(result(1, True),))
    steps = {s.name: s.detail for s in build_state_sync_journey(state_synced(1), of).steps}
    assert steps["header signed"] == "more than 2/3 of 10 power (the proof says so)"
    assert steps["proven"] == "by another relayer (the chains show it)"


def test_an_obsolete_proof_is_not_progress() -> None:
    obsolete = StoreReport((), (batch(BatchStatus.OBSOLETE, 4.2),), ())
    journey = build_state_sync_journey(state_synced(1), facts(root_head=20, store=obsolete))
    assert journey.state is MessageState.CONFIRMED and not journey.steps[3].done


def test_a_store_ahead_of_the_logs_read_never_moves_a_message_back() -> None:
    ahead = StoreReport((SIGNED,), (batch(BatchStatus.EXECUTED, 4.2),), (transaction(TxStatus.SUCCEEDED),))
    journey = build_state_sync_journey(state_synced(1), facts(root_head=20, store=ahead))
    assert journey.state is MessageState.SUBMITTED


def test_the_exit_helpers_pause_holds_an_accepted_exit() -> None:
    checkpoint = seen("rootchain", "CheckpointAccepted", 50, 3, number=12, checkpointHash=55, exitRoot=b"\x01" * 32)
    journey = build_exit_journey(
        exit_facts().exits[0], exit_facts(checkpoints_accepted=(checkpoint,), exits_paused=True)
    )
    assert journey.state is MessageState.PAUSED and "pause holds exits" in journey.detail


def snapshot(of: Facts) -> Snapshot:
    validators = tuple(ValidatorState(name, power, "http://127.0.0.1:1", True, 12, 0, 0) for name, power in POWERS)
    return Snapshot(of, validators, {"checkpoint": {"number": 12}, "lag_blocks": 0}, 0.0)


def test_every_state_appears_on_the_index_and_its_message_page() -> None:
    for state, case in STATE_SYNC_CASES.items():
        journey = build_state_sync_journey(state_synced(1), case)
        index = render_index(snapshot(case), [journey], build_header_views(case), [], None)
        assert re.search(rf'id="message-statesync-1".*data-state="{state.value}"', index), state
        assert f'data-state="{state.value}"' in render_message(journey)


def test_values_from_the_chains_are_escaped() -> None:
    hostile = seen("rootchain", "StateSynced", 10, 1, id=1, sender='"><script>x()</script>', receiver=BOB, data=b"")
    journey = build_state_sync_journey(hostile, facts(state_synced=(hostile,)))
    for page in (render_message(journey), render_index(snapshot(facts()), [journey], [], [], None)):
        assert "<script>" not in page and "&lt;script&gt;" in page


def test_json_keeps_big_numbers_exact() -> None:
    views = build_header_views(STATE_SYNC_CASES[MessageState.ACCEPTED])
    document = to_json(replace(views[0], hash=2**254 + 1))
    assert document["hash"] == str(2**254 + 1) and document["number"] == 12
