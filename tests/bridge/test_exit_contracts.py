"""The exit direction's contracts on py-evm and anvil: L2StateSender, ZkCheckpointManager, ZkExitHelper
and the sample bridge's withdrawals, with real Groth16 proofs of the stand-in Open(5) circuit.

Open(5) proves any five public signals, so each test proves exactly the CheckpointUpdate statement
it needs ([checkpointHash, number, exitRootHigh, exitRootLow, trustedCheckpointHash]) through a
genuine snarkjs verifier. Exit leaves, trees and proofs come from the Python reference
(statesync/exits.py): an exit only executes if the contract computes the same root from its calldata.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from eth_abi.abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.chain import stack
from bridge.chain.chains import Chain, ChainKind, open_chain
from bridge.chain.deploy import (
    Deployed,
    Receipt,
    TransactionReverted,
    call,
    decode_events,
    decode_revert,
    deploy,
    transact,
)
from bridge.chain.solc import CompiledContract
from bridge.chain.stack import ExitArgument, checkpoint_signals, exit_argument
from bridge.testing import OpenVerifier, Prove, proof_argument
from statesync.exits import (
    EXIT_TREE_DEPTH,
    ExitEvent,
    build_exit_tree,
    compute_exit_root,
    encode_exit,
    get_exit_proof,
)
from statesync.field import R
from statesync.model import Checkpoint, StateSyncEvent, compute_checkpoint_hash, compute_header_hash

from .conftest import (
    BATCH_SIZE,
    CHAINS,
    GENESIS,
    Rig,
    address_int,
    event_argument,
    next_header,
    prove,
    rewind_after,
    sync_signals,
)

CHECKPOINT_GENESIS = Checkpoint(
    chain_id=99,
    number=20,
    parent_hash=0,
    timestamp=1_700_000_000,
    exit_root=compute_exit_root([]),
    validator_set_hash=321,
    next_validator_set_hash=321,
)
CHECKPOINT_GENESIS_HASH = compute_checkpoint_hash(CHECKPOINT_GENESIS)
MAX_RETURN_DATA_LENGTH = 256
EXIT_GAS = 1_000_000
ETHER = 10**18
HYPOTHESIS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# RevertingL2Receiver's modes.
REVERT, BURN_GAS, HUGE_REVERT, REENTER, ACCEPT, HUNGRY = range(6)


@dataclass(frozen=True)
class ExitRig:
    base: Rig  # conftest's deployment: the Open(N) verifiers, a ZkStateReceiver, a StateSender
    exits: stack.ExitStack
    l2_sender: Deployed
    noop: Deployed
    reverting: Deployed
    token: Deployed  # a ChildToken with withdrawals, minted through base.receiver
    root_bridge: Deployed  # RootBridge(base.sender, token, exit helper)

    @property
    def chain(self) -> Chain:
        return self.base.chain

    @property
    def manager(self) -> Deployed:
        return self.exits.checkpoint_manager

    @property
    def helper(self) -> Deployed:
        return self.exits.exit_helper


@pytest.fixture(scope="module")
def exit_rig_at_deployment(rig_at_deployment: Rig) -> ExitRig:
    base = rig_at_deployment
    chain, build = base.chain, base.build
    exits = stack.deploy_exit_stack(chain, base.verifiers[5].address, genesis=CHECKPOINT_GENESIS)
    l2_sender = deploy(chain, build.get("L2StateSender"))
    # ChildToken and RootBridge name each other: the bridge's address is predicted (next nonce).
    deployer = chain.accounts[0]
    bridge_address = stack.predict_create_address(deployer, chain.web3.eth.get_transaction_count(deployer) + 1)
    token = stack.deploy_child_token(chain, base.receiver.address, bridge_address, l2_sender.address)
    limit = stack.RateLimit().argument()
    root_bridge = deploy(
        chain, build.get("RootBridge"), base.sender.address, token.address, exits.exit_helper.address, limit
    )
    assert root_bridge.address == bridge_address
    return ExitRig(
        base=base,
        exits=exits,
        l2_sender=l2_sender,
        noop=deploy(chain, build.get("NoopL2Receiver")),
        reverting=deploy(chain, build.get("RevertingL2Receiver")),
        token=token,
        root_bridge=root_bridge,
    )


@pytest.fixture(scope="module")
def exit_snapshots(exit_rig_at_deployment: ExitRig) -> list[str]:
    return [exit_rig_at_deployment.chain.snapshot()]


@pytest.fixture
def xr(exit_rig_at_deployment: ExitRig, exit_snapshots: list[str]) -> Iterator[ExitRig]:
    """The deployment, fresh: the chain goes back to the snapshot after the test."""
    yield from rewind_after(exit_rig_at_deployment, exit_snapshots)


# ---------------------------------------------------------------------------------------------
# Helpers: protocol values from the Python reference


def expect_revert(error: str, function: object, *args: object, **kwargs: object) -> TransactionReverted:
    with pytest.raises(TransactionReverted) as caught:
        function(*args, **kwargs)  # type: ignore[operator]
    assert caught.value.reason.name == error, caught.value
    return caught.value


def exits_to(
    xr: ExitRig, receiver: Deployed, count: int, *, first_id: int = 1, data: bytes = b"\x07" * 32
) -> list[ExitEvent]:
    sender = address_int(xr.chain.accounts[3])
    return [ExitEvent(first_id + i, sender, address_int(receiver.address), data) for i in range(count)]


def next_checkpoint(parent: Checkpoint, exits: Sequence[ExitEvent], *, number: int | None = None) -> Checkpoint:
    return Checkpoint(
        chain_id=parent.chain_id,
        number=parent.number + 1 if number is None else number,
        parent_hash=compute_checkpoint_hash(parent),
        timestamp=parent.timestamp + 2,
        exit_root=compute_exit_root(exits),
        validator_set_hash=parent.next_validator_set_hash,
        next_validator_set_hash=parent.next_validator_set_hash,
    )


def submit_values(checkpoint: Checkpoint) -> tuple[int, int, bytes]:
    return compute_checkpoint_hash(checkpoint), checkpoint.number, checkpoint.exit_root.to_bytes(32, "big")


def accept(xr: ExitRig, parent: Checkpoint, exits: Sequence[ExitEvent]) -> Checkpoint:
    """Prove and submit the checkpoint after `parent` (the trusted one) committing to `exits`."""
    checkpoint = next_checkpoint(parent, exits)
    (proof,) = prove(xr.base, checkpoint_signals(checkpoint, compute_checkpoint_hash(parent)))
    stack.submit_checkpoint(xr.chain, xr.exits, proof, checkpoint)
    return checkpoint


def exit_arguments(checkpoint: Checkpoint, exits: Sequence[ExitEvent]) -> list[ExitArgument]:
    """exit()'s arguments for every exit of a checkpoint."""
    tree = build_exit_tree(exits)
    return [exit_argument(checkpoint.number, get_exit_proof(tree, exits, i)) for i in range(len(exits))]


