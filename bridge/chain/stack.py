"""The deployed system on two chains, and the relayer's calls between them.

Rootchain: StateSender and the sample RootBridge. Child chain: the three snarkjs verifiers
(generated from the circuits' keys and compiled unchanged), ZkStateReceiver and the sample
ChildToken. The relayer reads StateSynced logs from the rootchain and submits proofs.

The exit direction, when an `ExitPath` is given: L2StateSender on the child chain (ChildToken's
withdrawals send their exits through it), ZkCheckpointManager over a CheckpointUpdate verifier and
ZkExitHelper on the rootchain (RootBridge pays the withdrawals the helper delivers). Without one
both samples are deposit-only: ChildToken refuses withdrawals and RootBridge every exit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rlp  # type: ignore[import-untyped]
from eth_abi.abi import decode
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3

from statesync.errors import ZkStateSyncError
from statesync.exits import ExitEvent, ExitProof
from statesync.model import Checkpoint, Header, StateSyncEvent, compute_checkpoint_hash, compute_header_hash
from verifier.groth16 import Proof
from verifier.groth16_evm import encode_calldata
from verifier.signals import StateSyncSignals

from .chains import Chain
from .deploy import Deployed, Receipt, TransactionReverted, call, decode_events, deploy, transact
from .solc import Build, CompiledContract, compile_directory, compile_sources

# The receiver's stipend per onStateReceive: Edge's own ChildERC20Predicate needs 345,871 gas to
# map a token (clone + initialize), above Edge's 300k MAX_GAS; 500k leaves it room.
DEFAULT_RECEIVER_GAS = 500_000
STATE_SYNC_GAS = 3_000_000
MIN_RECEIVER_GAS = 50_000  # ZkStateReceiver's MIN_RECEIVER_GAS and MAX_RECEIVER_GAS
MAX_RECEIVER_GAS = 10_000_000
MAX_BATCH_SIZE = 256
# Manifest circuit -> receiver constructor slot, in the constructor's order.
VERIFIER_CIRCUITS = ("header_update", "state_sync", "event_inclusion")
# The exit direction's circuit: its verifier lives on the rootchain, under ZkCheckpointManager.
EXIT_CIRCUIT = "checkpoint_update"
DEPLOYED_CIRCUITS = (*VERIFIER_CIRCUITS, EXIT_CIRCUIT)
CHECKPOINT_GAS = 1_000_000  # ZkCheckpointManager.submit: ~280k, the verifier's 300k stipend checked
ZERO_ADDRESS = to_checksum_address(b"\x00" * 20)
LIMB_BITS = 128  # the exit root's limbs in CheckpointUpdate's public signals
ProofArgument = tuple[tuple[int, int], tuple[tuple[int, int], tuple[int, int]], tuple[int, int]]


MAX_RAIL_PERIOD = 365 * 24 * 3600  # ZkStateReceiver.MAX_PERIOD
DAY = 24 * 3600


@dataclass(frozen=True)
class ReceiverRails:
    """ZkStateReceiver's safety rails, fixed at deployment (docs/PROTOCOL.md section 9).

    `governance` may only recover() after a freeze or an expiry, `guardian` may only pause();
    the zero address gives up that power. The trusting period defaults to Hermes' 14 days.
    """

    governance: ChecksumAddress = ZERO_ADDRESS
    guardian: ChecksumAddress = ZERO_ADDRESS
    trusting_period: int = 14 * DAY
    max_pause_duration: int = DAY

    def argument(self) -> tuple[ChecksumAddress, ChecksumAddress, int, int]:
        return (self.governance, self.guardian, self.trusting_period, self.max_pause_duration)


class StackError(ZkStateSyncError):
    """The deployed system is not as expected (a missing verifier, an unknown log)."""


@dataclass(frozen=True)
class ExitPath:
    """What the rootchain's exit contracts are deployed with: a CheckpointUpdate verifier already
    on the rootchain, and the child-chain checkpoint trusted out of band."""

    checkpoint_verifier: ChecksumAddress
    genesis: Checkpoint


@dataclass(frozen=True)
class ExitStack:
    checkpoint_manager: Deployed
    exit_helper: Deployed


@dataclass(frozen=True)
class RootStack:
    sender: Deployed
    bridge: Deployed
    exits: ExitStack | None = None  # None: a deposit-only bridge


@dataclass(frozen=True)
class ChildStack:
    verifiers: Mapping[str, Deployed]
    receiver: Deployed
    token: Deployed
    l2_sender: Deployed | None = None  # None: ChildToken refuses withdrawals


def build_generated_verifier(circuit: str, source: Path) -> Build:
    """A snarkjs verifier's compilation, as generated (each alone: they all name Groth16Verifier)."""
    return compile_sources({f"{circuit}_verifier.sol": Path(source).read_text()})


