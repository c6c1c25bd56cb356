"""The StateSync contracts on py-evm and anvil, with real Groth16 proofs of stand-in circuits.

Proofs come from snarkjs for Open(N) (verifier/chain/testing.py): any public signals can be
proven, so each test proves exactly the statement it needs, and every proof-dependent path
runs through a genuine snarkjs verifier. The signals themselves (header hashes, gamma,
eventsCommitment) come from the Python reference (statesync/model.py): a proof only verifies
if the contract computes the same values from its calldata.
"""

from __future__ import annotations

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.chain import stack
from bridge.chain.chains import ChainError
from bridge.chain.deploy import (
    Deployed,
    Event,
    Receipt,
    TransactionReverted,
    call,
    decode_events,
    decode_revert,
    deploy,
    encode_call,
    transact,
)
from statesync.field import R
from statesync.model import (
    MAX_DATA_BYTES,
    StateSyncEvent,
    compute_batch_commitment,
    compute_data_hash,
    compute_header_hash,
)

from .conftest import (
    BATCH_SIZE,
    GENESIS,
    RECEIVER_GAS,
    Rig,
    address_int,
    deploy_receiver,
    event_argument,
    event_hash,
    header_signals,
    inclusion_signals,
    next_header,
    prove,
    sync_signals,
)

GENESIS_HASH = compute_header_hash(GENESIS)
MAX_MESSAGE_LENGTH = 256
HYPOTHESIS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def expect_revert(error: str, function: object, *args: object, **kwargs: object) -> TransactionReverted:
    with pytest.raises(TransactionReverted) as caught:
        function(*args, **kwargs)  # type: ignore[operator]
    assert caught.value.reason.name == error, caught.value
    return caught.value


def deposit(rig: Rig, event_id: int, to: str, amount: int, *, sender: str | None = None) -> StateSyncEvent:
    data = abi_encode(["address", "uint256"], [to, amount])
    return StateSyncEvent(event_id, address_int(sender or rig.root_bridge), address_int(rig.token.address), data)


def noop_event(rig: Rig, event_id: int, data: bytes = b"\x01" * 64) -> StateSyncEvent:
    return StateSyncEvent(event_id, address_int(rig.root_bridge), address_int(rig.noop.address), data)


def to_reverting(rig: Rig, event_id: int, data: bytes = b"please") -> StateSyncEvent:
    return StateSyncEvent(event_id, address_int(rig.root_bridge), address_int(rig.reverting.address), data)


def results(rig: Rig, receipt: Receipt) -> list[tuple[int, bool, bytes]]:
    return [
        (e.args["id"], e.args["success"], e.args["message"])
        for e in decode_events(rig.receiver, receipt)
        if e.name == "StateSyncResult"
    ]


def state(rig: Rig, *names: str) -> tuple[object, ...]:
    return tuple(call(rig.chain, rig.receiver, name) for name in names)


def sync(rig: Rig, trusted: int, events: list[StateSyncEvent], **kwargs: object) -> tuple[Receipt, int]:
    """Prove and submit the header after GENESIS with `events` (ids from 1); returns its hash."""
    header = next_header(GENESIS, events)
    (proof,) = prove(rig, sync_signals(trusted, header, events))
    receipt = transact(
        rig.chain,
        rig.receiver,
        "syncState",
        proof,
        compute_header_hash(header),
        header.number,
        header.event_root,
        [event_argument(e) for e in events],
        **kwargs,  # type: ignore[arg-type]
    )
    return receipt, compute_header_hash(header)


# ---------------------------------------------------------------------------------------------
# StateSender


def test_state_sender_numbers_events_from_one_and_records_the_caller(rig: Rig) -> None:
    payloads = [b"", b"\x00" * 31, bytes(range(256)) * 8]  # the last one is 2048 bytes: allowed
    emitted = []
    for i, data in enumerate(payloads):
        caller, receiver = rig.chain.accounts[i + 1], rig.chain.accounts[i + 4]
        receipt = transact(rig.chain, rig.sender, "syncState", receiver, data, gas=500_000, sender=caller)
        (event,) = decode_events(rig.sender, receipt, "StateSynced")
        emitted.append(event.args)
        assert event.args == {"id": i + 1, "sender": caller, "receiver": receiver, "data": data}
    assert call(rig.chain, rig.sender, "counter") == len(payloads)
    assert [e["id"] for e in emitted] == [1, 2, 3]


def test_state_sender_refuses_a_zero_receiver_and_long_data(rig: Rig) -> None:
    to = rig.chain.accounts[1]
    expect_revert("StateSender__ZeroReceiver", transact, rig.chain, rig.sender, "syncState", "0x" + "00" * 20, b"x")
    error = expect_revert(
        "StateSender__DataTooLong", transact, rig.chain, rig.sender, "syncState", to, b"x" * (MAX_DATA_BYTES + 1)
    )
    assert error.reason.args == (MAX_DATA_BYTES + 1, MAX_DATA_BYTES)
    assert call(rig.chain, rig.sender, "counter") == 0


# ---------------------------------------------------------------------------------------------
# The batch commitment: the contract against statesync/model.py