def do_exit(xr: ExitRig, argument: ExitArgument, **kwargs: object) -> Receipt:
    errors = [xr.reverting.abi, xr.root_bridge.abi]
    return transact(xr.chain, xr.helper, "exit", *argument, errors_from=errors, **kwargs)  # type: ignore[arg-type]


def try_exit(xr: ExitRig, argument: ExitArgument, **kwargs: object) -> None:
    # Refusals are checked with eth_call: the same execution, without a reverted transaction's replay.
    call(xr.chain, xr.helper, "exit", *argument, **kwargs)  # type: ignore[arg-type]


def processed(xr: ExitRig, receipt: Receipt) -> list[tuple[int, bool, bytes]]:
    return [
        (e.args["id"], e.args["success"], e.args["returnData"])
        for e in decode_events(xr.helper, receipt, "ExitProcessed")
    ]


def is_processed(xr: ExitRig, *ids: int) -> list[bool]:
    return [call(xr.chain, xr.helper, "processedExits", i) for i in ids]


def selector(error: str) -> bytes:
    return keccak(text=error)[:4]


def patch_word(data: bytes, word: int, value: int) -> bytes:
    return data[: 32 * word] + value.to_bytes(32, "big") + data[32 * word + 32 :]


# ---------------------------------------------------------------------------------------------
# L2StateSender


def test_l2_state_sender_numbers_exits_from_one_and_records_the_caller(xr: ExitRig) -> None:
    payloads = [b"", b"\x00" * 31, bytes(range(256)) * 8]  # the last one is 2048 bytes: allowed
    for i, data in enumerate(payloads):
        caller, receiver = xr.chain.accounts[i + 1], xr.chain.accounts[i + 4]
        receipt = transact(xr.chain, xr.l2_sender, "syncState", receiver, data, gas=500_000, sender=caller)
        (event,) = decode_events(xr.l2_sender, receipt, "L2StateSynced")
        assert event.args == {"id": i + 1, "sender": caller, "receiver": receiver, "data": data}
    assert call(xr.chain, xr.l2_sender, "counter") == len(payloads)
    # What a checkpoint's exit tree is built from: the logs, as the reference's exits.
    assert stack.read_l2_state_synced(xr.chain, xr.l2_sender) == tuple(
        ExitEvent(i + 1, address_int(xr.chain.accounts[i + 1]), address_int(xr.chain.accounts[i + 4]), data)
        for i, data in enumerate(payloads)
    )


def test_l2_state_sender_refuses_a_zero_receiver_and_long_data(xr: ExitRig) -> None:
    to = xr.chain.accounts[1]
    expect_revert("L2StateSender__ZeroReceiver", transact, xr.chain, xr.l2_sender, "syncState", stack.ZERO_ADDRESS, b"")
    error = expect_revert("L2StateSender__DataTooLong", transact, xr.chain, xr.l2_sender, "syncState", to, b"x" * 2049)
    assert error.reason.args == (2049, 2048)
    assert call(xr.chain, xr.l2_sender, "counter") == 0


# ---------------------------------------------------------------------------------------------
# ZkCheckpointManager


def manager_state(xr: ExitRig) -> tuple[int, int]:
    return call(xr.chain, xr.manager, "trustedCheckpointHash"), call(xr.chain, xr.manager, "lastNumber")


def test_the_manager_stores_the_genesis_checkpoint(xr: ExitRig) -> None:
    assert manager_state(xr) == (CHECKPOINT_GENESIS_HASH, CHECKPOINT_GENESIS.number)
    assert call(xr.chain, xr.manager, "verifier") == xr.base.verifiers[5].address
    assert call(xr.chain, xr.helper, "checkpointManager") == xr.manager.address
    # The genesis checkpoint's exits are not executable: its root is not stored.
    assert call(xr.chain, xr.manager, "exitRootOf", CHECKPOINT_GENESIS.number) == b"\x00" * 32


@pytest.mark.parametrize(
    ("verifier", "genesis_hash", "what"),
    [
        ("no code", CHECKPOINT_GENESIS_HASH, "verifier"),
        ("open5", 0, "genesisCheckpointHash"),
        ("open5", R, "genesisCheckpointHash"),
    ],
)
def test_the_manager_refuses_unusable_constructor_arguments(
    xr: ExitRig, verifier: str, genesis_hash: int, what: str
) -> None:
    address = xr.chain.accounts[9] if verifier == "no code" else xr.base.verifiers[5].address
    error = expect_revert(
        "ZkCheckpointManager__InvalidConfiguration",
        deploy,
        xr.chain,
        xr.base.build.get("ZkCheckpointManager"),
        address,
        genesis_hash,
        CHECKPOINT_GENESIS.number,
    )
    assert error.reason.args == (what,)