def compile_generated_verifier(circuit: str, source: Path) -> CompiledContract:
    return build_generated_verifier(circuit, source).get("Groth16Verifier")


def predict_create_address(deployer: ChecksumAddress, nonce: int) -> ChecksumAddress:
    """The address of deployer's CREATE at nonce (for contracts that must name each other)."""
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(deployer[2:]), nonce]))[12:])


def root_deployments_before_bridge(exit_path: ExitPath | None) -> int:
    """How many contracts deploy_root_stack creates before RootBridge (StateSender, then the exit
    contracts if any): the nonce offset deploy_bridge predicts RootBridge's address with."""
    return 1 if exit_path is None else 3


# The samples' rate limits (TokenBucketQueue.sol) and ZkExitHelper's guardian pause.
MAX_RATE_LIMIT_CAPACITY = 2**192 - 1  # TokenBucketQueue: the bucket's level shares a slot
MAX_LARGE_TRANSFER_DELAY = 30 * 24 * 3600  # TokenBucketQueue.MAX_LARGE_TRANSFER_DELAY
MAX_PAUSE_DURATION = 30 * 24 * 3600  # ZkExitHelper.MAX_PAUSE_DURATION


@dataclass(frozen=True)
class RateLimit:
    """A sample token's token bucket (ChildToken's deposits, RootBridge's withdrawals), fixed at
    deployment: what does not fit is queued, never lost; a transfer above `capacity` waits
    `large_transfer_delay` seconds instead. The defaults (1,000,000 ether, refilled at 100 ether
    a second) never queue the devnet's or the tests' transfers."""

    capacity: int = 10**24
    refill_per_second: int = 10**20
    large_transfer_delay: int = 24 * 3600

    def argument(self) -> tuple[int, int, int]:
        """The contracts' RateLimit struct."""
        return (self.capacity, self.refill_per_second, self.large_transfer_delay)


@dataclass(frozen=True)
class Guardian:
    """ZkExitHelper's guardian: it may only pause exits, each pause lasting `max_pause_duration`
    seconds; the zero address (the default) means no pause ever."""

    address: ChecksumAddress = ZERO_ADDRESS
    max_pause_duration: int = 24 * 3600


def check_rate_limit(limit: RateLimit) -> None:
    """Raise DeploymentError unless TokenBucketQueue's constructor would accept `limit`."""
    if not isinstance(limit, RateLimit):
        raise DeploymentError(f"the rate limit must be a RateLimit, got {type(limit).__name__}")
    if not 1 <= limit.capacity <= MAX_RATE_LIMIT_CAPACITY:
        raise DeploymentError(f"the rate limit's capacity {limit.capacity} is outside 1..2^192-1")
    if not 1 <= limit.refill_per_second <= limit.capacity:
        raise DeploymentError(f"the refill {limit.refill_per_second} per second is outside 1..capacity")
    if not 1 <= limit.large_transfer_delay <= MAX_LARGE_TRANSFER_DELAY:
        raise DeploymentError(
            f"the large-transfer delay {limit.large_transfer_delay} s is outside 1..{MAX_LARGE_TRANSFER_DELAY} s"
        )


def check_guardian(guardian: Guardian) -> None:
    """Raise DeploymentError unless ZkExitHelper's constructor would accept `guardian`."""
    if not isinstance(guardian, Guardian):
        raise DeploymentError(f"the guardian must be a Guardian, got {type(guardian).__name__}")
    if not Web3.is_checksum_address(guardian.address):
        raise DeploymentError(f"the guardian address {guardian.address!r} is not a checksummed address")
    if not 1 <= guardian.max_pause_duration <= MAX_PAUSE_DURATION:
        raise DeploymentError(
            f"the pause duration {guardian.max_pause_duration} s is outside 1..{MAX_PAUSE_DURATION} s"
        )