datas = st.one_of(
    st.binary(max_size=96),
    st.binary(min_size=MAX_DATA_BYTES - 1, max_size=MAX_DATA_BYTES),
    st.sampled_from([b"", b"\x00" * 64, b"\xff" * 33]),
)
addresses = st.one_of(st.integers(1, 2**160 - 1), st.sampled_from([1, 2**160 - 1]))


@st.composite
def batches(draw: st.DrawFn) -> tuple[int, int, list[StateSyncEvent]]:
    batch_size = draw(st.integers(1, 8))
    n = draw(st.integers(1, batch_size))
    first = draw(st.one_of(st.integers(1, 2**64 - 1 - n), st.just(1)))
    events = [StateSyncEvent(first + i, draw(addresses), draw(addresses), draw(datas)) for i in range(n)]
    root = draw(st.one_of(st.integers(1, R - 1), st.sampled_from([1, R - 1])))
    return batch_size, root, events


@HYPOTHESIS
@given(batch=batches())
def test_the_contract_commits_to_a_batch_as_the_reference_does(
    rig: Rig, batch: tuple[int, int, list[StateSyncEvent]]
) -> None:
    batch_size, root, events = batch
    expected = compute_batch_commitment(root, events, batch_size)
    args = [event_argument(e) for e in events]
    assert call(rig.chain, rig.harness, "encode", root, args, batch_size) == (root, *expected.vector)
    assert call(rig.chain, rig.harness, "commit", root, args, batch_size) == (expected.gamma, expected.commitment)
    if batch_size == BATCH_SIZE:
        assert call(rig.chain, rig.receiver, "computeBatchCommitment", root, args) == (
            expected.gamma,
            expected.commitment,
        )


def data_hash_on_chain(rig: Rig, data: bytes) -> int:
    # dataHash_0 is word 5 of [eventRoot, firstId, n, sender_0, receiver_0, dataHash_0, ...].
    event = StateSyncEvent(1, 2, 3, data)
    return int(call(rig.chain, rig.harness, "encode", 7, [event_argument(event)], 1)[5])


@HYPOTHESIS
@given(data=datas)
def test_the_contract_hashes_data_as_the_reference_does(rig: Rig, data: bytes) -> None:
    assert data_hash_on_chain(rig, data) == compute_data_hash(data)


def test_data_hashes_at_and_above_r_are_reduced(rig: Rig) -> None:
    # Most keccak outputs are >= r (r is ~0.19 * 2^256): find one and one below, and check both.
    found: dict[bool, bytes] = {}
    for i in range(64):
        data = i.to_bytes(2, "big")
        found.setdefault(int.from_bytes(keccak(data), "big") >= R, data)
    assert set(found) == {True, False}
    for data in found.values():
        assert data_hash_on_chain(rig, data) == compute_data_hash(data) < R


def test_compute_batch_commitment_checks_the_batch(rig: Rig) -> None:
    events = [noop_event(rig, i) for i in (1, 2, 3)]
    args = [event_argument(e) for e in events]
    view = rig.receiver
    expect_revert("ZkStateReceiver__BatchSize", call, rig.chain, view, "computeBatchCommitment", 5, [])
    too_many = [event_argument(noop_event(rig, i)) for i in range(1, BATCH_SIZE + 2)]
    expect_revert("ZkStateReceiver__BatchSize", call, rig.chain, view, "computeBatchCommitment", 5, too_many)
    gap = [args[0], args[2]]
    error = expect_revert("ZkStateReceiver__UnexpectedId", call, rig.chain, view, "computeBatchCommitment", 5, gap)
    assert error.reason.args == (2, 3)
    expect_revert("ZkStateReceiver__NotCanonical", call, rig.chain, view, "computeBatchCommitment", R, args)


def patch_word(data: bytes, word: int, value: int) -> bytes:
    """Replace 32-byte word `word` of ABI-encoded arguments (after the 4-byte selector)."""
    start = 4 + 32 * word
    return data[:start] + value.to_bytes(32, "big") + data[start + 32 :]


@pytest.mark.parametrize(
    "corrupt",
    [
        "dirty sender",
        "dirty receiver",
        "element offset past the end",
        "element offset wrapping around",
        "data offset wrapping around",
        "data length past the end",
    ],
)
def test_malformed_event_encodings_are_refused(rig: Rig, corrupt: str) -> None:
    # The batch is read from calldata by hand, so it must refuse what Solidity's decoder would.
    events = [noop_event(rig, 1, b"\x05" * 40), noop_event(rig, 2, b"\x06" * 3)]
    honest = encode_call(rig.receiver.abi, "computeBatchCommitment", [7, [event_argument(e) for e in events]])
    # Words: 0 root, 1 array offset, 2 length, 3-4 element offsets, 5.. element 0 (id, sender,
    # receiver, data offset, data length, 2 data words), 12.. element 1.
    element0, element1 = 5, 12
    tampered = {
        "dirty sender": patch_word(honest, element0 + 1, 2**160 + address_int(rig.root_bridge)),
        "dirty receiver": patch_word(honest, element1 + 2, (1 << 255) | address_int(rig.noop.address)),
        "element offset past the end": patch_word(honest, 4, 32 * 40),
        # Offsets that wrap around 2^256 to land inside the calldata: refused for being >= 2^64.
        "element offset wrapping around": patch_word(honest, 4, 2**256 - 32 * 3),
        "data offset wrapping around": patch_word(honest, element0 + 3, 2**256 - 0x40),
        "data length past the end": patch_word(honest, element1 + 4, 64),
    }[corrupt]
    transaction = {"from": rig.chain.accounts[0], "to": rig.receiver.address, "gas": 1_000_000}
    assert rig.chain.call({**transaction, "data": "0x" + honest.hex()}).success
    outcome = rig.chain.call({**transaction, "data": "0x" + tampered.hex()})
    assert not outcome.success
    assert decode_revert(outcome.output, [rig.receiver.abi]).name == "ZkStateReceiver__MalformedBatch"