def test_the_exit_helper_refuses_a_manager_without_code(xr: ExitRig) -> None:
    error = expect_revert(
        "ZkExitHelper__InvalidConfiguration",
        deploy,
        xr.chain,
        xr.base.build.get("ZkExitHelper"),
        xr.chain.accounts[9],
        stack.ZERO_ADDRESS,
        stack.Guardian().max_pause_duration,
    )
    assert error.reason.args == ("checkpointManager",)


def test_checkpoints_are_accepted_along_the_chain(xr: ExitRig) -> None:
    first = next_checkpoint(CHECKPOINT_GENESIS, exits_to(xr, xr.noop, 3))
    # A root of full 256 bits (both limbs at their maximum): no bit is lost to the field.
    second = replace(next_checkpoint(first, []), exit_root=2**256 - 1)
    p1, p2 = prove(
        xr.base,
        checkpoint_signals(first, CHECKPOINT_GENESIS_HASH),
        checkpoint_signals(second, compute_checkpoint_hash(first)),
    )
    receipt = stack.submit_checkpoint(xr.chain, xr.exits, p1, first)
    (accepted,) = decode_events(xr.manager, receipt, "CheckpointAccepted")
    assert accepted.args == {
        "number": first.number,
        "checkpointHash": compute_checkpoint_hash(first),
        "exitRoot": first.exit_root.to_bytes(32, "big"),
    }
    assert manager_state(xr) == (compute_checkpoint_hash(first), first.number)
    # The second proof links to the first checkpoint: valid only now that it is trusted.
    stack.submit_checkpoint(xr.chain, xr.exits, p2, second)
    assert manager_state(xr) == (compute_checkpoint_hash(second), second.number)
    assert call(xr.chain, xr.manager, "exitRootOf", first.number) == first.exit_root.to_bytes(32, "big")
    assert call(xr.chain, xr.manager, "exitRootOf", second.number) == b"\xff" * 32


def try_submit(xr: ExitRig, proof: object, values: tuple[int, int, bytes], **kwargs: object) -> None:
    call(xr.chain, xr.manager, "submit", proof, *values, **kwargs)  # type: ignore[arg-type]


def test_submit_refuses_proofs_of_other_statements(xr: ExitRig) -> None:
    checkpoint = next_checkpoint(CHECKPOINT_GENESIS, exits_to(xr, xr.noop, 2))
    other = next_checkpoint(CHECKPOINT_GENESIS, exits_to(xr, xr.noop, 3))
    # Linked to another trusted checkpoint, an honest proof for other values, and a root whose limbs swapped.
    elsewhere, honest = prove(
        xr.base,
        checkpoint_signals(checkpoint, CHECKPOINT_GENESIS_HASH + 1),
        checkpoint_signals(checkpoint, CHECKPOINT_GENESIS_HASH),
    )
    values = submit_values(checkpoint)
    root = checkpoint.exit_root
    swapped = ((root & (2**128 - 1)) << 128 | root >> 128).to_bytes(32, "big")
    expect_revert("ZkCheckpointManager__InvalidProof", try_submit, xr, elsewhere, values)
    for offered in (submit_values(other), (values[0], values[1], swapped), (values[0] + 1, values[1], values[2])):
        expect_revert("ZkCheckpointManager__InvalidProof", try_submit, xr, honest, offered)
    assert manager_state(xr) == (CHECKPOINT_GENESIS_HASH, CHECKPOINT_GENESIS.number)
    try_submit(xr, honest, values)  # the honest values pass


def test_submit_refuses_non_canonical_inputs_and_a_zero_root(xr: ExitRig) -> None:
    checkpoint = next_checkpoint(CHECKPOINT_GENESIS, [])
    (proof,) = prove(xr.base, checkpoint_signals(checkpoint, CHECKPOINT_GENESIS_HASH))
    checkpoint_hash, number, root = submit_values(checkpoint)
    for values in (
        (checkpoint_hash + R, number, root),
        (2**256 - 1, number, root),
        (checkpoint_hash, number + 2**64, root),
    ):
        error = expect_revert("ZkCheckpointManager__NotCanonical", try_submit, xr, proof, values)
        assert error.reason.args[0] >= min(R, 2**64)
    # Even with a valid proof of it, a zero root is refused (no tree has root 0).
    (zero_proof,) = prove(xr.base, [checkpoint_hash, number, 0, 0, CHECKPOINT_GENESIS_HASH])
    expect_revert(
        "ZkCheckpointManager__ZeroExitRoot", try_submit, xr, zero_proof, (checkpoint_hash, number, b"\x00" * 32)
    )


@pytest.mark.parametrize("number", [CHECKPOINT_GENESIS.number, CHECKPOINT_GENESIS.number - 1, 0])
def test_submit_refuses_a_number_that_does_not_rise(xr: ExitRig, number: int) -> None:
    checkpoint = next_checkpoint(CHECKPOINT_GENESIS, [], number=number)
    (proof,) = prove(xr.base, checkpoint_signals(checkpoint, CHECKPOINT_GENESIS_HASH))
    error = expect_revert("ZkCheckpointManager__NumberNotRising", try_submit, xr, proof, submit_values(checkpoint))
    assert error.reason.args == (number, CHECKPOINT_GENESIS.number)


def test_a_verifier_short_of_gas_is_not_called_a_false_proof(xr: ExitRig) -> None:
    checkpoint = next_checkpoint(CHECKPOINT_GENESIS, [])
    (proof,) = prove(xr.base, checkpoint_signals(checkpoint, CHECKPOINT_GENESIS_HASH))
    expect_revert("ZkCheckpointManager__InsufficientGas", try_submit, xr, proof, submit_values(checkpoint), gas=150_000)
    try_submit(xr, proof, submit_values(checkpoint), gas=400_000)