def deploy_child_token(
    chain: Chain,
    state_receiver: ChecksumAddress,
    root_bridge: ChecksumAddress,
    l2_sender: ChecksumAddress = ZERO_ADDRESS,
    *,
    rate_limit: RateLimit = RateLimit(),
) -> Deployed:
    """The sample ChildToken: minted by `state_receiver`'s deposits from `root_bridge`, withdrawing
    through `l2_sender` (zero: deposit-only), its deposits limited by `rate_limit`."""
    check_rate_limit(rate_limit)
    return deploy(
        chain, compile_directory().get("ChildToken"), state_receiver, root_bridge, l2_sender, rate_limit.argument()
    )


def deploy_root_stack(
    chain: Chain,
    child_token: ChecksumAddress,
    *,
    exit_path: ExitPath | None = None,
    rate_limit: RateLimit = RateLimit(),
    guardian: Guardian = Guardian(),
) -> RootStack:
    """StateSender, the exit contracts (with an exit path, paused only by `guardian`), then
    RootBridge naming the exit helper, its withdrawals limited by `rate_limit`.

    The order is root_deployments_before_bridge's: RootBridge's address is predicted from it.
    Every parameter is checked before the first transaction.
    """
    build = compile_directory()
    check_rate_limit(rate_limit)
    check_guardian(guardian)
    if exit_path is not None:
        check_checkpoint_genesis(exit_path.genesis)
    sender = deploy(chain, build.get("StateSender"))
    exits = None
    if exit_path is not None:
        exits = deploy_exit_stack(chain, exit_path.checkpoint_verifier, genesis=exit_path.genesis, guardian=guardian)
    helper = ZERO_ADDRESS if exits is None else exits.exit_helper.address
    bridge = deploy(chain, build.get("RootBridge"), sender.address, child_token, helper, rate_limit.argument())
    return RootStack(sender, bridge, exits)


def check_checkpoint_genesis(genesis: Checkpoint) -> None:
    """Raise DeploymentError unless `genesis` can be ZkCheckpointManager's genesis checkpoint."""
    if not isinstance(genesis, Checkpoint):
        raise DeploymentError(f"the genesis checkpoint must be a Checkpoint, got {type(genesis).__name__}")
    if compute_checkpoint_hash(genesis) == 0:
        raise DeploymentError("the genesis checkpoint hashes to 0")


def deploy_exit_stack(
    chain: Chain, checkpoint_verifier: ChecksumAddress, *, genesis: Checkpoint, guardian: Guardian = Guardian()
) -> ExitStack:
    """ZkCheckpointManager over a deployed CheckpointUpdate verifier, trusting `genesis`, and the
    ZkExitHelper reading its exit roots, which only `guardian` may pause (two transactions, in
    that order, after every parameter is checked)."""
    check_checkpoint_genesis(genesis)
    check_guardian(guardian)
    build = compile_directory()
    manager = deploy(
        chain, build.get("ZkCheckpointManager"), checkpoint_verifier, compute_checkpoint_hash(genesis), genesis.number
    )
    helper = deploy(chain, build.get("ZkExitHelper"), manager.address, guardian.address, guardian.max_pause_duration)
    return ExitStack(manager, helper)


class DeploymentError(StackError, ValueError):
    """Receiver deployment parameters that do not fit together (refused before any transaction)."""