# ---------------------------------------------------------------------------------------------
# Construction


def test_the_constructor_stores_the_checkpoint(rig: Rig) -> None:
    assert state(rig, "trustedHeaderHash", "lastNumber", "lastExecutedId", "batchSize") == (
        GENESIS_HASH,
        GENESIS.number,
        0,
        BATCH_SIZE,
    )
    assert state(rig, "headerVerifier", "stateSyncVerifier", "eventVerifier") == tuple(
        rig.verifiers[n].address for n in (4, 6, 3)
    )
    # The genesis is accepted with event root 0: its events are not executable.
    assert call(rig.chain, rig.receiver, "isAccepted", GENESIS_HASH, GENESIS.number, 0) is True


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"verifier": 4}, "headerVerifier"),
        ({"verifier": 6}, "stateSyncVerifier"),
        ({"verifier": 3}, "eventVerifier"),
        ({"genesis_hash": 0}, "genesisHeaderHash"),
        ({"genesis_hash": R}, "genesisHeaderHash"),
        ({"batch_size": 0}, "batchSize"),
        ({"batch_size": 257}, "batchSize"),
        ({"receiver_gas": 49_999}, "receiverGas"),
        ({"receiver_gas": 10_000_001}, "receiverGas"),
    ],
)
def test_the_constructor_refuses_unusable_arguments(rig: Rig, change: dict[str, int], what: str) -> None:
    verifiers, arguments = dict(rig.verifiers), dict(change)
    if "verifier" in arguments:
        # An account without code: a verifier call would "succeed" and decode nothing.
        verifiers[arguments.pop("verifier")] = Deployed(rig.noop.contract, rig.chain.accounts[9], rig.noop.receipt)
    error = expect_revert("ZkStateReceiver__InvalidConfiguration", deploy_receiver, rig.chain, verifiers, **arguments)
    assert error.reason.args == (what,)


# ---------------------------------------------------------------------------------------------
# Headers


def submit(rig: Rig, proof: object, header_hash: int, number: int, root: int, **kwargs: object) -> Receipt:
    return transact(rig.chain, rig.receiver, "submitHeader", proof, header_hash, number, root, **kwargs)  # type: ignore[arg-type]


def try_submit(rig: Rig, proof: object, header_hash: int, number: int, root: int, **kwargs: object) -> None:
    # Refusals are checked with eth_call: the same execution, and on py-evm half the time of a
    # reverted transaction (whose revert data has to be recovered by replaying it).
    call(rig.chain, rig.receiver, "submitHeader", proof, header_hash, number, root, **kwargs)  # type: ignore[arg-type]


def test_submit_header_moves_the_checkpoint_along_the_chain(rig: Rig) -> None:
    first = next_header(GENESIS, [])
    second = next_header(first, [noop_event(rig, 1)])
    p1, p2 = prove(rig, header_signals(GENESIS_HASH, first), header_signals(compute_header_hash(first), second))
    receipt = submit(rig, p1, compute_header_hash(first), first.number, first.event_root)
    (accepted,) = decode_events(rig.receiver, receipt, "HeaderAccepted")
    assert accepted.args == {
        "number": first.number,
        "headerHash": compute_header_hash(first),
        "eventRoot": first.event_root,
    }
    assert state(rig, "trustedHeaderHash", "lastNumber") == (compute_header_hash(first), first.number)
    # The second proof links to the first header: valid only now that it is the checkpoint.
    submit(rig, p2, compute_header_hash(second), second.number, second.event_root)
    assert state(rig, "trustedHeaderHash", "lastNumber") == (compute_header_hash(second), second.number)
    for header in (first, second):
        named = (compute_header_hash(header), header.number, header.event_root)
        assert call(rig.chain, rig.receiver, "isAccepted", *named) is True
    assert call(rig.chain, rig.receiver, "isAccepted", compute_header_hash(first), first.number, 1) is False


def test_submit_header_refuses_proofs_of_other_statements(rig: Rig) -> None:
    header = next_header(GENESIS, [])
    header_hash = compute_header_hash(header)
    # A proof linking to another checkpoint, and an honest proof offered for other values.
    elsewhere, honest = prove(rig, header_signals(GENESIS_HASH + 1, header), header_signals(GENESIS_HASH, header))
    expect_revert(
        "ZkStateReceiver__InvalidProof", try_submit, rig, elsewhere, header_hash, header.number, header.event_root
    )
    expect_revert(
        "ZkStateReceiver__InvalidProof", try_submit, rig, honest, header_hash, header.number + 1, header.event_root
    )
    assert state(rig, "trustedHeaderHash", "lastNumber") == (GENESIS_HASH, GENESIS.number)