# ---------------------------------------------------------------------------------------------
# ZkExitHelper: the tree and the leaf


@st.composite
def exit_trees(draw: st.DrawFn) -> tuple[list[ExitEvent], int]:
    n = draw(st.integers(1, 6))
    first = draw(st.one_of(st.just(1), st.integers(1, 2**256 - 1 - n)))
    addresses = st.integers(1, 2**160 - 1)
    datas = st.one_of(st.binary(max_size=70), st.sampled_from([b"", b"\xff" * 2048]))
    exits = [ExitEvent(first + i, draw(addresses), draw(addresses), draw(datas)) for i in range(n)]
    return exits, draw(st.integers(0, n - 1))


@HYPOTHESIS
@given(tree=exit_trees())
def test_the_helper_computes_the_root_as_the_reference_does(xr: ExitRig, tree: tuple[list[ExitEvent], int]) -> None:
    exits, index = tree
    proof = get_exit_proof(build_exit_tree(exits), exits, index)
    root = call(xr.chain, xr.helper, "computeRoot", proof.leaf_index, proof.unhashed_leaf, list(proof.siblings))
    assert int.from_bytes(root, "big") == compute_exit_root(exits)


def leaf_variants(leaf: bytes) -> dict[str, bytes]:
    """Non-canonical encodings of one exit (its data is 3 bytes, so its last word is padded)."""
    sender = int.from_bytes(leaf[32:64], "big")
    return {
        "dirty sender": patch_word(leaf, 1, sender | 1 << 200),
        "dirty receiver": patch_word(leaf, 2, int.from_bytes(leaf[64:96], "big") | 1 << 255),
        "data offset 0xa0, a junk word": patch_word(leaf, 3, 0xA0)[:0x80] + b"\x99" * 32 + leaf[0x80:],
        "trailing bytes": leaf + b"\x00" * 32,
        "non-zero padding": leaf[:-1] + b"\x01",
        "data length past the end": patch_word(leaf, 4, 64),
        "data length wrapping around": patch_word(leaf, 4, 2**256 - 1),
        "truncated head": leaf[:0x80],
        "empty": b"",
    }


def test_leaves_that_are_not_exactly_abi_encoded_are_refused(xr: ExitRig) -> None:
    (event,) = exits_to(xr, xr.noop, 1, data=b"\x05\x06\x07")
    leaf = encode_exit(event)
    probe = deploy(xr.chain, xr.base.build.get("AbiDecodeProbe"))
    honest_fields = (event.id, xr.chain.accounts[3], xr.noop.address, event.data)
    assert call(xr.chain, probe, "decode", leaf) == honest_fields
    siblings = list(get_exit_proof(build_exit_tree([event]), [event], 0).siblings)
    for name, variant in leaf_variants(leaf).items():
        error = expect_revert(
            "ZkExitHelper__MalformedLeaf", call, xr.chain, xr.helper, "computeRoot", 0, variant, siblings
        )
        assert error.reason.args == (len(variant),), name
        # Solidity's own decoder refuses only dirty addresses; it reads three of the others as the
        # honest fields, which is why the helper checks the encoding itself.
        try:
            decoded = call(xr.chain, probe, "decode", variant)
        except TransactionReverted:
            decoded = None
        if name in ("data offset 0xa0, a junk word", "trailing bytes", "non-zero padding"):
            assert decoded == honest_fields, name


# ---------------------------------------------------------------------------------------------
# ZkExitHelper: exits


def test_an_exit_is_executed_once(xr: ExitRig) -> None:
    transact(xr.chain, xr.reverting, "setMode", ACCEPT)
    exits = [*exits_to(xr, xr.noop, 2), *exits_to(xr, xr.reverting, 1, first_id=3, data=b"hello, rootchain")]
    checkpoint = accept(xr, CHECKPOINT_GENESIS, exits)
    arguments = exit_arguments(checkpoint, exits)
    receipt = do_exit(xr, arguments[2])
    # The receiver's 64-byte answer is logged; it got the exit's id, sender and data.
    assert processed(xr, receipt) == [(3, True, abi_encode(["uint256", "uint256"], [3, 0x600D]))]
    assert call(xr.chain, xr.reverting, "lastId") == 3
    assert call(xr.chain, xr.reverting, "lastSender") == xr.chain.accounts[3]
    assert call(xr.chain, xr.reverting, "lastData") == b"hello, rootchain"
    assert is_processed(xr, 1, 2, 3) == [False, False, True]
    error = expect_revert("ZkExitHelper__AlreadyProcessed", try_exit, xr, arguments[2])
    assert error.reason.args == (3,)
    assert call(xr.chain, xr.reverting, "accepted") == 1


def test_exits_refused_for_a_wrong_proof_leaf_index_length_or_checkpoint(xr: ExitRig) -> None:
    exits = exits_to(xr, xr.noop, 3)
    checkpoint = accept(xr, CHECKPOINT_GENESIS, exits)
    number, index, leaf, siblings = exit_arguments(checkpoint, exits)[1]
    other_leaf = encode_exit(ExitEvent(2, exits[1].sender, exits[1].receiver, b"\x08" * 32))
    wrong_sibling = [*siblings[:5], b"\x01" * 32, *siblings[6:]]
    refusals: list[tuple[ExitArgument, str, int]] = [
        ((number, index, leaf, wrong_sibling), "ZkExitHelper__InvalidProof", 2),
        ((number, index, other_leaf, siblings), "ZkExitHelper__InvalidProof", 2),
        ((number, index ^ 1, leaf, siblings), "ZkExitHelper__InvalidProof", 2),
        ((number, index + 2**EXIT_TREE_DEPTH, leaf, siblings), "ZkExitHelper__LeafIndexOutOfRange", index + 2**16),
        ((number, index, leaf, siblings[:-1]), "ZkExitHelper__ProofLength", EXIT_TREE_DEPTH - 1),
        ((number, index, leaf, [*siblings, b"\x00" * 32]), "ZkExitHelper__ProofLength", EXIT_TREE_DEPTH + 1),
        ((number + 1, index, leaf, siblings), "ZkExitHelper__UnknownCheckpoint", number + 1),
        (
            (CHECKPOINT_GENESIS.number, index, leaf, siblings),
            "ZkExitHelper__UnknownCheckpoint",
            CHECKPOINT_GENESIS.number,
        ),
        (
            (number, index, leaf_variants(leaf)["trailing bytes"], siblings),
            "ZkExitHelper__MalformedLeaf",
            len(leaf) + 32,
        ),
    ]
    for argument, error, detail in refusals:
        refused = expect_revert(error, try_exit, xr, argument)
        assert refused.reason.args == (detail,), error
    assert is_processed(xr, 1, 2, 3) == [False] * 3
    assert processed(xr, do_exit(xr, (number, index, leaf, siblings))) == [(2, True, b"")]


