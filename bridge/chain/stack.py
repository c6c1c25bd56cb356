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
from statesync.model import StateSyncEvent
from verifier.groth16 import Proof
from verifier.groth16_evm import encode_calldata
from verifier.signals import StateSyncSignals

from .chains import Chain
from .deploy import Deployed, Receipt, decode_events, deploy, transact
from .solc import Build, CompiledContract, compile_directory, compile_sources

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


def deploy_receiver(
    chain: Chain,
    verifiers: Mapping[str, ChecksumAddress],
    *,
    genesis_hash: int,
    genesis_number: int,
    batch_size: int,
    last_executed_id: int = 0,
) -> Deployed:
    """ZkStateReceiver over deployed verifiers (by manifest circuit), trusting the genesis header.

    `batch_size` must be the B of the state_sync and event_inclusion circuits behind `verifiers`.
    """
    missing = [c for c in VERIFIER_CIRCUITS if c not in verifiers]
    if missing:
        raise StackError(f"no verifier for {', '.join(missing)}")
    return deploy(
        chain,
        compile_directory().get("ZkStateReceiver"),
        *(verifiers[c] for c in VERIFIER_CIRCUITS),
        genesis_hash,
        genesis_number,
        last_executed_id,
        batch_size,
    )


def deploy_child_stack(
    chain: Chain,
    verifier_sources: Mapping[str, Path],
    *,
    genesis_hash: int,
    genesis_number: int,
    batch_size: int,
    root_bridge: ChecksumAddress,
) -> ChildStack:
    missing = [c for c in VERIFIER_CIRCUITS if c not in verifier_sources]
    if missing:
        raise StackError(f"no generated verifier for {', '.join(missing)}")
    verifiers = {c: deploy(chain, compile_generated_verifier(c, verifier_sources[c])) for c in VERIFIER_CIRCUITS}
    receiver = deploy_receiver(
        chain,
        {c: v.address for c, v in verifiers.items()},
        genesis_hash=genesis_hash,
        genesis_number=genesis_number,
        batch_size=batch_size,
    )
    token = deploy(chain, compile_directory().get("ChildToken"), receiver.address, root_bridge)
    return ChildStack(verifiers, receiver, token)


def deploy_bridge(
    root: Chain,
    child: Chain,
    verifier_sources: Mapping[str, Path],
    *,
    genesis_hash: int,
    genesis_number: int,
    batch_size: int,
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
        genesis_hash=genesis_hash,
        genesis_number=genesis_number,
        batch_size=batch_size,
        root_bridge=bridge_address,
    )
    root_stack = deploy_root_stack(root, child_stack.token.address)
    if root_stack.bridge.address != bridge_address:
        raise StackError(f"RootBridge was deployed at {root_stack.bridge.address}, not at {bridge_address}")
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

    `overrides` replaces any of headerHash, number, eventRoot (the demo's tampering attack).
    """
    values = {
        "headerHash": signals.header_hash,
        "number": signals.number,
        "eventRoot": signals.event_root,
        **overrides,
    }
    return transact(
        chain,
        stack.receiver,
        "syncState",
        encode_proof_argument(proof, signals.values()),
        values["headerHash"],
        values["number"],
        values["eventRoot"],
        [event_argument(e) for e in events],
        gas=3_000_000,
        errors_from=[stack.token.abi],
    )


def state_sync_results(stack: ChildStack, receipt: Receipt) -> list[tuple[int, bool]]:
    return [
        (int(e.args["id"]), bool(e.args["success"])) for e in decode_events(stack.receiver, receipt, "StateSyncResult")
    ]