def test_submit_header_refuses_non_canonical_inputs_before_the_verifier(rig: Rig) -> None:
    header = next_header(GENESIS, [])
    header_hash = compute_header_hash(header)
    (proof,) = prove(rig, header_signals(GENESIS_HASH, header))
    for values in (
        (header_hash + R, header.number, header.event_root),
        (header_hash, header.number, header.event_root + R),
        (header_hash, header.number + 2**64, header.event_root),
        (2**256 - 1, header.number, header.event_root),
    ):
        error = expect_revert("ZkStateReceiver__NotCanonical", submit, rig, proof, *values)
        assert error.reason.args[0] >= min(R, 2**64)
    submit(rig, proof, header_hash, header.number, header.event_root)  # the canonical values pass


def test_submit_header_refuses_a_zero_event_root_even_with_a_valid_proof(rig: Rig) -> None:
    header = next_header(GENESIS, [])
    (proof,) = prove(rig, [compute_header_hash(header), header.number, 0, GENESIS_HASH])
    expect_revert("ZkStateReceiver__ZeroEventRoot", submit, rig, proof, compute_header_hash(header), header.number, 0)


@pytest.mark.parametrize("number", [GENESIS.number, GENESIS.number - 1, 0])
def test_submit_header_refuses_a_number_that_does_not_rise(rig: Rig, number: int) -> None:
    header = next_header(GENESIS, [], number=number)
    (proof,) = prove(rig, header_signals(GENESIS_HASH, header))
    error = expect_revert(
        "ZkStateReceiver__NumberNotRising", submit, rig, proof, compute_header_hash(header), number, header.event_root
    )
    assert error.reason.args == (number, GENESIS.number)


def test_a_verifier_short_of_gas_is_not_called_a_false_proof(rig: Rig) -> None:
    # The snarkjs verifier returns false when its pairing runs out of gas: the receiver must
    # report the relayer's short gas, not an invalid proof.
    header = next_header(GENESIS, [])
    (proof,) = prove(rig, header_signals(GENESIS_HASH, header))
    args = (proof, compute_header_hash(header), header.number, header.event_root)
    expect_revert("ZkStateReceiver__InsufficientGas", submit, rig, *args, gas=150_000)
    submit(rig, *args, gas=400_000)


# ---------------------------------------------------------------------------------------------
# Batches: syncState (header + events) and executeEvents (events of an accepted header)


def test_sync_state_mints_deposits_in_one_proof(rig: Rig) -> None:
    alice, bob = rig.chain.accounts[2], rig.chain.accounts[3]
    events = [deposit(rig, 1, alice, 10), deposit(rig, 2, bob, 20), deposit(rig, 3, alice, 5)]
    receipt, header_hash = sync(rig, GENESIS_HASH, events)
    assert results(rig, receipt) == [(1, True, b""), (2, True, b""), (3, True, b"")]
    assert [call(rig.chain, rig.token, "balanceOf", a) for a in (alice, bob)] == [15, 20]
    assert call(rig.chain, rig.token, "totalSupply") == 35
    assert state(rig, "trustedHeaderHash", "lastNumber", "lastExecutedId") == (header_hash, GENESIS.number + 1, 3)
    header = next_header(GENESIS, events)
    assert call(rig.chain, rig.receiver, "isAccepted", header_hash, header.number, header.event_root) is True


@pytest.mark.parametrize(
    "tamper",
    ["amount", "receiver", "sender", "drop last", "add one"],
)
def test_sync_state_refuses_events_other_than_the_proven_ones(rig: Rig, tamper: str) -> None:
    alice = rig.chain.accounts[2]
    proven = [deposit(rig, 1, alice, 10), deposit(rig, 2, alice, 20)]
    header = next_header(GENESIS, proven)
    (proof,) = prove(rig, sync_signals(GENESIS_HASH, header, proven))
    offered = {
        "amount": [proven[0], deposit(rig, 2, alice, 2000)],
        "receiver": [proven[0], StateSyncEvent(2, proven[1].sender, address_int(rig.noop.address), proven[1].data)],
        "sender": [proven[0], deposit(rig, 2, alice, 20, sender=rig.chain.accounts[6])],
        "drop last": proven[:1],
        "add one": [*proven, deposit(rig, 3, alice, 1)],
    }[tamper]
    args = [event_argument(e) for e in offered]
    expect_revert(
        "ZkStateReceiver__InvalidProof",
        call,
        rig.chain,
        rig.receiver,
        "syncState",
        proof,
        compute_header_hash(header),
        header.number,
        header.event_root,
        args,
    )
    assert call(rig.chain, rig.token, "totalSupply") == 0