def test_exits_run_in_any_order_across_checkpoints(xr: ExitRig) -> None:
    # Ids 254..259 straddle two words of the replay bitmap.
    first, second = exits_to(xr, xr.noop, 3, first_id=254), exits_to(xr, xr.noop, 3, first_id=257)
    c1 = accept(xr, CHECKPOINT_GENESIS, first)
    c2 = accept(xr, c1, second)
    arguments = {e.id: a for e, a in zip(first, exit_arguments(c1, first), strict=True)}
    arguments |= {e.id: a for e, a in zip(second, exit_arguments(c2, second), strict=True)}
    # An exit proven against one checkpoint's root is refused under the other's.
    error = expect_revert("ZkExitHelper__InvalidProof", try_exit, xr, (c2.number, *arguments[254][1:]))
    assert error.reason.args == (254,)
    for exit_id in (258, 255, 259, 254, 257, 256):
        assert processed(xr, do_exit(xr, arguments[exit_id])) == [(exit_id, True, b"")]
    assert is_processed(xr, 253, *range(254, 260), 260) == [False, *[True] * 6, False]
    assert call(xr.chain, xr.helper, "processedExitBitmap", 0) == 0b11 << 254
    assert call(xr.chain, xr.helper, "processedExitBitmap", 1) == 0b1111
    expect_revert("ZkExitHelper__AlreadyProcessed", try_exit, xr, arguments[254])


def test_a_failing_receiver_is_retried_until_it_succeeds_exactly_once(xr: ExitRig) -> None:
    exits = exits_to(xr, xr.reverting, 1)
    (argument,) = exit_arguments(accept(xr, CHECKPOINT_GENESIS, exits), exits)
    for _ in range(2):  # still failing: still retryable
        ((exit_id, success, message),) = processed(xr, do_exit(xr, argument))
        assert (exit_id, success) == (1, False)
        assert decode_revert(message, [xr.reverting.abi]).name == "RevertingL2Receiver__Refused"
        assert decode_revert(message, [xr.reverting.abi]).args == (1,)
        assert is_processed(xr, 1) == [False]
    transact(xr.chain, xr.reverting, "setMode", ACCEPT)
    assert [r[:2] for r in processed(xr, do_exit(xr, argument))] == [(1, True)]
    assert is_processed(xr, 1) == [True]
    expect_revert("ZkExitHelper__AlreadyProcessed", try_exit, xr, argument)
    assert call(xr.chain, xr.reverting, "accepted") == 1


@pytest.mark.parametrize("mode", ["huge revert", "reenter", "no code"])
def test_receiver_failures_are_bounded(xr: ExitRig, mode: str) -> None:
    if mode == "no code":
        exits = [ExitEvent(1, address_int(xr.chain.accounts[3]), address_int(xr.chain.accounts[8]), b"to an account")]
    else:
        transact(xr.chain, xr.reverting, "setMode", HUGE_REVERT if mode == "huge revert" else REENTER)
        exits = exits_to(xr, xr.reverting, 1)
    (argument,) = exit_arguments(accept(xr, CHECKPOINT_GENESIS, exits), exits)
    ((exit_id, success, message),) = processed(xr, do_exit(xr, argument, gas=2_000_000))
    assert (exit_id, success) == (1, False)
    assert is_processed(xr, 1) == [False]
    if mode == "huge revert":
        assert message == b"\x00" * MAX_RETURN_DATA_LENGTH
    elif mode == "reenter":
        assert decode_revert(message, [xr.helper.abi]).name == "ZkExitHelper__Reentrancy"
    else:
        assert message == b""  # Edge would count it a success, executing nothing


def test_a_caller_short_of_gas_cannot_make_a_receiver_fail(xr: ExitRig) -> None:
    # A receiver that needs ~220k: starved, it would fail, and the exit would log a failure.
    transact(xr.chain, xr.reverting, "setMode", HUNGRY)
    exits = exits_to(xr, xr.reverting, 1)
    checkpoint = accept(xr, CHECKPOINT_GENESIS, exits)
    (argument,) = exit_arguments(checkpoint, exits)
    for gas in (120_000, 200_000, 250_000):
        expect_revert("ZkExitHelper__InsufficientGas", try_exit, xr, argument, gas=gas)
        expect_revert("ZkExitHelper__InsufficientGas", try_exit_batch, xr, [argument], gas=gas)
    assert call(xr.chain, xr.reverting, "accepted") == 0
    assert [r[:2] for r in processed(xr, do_exit(xr, argument, gas=600_000))] == [(1, True)]
    assert call(xr.chain, xr.reverting, "written", 1, 9) == 10
    # A receiver that burns whatever it gets is starved at any gas: it can never be logged as
    # failed, which changes nothing (a failure leaves the exit retryable), but it is never run.
    transact(xr.chain, xr.reverting, "setMode", BURN_GAS)
    more = exits_to(xr, xr.reverting, 1, first_id=2)
    (burner,) = exit_arguments(accept(xr, checkpoint, more), more)
    for gas in (300_000, 3_000_000):
        expect_revert("ZkExitHelper__InsufficientGas", try_exit, xr, burner, gas=gas)


