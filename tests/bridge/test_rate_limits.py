"""The sample bridge's rate limits (TokenBucketQueue under ChildToken and RootBridge) on py-evm and anvil.

Each side is deployed with a small bucket (capacity 1,000, refilled at 10 a second, transfers above
capacity delayed an hour) and its bridge callback is called by an account standing in for the
ZkStateReceiver or the ZkExitHelper, so a test sends exactly the deposits and withdrawals it
needs; one test goes through the real receiver with a proof. Every step is checked against a
reference model of the bucket and its two lanes (below), at the timestamps of the blocks the
transactions ran in, and the books are checked after every step: nothing minted or paid twice,
nothing lost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from eth_abi.abi import encode as abi_encode
from eth_typing import ChecksumAddress
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from bridge.chain import stack
from bridge.chain.chains import Chain
from bridge.chain.deploy import Deployed, Receipt, TransactionReverted, call, decode_events, deploy, transact
from bridge.chain.stack import RateLimit
from statesync.model import StateSyncEvent, compute_header_hash

from .conftest import GENESIS, Rig, address_int, event_argument, next_header, prove, rewind_after, sync_signals

LIMIT = RateLimit(capacity=1_000, refill_per_second=10, large_transfer_delay=3_600)
FUNDS = 10**6  # wei RootBridge holds for the withdrawals
HYPOTHESIS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Payee's modes.
ACCEPT, REFUSE, BURN_GAS, REENTER = range(4)


@dataclass(frozen=True)
class LimitRig:
    base: Rig
    token: Deployed  # ChildToken(stateReceiver = `courier`, rootBridge = `root_bridge`), rate-limited
    bridge: Deployed  # RootBridge(StateSender, childToken = `child_token`, exitHelper = `courier`), funded
    payee: Deployed
    courier: ChecksumAddress  # stands in for ZkStateReceiver and ZkExitHelper
    root_bridge: ChecksumAddress  # the deposits' sender, as ChildToken knows it
    child_token: ChecksumAddress  # the withdrawals' sender, as RootBridge knows it

    @property
    def chain(self) -> Chain:
        return self.base.chain


@pytest.fixture(scope="module")
def limits_at_deployment(rig_at_deployment: Rig) -> LimitRig:
    base = rig_at_deployment
    chain, build = base.chain, base.build
    courier, root_bridge, child_token = chain.accounts[8], chain.accounts[5], chain.accounts[6]
    token = stack.deploy_child_token(chain, courier, root_bridge, rate_limit=LIMIT)
    bridge = deploy(chain, build.get("RootBridge"), base.sender.address, child_token, courier, LIMIT.argument())
    transact(chain, bridge, "deposit", chain.accounts[1], value=FUNDS, sender=chain.accounts[1])
    payee = deploy(chain, build.get("Payee"))
    return LimitRig(base, token, bridge, payee, courier, root_bridge, child_token)


@pytest.fixture(scope="module")
def limit_snapshots(limits_at_deployment: LimitRig) -> list[str]:
    return [limits_at_deployment.chain.snapshot()]


@pytest.fixture
def lr(limits_at_deployment: LimitRig, limit_snapshots: list[str]) -> Iterator[LimitRig]:
    """The deployment, fresh: the chain (and its clock) goes back to the snapshot after the test."""
    yield from rewind_after(limits_at_deployment, limit_snapshots)


# ---------------------------------------------------------------------------------------------
# The reference model of TokenBucketQueue


@dataclass(frozen=True)
class Transfer:
    id: int
    to: ChecksumAddress
    amount: int


@dataclass
class Bucket:
    """What TokenBucketQueue should do, step by step, at the timestamps the chain ran them at."""

    limit: RateLimit
    level: int
    updated_at: int
    queue: deque[tuple[Transfer, int]] = field(default_factory=deque)  # (transfer, queuedAt)
    large: deque[tuple[Transfer, int]] = field(default_factory=deque)
    queue_head: int = 0
    large_head: int = 0
    arrived: int = 0  # the sum of every transfer that arrived
    delivered: list[Transfer] = field(default_factory=list)

    def available(self, now: int) -> int:
        return min(self.limit.capacity, self.level + (now - self.updated_at) * self.limit.refill_per_second)

    @property
    def queued_value(self) -> int:
        return sum(t.amount for t, _ in (*self.queue, *self.large))

    def bounds(self) -> tuple[tuple[int, int], tuple[int, int]]:
        return (
            (self.queue_head, self.queue_head + len(self.queue)),
            (self.large_head, self.large_head + len(self.large)),
        )

    def arrive(self, now: int, transfer: Transfer) -> str:
        """'delivered', 'queued' or 'large'."""
        self.arrived += transfer.amount
        if transfer.amount > self.limit.capacity:
            self.large.append((transfer, now))
            return "large"
        level = self.available(now)
        if not self.queue and transfer.amount <= level:
            self.level, self.updated_at = level - transfer.amount, now
            self.delivered.append(transfer)
            return "delivered"
        self.queue.append((transfer, now))
        return "queued"

    def release(self, now: int, max_count: int) -> list[tuple[Transfer, bool]]:
        """The transfers releaseQueued(max_count) delivers, in order, each with whether it was large."""
        out: list[tuple[Transfer, bool]] = []
        while len(out) < max_count and self.large and self.large[0][1] + self.limit.large_transfer_delay <= now:
            out.append((self.large.popleft()[0], True))
            self.large_head += 1
        if len(out) == max_count:
            return self._delivered(out)
        self.level, self.updated_at = self.available(now), now
        while len(out) < max_count and self.queue and self.queue[0][0].amount <= self.level:
            transfer = self.queue.popleft()[0]
            self.level -= transfer.amount
            self.queue_head += 1
            out.append((transfer, False))
        return self._delivered(out)

    def _delivered(self, out: list[tuple[Transfer, bool]]) -> list[tuple[Transfer, bool]]:
        self.delivered.extend(t for t, _ in out)
        return out


def new_bucket(lr: LimitRig, side: Deployed) -> Bucket:
    level, updated_at = call(lr.chain, side, "bucket")
    assert (level, call(lr.chain, side, "capacity")) == (LIMIT.capacity, LIMIT.capacity)
    return Bucket(LIMIT, level, updated_at)


# ---------------------------------------------------------------------------------------------
# Driving the two sides


def recipient(i: int) -> ChecksumAddress:
    """A fresh account (no code, no transactions): its balance is exactly what it was paid."""
    return Web3.to_checksum_address((0xB0B0_0000 + i).to_bytes(20, "big"))


def timestamp(chain: Chain, receipt: Receipt) -> int:
    return int(chain.web3.eth.get_block(receipt.block_number)["timestamp"])


def latest_timestamp(chain: Chain) -> int:
    return int(chain.web3.eth.get_block("latest")["timestamp"])


def payload(to: ChecksumAddress, amount: int) -> bytes:
    return abi_encode(["address", "uint256"], [to, amount])


def deposit(lr: LimitRig, transfer: Transfer) -> Receipt:
    """ChildToken.onStateReceive, as the receiver delivers a deposit from the root bridge."""
    data = payload(transfer.to, transfer.amount)
    return transact(lr.chain, lr.token, "onStateReceive", transfer.id, lr.root_bridge, data, sender=lr.courier)


def withdrawal(lr: LimitRig, transfer: Transfer) -> Receipt:
    """RootBridge.onL2StateReceive, as the exit helper delivers a withdrawal from the child token."""
    data = payload(transfer.to, transfer.amount)
    return transact(lr.chain, lr.bridge, "onL2StateReceive", transfer.id, lr.child_token, data, sender=lr.courier)


def arrive(lr: LimitRig, side: Deployed, transfer: Transfer) -> Receipt:
    return deposit(lr, transfer) if side is lr.token else withdrawal(lr, transfer)


def release(lr: LimitRig, side: Deployed, max_count: int, **kwargs: object) -> Receipt:
    sender = kwargs.pop("sender", lr.chain.accounts[9])  # anyone
    return transact(lr.chain, side, "releaseQueued", max_count, sender=sender, **kwargs)  # type: ignore[arg-type]


def delivered_in(lr: LimitRig, side: Deployed, receipt: Receipt) -> list[Transfer]:
    """The deliveries a receipt shows: ChildToken's mints, RootBridge's payments and claimable credits."""
    names = ("Deposited",) if side is lr.token else ("Withdrawn", "WithdrawalClaimable")
    events = [e for e in decode_events(side, receipt) if e.name in names]
    return [Transfer(e.args["id"], e.args["to"], e.args["amount"]) for e in events]


def queued_in(side: Deployed, receipt: Receipt) -> list[tuple[Transfer, bool, int]]:
    return [
        (Transfer(e.args["id"], e.args["to"], e.args["amount"]), e.args["large"], e.args["index"])
        for e in decode_events(side, receipt, "TransferQueued")
    ]


def released_in(side: Deployed, receipt: Receipt) -> list[tuple[Transfer, bool]]:
    return [
        (Transfer(e.args["id"], e.args["to"], e.args["amount"]), e.args["large"])
        for e in decode_events(side, receipt, "TransferReleased")
    ]


def balance(chain: Chain, address: ChecksumAddress) -> int:
    return int(chain.web3.eth.get_balance(address))


def check_books(lr: LimitRig, side: Deployed, model: Bucket, recipients: Sequence[ChecksumAddress]) -> None:
    """The contract's state is the model's, and every unit that arrived is delivered or waiting."""
    chain = lr.chain
    queued_value = call(chain, side, "queuedValue")
    assert queued_value == model.queued_value
    assert (call(chain, side, "queue"), call(chain, side, "largeQueue")) == model.bounds()
    assert call(chain, side, "available") == model.available(latest_timestamp(chain))
    delivered = sum(t.amount for t in model.delivered)
    assert delivered + queued_value == model.arrived
    if side is lr.token:
        supply = call(chain, side, "totalSupply")
        assert supply + queued_value == model.arrived  # minted + queued == deposited
        assert sum(call(chain, side, "balanceOf", r) for r in recipients) == supply
    else:
        paid = sum(balance(chain, r) for r in recipients)
        claimable = call(chain, side, "totalClaimable")
        assert paid + claimable + queued_value == model.arrived  # paid + owed + queued == withdrawn
        assert balance(chain, side.address) == FUNDS - paid


def step_arrive(lr: LimitRig, side: Deployed, model: Bucket, transfer: Transfer) -> str:
    receipt = arrive(lr, side, transfer)
    outcome = model.arrive(timestamp(lr.chain, receipt), transfer)
    assert delivered_in(lr, side, receipt) == ([transfer] if outcome == "delivered" else [])
    queued = queued_in(side, receipt)
    if outcome == "delivered":
        assert queued == []
    else:
        ((seen, large, index),) = queued
        lane = model.large if large else model.queue
        assert (seen, large) == (transfer, outcome == "large")
        assert index == (model.large_head if large else model.queue_head) + len(lane) - 1
    return outcome


def step_release(lr: LimitRig, side: Deployed, model: Bucket, max_count: int) -> list[tuple[Transfer, bool]]:
    receipt = release(lr, side, max_count)
    expected = model.release(timestamp(lr.chain, receipt), max_count)
    assert released_in(side, receipt) == expected
    assert delivered_in(lr, side, receipt) == [t for t, _ in expected]
    return expected


@pytest.fixture(params=["token", "bridge"])
def side(request: pytest.FixtureRequest, lr: LimitRig) -> Deployed:
    """ChildToken (deposits) or RootBridge (withdrawals): one TokenBucketQueue, two deliveries."""
    return lr.token if request.param == "token" else lr.bridge


# ---------------------------------------------------------------------------------------------
# The bucket and the queue


def test_a_transfer_that_fits_is_delivered_at_once_and_one_beyond_waits(lr: LimitRig, side: Deployed) -> None:
    model, people = new_bucket(lr, side), [recipient(i) for i in range(3)]
    assert call(lr.chain, side, "available") == LIMIT.capacity  # the bucket starts full
    assert step_arrive(lr, side, model, Transfer(1, people[0], 600)) == "delivered"
    check_books(lr, side, model, people)
    # 400 left (+10 a second): 600 does not fit, so it waits, and the callback still succeeds.
    assert step_arrive(lr, side, model, Transfer(2, people[1], 600)) == "queued"
    # 50 would fit, but it arrives behind a waiting transfer: no overtaking.
    assert step_arrive(lr, side, model, Transfer(3, people[2], 50)) == "queued"
    check_books(lr, side, model, people)
    to, queued_at, amount, id_ = call(lr.chain, side, "queuedTransfers", 0)
    assert (to, queued_at, amount, id_) == (people[1], model.queue[0][1], 600, 2)


def test_queued_transfers_are_released_in_fifo_order_as_the_bucket_refills(lr: LimitRig, side: Deployed) -> None:
    model, people = new_bucket(lr, side), [recipient(i) for i in range(5)]
    amounts = [900, 500, 300, 200, 100]
    for i, amount in enumerate(amounts):
        step_arrive(lr, side, model, Transfer(10 + i, people[i], amount))
    assert [t.id for t, _ in model.queue] == [11, 12, 13, 14]
    # Right away the bucket holds ~100: less than the head's 500, so the 100 behind it waits too.
    assert step_release(lr, side, model, 10) == []
    lr.chain.advance_time(45)  # ~550: the head, then not 300
    assert [t.id for t, _ in step_release(lr, side, model, 10)] == [11]
    check_books(lr, side, model, people)
    lr.chain.advance_time(100)  # full again: the rest, in order
    assert [t.id for t, _ in step_release(lr, side, model, 10)] == [12, 13, 14]
    check_books(lr, side, model, people)
    assert [t.id for t in model.delivered] == [10, 11, 12, 13, 14]
    assert call(lr.chain, side, "queuedValue") == 0


def test_release_is_bounded_by_max_count_and_open_to_anyone(lr: LimitRig, side: Deployed) -> None:
    model, people = new_bucket(lr, side), [recipient(i) for i in range(4)]
    step_arrive(lr, side, model, Transfer(1, people[0], 1_000))  # empties the bucket
    for i in (1, 2, 3):
        assert step_arrive(lr, side, model, Transfer(1 + i, people[i], 50)) == "queued"
    lr.chain.advance_time(500)
    assert step_release(lr, side, model, 0) == []
    assert [t.id for t, _ in step_release(lr, side, model, 2)] == [2, 3]
    receipt = release(lr, side, 5, sender=lr.chain.accounts[2])  # another caller
    assert [t.id for t, _ in released_in(side, receipt)] == [4]
    model.release(timestamp(lr.chain, receipt), 5)
    check_books(lr, side, model, people)


def test_a_transfer_above_capacity_waits_the_delay_then_bypasses_the_bucket(lr: LimitRig, side: Deployed) -> None:
    model, people = new_bucket(lr, side), [recipient(i) for i in range(3)]
    big = Transfer(1, people[0], LIMIT.capacity * 5)
    assert step_arrive(lr, side, model, big) == "large"
    # It does not hold back what comes after it: the bucket is untouched and the queue empty.
    assert step_arrive(lr, side, model, Transfer(2, people[1], 700)) == "delivered"
    assert step_arrive(lr, side, model, Transfer(3, people[2], 700)) == "queued"
    check_books(lr, side, model, people)
    queued_at = call(lr.chain, side, "largeTransfers", 0)[1]
    lr.chain.advance_time(queued_at + LIMIT.large_transfer_delay - 2 - latest_timestamp(lr.chain))
    # A second or two before the delay has passed (the release runs at the latest block's time or
    # a second after it): only the small one.
    assert [(t.id, large) for t, large in step_release(lr, side, model, 10)] == [(3, False)]
    lr.chain.advance_time(2)
    level_before = model.available(latest_timestamp(lr.chain))
    assert [(t.id, large) for t, large in step_release(lr, side, model, 10)] == [(1, True)]
    check_books(lr, side, model, people)
    # The large transfer took nothing from the bucket.
    assert call(lr.chain, side, "available") >= level_before


@st.composite
def scripts(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    """A run of arrivals (amounts up to 2.5x capacity), waits and releases."""
    step = st.one_of(
        st.tuples(st.just("arrive"), st.integers(1, 2_500), st.integers(0, 3)),
        st.tuples(st.just("wait"), st.sampled_from([1, 7, 30, 100, LIMIT.large_transfer_delay]), st.just(0)),
        st.tuples(st.just("release"), st.integers(0, 3), st.just(0)),
    )
    return draw(st.lists(step, min_size=3, max_size=10))


@HYPOTHESIS
@given(script=scripts())
def test_every_unit_is_accounted_for_at_every_step(
    lr: LimitRig, side: Deployed, script: list[tuple[str, int, int]]
) -> None:
    snapshot = lr.chain.snapshot()
    try:
        model, people = new_bucket(lr, side), [recipient(i) for i in range(4)]
        for n, (action, value, who) in enumerate(script):
            if action == "arrive":
                step_arrive(lr, side, model, Transfer(n + 1, people[who], value))
            elif action == "wait":
                lr.chain.advance_time(value)
            else:
                step_release(lr, side, model, value)
            check_books(lr, side, model, people)
        # Whatever happened, everything is delivered in the end: time, then releases.
        lr.chain.advance_time(LIMIT.large_transfer_delay)
        while model.queue or model.large:
            assert step_release(lr, side, model, 100), "a release delivered nothing with transfers waiting"
            lr.chain.advance_time(LIMIT.capacity // LIMIT.refill_per_second)
        check_books(lr, side, model, people)
        assert sum(t.amount for t in model.delivered) == model.arrived
    finally:
        lr.chain.revert_to(snapshot)


# ---------------------------------------------------------------------------------------------
# ChildToken: the callback's checks still come first; the real receiver sees success


def test_a_refused_deposit_is_not_queued(lr: LimitRig) -> None:
    data = payload(stack.ZERO_ADDRESS, 5_000)
    with pytest.raises(TransactionReverted) as caught:
        transact(lr.chain, lr.token, "onStateReceive", 1, lr.root_bridge, data, sender=lr.courier)
    assert caught.value.reason.name == "ChildToken__ZeroRecipient"
    with pytest.raises(TransactionReverted) as caught:
        transact(
            lr.chain, lr.token, "onStateReceive", 1, lr.chain.accounts[3], payload(recipient(0), 1), sender=lr.courier
        )
    assert caught.value.reason.name == "ChildToken__UnknownSender"
    assert call(lr.chain, lr.token, "queue") == (0, 0) and call(lr.chain, lr.token, "queuedValue") == 0


def test_a_deposit_queued_through_the_receiver_counts_as_executed(lr: LimitRig) -> None:
    base = lr.base
    token = stack.deploy_child_token(lr.chain, base.receiver.address, base.root_bridge, rate_limit=LIMIT)
    to = recipient(0)
    bridge_int, token_int = address_int(base.root_bridge), address_int(token.address)
    amounts = (800, 800, 5_000)  # at once, queued, large
    events = [StateSyncEvent(i + 1, bridge_int, token_int, payload(to, a)) for i, a in enumerate(amounts)]
    header = next_header(GENESIS, events)
    (proof,) = prove(base, sync_signals(compute_header_hash(GENESIS), header, events))
    head = (compute_header_hash(header), header.number, header.event_root)
    receipt = transact(
        lr.chain, base.receiver, "syncState", proof, *head, [event_argument(e) for e in events], gas=3_000_000
    )
    results = [(e.args["id"], e.args["success"]) for e in decode_events(base.receiver, receipt, "StateSyncResult")]
    assert results == [(1, True), (2, True), (3, True)]  # executed, in order, none failed
    assert call(lr.chain, base.receiver, "lastExecutedId") == 3
    assert [e.args["id"] for e in decode_events(token, receipt, "Deposited")] == [1]
    assert [(q.id, large) for q, large, _ in queued_in(token, receipt)] == [(2, False), (3, True)]
    assert call(lr.chain, token, "totalSupply") + call(lr.chain, token, "queuedValue") == sum(amounts)
    lr.chain.advance_time(LIMIT.large_transfer_delay)
    receipt = release(lr, token, 10)
    assert [e.args["id"] for e in decode_events(token, receipt, "Deposited")] == [3, 2]  # the ripe large one first
    assert call(lr.chain, token, "balanceOf", to) == sum(amounts)


# ---------------------------------------------------------------------------------------------
# RootBridge: a payee that will not be paid cannot block the queue, and loses nothing


def set_payee(lr: LimitRig, mode: int) -> None:
    transact(lr.chain, lr.payee, "setMode", mode, lr.bridge.address)


@pytest.mark.parametrize("mode", [REFUSE, BURN_GAS, REENTER])
def test_a_payee_that_fails_cannot_block_the_queue_and_can_claim(lr: LimitRig, mode: int) -> None:
    set_payee(lr, mode)
    model, people = new_bucket(lr, lr.bridge), [recipient(0), recipient(1)]
    payee = lr.payee.address
    step_arrive(lr, lr.bridge, model, Transfer(1, people[0], 1_000))  # empties the bucket
    step_arrive(lr, lr.bridge, model, Transfer(2, payee, 300))  # queued: the head
    step_arrive(lr, lr.bridge, model, Transfer(3, people[1], 300))  # queued behind it
    lr.chain.advance_time(100)
    receipt = release(lr, lr.bridge, 10)
    model.release(timestamp(lr.chain, receipt), 10)
    # The payee's item left the queue like any other, as a claimable balance; the next was paid.
    assert [(t.id, large) for t, large in released_in(lr.bridge, receipt)] == [(2, False), (3, False)]
    (credited,) = decode_events(lr.bridge, receipt, "WithdrawalClaimable")
    assert credited.args == {"id": 2, "to": payee, "amount": 300}
    assert [e.args["id"] for e in decode_events(lr.bridge, receipt, "Withdrawn")] == [3]
    assert balance(lr.chain, people[1]) == 300
    assert call(lr.chain, lr.bridge, "claimable", payee) == 300 == call(lr.chain, lr.bridge, "totalClaimable")
    # A payee that burns all it is given costs the releaser PAYOUT_GAS, not the transaction's gas.
    assert receipt.gas_used < 250_000, receipt.gas_used
    check_books(lr, lr.bridge, model, [*people, payee])
    # The payee claims to an address that takes ether (its own receive still fails).
    destination = recipient(7)
    receipt = transact(lr.chain, lr.payee, "claimTo", destination)
    (claimed,) = decode_events(lr.bridge, receipt, "Claimed")
    assert claimed.args == {"account": payee, "destination": destination, "amount": 300}
    assert balance(lr.chain, destination) == 300
    assert call(lr.chain, lr.bridge, "claimable", payee) == 0 == call(lr.chain, lr.bridge, "totalClaimable")
    assert balance(lr.chain, lr.bridge.address) == FUNDS - 1_600


def test_a_payment_that_fails_at_once_becomes_claimable_and_the_exit_succeeds(lr: LimitRig) -> None:
    set_payee(lr, REFUSE)
    receipt = withdrawal(lr, Transfer(9, lr.payee.address, 70))
    assert [e.name for e in decode_events(lr.bridge, receipt)] == ["WithdrawalClaimable"]
    assert call(lr.chain, lr.bridge, "claimable", lr.payee.address) == 70
    # Claiming to an address that refuses too reverts and keeps the balance.
    with pytest.raises(TransactionReverted) as caught:
        transact(lr.chain, lr.payee, "claimTo", lr.payee.address, errors_from=[lr.bridge.abi])
    assert caught.value.reason.name == "RootBridge__TransferFailed"
    assert call(lr.chain, lr.bridge, "claimable", lr.payee.address) == 70
    set_payee(lr, ACCEPT)
    transact(lr.chain, lr.payee, "claimTo", lr.payee.address)
    assert call(lr.chain, lr.payee, "received") == 70 == balance(lr.chain, lr.payee.address)


def test_claims_are_refused_when_empty_or_to_nobody(lr: LimitRig) -> None:
    for destination, error in (
        (recipient(1), "RootBridge__NothingToClaim"),
        (stack.ZERO_ADDRESS, "RootBridge__ZeroRecipient"),
    ):
        with pytest.raises(TransactionReverted) as caught:
            call(lr.chain, lr.bridge, "claim", destination, sender=lr.chain.accounts[2])
        assert caught.value.reason.name == error


def test_a_release_short_of_gas_reverts_and_keeps_the_transfer_queued(lr: LimitRig) -> None:
    model = new_bucket(lr, lr.bridge)
    step_arrive(lr, lr.bridge, model, Transfer(1, recipient(0), 1_000))
    step_arrive(lr, lr.bridge, model, Transfer(2, recipient(1), 300))
    lr.chain.advance_time(100)
    # With less than PAYOUT_GAS reaching the payee the release reverts: a caller cannot starve a
    # payment into a claimable balance.
    with pytest.raises(TransactionReverted) as caught:
        release(lr, lr.bridge, 1, gas=90_000)
    assert caught.value.reason.name == "RootBridge__InsufficientGas"
    assert call(lr.chain, lr.bridge, "queue") == (0, 1) and call(lr.chain, lr.bridge, "queuedValue") == 300
    assert [t.id for t, _ in step_release(lr, lr.bridge, model, 1)] == [2]
    assert balance(lr.chain, recipient(1)) == 300


# ---------------------------------------------------------------------------------------------
# Deployment


@pytest.mark.parametrize(
    ("limit", "what"),
    [
        (RateLimit(0, 1, 1), "capacity"),
        (RateLimit(2**192, 1, 1), "capacity"),
        (RateLimit(10, 0, 1), "refillPerSecond"),
        (RateLimit(10, 11, 1), "refillPerSecond"),
        (RateLimit(10, 1, 0), "largeTransferDelay"),
        (RateLimit(10, 1, 30 * 24 * 3600 + 1), "largeTransferDelay"),
    ],
)
def test_unusable_rate_limits_are_refused_by_the_contracts_and_before_any_transaction(
    lr: LimitRig, limit: RateLimit, what: str
) -> None:
    chain, build = lr.chain, lr.base.build
    for contract, args in (
        ("ChildToken", (lr.courier, lr.root_bridge, stack.ZERO_ADDRESS)),
        ("RootBridge", (lr.base.sender.address, lr.child_token, lr.courier)),
    ):
        with pytest.raises(TransactionReverted) as caught:
            deploy(chain, build.get(contract), *args, limit.argument())
        assert (caught.value.reason.name, caught.value.reason.args) == (
            "TokenBucketQueue__InvalidConfiguration",
            (what,),
        )
    nonce = chain.web3.eth.get_transaction_count(chain.accounts[0])
    with pytest.raises(stack.DeploymentError):
        stack.deploy_child_token(chain, lr.courier, lr.root_bridge, rate_limit=limit)
    with pytest.raises(stack.DeploymentError):
        stack.deploy_root_stack(chain, lr.child_token, rate_limit=limit)
    assert chain.web3.eth.get_transaction_count(chain.accounts[0]) == nonce


def test_the_stack_deploys_the_default_limits_and_the_given_ones(lr: LimitRig) -> None:
    chain = lr.chain
    root = stack.deploy_root_stack(chain, lr.child_token)
    assert [call(chain, root.bridge, f) for f in ("capacity", "refillPerSecond", "largeTransferDelay")] == list(
        RateLimit().argument()
    )
    assert call(chain, lr.base.token, "capacity") == RateLimit().capacity  # conftest's token, through the stack
    assert [call(chain, lr.token, f) for f in ("capacity", "refillPerSecond", "largeTransferDelay")] == list(
        LIMIT.argument()
    )