def check_receiver_parameters(
    *,
    genesis: Header,
    last_executed_id: int,
    batch_size: int,
    receiver_gas: int,
    rails: ReceiverRails = ReceiverRails(),
) -> None:
    """Raise DeploymentError unless the receiver's parameters are consistent and in range.

    The genesis hash and number are both derived from one Header, so they cannot disagree; the
    first event id cannot precede what the genesis header already covers on the rootchain (the
    caller checks that against StateSender where it deploys one, see deploy_bridge).
    """
    if not isinstance(genesis, Header):
        raise DeploymentError(f"the genesis must be a Header, got {type(genesis).__name__}")
    if compute_header_hash(genesis) == 0:
        raise DeploymentError("the genesis header hashes to 0")
    if not 0 <= last_executed_id < 2**64:
        raise DeploymentError(f"last executed id {last_executed_id} is not a uint64")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise DeploymentError(f"batch size {batch_size} is outside 1..{MAX_BATCH_SIZE}")
    if not MIN_RECEIVER_GAS <= receiver_gas <= MAX_RECEIVER_GAS:
        raise DeploymentError(f"receiver gas {receiver_gas} is outside {MIN_RECEIVER_GAS}..{MAX_RECEIVER_GAS}")
    for name, period in (("trusting period", rails.trusting_period), ("pause bound", rails.max_pause_duration)):
        if not 1 <= period <= MAX_RAIL_PERIOD:
            raise DeploymentError(f"the {name} {period} s is outside 1..{MAX_RAIL_PERIOD} s")
    for name, address in (("governance", rails.governance), ("guardian", rails.guardian)):
        if not Web3.is_checksum_address(address):
            raise DeploymentError(f"the {name} address {address!r} is not a checksummed address")


def deploy_receiver(
    chain: Chain,
    verifiers: Mapping[str, ChecksumAddress],
    *,
    genesis: Header,
    batch_size: int,
    last_executed_id: int = 0,
    receiver_gas: int = DEFAULT_RECEIVER_GAS,
    rails: ReceiverRails = ReceiverRails(),
) -> Deployed:
    """ZkStateReceiver over deployed verifiers (by manifest circuit), trusting the genesis header.

    `batch_size` must be the B of the state_sync and event_inclusion circuits behind `verifiers`.
    """
    missing = [c for c in VERIFIER_CIRCUITS if c not in verifiers]
    if missing:
        raise StackError(f"no verifier for {', '.join(missing)}")
    check_receiver_parameters(
        genesis=genesis,
        last_executed_id=last_executed_id,
        batch_size=batch_size,
        receiver_gas=receiver_gas,
        rails=rails,
    )
    return deploy(
        chain,
        compile_directory().get("ZkStateReceiver"),
        *(verifiers[c] for c in VERIFIER_CIRCUITS),
        compute_header_hash(genesis),
        genesis.number,
        last_executed_id,
        batch_size,
        receiver_gas,
        rails.argument(),
    )


def deploy_child_stack(
    chain: Chain,
    verifier_sources: Mapping[str, Path],
    *,
    genesis: Header,
    batch_size: int,
    root_bridge: ChecksumAddress,
    last_executed_id: int = 0,
    receiver_gas: int = DEFAULT_RECEIVER_GAS,
    withdrawals: bool = False,
    rails: ReceiverRails = ReceiverRails(),
    rate_limit: RateLimit = RateLimit(),
) -> ChildStack:
    """The verifiers, ZkStateReceiver and ChildToken; with `withdrawals`, first an L2StateSender
    that ChildToken sends its withdrawals through (without, ChildToken refuses them)."""
    missing = [c for c in VERIFIER_CIRCUITS if c not in verifier_sources]
    if missing:
        raise StackError(f"no generated verifier for {', '.join(missing)}")
    l2_sender = deploy(chain, compile_directory().get("L2StateSender")) if withdrawals else None
    verifiers = {c: deploy(chain, compile_generated_verifier(c, verifier_sources[c])) for c in VERIFIER_CIRCUITS}
    receiver = deploy_receiver(
        chain,
        {c: v.address for c, v in verifiers.items()},
        genesis=genesis,
        batch_size=batch_size,
        last_executed_id=last_executed_id,
        receiver_gas=receiver_gas,
        rails=rails,
    )
    exits_through = ZERO_ADDRESS if l2_sender is None else l2_sender.address
    token = deploy_child_token(chain, receiver.address, root_bridge, exits_through, rate_limit=rate_limit)
    return ChildStack(verifiers, receiver, token, l2_sender)