# ---------------------------------------------------------------------------------------------
# batchExit


def batch(xr: ExitRig, arguments: Sequence[ExitArgument], **kwargs: object) -> Receipt:
    return transact(xr.chain, xr.helper, "batchExit", list(arguments), **kwargs)  # type: ignore[arg-type]


def try_exit_batch(xr: ExitRig, arguments: Sequence[ExitArgument], **kwargs: object) -> None:
    call(xr.chain, xr.helper, "batchExit", list(arguments), **kwargs)  # type: ignore[arg-type]


def refused(xr: ExitRig, receipt: Receipt) -> list[tuple[int, bytes]]:
    return [(e.args["index"], e.args["reason"]) for e in decode_events(xr.helper, receipt, "ExitRefused")]


def test_a_batch_skips_processed_exits_and_refused_items(xr: ExitRig) -> None:
    exits = exits_to(xr, xr.noop, 4)
    checkpoint = accept(xr, CHECKPOINT_GENESIS, exits)
    arguments = exit_arguments(checkpoint, exits)
    do_exit(xr, arguments[1])  # exit 2 went first, on its own
    number, index, leaf, siblings = arguments[2]
    items = [
        arguments[0],
        arguments[1],  # processed: skipped without a word
        (number, index, leaf, [b"\x01" * 32, *siblings[1:]]),  # a false proof for exit 3
        arguments[3],
        (number + 5, index, leaf, siblings),  # exit 3 under an unknown checkpoint
        (number, index, leaf[:-32], siblings),  # a malformed leaf
        (number, index, leaf, siblings[:3]),  # a short proof
    ]
    receipt = batch(xr, items)
    assert processed(xr, receipt) == [(1, True, b""), (4, True, b"")]
    assert refused(xr, receipt) == [
        (2, selector("ZkExitHelper__InvalidProof(uint256)")),
        (4, selector("ZkExitHelper__UnknownCheckpoint(uint256)")),
        (5, selector("ZkExitHelper__MalformedLeaf(uint256)")),
        (6, selector("ZkExitHelper__ProofLength(uint256)")),
    ]
    assert is_processed(xr, 1, 2, 3, 4) == [True, True, False, True]
    # A second relayer racing with the same batch: nothing runs again, and nothing reverts.
    again = batch(xr, items)
    assert processed(xr, again) == [] and len(refused(xr, again)) == 4
    assert processed(xr, batch(xr, [arguments[2]])) == [(3, True, b"")]


def test_a_batch_retries_failures_and_cannot_be_reentered(xr: ExitRig) -> None:
    transact(xr.chain, xr.reverting, "setMode", REENTER)
    exits = [*exits_to(xr, xr.noop, 1), *exits_to(xr, xr.reverting, 1, first_id=2)]
    arguments = exit_arguments(accept(xr, CHECKPOINT_GENESIS, exits), exits)
    receipt = batch(xr, arguments)
    ((_, ok, _), (_, failed, message)) = processed(xr, receipt)
    assert ok and not failed
    assert decode_revert(message, [xr.helper.abi]).name == "ZkExitHelper__Reentrancy"
    transact(xr.chain, xr.reverting, "setMode", ACCEPT)
    assert [r[:2] for r in processed(xr, batch(xr, arguments))] == [(2, True)]
    assert is_processed(xr, 1, 2) == [True, True]


# ---------------------------------------------------------------------------------------------
# The sample bridge: deposit, withdraw, exit


def deposit_and_sync(xr: ExitRig, depositor: ChecksumAddress, amount: int) -> None:
    """Deposit ether on the 'rootchain' and mint it on the 'child chain' (one chain here) with a proof."""
    transact(xr.chain, xr.root_bridge, "deposit", depositor, sender=depositor, value=amount)
    events: list[StateSyncEvent] = list(stack.read_state_synced(xr.chain, xr.base.sender))
    header = next_header(GENESIS, events)
    (proof,) = prove(xr.base, sync_signals(compute_header_hash(GENESIS), header, events))
    head = (compute_header_hash(header), header.number, header.event_root)
    transact(xr.chain, xr.base.receiver, "syncState", proof, *head, [event_argument(e) for e in events])


def balance(xr: ExitRig, address: ChecksumAddress) -> int:
    return int(xr.chain.web3.eth.get_balance(address))


def test_a_withdrawal_burns_on_the_child_chain_and_releases_the_ether_once(xr: ExitRig) -> None:
    alice, bob, relayer = xr.chain.accounts[2], xr.chain.accounts[4], xr.chain.accounts[7]
    deposit_and_sync(xr, alice, 3 * ETHER)
    assert call(xr.chain, xr.token, "balanceOf", alice) == 3 * ETHER
    assert balance(xr, xr.root_bridge.address) == 3 * ETHER
    receipt = transact(xr.chain, xr.token, "withdraw", bob, ETHER, sender=alice)
    assert decode_events(xr.token, receipt, "WithdrawalStarted")[0].args == {"from": alice, "to": bob, "amount": ETHER}
    assert call(xr.chain, xr.token, "balanceOf", alice) == 2 * ETHER
    assert call(xr.chain, xr.token, "totalSupply") == 2 * ETHER
    exits = list(stack.read_l2_state_synced(xr.chain, xr.l2_sender))
    assert exits == [
        ExitEvent(
            1,
            address_int(xr.token.address),
            address_int(xr.root_bridge.address),
            abi_encode(["address", "uint256"], [bob, ETHER]),
        )
    ]
    (argument,) = exit_arguments(accept(xr, CHECKPOINT_GENESIS, exits), exits)
    before = balance(xr, bob)
    receipt = do_exit(xr, argument, sender=relayer)  # anyone may execute it; bob pays no gas
    assert processed(xr, receipt) == [(1, True, b"")]
    assert decode_events(xr.root_bridge, receipt, "Withdrawn")[0].args == {"id": 1, "to": bob, "amount": ETHER}
    assert balance(xr, bob) == before + ETHER
    assert balance(xr, xr.root_bridge.address) == 2 * ETHER
    expect_revert("ZkExitHelper__AlreadyProcessed", try_exit, xr, argument)
    assert balance(xr, xr.root_bridge.address) == 2 * ETHER