def test_execute_events_runs_batches_under_an_accepted_header_once(rig: Rig) -> None:
    alice = rig.chain.accounts[2]
    events = [deposit(rig, i, alice, i) for i in range(1, 7)]  # more than one batch of 4
    header = next_header(GENESIS, events)
    p_header, p_first, p_rest = prove(
        rig,
        header_signals(GENESIS_HASH, header),
        inclusion_signals(header.event_root, events[:4]),
        inclusion_signals(header.event_root, events[4:]),
    )
    submit(rig, p_header, compute_header_hash(header), header.number, header.event_root)

    def execute(proof: object, batch: list[StateSyncEvent], number: int = header.number) -> Receipt:
        head = (compute_header_hash(header), number, header.event_root)
        return transact(rig.chain, rig.receiver, "executeEvents", proof, *head, [event_argument(e) for e in batch])

    # Out of order, an unknown header, and a proof for the other batch are refused.
    error = expect_revert("ZkStateReceiver__UnexpectedId", execute, p_rest, events[4:])
    assert error.reason.args == (1, 5)
    expect_revert("ZkStateReceiver__UnknownHeader", execute, p_first, events[:4], header.number + 1)
    expect_revert(
        "ZkStateReceiver__InvalidProof",
        call,
        rig.chain,
        rig.receiver,
        "executeEvents",
        p_rest,
        compute_header_hash(header),
        header.number,
        header.event_root,
        [event_argument(e) for e in events[:2]],
    )

    receipt = execute(p_first, events[:4])
    assert [r[:2] for r in results(rig, receipt)] == [(i, True) for i in (1, 2, 3, 4)]
    # Replaying the batch is refused: the counter has moved past it.
    error = expect_revert("ZkStateReceiver__UnexpectedId", execute, p_first, events[:4])
    assert error.reason.args == (5, 1)
    execute(p_rest, events[4:])
    assert call(rig.chain, rig.token, "totalSupply") == sum(range(1, 7))
    assert state(rig, "lastExecutedId") == (6,)


def test_a_header_with_more_events_than_a_batch_is_finished_with_execute_events(rig: Rig) -> None:
    # The relayer's usual path: syncState with the first B events, then the rest under the
    # root syncState stored.
    alice = rig.chain.accounts[2]
    events = [deposit(rig, i, alice, 1) for i in range(1, BATCH_SIZE + 3)]
    header = next_header(GENESIS, events)
    p_sync, p_rest = prove(
        rig,
        sync_signals(GENESIS_HASH, header, events[:BATCH_SIZE]),
        inclusion_signals(header.event_root, events[BATCH_SIZE:]),
    )
    head = (compute_header_hash(header), header.number, header.event_root)
    transact(rig.chain, rig.receiver, "syncState", p_sync, *head, [event_argument(e) for e in events[:BATCH_SIZE]])
    rest = [event_argument(e) for e in events[BATCH_SIZE:]]
    receipt = transact(rig.chain, rig.receiver, "executeEvents", p_rest, *head, rest)
    assert [r[:2] for r in results(rig, receipt)] == [(BATCH_SIZE + 1, True), (BATCH_SIZE + 2, True)]
    assert call(rig.chain, rig.token, "balanceOf", alice) == len(events)


def test_batches_must_continue_from_the_last_executed_id(rig: Rig) -> None:
    # Refused before any proof is checked, so a dummy proof will do.
    header = next_header(GENESIS, [])
    dummy = ((1, 2), ((1, 2), (3, 4)), (1, 2))

    def sync_with(events: list[StateSyncEvent]) -> Receipt:
        args = [event_argument(e) for e in events]
        return transact(
            rig.chain,
            rig.receiver,
            "syncState",
            dummy,
            compute_header_hash(header),
            header.number,
            header.event_root,
            args,
        )

    for events, expected in (
        ([noop_event(rig, 2)], (1, 2)),  # a gap
        ([noop_event(rig, 1), noop_event(rig, 3)], (2, 3)),  # a gap inside
        ([noop_event(rig, 1), noop_event(rig, 1)], (2, 1)),  # a repeat
    ):
        error = expect_revert("ZkStateReceiver__UnexpectedId", sync_with, events)
        assert error.reason.args == expected
    expect_revert("ZkStateReceiver__BatchSize", sync_with, [])
    expect_revert("ZkStateReceiver__BatchSize", sync_with, [noop_event(rig, i) for i in range(1, BATCH_SIZE + 2)])


def test_execution_can_start_after_events_delivered_before_the_genesis(rig: Rig) -> None:
    receiver = deploy_receiver(rig.chain, rig.verifiers, last_executed_id=41)
    assert call(rig.chain, receiver, "lastExecutedId") == 41
    events = [noop_event(rig, 42), noop_event(rig, 43)]
    header = next_header(GENESIS, events)
    (proof,) = prove(rig, sync_signals(GENESIS_HASH, header, events))
    args = (compute_header_hash(header), header.number, header.event_root)
    error = expect_revert(
        "ZkStateReceiver__UnexpectedId",
        transact,
        rig.chain,
        receiver,
        "syncState",
        proof,
        *args,
        [event_argument(noop_event(rig, 1))],
    )
    assert error.reason.args == (42, 1)
    receipt = transact(rig.chain, receiver, "syncState", proof, *args, [event_argument(e) for e in events])
    assert [(e.args["id"], e.args["success"]) for e in decode_events(receiver, receipt, "StateSyncResult")] == [
        (42, True),
        (43, True),
    ]


