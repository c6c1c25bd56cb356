"""The deployed system on two chains, and the relayer's calls between them.

Rootchain: StateSender and the sample RootBridge. Child chain: the three snarkjs verifiers
(generated from the circuits' keys and compiled unchanged), ZkStateReceiver and the sample
ChildToken. The relayer reads StateSynced logs from the rootchain and submits proofs.
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
from statesync.model import Header, StateSyncEvent, compute_header_hash
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
ProofArgument = tuple[tuple[int, int], tuple[tuple[int, int], tuple[int, int]], tuple[int, int]]


class StackError(ZkStateSyncError):
    """The deployed system is not as expected (a missing verifier, an unknown log)."""


@dataclass(frozen=True)
class RootStack:
    sender: Deployed
    bridge: Deployed


@dataclass(frozen=True)
class ChildStack:
    verifiers: Mapping[str, Deployed]
    receiver: Deployed
    token: Deployed


def build_generated_verifier(circuit: str, source: Path) -> Build:
    """A snarkjs verifier's compilation, as generated (each alone: they all name Groth16Verifier)."""
    return compile_sources({f"{circuit}_verifier.sol": Path(source).read_text()})


def compile_generated_verifier(circuit: str, source: Path) -> CompiledContract:
    return build_generated_verifier(circuit, source).get("Groth16Verifier")


def predict_create_address(deployer: ChecksumAddress, nonce: int) -> ChecksumAddress:
    """The address of deployer's CREATE at nonce (for contracts that must name each other)."""
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(deployer[2:]), nonce]))[12:])


def deploy_root_stack(chain: Chain, child_token: ChecksumAddress) -> RootStack:
    build = compile_directory()
    sender = deploy(chain, build.get("StateSender"))
    bridge = deploy(chain, build.get("RootBridge"), sender.address, child_token)
    return RootStack(sender, bridge)


class DeploymentError(StackError, ValueError):
    """Receiver deployment parameters that do not fit together (refused before any transaction)."""


def check_receiver_parameters(*, genesis: Header, last_executed_id: int, batch_size: int, receiver_gas: int) -> None:
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


def deploy_receiver(
    chain: Chain,
    verifiers: Mapping[str, ChecksumAddress],
    *,
    genesis: Header,
    batch_size: int,
    last_executed_id: int = 0,
    receiver_gas: int = DEFAULT_RECEIVER_GAS,
) -> Deployed:
    """ZkStateReceiver over deployed verifiers (by manifest circuit), trusting the genesis header.

    `batch_size` must be the B of the state_sync and event_inclusion circuits behind `verifiers`.
    """
    missing = [c for c in VERIFIER_CIRCUITS if c not in verifiers]
    if missing:
        raise StackError(f"no verifier for {', '.join(missing)}")
    check_receiver_parameters(
        genesis=genesis, last_executed_id=last_executed_id, batch_size=batch_size, receiver_gas=receiver_gas
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
) -> ChildStack:
    missing = [c for c in VERIFIER_CIRCUITS if c not in verifier_sources]
    if missing:
        raise StackError(f"no generated verifier for {', '.join(missing)}")
    verifiers = {c: deploy(chain, compile_generated_verifier(c, verifier_sources[c])) for c in VERIFIER_CIRCUITS}
    receiver = deploy_receiver(
        chain,
        {c: v.address for c, v in verifiers.items()},
        genesis=genesis,
        batch_size=batch_size,
        last_executed_id=last_executed_id,
        receiver_gas=receiver_gas,
    )
    token = deploy(chain, compile_directory().get("ChildToken"), receiver.address, root_bridge)
    return ChildStack(verifiers, receiver, token)


def deploy_bridge(
    root: Chain,
    child: Chain,
    verifier_sources: Mapping[str, Path],
    *,
    genesis: Header,
    batch_size: int,
    receiver_gas: int = DEFAULT_RECEIVER_GAS,
) -> tuple[RootStack, ChildStack]:
    """Both sides of the sample bridge on two chains, each side naming the other.

    ChildToken takes the RootBridge's address in its constructor and RootBridge takes the
    token's, so the bridge's address is predicted from the rootchain deployer's nonce (it is
    deployed right after StateSender); that is why the two chains must be distinct.
    """
    if root is child:
        raise StackError("the rootchain and the child chain must be two chains (the bridge address is predicted)")
    deployer = root.accounts[0]
    bridge_address = predict_create_address(deployer, root.web3.eth.get_transaction_count(deployer) + 1)
    child_stack = deploy_child_stack(
        child,
        verifier_sources,
        genesis=genesis,
        batch_size=batch_size,
        root_bridge=bridge_address,
        receiver_gas=receiver_gas,
    )
    root_stack = deploy_root_stack(root, child_stack.token.address)
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
            and call(chain, stack.receiver, "eventRootOf", signals.number) == signals.event_root
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
