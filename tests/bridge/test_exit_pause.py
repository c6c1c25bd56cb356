"""ZkExitHelper's guardian pause on py-evm and anvil, and a rate-limited RootBridge behind the helper.

The pause adds no trust: the guardian may only stop exit and batchExit for a bounded time that
expires on its own; checkpoints keep being accepted, every exit executes afterwards as before,
and on every other entry point the guardian is anyone. Checkpoints are proven with real Groth16
proofs of Open(5) (see test_exit_contracts.py); exit proofs come from the Python reference.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from eth_abi.abi import encode as abi_encode
from eth_typing import ChecksumAddress
from web3 import Web3

from bridge.chain import stack
from bridge.chain.chains import CallOutcome, Chain
from bridge.chain.deploy import (
    Deployed,
    Receipt,
    TransactionReverted,
    call,
    decode_events,
    deploy,
    encode_call,
    transact,
)
from bridge.chain.stack import ExitArgument, Guardian, RateLimit, checkpoint_signals
from statesync.exits import ExitEvent
from statesync.model import Checkpoint, compute_checkpoint_hash

from .conftest import Rig, address_int, prove, rewind_after
from .test_exit_contracts import CHECKPOINT_GENESIS, exit_arguments, next_checkpoint

MAX_PAUSE = 3_600
LIMIT = RateLimit(capacity=1_000, refill_per_second=10, large_transfer_delay=3_600)
FUNDS = 10**6
EXIT_GAS = 1_000_000


@dataclass(frozen=True)
class PauseRig:
    base: Rig
    exits: stack.ExitStack  # the helper's guardian is `guardian`
    noop: Deployed
    bridge: Deployed  # RootBridge(base.sender, childToken = `child_token`, the helper), rate-limited, funded
    guardian: ChecksumAddress
    stranger: ChecksumAddress
    child_token: ChecksumAddress

    @property
    def chain(self) -> Chain:
        return self.base.chain

    @property
    def helper(self) -> Deployed:
        return self.exits.exit_helper

    @property
    def manager(self) -> Deployed:
        return self.exits.checkpoint_manager


@pytest.fixture(scope="module")
def pause_rig_at_deployment(rig_at_deployment: Rig) -> PauseRig:
    base = rig_at_deployment
    chain, build = base.chain, base.build
    guardian, stranger, child_token = chain.accounts[7], chain.accounts[2], chain.accounts[3]
    exits = stack.deploy_exit_stack(
        chain, base.verifiers[5].address, genesis=CHECKPOINT_GENESIS, guardian=Guardian(guardian, MAX_PAUSE)
    )
    bridge = deploy(
        chain, build.get("RootBridge"), base.sender.address, child_token, exits.exit_helper.address, LIMIT.argument()
    )
    transact(chain, bridge, "deposit", chain.accounts[1], value=FUNDS, sender=chain.accounts[1])
    noop = deploy(chain, build.get("NoopL2Receiver"))
    return PauseRig(base, exits, noop, bridge, guardian, stranger, child_token)


@pytest.fixture(scope="module")
def pause_snapshots(pause_rig_at_deployment: PauseRig) -> list[str]:
    return [pause_rig_at_deployment.chain.snapshot()]


@pytest.fixture
def pr(pause_rig_at_deployment: PauseRig, pause_snapshots: list[str]) -> Iterator[PauseRig]:
    """The deployment, fresh: the chain (and its clock) goes back to the snapshot after the test."""
    yield from rewind_after(pause_rig_at_deployment, pause_snapshots)


# ---------------------------------------------------------------------------------------------
# Helpers


def exits_to(pr: PauseRig, count: int, *, first_id: int = 1) -> list[ExitEvent]:
    sender = address_int(pr.chain.accounts[4])
    return [ExitEvent(first_id + i, sender, address_int(pr.noop.address), b"\x07" * 32) for i in range(count)]


def accept(pr: PauseRig, parent: Checkpoint, exits: Sequence[ExitEvent], *, sender: str | None = None) -> Checkpoint:
    """Prove and submit the checkpoint after `parent` committing to `exits`."""
    checkpoint = next_checkpoint(parent, exits)
    (proof,) = prove(pr.base, checkpoint_signals(checkpoint, compute_checkpoint_hash(parent)))
    root = checkpoint.exit_root.to_bytes(32, "big")
    values = (compute_checkpoint_hash(checkpoint), checkpoint.number, root)
    transact(pr.chain, pr.manager, "submit", proof, *values, gas=EXIT_GAS, sender=sender)  # type: ignore[arg-type]
    assert call(pr.chain, pr.manager, "trustedCheckpointHash") == values[0]
    return checkpoint


def pause(pr: PauseRig, sender: ChecksumAddress | None = None) -> tuple[Receipt, int]:
    """The guardian's pause(); its receipt and the `until` it set, checked against the block's time."""
    receipt = transact(pr.chain, pr.helper, "pause", sender=sender or pr.guardian)
    (paused,) = decode_events(pr.helper, receipt, "Paused")
    now = int(pr.chain.web3.eth.get_block(receipt.block_number)["timestamp"])
    assert paused.args == {"guardian": pr.guardian, "until": now + MAX_PAUSE}
    return receipt, now + MAX_PAUSE


def latest_timestamp(chain: Chain) -> int:
    return int(chain.web3.eth.get_block("latest")["timestamp"])


def expect_revert(error: str, function: object, *args: object, **kwargs: object) -> TransactionReverted:
    with pytest.raises(TransactionReverted) as caught:
        function(*args, **kwargs)  # type: ignore[operator]
    assert caught.value.reason.name == error, caught.value
    return caught.value


def try_exit(pr: PauseRig, argument: ExitArgument, sender: ChecksumAddress | None = None) -> None:
    call(pr.chain, pr.helper, "exit", *argument, sender=sender)


def try_batch(pr: PauseRig, arguments: Sequence[ExitArgument], sender: ChecksumAddress | None = None) -> None:
    call(pr.chain, pr.helper, "batchExit", [list(a) for a in arguments], sender=sender)


def executed(pr: PauseRig, receipt: Receipt) -> list[tuple[int, bool]]:
    return [(e.args["id"], e.args["success"]) for e in decode_events(pr.helper, receipt, "ExitProcessed")]


# ---------------------------------------------------------------------------------------------
# The pause


def test_the_guardian_pauses_exits_until_the_pause_expires_while_checkpoints_keep_coming(pr: PauseRig) -> None:
    first_exits, later_exits = exits_to(pr, 3), exits_to(pr, 2, first_id=4)
    first = accept(pr, CHECKPOINT_GENESIS, first_exits)
    assert call(pr.chain, pr.helper, "paused") is False and call(pr.chain, pr.helper, "pausedUntil") == 0
    _, until = pause(pr)
    assert call(pr.chain, pr.helper, "paused") is True and call(pr.chain, pr.helper, "pausedUntil") == until
    arguments = exit_arguments(first, first_exits)
    error = expect_revert("ZkExitHelper__Paused", try_exit, pr, arguments[0])
    assert error.reason.args == (until,)
    assert expect_revert("ZkExitHelper__Paused", try_batch, pr, arguments).reason.args == (until,)
    # The manager is not paused: a checkpoint is accepted meanwhile, and nothing of it is lost.
    second = accept(pr, first, later_exits)
    later = exit_arguments(second, later_exits)
    pr.chain.advance_time(until - 2 - latest_timestamp(pr.chain))
    expect_revert("ZkExitHelper__Paused", try_exit, pr, later[1])  # a second or two before the end
    pr.chain.advance_time(2)
    assert call(pr.chain, pr.helper, "paused") is False
    # The pause is over by itself: every exit runs, in any order, as it would have before.
    assert executed(pr, transact(pr.chain, pr.helper, "exit", *later[1], sender=pr.stranger)) == [(5, True)]
    batch = [list(a) for a in (arguments[2], arguments[0], later[0], arguments[1])]
    receipt = transact(pr.chain, pr.helper, "batchExit", batch, gas=3_000_000, sender=pr.stranger)
    assert executed(pr, receipt) == [(3, True), (1, True), (4, True), (2, True)]
    assert [call(pr.chain, pr.helper, "processedExits", i) for i in range(1, 6)] == [True] * 5


def test_a_pause_is_renewed_from_now_and_nothing_lifts_it_early(pr: PauseRig) -> None:
    exits = exits_to(pr, 1)
    (argument,) = exit_arguments(accept(pr, CHECKPOINT_GENESIS, exits), exits)
    _, first_until = pause(pr)
    pr.chain.advance_time(MAX_PAUSE // 2)
    _, renewed_until = pause(pr)
    assert renewed_until > first_until and call(pr.chain, pr.helper, "pausedUntil") == renewed_until
    pr.chain.advance_time(first_until - latest_timestamp(pr.chain) + 1)  # past the first pause's end
    assert expect_revert("ZkExitHelper__Paused", try_exit, pr, argument).reason.args == (renewed_until,)
    # The helper has no unpause, no setter, nothing else that changes state but exits and pause.
    abi = pr.helper.abi
    changing = {i["name"] for i in abi if i.get("type") == "function" and i["stateMutability"] != "view"}
    assert changing - {"computeRoot"} == {"exit", "batchExit", "pause"}
    pr.chain.advance_time(renewed_until - latest_timestamp(pr.chain))
    assert executed(pr, transact(pr.chain, pr.helper, "exit", *argument)) == [(1, True)]


def test_only_the_guardian_may_pause_and_a_helper_without_one_never_pauses(pr: PauseRig) -> None:
    for caller in (pr.chain.accounts[0], pr.stranger, pr.child_token):  # the deployer too
        error = expect_revert("ZkExitHelper__NotGuardian", call, pr.chain, pr.helper, "pause", sender=caller)
        assert error.reason.args == (caller,)
    unguarded = stack.deploy_exit_stack(pr.chain, pr.base.verifiers[5].address, genesis=CHECKPOINT_GENESIS)
    assert call(pr.chain, unguarded.exit_helper, "guardian") == stack.ZERO_ADDRESS
    for caller in (pr.guardian, pr.chain.accounts[0]):
        expect_revert("ZkExitHelper__NotGuardian", call, pr.chain, unguarded.exit_helper, "pause", sender=caller)
    assert call(pr.chain, pr.helper, "paused") is False


def raw_call(pr: PauseRig, target: Deployed, sender: ChecksumAddress, function: str, *args: object) -> CallOutcome:
    data = encode_call(target.abi, function, args)
    return pr.chain.call({"from": sender, "to": target.address, "data": "0x" + data.hex(), "gas": EXIT_GAS})


def test_on_every_other_entry_point_the_guardian_is_anyone(pr: PauseRig) -> None:
    exits = exits_to(pr, 3)
    checkpoint = accept(pr, CHECKPOINT_GENESIS, exits, sender=pr.guardian)  # the guardian may submit, as anyone
    arguments = exit_arguments(checkpoint, exits)
    number, index, leaf, siblings = arguments[1]
    transact(pr.chain, pr.helper, "exit", *arguments[2], sender=pr.stranger)
    following = next_checkpoint(checkpoint, [])
    (proof,) = prove(pr.base, checkpoint_signals(following, compute_checkpoint_hash(checkpoint)))
    submission = (compute_checkpoint_hash(following), following.number, following.exit_root.to_bytes(32, "big"))
    cases: list[tuple[Deployed, str, tuple[object, ...]]] = [
        (pr.helper, "exit", arguments[0]),  # executes
        (pr.helper, "exit", arguments[2]),  # processed already
        (pr.helper, "exit", (number, index, leaf, [b"\x01" * 32, *siblings[1:]])),  # a false proof
        (pr.helper, "exit", (number + 9, index, leaf, siblings)),  # an unknown checkpoint
        (pr.helper, "exit", (number, index, leaf[:-32], siblings)),  # a malformed leaf
        (pr.helper, "batchExit", ([list(a) for a in arguments],)),
        (pr.helper, "computeRoot", (index, leaf, siblings)),
        (pr.helper, "processedExits", (3,)),
        (pr.manager, "submit", (proof, *submission)),
        (pr.manager, "submit", (proof, submission[0] + 1, *submission[1:])),  # a false proof
    ]

    def outcomes(sender: ChecksumAddress) -> list[CallOutcome]:
        return [raw_call(pr, target, sender, function, *args) for target, function, args in cases]

    assert outcomes(pr.guardian) == outcomes(pr.stranger)
    # While paused, the guardian's own exits are refused like anyone's, and submitting still works.
    _, until = pause(pr)
    paused = outcomes(pr.guardian)
    assert paused == outcomes(pr.stranger)
    assert [o.success for o in paused] == [False, False, False, False, False, False, True, True, True, False]
    expect_revert("ZkExitHelper__Paused", try_exit, pr, arguments[0], sender=pr.guardian)
    transact(pr.chain, pr.manager, "submit", proof, *submission, gas=EXIT_GAS, sender=pr.guardian)
    pr.chain.advance_time(until - latest_timestamp(pr.chain))
    assert executed(pr, transact(pr.chain, pr.helper, "exit", *arguments[0], sender=pr.guardian)) == [(1, True)]


# ---------------------------------------------------------------------------------------------
# A rate-limited RootBridge behind the helper: the exit is executed, its payout may wait


def withdrawals(pr: PauseRig, payouts: Sequence[tuple[ChecksumAddress, int]]) -> list[ExitEvent]:
    sender, receiver = address_int(pr.child_token), address_int(pr.bridge.address)
    return [
        ExitEvent(i + 1, sender, receiver, abi_encode(["address", "uint256"], [to, amount]))
        for i, (to, amount) in enumerate(payouts)
    ]


def test_a_withdrawal_beyond_the_bucket_is_executed_as_an_exit_and_paid_later(pr: PauseRig) -> None:
    bob, carol = (Web3.to_checksum_address((0xCAFE_0000 + i).to_bytes(20, "big")) for i in (1, 2))
    exits = withdrawals(pr, [(bob, 800), (carol, 800)])
    first, second = exit_arguments(accept(pr, CHECKPOINT_GENESIS, exits), exits)
    receipt = transact(pr.chain, pr.helper, "exit", *first, sender=pr.stranger)
    assert executed(pr, receipt) == [(1, True)]
    assert decode_events(pr.bridge, receipt, "Withdrawn")[0].args == {"id": 1, "to": bob, "amount": 800}
    receipt = transact(pr.chain, pr.helper, "exit", *second, sender=pr.stranger)
    assert executed(pr, receipt) == [(2, True)]  # executed, and never to be executed again...
    assert [e.args["id"] for e in decode_events(pr.bridge, receipt, "TransferQueued")] == [2]  # ...its payout waits
    expect_revert("ZkExitHelper__AlreadyProcessed", try_exit, pr, second)
    assert int(pr.chain.web3.eth.get_balance(carol)) == 0
    assert call(pr.chain, pr.bridge, "queuedValue") == 800
    # A pause stops exits, not the bridge's queue of exits already executed.
    pause(pr)
    pr.chain.advance_time(100)
    receipt = transact(pr.chain, pr.bridge, "releaseQueued", 5, sender=pr.stranger)
    assert decode_events(pr.bridge, receipt, "Withdrawn")[0].args == {"id": 2, "to": carol, "amount": 800}
    assert int(pr.chain.web3.eth.get_balance(carol)) == 800
    assert int(pr.chain.web3.eth.get_balance(pr.bridge.address)) == FUNDS - 1_600


# ---------------------------------------------------------------------------------------------
# Deployment


@pytest.mark.parametrize("duration", [0, 30 * 24 * 3600 + 1])
def test_an_unusable_pause_duration_is_refused_by_the_contract_and_before_any_transaction(
    pr: PauseRig, duration: int
) -> None:
    error = expect_revert(
        "ZkExitHelper__InvalidConfiguration",
        deploy,
        pr.chain,
        pr.base.build.get("ZkExitHelper"),
        pr.manager.address,
        pr.guardian,
        duration,
    )
    assert error.reason.args == ("maxPauseDuration",)
    nonce = pr.chain.web3.eth.get_transaction_count(pr.chain.accounts[0])
    path = stack.ExitPath(pr.base.verifiers[5].address, CHECKPOINT_GENESIS)
    for guardian in (Guardian(pr.guardian, duration), Guardian(pr.guardian.lower(), MAX_PAUSE)):  # type: ignore[arg-type]
        with pytest.raises(stack.DeploymentError):
            stack.deploy_exit_stack(pr.chain, path.checkpoint_verifier, genesis=CHECKPOINT_GENESIS, guardian=guardian)
        with pytest.raises(stack.DeploymentError):
            stack.deploy_root_stack(pr.chain, pr.child_token, exit_path=path, guardian=guardian)
    assert pr.chain.web3.eth.get_transaction_count(pr.chain.accounts[0]) == nonce


def test_the_root_stack_deploys_the_guardian_and_the_rate_limit_it_is_given(pr: PauseRig) -> None:
    path = stack.ExitPath(pr.base.verifiers[5].address, CHECKPOINT_GENESIS)
    guardian = Guardian(pr.guardian, 600)
    root = stack.deploy_root_stack(pr.chain, pr.child_token, exit_path=path, guardian=guardian, rate_limit=LIMIT)
    assert root.exits is not None
    helper = root.exits.exit_helper
    assert (call(pr.chain, helper, "guardian"), call(pr.chain, helper, "maxPauseDuration")) == (pr.guardian, 600)
    assert call(pr.chain, root.bridge, "exitHelper") == helper.address
    assert call(pr.chain, root.bridge, "capacity") == LIMIT.capacity
    # The defaults: no guardian, a day's bound.
    default = stack.deploy_exit_stack(pr.chain, path.checkpoint_verifier, genesis=CHECKPOINT_GENESIS).exit_helper
    assert (call(pr.chain, default, "guardian"), call(pr.chain, default, "maxPauseDuration")) == (
        stack.ZERO_ADDRESS,
        24 * 3600,
    )