# ---------------------------------------------------------------------------------------------
# Failures and retries


def test_a_failing_receiver_is_recorded_and_retried_until_it_succeeds(rig: Rig) -> None:
    events = [noop_event(rig, 1), to_reverting(rig, 2), noop_event(rig, 3)]
    receipt, _ = sync(rig, GENESIS_HASH, events)
    (first, failed, third) = results(rig, receipt)
    assert first[:2] == (1, True) and third[:2] == (3, True)
    assert failed[:2] == (2, False)
    assert decode_revert(failed[2], [rig.reverting.abi]).name == "RevertingReceiver__Refused"
    assert decode_revert(failed[2], [rig.reverting.abi]).args == (2,)
    assert state(rig, "lastExecutedId") == (3,)
    assert call(rig.chain, rig.receiver, "failedStateSyncs", 2) == event_hash(events[1])
    assert call(rig.chain, rig.receiver, "failedStateSyncs", 1) == b"\x00" * 32

    def retry(event: StateSyncEvent) -> Receipt:
        return transact(rig.chain, rig.receiver, "retry", event_argument(event), gas=600_000)

    # Still failing: the record stays. Another event, or the same id with other data: refused.
    assert [r[:2] for r in results(rig, retry(events[1]))] == [(2, False)]
    expect_revert("ZkStateReceiver__NotRetriable", retry, to_reverting(rig, 2, b"other data"))
    expect_revert("ZkStateReceiver__NotRetriable", retry, events[0])
    transact(rig.chain, rig.reverting, "setMode", 4)  # Accept
    assert results(rig, retry(events[1])) == [(2, True, b"")]
    assert call(rig.chain, rig.reverting, "accepted") == 1
    assert call(rig.chain, rig.reverting, "lastData") == events[1].data
    assert call(rig.chain, rig.receiver, "failedStateSyncs", 2) == b"\x00" * 32
    expect_revert("ZkStateReceiver__NotRetriable", retry, events[1])  # exactly once


@pytest.mark.parametrize("mode", ["burn gas", "huge revert", "reenter", "no code"])
def test_receiver_failures_are_bounded(rig: Rig, mode: str) -> None:
    if mode == "no code":
        event = StateSyncEvent(1, address_int(rig.root_bridge), address_int(rig.chain.accounts[8]), b"to an account")
    else:
        transact(rig.chain, rig.reverting, "setMode", {"burn gas": 1, "huge revert": 2, "reenter": 3}[mode])
        event = to_reverting(rig, 1)
    receipt, _ = sync(rig, GENESIS_HASH, [event], gas=2_000_000)
    ((event_id, success, message),) = results(rig, receipt)
    assert (event_id, success) == (1, False)
    assert call(rig.chain, rig.receiver, "failedStateSyncs", 1) == event_hash(event)
    if mode == "burn gas":
        # The stipend bounds what a receiver can take: the rest of the 2M stays unused.
        assert message == b"" and RECEIVER_GAS < receipt.gas_used < RECEIVER_GAS + 400_000
    elif mode == "huge revert":
        assert message == b"\x00" * MAX_MESSAGE_LENGTH
    elif mode == "reenter":
        assert decode_revert(message, [rig.receiver.abi]).name == "ZkStateReceiver__Reentrancy"
    else:
        assert message == b""


def test_a_relayer_short_of_gas_cannot_make_a_receiver_fail(rig: Rig) -> None:
    transact(rig.chain, rig.reverting, "setMode", 1)  # burns whatever it is given
    events = [to_reverting(rig, 1)]
    header = next_header(GENESIS, events)
    (proof,) = prove(rig, sync_signals(GENESIS_HASH, header, events))
    args = (proof, compute_header_hash(header), header.number, header.event_root, [event_argument(events[0])])
    # Enough for the proof and the bookkeeping, not for the receiver's full stipend.
    expect_revert("ZkStateReceiver__InsufficientGas", call, rig.chain, rig.receiver, "syncState", *args, gas=450_000)
    assert state(rig, "lastExecutedId", "lastNumber") == (0, GENESIS.number)


def test_child_token_takes_deposits_only_from_its_bridge_through_the_receiver(rig: Rig) -> None:
    alice = rig.chain.accounts[2]
    data = abi_encode(["address", "uint256"], [alice, 5])
    expect_revert(
        "ChildToken__NotStateReceiver", transact, rig.chain, rig.token, "onStateReceive", 1, rig.root_bridge, data
    )
    events = [deposit(rig, 1, alice, 5, sender=rig.chain.accounts[6]), deposit(rig, 2, alice, 7)]
    receipt, _ = sync(rig, GENESIS_HASH, events)
    (forged, honest) = results(rig, receipt)
    assert forged[:2] == (1, False) and honest[:2] == (2, True)
    assert decode_revert(forged[2], [rig.token.abi]).name == "ChildToken__UnknownSender"
    assert call(rig.chain, rig.token, "balanceOf", alice) == 7