def deploy_bridge(
    root: Chain,
    child: Chain,
    verifier_sources: Mapping[str, Path],
    *,
    genesis: Header,
    batch_size: int,
    receiver_gas: int = DEFAULT_RECEIVER_GAS,
    exit_path: ExitPath | None = None,
    rails: ReceiverRails = ReceiverRails(),
    rate_limit: RateLimit = RateLimit(),
) -> tuple[RootStack, ChildStack]:
    """Both sides of the sample bridge on two chains, each side naming the other.

    ChildToken takes the RootBridge's address in its constructor and RootBridge takes the
    token's, so the bridge's address is predicted from the rootchain deployer's nonce (it is
    deployed right after StateSender, and after ZkCheckpointManager and ZkExitHelper with an
    `exit_path`, whose helper it names); that is why the two chains must be distinct. With an
    exit path the child side also gets an L2StateSender and ChildToken's withdrawals are on.
    One guardian pauses both directions (the receiver's events and ZkExitHelper's exits) with
    one bound; `rate_limit` limits ChildToken's mints and RootBridge's payouts alike.
    """
    if root is child:
        raise StackError("the rootchain and the child chain must be two chains (the bridge address is predicted)")
    if exit_path is not None:
        check_checkpoint_genesis(exit_path.genesis)  # before any transaction
    check_rate_limit(rate_limit)
    check_guardian(Guardian(rails.guardian, rails.max_pause_duration))
    deployer = root.accounts[0]
    nonce = root.web3.eth.get_transaction_count(deployer) + root_deployments_before_bridge(exit_path)
    bridge_address = predict_create_address(deployer, nonce)
    child_stack = deploy_child_stack(
        child,
        verifier_sources,
        genesis=genesis,
        batch_size=batch_size,
        root_bridge=bridge_address,
        receiver_gas=receiver_gas,
        withdrawals=exit_path is not None,
        rails=rails,
        rate_limit=rate_limit,
    )
    guardian = Guardian(rails.guardian, rails.max_pause_duration)
    root_stack = deploy_root_stack(
        root, child_stack.token.address, exit_path=exit_path, rate_limit=rate_limit, guardian=guardian
    )
    if root_stack.bridge.address != bridge_address:
        raise StackError(f"RootBridge was deployed at {root_stack.bridge.address}, not at {bridge_address}")
    # A fresh StateSender has sent nothing: the receiver must start at its first id.
    if (sent := call(root, root_stack.sender, "counter")) != call(child, child_stack.receiver, "lastExecutedId"):
        raise DeploymentError(f"StateSender has sent {sent} events; the receiver does not start after them")
    return root_stack, child_stack


def read_state_synced(chain: Chain, sender: Deployed, from_block: int = 0) -> tuple[StateSyncEvent, ...]:
    """Every StateSynced log StateSender emitted since from_block, as protocol events."""
    topic = "0x" + bytes(Web3.keccak(text="StateSynced(uint256,address,address,bytes)")).hex()
    logs = chain.web3.eth.get_logs({"address": sender.address, "fromBlock": from_block, "topics": [topic]})
    events = []
    for log in logs:
        topics = log["topics"]
        if len(topics) != 4:
            raise StackError(f"StateSynced log with {len(topics)} topics")
        (data,) = decode(["bytes"], bytes(log["data"]))
        events.append(
            StateSyncEvent(
                id=int.from_bytes(topics[1], "big"),
                sender=int.from_bytes(topics[2], "big"),
                receiver=int.from_bytes(topics[3], "big"),
                data=bytes(data),
            )
        )
    return tuple(sorted(events, key=lambda e: e.id))


def read_l2_state_synced(chain: Chain, l2_sender: Deployed, from_block: int = 0) -> tuple[ExitEvent, ...]:
    """Every L2StateSynced log L2StateSender emitted since from_block, as exits, in id order."""
    topic = "0x" + bytes(Web3.keccak(text="L2StateSynced(uint256,address,address,bytes)")).hex()
    logs = chain.web3.eth.get_logs({"address": l2_sender.address, "fromBlock": from_block, "topics": [topic]})
    exits = []
    for log in logs:
        topics = log["topics"]
        if len(topics) != 4:
            raise StackError(f"L2StateSynced log with {len(topics)} topics")
        (data,) = decode(["bytes"], bytes(log["data"]))
        exits.append(
            ExitEvent(
                id=int.from_bytes(topics[1], "big"),
                sender=int.from_bytes(topics[2], "big"),
                receiver=int.from_bytes(topics[3], "big"),
                data=bytes(data),
            )
        )
    return tuple(sorted(exits, key=lambda e: e.id))