def test_the_bridge_pays_only_exits_from_the_child_token_through_the_helper(xr: ExitRig) -> None:
    alice, carol = xr.chain.accounts[2], xr.chain.accounts[6]
    deposit_and_sync(xr, alice, 2 * ETHER)
    payout = abi_encode(["address", "uint256"], [carol, ETHER])
    # Called directly, not by the helper.
    expect_revert(
        "RootBridge__NotExitHelper", transact, xr.chain, xr.root_bridge, "onL2StateReceive", 1, xr.token.address, payout
    )
    # An exit carol sends herself through L2StateSender: proven, delivered, and refused by the bridge.
    transact(xr.chain, xr.l2_sender, "syncState", xr.root_bridge.address, payout, sender=carol)
    exits = list(stack.read_l2_state_synced(xr.chain, xr.l2_sender))
    (argument,) = exit_arguments(accept(xr, CHECKPOINT_GENESIS, exits), exits)
    before = balance(xr, carol)
    ((_, success, message),) = processed(xr, do_exit(xr, argument, sender=alice))
    assert not success
    assert decode_revert(message, [xr.root_bridge.abi]).name == "RootBridge__UnknownSender"
    assert balance(xr, carol) == before and balance(xr, xr.root_bridge.address) == 2 * ETHER


def test_withdrawals_are_refused_when_they_cannot_be_paid(xr: ExitRig) -> None:
    alice, bob = xr.chain.accounts[2], xr.chain.accounts[4]
    deposit_and_sync(xr, alice, ETHER)
    token = xr.token
    error = expect_revert(
        "ChildToken__InsufficientBalance", transact, xr.chain, token, "withdraw", bob, ETHER + 1, sender=alice
    )
    assert error.reason.args == (ETHER, ETHER + 1)
    expect_revert(
        "ChildToken__ZeroRecipient", transact, xr.chain, token, "withdraw", stack.ZERO_ADDRESS, 1, sender=alice
    )
    expect_revert("ChildToken__NothingToWithdraw", transact, xr.chain, token, "withdraw", bob, 0, sender=alice)
    # conftest's token is deposit-only (no L2StateSender): it never burns what nothing would pay.
    expect_revert(
        "ChildToken__WithdrawalsDisabled", transact, xr.chain, xr.base.token, "withdraw", bob, 1, sender=alice
    )
    assert call(xr.chain, xr.l2_sender, "counter") == 0
    assert call(xr.chain, token, "balanceOf", alice) == ETHER


# ---------------------------------------------------------------------------------------------
# Gas (receipt gasUsed, 21k included; a trivial receiver and 32 bytes of data, depth 16)


def test_a_checkpoint_costs_at_most_300k_gas(xr: ExitRig) -> None:
    first = accept(xr, CHECKPOINT_GENESIS, [])  # the first pays for the number's slot once
    checkpoint = next_checkpoint(first, exits_to(xr, xr.noop, 4))
    (proof,) = prove(xr.base, checkpoint_signals(checkpoint, compute_checkpoint_hash(first)))
    receipt = stack.submit_checkpoint(xr.chain, xr.exits, proof, checkpoint)
    assert receipt.gas_used <= 300_000, receipt.gas_used


def test_an_exit_costs_at_most_70k_gas_and_30k_in_a_batch_of_16(xr: ExitRig) -> None:
    exits = exits_to(xr, xr.noop, 32)
    arguments = exit_arguments(accept(xr, CHECKPOINT_GENESIS, exits), exits)
    single = [do_exit(xr, a).gas_used for a in arguments[:16]]
    assert statistics.median(single) <= 70_000, single
    receipt = batch(xr, arguments[16:], gas=3_000_000)
    assert [r[1] for r in processed(xr, receipt)] == [True] * 16
    assert receipt.gas_used / 16 <= 30_000, receipt.gas_used


def test_an_exit_costs_the_same_with_one_or_1024_checkpoints_stored(xr: ExitRig) -> None:
    # The harness stores roots without proofs (1,024 proven submissions would take ~25 min on py-evm);
    # the lookup an exit makes, exitRootOf, is ZkCheckpointManager's own.
    harness = deploy(
        xr.chain,
        xr.base.build.get("CheckpointManagerHarness"),
        xr.base.verifiers[5].address,
        CHECKPOINT_GENESIS_HASH,
        CHECKPOINT_GENESIS.number,
    )
    helper = deploy(xr.chain, xr.base.build.get("ZkExitHelper"), harness.address, stack.ZERO_ADDRESS, 3600)
    exits = exits_to(xr, xr.noop, 2)
    root = compute_exit_root(exits).to_bytes(32, "big")
    oldest = CHECKPOINT_GENESIS.number + 1
    argument = exit_arguments(next_checkpoint(CHECKPOINT_GENESIS, exits), exits)[1]
    transact(xr.chain, harness, "seed", 1, root)
    snapshot = xr.chain.snapshot()
    with_one = transact(xr.chain, helper, "exit", *argument).gas_used
    xr.chain.revert_to(snapshot)
    for count in (256, 256, 256, 255):  # 1,024 in all
        transact(xr.chain, harness, "seed", count, root, gas=8_000_000)
    newest = call(xr.chain, harness, "lastNumber")
    assert newest == oldest + 1023
    snapshot = xr.chain.snapshot()
    assert transact(xr.chain, helper, "exit", *argument).gas_used == with_one
    xr.chain.revert_to(snapshot)
    # The newest checkpoint: only its number's calldata bytes differ (16 gas per non-zero byte).
    at_newest = transact(xr.chain, helper, "exit", newest, *argument[1:]).gas_used
    assert abs(at_newest - with_one) <= 16, (at_newest, with_one)