# ---------------------------------------------------------------------------------------------
# From the rootchain's StateSender to the child chain's token


def test_events_emitted_by_the_state_sender_are_executed_on_the_child_chain(rig: Rig) -> None:
    alice, bob = rig.chain.accounts[2], rig.chain.accounts[3]
    # The bridge on the rootchain is an account here; it sends two deposits through StateSender,
    # and the relayer reads them back from the StateSynced logs.
    logs: list[Event] = []
    for to, amount in ((alice, 3), (bob, 4)):
        data = abi_encode(["address", "uint256"], [to, amount])
        receipt = transact(rig.chain, rig.sender, "syncState", rig.token.address, data, sender=rig.root_bridge)
        logs += decode_events(rig.sender, receipt, "StateSynced")
    events = [
        StateSyncEvent(e.args["id"], address_int(e.args["sender"]), address_int(e.args["receiver"]), e.args["data"])
        for e in logs
    ]
    assert [e.id for e in events] == [1, 2]
    sync(rig, GENESIS_HASH, events)
    assert [call(rig.chain, rig.token, "balanceOf", a) for a in (alice, bob)] == [3, 4]


# ---------------------------------------------------------------------------------------------
# Gas


def test_a_header_update_costs_at_most_280k_gas(rig: Rig) -> None:
    header = next_header(GENESIS, [])
    (proof,) = prove(rig, header_signals(GENESIS_HASH, header))
    receipt = submit(rig, proof, compute_header_hash(header), header.number, header.event_root)
    assert receipt.gas_used <= 280_000, receipt.gas_used


def test_a_batch_of_16_costs_at_most_25k_gas_per_event(rig: Rig) -> None:
    # A deposit-sized payload (abi.encode(address, uint256)) to the no-op receiver: the figure
    # counts the receiver contract's work, calldata and logs, not an application's.
    batch_size = 16
    receiver = deploy_receiver(rig.chain, rig.verifiers, batch_size=batch_size)
    data = abi_encode(["address", "uint256"], [rig.chain.accounts[2], 10**18])
    events = [noop_event(rig, i, data) for i in range(1, batch_size + 1)]
    header = next_header(GENESIS, events)
    (proof,) = prove(rig, sync_signals(GENESIS_HASH, header, events, batch_size))
    receipt = transact(
        rig.chain,
        receiver,
        "syncState",
        proof,
        compute_header_hash(header),
        header.number,
        header.event_root,
        [event_argument(e) for e in events],
        gas=6_000_000,
    )
    assert [r.args["success"] for r in decode_events(receiver, receipt, "StateSyncResult")] == [True] * batch_size
    assert receipt.gas_used / batch_size <= 25_000, receipt.gas_used


# ---------------------------------------------------------------------------------------------
# Receiver gas (issue 11: a stipend fixed at deployment, checked before every call, and retries
# that anyone may pay more gas for)


def hungry_event(rig: Rig, event_id: int, hungry: Deployed, slots: int) -> StateSyncEvent:
    data = abi_encode(["uint256"], [slots])
    return StateSyncEvent(event_id, address_int(rig.root_bridge), address_int(hungry.address), data)


def test_a_receiver_needing_more_than_the_stipend_is_retried_with_more_gas_once(rig: Rig) -> None:
    # 20 fresh slots: ~450k gas in the receiver alone, like Edge's MAP_TOKEN (345,871) on a 300k stipend.
    hungry = deploy(rig.chain, rig.build.get("HungryReceiver"))
    receiver = deploy_receiver(rig.chain, rig.verifiers, receiver_gas=300_000)
    event = hungry_event(rig, 1, hungry, 20)
    header = next_header(GENESIS, [event])
    (proof,) = prove(rig, sync_signals(GENESIS_HASH, header, [event]))
    head = (compute_header_hash(header), header.number, header.event_root)
    receipt = transact(rig.chain, receiver, "syncState", proof, *head, [event_argument(event)], gas=3_000_000)
    assert [(e.args["id"], e.args["success"]) for e in decode_events(receiver, receipt, "StateSyncResult")] == [
        (1, False)
    ]
    # The stipend is the deployment's, whatever the transaction's gas: retry() fails again.
    again = transact(rig.chain, receiver, "retry", event_argument(event), gas=5_000_000)
    assert decode_events(receiver, again, "StateSyncResult")[0].args["success"] is False
    expect_revert(
        "ZkStateReceiver__GasLimit", transact, rig.chain, receiver, "retryWithGas", event_argument(event), 299_999
    )
    # Asking for 1M without sending the gas for it reverts instead of failing the receiver.
    expect_revert(
        "ZkStateReceiver__InsufficientGas",
        transact,
        rig.chain,
        receiver,
        "retryWithGas",
        event_argument(event),
        1_000_000,
        gas=600_000,
    )
    paid = transact(rig.chain, receiver, "retryWithGas", event_argument(event), 1_000_000, gas=1_500_000)
    assert [(e.args["id"], e.args["success"]) for e in decode_events(receiver, paid, "StateSyncResult")] == [(1, True)]
    assert call(rig.chain, hungry, "received") == 1 and call(rig.chain, hungry, "written", 1, 19) == 20
    for entry in ("retry", "retryWithGas"):
        extra = () if entry == "retry" else (1_000_000,)
        expect_revert(
            "ZkStateReceiver__NotRetriable", transact, rig.chain, receiver, entry, event_argument(event), *extra
        )
    assert call(rig.chain, hungry, "received") == 1  # delivered exactly once


