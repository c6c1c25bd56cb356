"""ZkStateReceiver's safety rails on py-evm and anvil: freeze on equivocation, expiry, recovery, pause.

Proofs are real snarkjs proofs of Open(N) (see test_contracts.py), so a "conflicting header" is
any signal vector this test chooses: what is under test is the contract's rules around the
verifier, which decide whether a valid proof counts as evidence, and what each role may do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bridge.chain.deploy import Deployed, TransactionReverted, call, decode_events, encode_call, transact
from bridge.chain.stack import ReceiverRails
from statesync.field import R
from statesync.model import Header, StateSyncEvent, compute_header_hash

from .conftest import (
    GENESIS,
    Rig,
    address_int,
    deploy_receiver,
    event_argument,
    header_signals,
    inclusion_signals,
    next_header,
    prove,
    sync_signals,
)

TRUSTING_PERIOD = 1_000
MAX_PAUSE = 100
GENESIS_HASH = compute_header_hash(GENESIS)


@dataclass(frozen=True)
class Railed:
    rig: Rig
    receiver: Deployed
    governance: str
    guardian: str

    def send(self, method: str, *args: object, sender: str | None = None) -> object:
        return transact(self.rig.chain, self.receiver, method, *args, sender=sender)  # type: ignore[arg-type]

    def view(self, method: str, *args: object) -> object:
        return call(self.rig.chain, self.receiver, method, *args)

    def refuse(self, error: str, method: str, *args: object, sender: str | None = None) -> TransactionReverted:
        with pytest.raises(TransactionReverted) as caught:
            call(self.rig.chain, self.receiver, method, *args, sender=sender)  # type: ignore[arg-type]
        assert caught.value.reason.name == error, caught.value
        return caught.value


@pytest.fixture
def railed(rig: Rig) -> Iterator[Railed]:
    governance, guardian = rig.chain.accounts[6], rig.chain.accounts[7]
    rails = ReceiverRails(
        governance=governance, guardian=guardian, trusting_period=TRUSTING_PERIOD, max_pause_duration=MAX_PAUSE
    )
    yield Railed(rig, deploy_receiver(rig.chain, rig.verifiers, rails=rails), governance, guardian)


def head(header: Header) -> tuple[int, int, int]:
    return (compute_header_hash(header), header.number, header.event_root)


GENESIS_HEAD = (GENESIS_HASH, GENESIS.number, 0)  # the genesis is accepted with event root 0


def noop(rig: Rig, event_id: int) -> StateSyncEvent:
    return StateSyncEvent(event_id, address_int(rig.root_bridge), address_int(rig.noop.address), b"\x01" * 32)


def accept(railed: Railed, parent: Header, parent_hash: int, events: list[StateSyncEvent]) -> Header:
    header = next_header(parent, events)
    (proof,) = prove(railed.rig, header_signals(parent_hash, header))
    railed.send("submitHeader", proof, *head(header))
    return header


def twin(header: Header) -> Header:
    """Another header at the same number and parent: a different event root (a fake deposit)."""
    return Header(**{**header.__dict__, "event_root": header.event_root + 1})


# ---------------------------------------------------------------------------------------------
# Freeze on equivocation


def test_a_conflicting_final_header_freezes_everything(railed: Railed) -> None:
    rig = railed.rig
    events = [noop(rig, 1), noop(rig, 2), noop(rig, 3)]
    accepted = accept(railed, GENESIS, GENESIS_HASH, events)
    conflicting = twin(accepted)
    (evidence,) = prove(rig, header_signals(GENESIS_HASH, conflicting))
    receipt = railed.send("freezeWithHeader", evidence, head(conflicting), head(accepted), GENESIS_HEAD)
    (frozen,) = [e for e in decode_events(railed.receiver, receipt) if e.name == "Frozen"]  # type: ignore[arg-type]
    assert frozen.args["number"] == accepted.number
    assert (frozen.args["acceptedHash"], frozen.args["conflictingHash"]) == (
        compute_header_hash(accepted),
        compute_header_hash(conflicting),
    )
    assert railed.view("frozen") is True

    # Nothing moves: no header, no batch, no second freeze.
    following = next_header(accepted, [])
    p_next, p_batch = prove(
        rig,
        header_signals(compute_header_hash(accepted), following),
        inclusion_signals(accepted.event_root, events[:2]),
    )
    railed.refuse("ZkStateReceiver__Frozen", "submitHeader", p_next, *head(following))
    batch = [event_argument(e) for e in events[:2]]
    railed.refuse("ZkStateReceiver__Frozen", "executeEvents", p_batch, *head(accepted), batch)
    railed.refuse(
        "ZkStateReceiver__Frozen", "freezeWithHeader", evidence, head(conflicting), head(accepted), GENESIS_HEAD
    )
    assert railed.view("lastExecutedId") == 0


def test_a_state_sync_proof_is_evidence_too(railed: Railed) -> None:
    rig = railed.rig
    accepted = accept(railed, GENESIS, GENESIS_HASH, [noop(rig, 1)])
    fake = [noop(rig, 1), noop(rig, 2)]
    conflicting = next_header(GENESIS, fake)
    signals = sync_signals(GENESIS_HASH, conflicting, fake)
    (evidence,) = prove(rig, signals)
    gamma, commitment = signals[4:]
    railed.send("freezeWithStateSync", evidence, head(conflicting), head(accepted), GENESIS_HEAD, gamma, commitment)
    assert railed.view("frozen") is True
    assert railed.view("lastExecutedId") == 0  # the evidence's batch is never executed


def test_bogus_evidence_is_refused(railed: Railed) -> None:
    rig = railed.rig
    first = accept(railed, GENESIS, GENESIS_HASH, [noop(rig, 1)])
    second = accept(railed, first, compute_header_hash(first), [])
    conflicting = twin(second)
    linked = head(first)
    p_conflict, p_same, p_unlinked = prove(
        rig,
        header_signals(compute_header_hash(first), conflicting),
        header_signals(compute_header_hash(first), second),
        header_signals(GENESIS_HASH + 1, conflicting),
    )
    # The accepted header itself is no conflict.
    railed.refuse("ZkStateReceiver__NoConflict", "freezeWithHeader", p_same, head(second), head(second), linked)
    # A number nothing was accepted at, and an "accepted" header that was not.
    later = next_header(second, [])
    railed.refuse("ZkStateReceiver__NoConflict", "freezeWithHeader", p_conflict, head(later), head(later), linked)
    wrong_root = (compute_header_hash(second), second.number, second.event_root + 5)
    railed.refuse("ZkStateReceiver__NoConflict", "freezeWithHeader", p_conflict, head(conflicting), wrong_root, linked)
    # The genesis of the epoch cannot conflict.
    fake_genesis = (GENESIS_HASH + 1, GENESIS.number, 0)
    railed.refuse("ZkStateReceiver__NoConflict", "freezeWithHeader", p_conflict, fake_genesis, GENESIS_HEAD, linked)
    # Linked to a header this receiver never trusted, or to one that is not before it.
    unlinked = (GENESIS_HASH + 1, GENESIS.number, 0)
    railed.refuse(
        "ZkStateReceiver__UnknownHeader", "freezeWithHeader", p_unlinked, head(conflicting), head(second), unlinked
    )
    railed.refuse(
        "ZkStateReceiver__UnknownHeader", "freezeWithHeader", p_conflict, head(conflicting), head(second), head(second)
    )
    # A valid proof of other signals: linked to the genesis, not to `first` as claimed.
    (p_other,) = prove(rig, header_signals(GENESIS_HASH, conflicting))
    railed.refuse("ZkStateReceiver__InvalidProof", "freezeWithHeader", p_other, head(conflicting), head(second), linked)
    # Values >= r never reach the verifier.
    aliased = (compute_header_hash(conflicting) + R, second.number, conflicting.event_root)
    railed.refuse("ZkStateReceiver__NotCanonical", "freezeWithHeader", p_conflict, aliased, head(second), linked)
    assert railed.view("frozen") is False
    # And the real evidence does freeze.
    railed.send("freezeWithHeader", p_conflict, head(conflicting), head(second), linked)
    assert railed.view("frozen") is True


# ---------------------------------------------------------------------------------------------
# Expiry and recovery


def test_headers_expire_after_the_trusting_period_and_governance_recovers(railed: Railed) -> None:
    rig = railed.rig
    events = [noop(rig, 1), noop(rig, 2), noop(rig, 3)]
    accepted = accept(railed, GENESIS, GENESIS_HASH, events)
    following = next_header(accepted, [])
    p_next, p_batch = prove(
        rig,
        header_signals(compute_header_hash(accepted), following),
        inclusion_signals(accepted.event_root, events[:2]),
    )
    railed.refuse(
        "ZkStateReceiver__NotRecoverable", "recover", GENESIS_HASH, accepted.number, 0, sender=railed.governance
    )
    rig.chain.advance_time(TRUSTING_PERIOD // 2)
    assert railed.view("expired") is False
    rig.chain.advance_time(TRUSTING_PERIOD)
    assert railed.view("expired") is True
    railed.refuse("ZkStateReceiver__Expired", "submitHeader", p_next, *head(following))
    # What was proven before the expiry still executes.
    railed.send("executeEvents", p_batch, *head(accepted), [event_argument(e) for e in events[:2]])
    assert railed.view("lastExecutedId") == 2

    # Only governance recovers, never backwards.
    new_genesis = next_header(accepted, [])
    new_hash = compute_header_hash(new_genesis)
    for sender in (railed.guardian, rig.chain.accounts[0]):
        railed.refuse("ZkStateReceiver__Unauthorized", "recover", new_hash, new_genesis.number, 2, sender=sender)
    railed.refuse("ZkStateReceiver__NotRecoverable", "recover", new_hash, GENESIS.number, 2, sender=railed.governance)
    railed.refuse(
        "ZkStateReceiver__NotRecoverable", "recover", new_hash, new_genesis.number, 1, sender=railed.governance
    )
    railed.send("recover", new_hash, new_genesis.number, 2, sender=railed.governance)
    assert (railed.view("trustedHeaderHash"), railed.view("lastNumber"), railed.view("lastExecutedId")) == (
        new_hash,
        new_genesis.number,
        2,
    )
    assert railed.view("expired") is False
    # The old epoch's headers are gone: its roots do not execute (event 3 is next, yet refused).
    assert railed.view("isAccepted", *head(accepted)) is False
    (p_rest,) = prove(rig, inclusion_signals(accepted.event_root, events[2:]))
    railed.refuse(
        "ZkStateReceiver__UnknownHeader", "executeEvents", p_rest, *head(accepted), [event_argument(events[2])]
    )
    # Headers after the new genesis are accepted again.
    accept(railed, new_genesis, new_hash, [noop(rig, 3)])
    assert railed.view("lastNumber") == new_genesis.number + 1


def test_recovery_after_a_freeze_restarts_the_bridge(railed: Railed) -> None:
    rig = railed.rig
    accepted = accept(railed, GENESIS, GENESIS_HASH, [noop(rig, 1)])
    conflicting = twin(accepted)
    (evidence,) = prove(rig, header_signals(GENESIS_HASH, conflicting))
    railed.send("freezeWithHeader", evidence, head(conflicting), head(accepted), GENESIS_HEAD)
    # Governance names the canonical header at the same number as the new genesis.
    railed.send("recover", compute_header_hash(accepted), accepted.number, 1, sender=railed.governance)
    assert railed.view("frozen") is False
    # The same evidence no longer counts: its number is the new epoch's genesis.
    railed.refuse(
        "ZkStateReceiver__NoConflict", "freezeWithHeader", evidence, head(conflicting), head(accepted), GENESIS_HEAD
    )
    accept(railed, accepted, compute_header_hash(accepted), [noop(rig, 2)])


# ---------------------------------------------------------------------------------------------
# Pause


def test_the_guardian_pauses_execution_only_and_the_pause_expires(railed: Railed) -> None:
    rig = railed.rig
    railed.refuse("ZkStateReceiver__Unauthorized", "pause", sender=rig.chain.accounts[0])
    railed.refuse("ZkStateReceiver__Unauthorized", "pause", sender=railed.governance)
    receipt = railed.send("pause", sender=railed.guardian)
    assert [e.name for e in decode_events(railed.receiver, receipt)] == ["Paused"]  # type: ignore[arg-type]
    assert railed.view("paused") is True

    # While paused a header is still proven and accepted; its events wait.
    events = [noop(rig, 1), noop(rig, 2)]
    header = next_header(GENESIS, events)
    (p_sync,) = prove(rig, sync_signals(GENESIS_HASH, header, events))
    batch = [event_argument(e) for e in events]
    railed.send("syncState", p_sync, *head(header), batch)
    assert (railed.view("lastNumber"), railed.view("lastExecutedId")) == (header.number, 0)
    railed.refuse("ZkStateReceiver__IsPaused", "executeStateSync", p_sync, *head(header), GENESIS_HASH, batch)
    (p_events,) = prove(rig, inclusion_signals(header.event_root, events))
    railed.refuse("ZkStateReceiver__IsPaused", "executeEvents", p_events, *head(header), batch)
    # The guardian has no other power: its other calls are anyone's.
    railed.refuse("ZkStateReceiver__Unauthorized", "recover", GENESIS_HASH, header.number, 0, sender=railed.guardian)
    railed.refuse("ZkStateReceiver__NumberNotRising", "submitHeader", p_sync, *head(header), sender=railed.guardian)

    # A renewal extends it; then it expires on its own and the events run in order.
    rig.chain.advance_time(MAX_PAUSE // 2)
    railed.send("pause", sender=railed.guardian)
    rig.chain.advance_time(MAX_PAUSE // 2 + 10)
    assert railed.view("paused") is True
    rig.chain.advance_time(MAX_PAUSE)
    assert railed.view("paused") is False
    railed.send("executeStateSync", p_sync, *head(header), GENESIS_HASH, batch)
    assert railed.view("lastExecutedId") == 2


def test_on_every_other_entry_point_the_guardian_is_anyone(railed: Railed) -> None:
    rig = railed.rig
    stranger = rig.chain.accounts[5]
    events = [noop(rig, 1), noop(rig, 2)]
    accepted = accept(railed, GENESIS, GENESIS_HASH, events)
    conflicting = twin(accepted)
    following_events = [noop(rig, 1)]  # its proof's batch runs from lastExecutedId + 1, as any next batch
    following = next_header(accepted, following_events)
    p_evidence, p_next, p_sync, p_batch = prove(
        rig,
        header_signals(GENESIS_HASH, conflicting),
        header_signals(compute_header_hash(accepted), following),
        sync_signals(compute_header_hash(accepted), following, following_events),
        inclusion_signals(accepted.event_root, events),
    )
    batch = [event_argument(e) for e in events]
    gamma, commitment = sync_signals(compute_header_hash(accepted), following, following_events)[4:]
    cases: list[tuple[str, tuple[object, ...]]] = [
        ("submitHeader", (p_next, *head(following))),
        ("submitHeader", (p_next, compute_header_hash(following) + 1, *head(following)[1:])),  # a false proof
        ("syncState", (p_sync, *head(following), [event_argument(e) for e in following_events])),
        ("executeEvents", (p_batch, *head(accepted), batch)),
        ("executeEvents", (p_batch, *head(accepted), batch[:1])),  # not the batch proven
        ("executeStateSync", (p_sync, *head(following), compute_header_hash(accepted), batch)),
        ("retry", (batch[0],)),
        ("retryWithGas", (batch[0], 1_000_000)),
        ("freezeWithHeader", (p_evidence, head(conflicting), head(accepted), GENESIS_HEAD)),
        ("freezeWithHeader", (p_next, head(conflicting), head(accepted), GENESIS_HEAD)),  # a false proof
        ("freezeWithStateSync", (p_sync, head(following), head(accepted), head(accepted), gamma, commitment)),
        ("recover", (GENESIS_HASH, accepted.number, 0)),
    ]

    def outcomes(sender: str) -> list[tuple[bool, bytes]]:
        answers = []
        for function, args in cases:
            data = encode_call(railed.receiver.abi, function, args)
            to = railed.receiver.address
            outcome = rig.chain.call({"from": sender, "to": to, "data": "0x" + data.hex(), "gas": 5_000_000})
            answers.append((outcome.success, outcome.output))
        return answers

    assert outcomes(railed.guardian) == outcomes(stranger)
    railed.send("pause", sender=railed.guardian)
    paused = outcomes(railed.guardian)
    assert paused == outcomes(stranger)
    # Paused: headers move, execution does not (for the guardian as for anyone); recovery is governance's.
    assert [ok for ok, _ in paused] == [True, False, True, False, False, False, False, False, True, False, False, False]
    # Nothing else changes state: no unpause, no setter.
    changing = {
        i["name"] for i in railed.receiver.abi if i.get("type") == "function" and i["stateMutability"] != "view"
    }
    assert changing == {c for c, _ in cases} | {"pause"}


def test_rails_parameters_are_checked_at_deployment(rig: Rig) -> None:
    for rails in (ReceiverRails(trusting_period=0), ReceiverRails(max_pause_duration=366 * 86_400)):
        with pytest.raises(TransactionReverted) as caught:
            deploy_receiver(rig.chain, rig.verifiers, rails=rails)
        assert caught.value.reason.name == "ZkStateReceiver__InvalidConfiguration"