# ---------------------------------------------------------------------------------------------
# The stack: both sides of the bridge on two chains, with and without the exit path


def open_sources(open_verifiers: Mapping[int, OpenVerifier]) -> dict[str, Path]:
    """Open(N) verifiers in the receiver's three slots (their signal counts are the circuits')."""
    return {
        "header_update": open_verifiers[4].solidity,
        "state_sync": open_verifiers[6].solidity,
        "event_inclusion": open_verifiers[3].solidity,
    }


@pytest.mark.parametrize("kind", CHAINS)
def test_a_bridge_deployed_with_an_exit_path_pays_withdrawals_across_two_chains(
    kind: ChainKind,
    open_verifiers: Mapping[int, OpenVerifier],
    verifier_contracts: Mapping[int, CompiledContract],
    prover: Prove,
) -> None:
    with open_chain(kind) as root, open_chain(kind) as child:
        checkpoint_verifier = deploy(root, verifier_contracts[5])
        path = stack.ExitPath(checkpoint_verifier.address, CHECKPOINT_GENESIS)
        root_stack, child_stack = stack.deploy_bridge(
            root, child, open_sources(open_verifiers), genesis=GENESIS, batch_size=BATCH_SIZE, exit_path=path
        )
        exits_stack, l2_sender = root_stack.exits, child_stack.l2_sender
        assert exits_stack is not None and l2_sender is not None
        assert call(root, root_stack.bridge, "exitHelper") == exits_stack.exit_helper.address
        assert call(root, root_stack.bridge, "childToken") == child_stack.token.address
        assert call(child, child_stack.token, "rootBridge") == root_stack.bridge.address
        assert call(child, child_stack.token, "l2StateSender") == l2_sender.address
        assert call(root, exits_stack.checkpoint_manager, "trustedCheckpointHash") == CHECKPOINT_GENESIS_HASH

        # Deposit on the rootchain, minted on the child chain.
        alice, bob, relayer = root.accounts[2], root.accounts[4], root.accounts[7]
        transact(root, root_stack.bridge, "deposit", alice, sender=alice, value=2 * ETHER)
        events = list(stack.read_state_synced(root, root_stack.sender))
        header = next_header(GENESIS, events)
        (calldata,) = prover(open_verifiers[6], [sync_signals(compute_header_hash(GENESIS), header, events)])
        head = (compute_header_hash(header), header.number, header.event_root)
        batch_ = [event_argument(e) for e in events]
        transact(child, child_stack.receiver, "syncState", proof_argument(calldata), *head, batch_)
        assert call(child, child_stack.token, "balanceOf", alice) == 2 * ETHER

        # Withdraw on the child chain, checkpoint it, exit on the rootchain.
        transact(child, child_stack.token, "withdraw", bob, ETHER, sender=alice)
        exits = list(stack.read_l2_state_synced(child, l2_sender))
        checkpoint = next_checkpoint(CHECKPOINT_GENESIS, exits)
        (calldata,) = prover(open_verifiers[5], [checkpoint_signals(checkpoint, CHECKPOINT_GENESIS_HASH)])
        stack.submit_checkpoint(root, exits_stack, proof_argument(calldata), checkpoint)
        before = int(root.web3.eth.get_balance(bob))
        (argument,) = exit_arguments(checkpoint, exits)
        receipt = transact(root, exits_stack.exit_helper, "exit", *argument, sender=relayer)
        assert [e.args["success"] for e in decode_events(exits_stack.exit_helper, receipt, "ExitProcessed")] == [True]
        assert int(root.web3.eth.get_balance(bob)) == before + ETHER
        assert int(root.web3.eth.get_balance(root_stack.bridge.address)) == ETHER
        assert call(child, child_stack.token, "totalSupply") == ETHER


def test_a_bridge_deployed_without_an_exit_path_is_deposit_only(
    open_verifiers: Mapping[int, OpenVerifier], verifier_contracts: Mapping[int, CompiledContract]
) -> None:
    with open_chain("pyevm") as root, open_chain("pyevm") as child:
        root_stack, child_stack = stack.deploy_bridge(
            root, child, open_sources(open_verifiers), genesis=GENESIS, batch_size=BATCH_SIZE
        )
        assert root_stack.exits is None and child_stack.l2_sender is None
        assert call(root, root_stack.bridge, "exitHelper") == stack.ZERO_ADDRESS
        assert call(child, child_stack.token, "l2StateSender") == stack.ZERO_ADDRESS
        assert call(child, child_stack.token, "rootBridge") == root_stack.bridge.address
        # A genesis checkpoint that is no Checkpoint is refused before any transaction.
        verifier = deploy(root, verifier_contracts[5])
        nonce = root.web3.eth.get_transaction_count(root.accounts[0])
        with pytest.raises(stack.DeploymentError, match="must be a Checkpoint"):
            stack.deploy_bridge(
                root,
                child,
                open_sources(open_verifiers),
                genesis=GENESIS,
                batch_size=BATCH_SIZE,
                exit_path=stack.ExitPath(verifier.address, GENESIS),  # type: ignore[arg-type]
            )
        assert root.web3.eth.get_transaction_count(root.accounts[0]) == nonce