def test_the_relayers_gas_never_decides_a_receivers_outcome(rig: Rig) -> None:
    # A receiver that credits, then runs a ~355k hook in try/catch: starved, it would succeed without
    # its hook and the event would be spent. Sweep the transaction's gas across the edge.
    hooked = deploy(rig.chain, rig.build.get("HookedReceiver"))
    receiver = deploy_receiver(rig.chain, rig.verifiers, receiver_gas=500_000)
    event = StateSyncEvent(1, address_int(rig.root_bridge), address_int(hooked.address), b"hook me")
    header = next_header(GENESIS, [event])
    (proof,) = prove(rig, sync_signals(GENESIS_HASH, header, [event]))
    args = (proof, compute_header_hash(header), header.number, header.event_root, [event_argument(event)])

    def accepted(gas: int) -> bool:
        try:
            call(rig.chain, receiver, "syncState", *args, gas=gas)
        except ChainError:  # a revert, or out of gas outside any try
            return False
        return True

    low, high = 250_000, 2_000_000  # refused, accepted: bisect to the least gas that is accepted
    assert not accepted(low) and accepted(high)
    for _ in range(12):
        middle = (low + high) // 2
        low, high = (low, middle) if accepted(middle) else (middle, high)
    steps = 4 if rig.chain.kind == "pyevm" else 16
    snapshot = rig.chain.snapshot()
    for gas in [high - 20_000 + 5_000 * i for i in range(steps)] + [high + 40_000 * i for i in range(steps)]:
        try:
            receipt = transact(rig.chain, receiver, "syncState", *args, gas=gas)
        except ChainError as refused:  # reverted (starved of gas), never a silent success
            if isinstance(refused, TransactionReverted):
                assert refused.reason.name in ("ZkStateReceiver__InsufficientGas", None), refused
            assert gas < high + 5_000
            continue
        assert decode_events(receiver, receipt, "StateSyncResult")[0].args["success"] is True
        assert call(rig.chain, hooked, "hooked", 1) is True, f"at {gas} gas the hook was skipped"
        rig.chain.revert_to(snapshot)
        snapshot = rig.chain.snapshot()


def test_a_header_submitted_first_does_not_strand_the_relayers_proof(rig: Rig) -> None:
    # Issue 11 (5): a griefer submits the header with its (public) inputs; the StateSync proof the
    # relayer holds still executes the events, through executeStateSync, with no second proof.
    events = [noop_event(rig, 1), noop_event(rig, 2)]
    header = next_header(GENESIS, events)
    header_hash = compute_header_hash(header)
    header_proof, sync_proof = prove(
        rig, header_signals(GENESIS_HASH, header), sync_signals(GENESIS_HASH, header, events)
    )
    submit(rig, header_proof, header_hash, header.number, header.event_root)
    batch = [event_argument(e) for e in events]
    head = (header_hash, header.number, header.event_root)
    expect_revert(
        "ZkStateReceiver__NumberNotRising", transact, rig.chain, rig.receiver, "syncState", sync_proof, *head, batch
    )
    # A root the receiver never accepted, or a proof of other values: refused.
    expect_revert(
        "ZkStateReceiver__UnknownHeader",
        call,
        rig.chain,
        rig.receiver,
        "executeStateSync",
        sync_proof,
        header_hash,
        header.number,
        header.event_root + 1,
        GENESIS_HASH,
        batch,
    )
    expect_revert(
        "ZkStateReceiver__InvalidProof",
        call,
        rig.chain,
        rig.receiver,
        "executeStateSync",
        sync_proof,
        header_hash,
        header.number,
        header.event_root,
        GENESIS_HASH + 1,
        batch,
    )
    receipt = transact(rig.chain, rig.receiver, "executeStateSync", sync_proof, *head, GENESIS_HASH, batch)
    assert [r[:2] for r in results(rig, receipt)] == [(1, True), (2, True)]
    assert state(rig, "lastExecutedId") == (2,)
    # The same batch again: its ids are spent.
    expect_revert(
        "ZkStateReceiver__UnexpectedId",
        call,
        rig.chain,
        rig.receiver,
        "executeStateSync",
        sync_proof,
        *head,
        GENESIS_HASH,
        batch,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"genesis": 5}, "must be a Header"),
        ({"last_executed_id": -1}, "not a uint64"),
        ({"batch_size": 0}, "batch size 0"),
        ({"receiver_gas": 1}, "receiver gas 1"),
    ],
)
def test_the_deployment_script_refuses_parameters_that_do_not_fit(change: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "genesis": GENESIS,
        "last_executed_id": 0,
        "batch_size": 4,
        "receiver_gas": RECEIVER_GAS,
        **change,
    }
    with pytest.raises(stack.DeploymentError, match=message):
        stack.check_receiver_parameters(**arguments)  # type: ignore[arg-type]