def checkpoint_signals(checkpoint: Checkpoint, trusted_checkpoint_hash: int) -> tuple[int, int, int, int, int]:
    """CheckpointUpdate's public signals for `checkpoint` linked to the trusted checkpoint:
    [checkpointHash, number, exitRootHigh, exitRootLow, trustedCheckpointHash]."""
    root = checkpoint.exit_root
    high, low = root >> LIMB_BITS, root & ((1 << LIMB_BITS) - 1)
    return (compute_checkpoint_hash(checkpoint), checkpoint.number, high, low, trusted_checkpoint_hash)


def submit_checkpoint(chain: Chain, exits: ExitStack, proof: ProofArgument, checkpoint: Checkpoint) -> Receipt:
    """ZkCheckpointManager.submit(proof, checkpointHash, number, exitRoot) for `checkpoint`."""
    root = checkpoint.exit_root.to_bytes(32, "big")
    return transact(
        chain,
        exits.checkpoint_manager,
        "submit",
        proof,
        compute_checkpoint_hash(checkpoint),
        checkpoint.number,
        root,
        gas=CHECKPOINT_GAS,
    )


ExitArgument = tuple[int, int, bytes, list[bytes]]


def exit_argument(checkpoint_number: int, proof: ExitProof) -> ExitArgument:
    """ZkExitHelper's BatchExitInput (blockNumber, leafIndex, unhashedLeaf, proof) for an exit of
    the checkpoint `checkpoint_number`; also exit()'s arguments, in order."""
    return (checkpoint_number, proof.leaf_index, proof.unhashed_leaf, list(proof.siblings))


def encode_proof_argument(proof: Proof, public_signals: Sequence[int]) -> ProofArgument:
    """The receiver's Proof struct (a, b, c), B in EIP-197 order, from a snarkjs proof."""
    words = encode_calldata(proof, public_signals)
    return (words.a, words.b, words.c)


def event_argument(event: StateSyncEvent) -> tuple[int, ChecksumAddress, ChecksumAddress, bytes]:
    return (
        event.id,
        to_checksum_address(event.sender.to_bytes(20, "big")),
        to_checksum_address(event.receiver.to_bytes(20, "big")),
        event.data,
    )


def submit_state_sync(
    chain: Chain,
    stack: ChildStack,
    proof: Proof,
    signals: StateSyncSignals,
    events: Sequence[StateSyncEvent],
    **overrides: Any,
) -> Receipt:
    """Relay a StateSync proof: the header and its events, executed in one transaction.

    Idempotent in the header: if the receiver accepted this header already (anyone may submit
    it first, since all of a proof's inputs are public), the same proof executes its events
    through executeStateSync instead, so an honest relayer never needs a second proof.
    `overrides` replaces any of headerHash, number, eventRoot (the demo's tampering attack).
    """
    values = {
        "headerHash": signals.header_hash,
        "number": signals.number,
        "eventRoot": signals.event_root,
        **overrides,
    }
    argument = encode_proof_argument(proof, signals.values())
    batch = [event_argument(e) for e in events]

    def accepted() -> bool:
        return (
            bool(signals.event_root)
            and call(chain, stack.receiver, "isAccepted", signals.header_hash, signals.number, signals.event_root)
            is True
        )

    def execute() -> Receipt:
        return transact(
            chain,
            stack.receiver,
            "executeStateSync",
            argument,
            signals.header_hash,
            signals.number,
            signals.event_root,
            signals.trusted_header_hash,
            batch,
            gas=STATE_SYNC_GAS,
            errors_from=[stack.token.abi],
        )

    if not overrides and accepted():
        return execute()
    try:
        return transact(
            chain,
            stack.receiver,
            "syncState",
            argument,
            values["headerHash"],
            values["number"],
            values["eventRoot"],
            batch,
            gas=STATE_SYNC_GAS,
            errors_from=[stack.token.abi],
        )
    except TransactionReverted as exc:
        # Lost a race with whoever submitted the header between our check and our transaction.
        if overrides or exc.reason.name != "ZkStateReceiver__NumberNotRising" or not accepted():
            raise
        return execute()


def state_sync_results(stack: ChildStack, receipt: Receipt) -> list[tuple[int, bool]]:
    return [
        (int(e.args["id"]), bool(e.args["success"])) for e in decode_events(stack.receiver, receipt, "StateSyncResult")
    ]
