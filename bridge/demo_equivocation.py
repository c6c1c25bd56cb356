"""Equivocation on a devnet: a coalition's header lands first, and the bridge freezes before any
of its events executes (docs/PROTOCOL.md section 9).

The relayer is stopped and a deposit waits on the rootchain. alice and bob (power 7 of 10, above
2/3 on their own: the worst case, since honest nodes never sign two headers at one number) sign,
outside their validator nodes, a header at the deposit's block whose event root mints 1000 times
the deposit; the attacker proves it and gets it accepted with submitHeader. The honest relayer,
restarted, finds that the receiver's header is not the one the rootchain gives
(bridge/relayer/chain.py), has the validators sign the canonical header at the same number,
proves it, and freezes the receiver with freezeWithHeader. The attacker's executeEvents of the
inflated deposit is then refused, every validator that signed the canonical header flags the
conflict, and `zkstatesync status` shows the receiver frozen.

Every wait is bounded (WAIT_SECONDS); DemoFailure says which outcome did not hold.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from eth_abi.abi import decode, encode
from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from prover.inputs import build_event_inclusion_inputs, build_header_update_inputs, event_shape
from prover.prove import load_prover
from prover.witness import CircuitInputs
from statesync.eddsa import sign_poseidon
from statesync.model import Header, StateSyncEvent, compute_header_hash, compute_signing_message
from statesync.proposal import RootBlock, derive_header
from verifier.groth16 import load_proof

from .chain.deploy import TransactionReverted, call, transact
from .chain.stack import ProofArgument, encode_proof_argument, event_argument, read_state_synced
from .config import build_proposal_rules, build_validator_set, compute_configured_set_hash
from .demo import DemoFailure
from .devnet import Devnet
from .relayer.cli import store_identity
from .relayer.process import stop_relayer
from .relayer.settings import load_relayer_config
from .relayer.signing import build_commit
from .relayer.store import DB_NAME, RelayerStore
from .validator.client import ValidatorClient

COALITION: Final = ("alice", "bob")
INFLATION: Final = 1000
WAIT_SECONDS: Final = 240.0
POLL_SECONDS: Final = 0.25
FROZEN: Final = "0x" + keccak(text="Frozen(uint256,uint256,uint256,address)").hex()


@dataclass
class EquivocationReport:
    number: int = 0  # the header number both headers claim
    forged_hash: int = 0
    canonical_hash: int = 0  # from the receiver's Frozen log
    seconds_to_freeze: float = 0.0  # from the relayer's restart
    freeze_gas: int = 0
    executed_before: int = 0
    executed_after: int = 0
    refused: str = ""  # the revert reason of the attacker's executeEvents
    flagged: list[str] = field(default_factory=list)  # validators whose status shows the conflict
    reporter: str = ""  # who sent the evidence (the Frozen log's reporter): the relayer or a validator's watcher


def _wait(what: str, probe: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise DemoFailure(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def _checkpoint_header(devnet: Devnet) -> Header:
    """The receiver's checkpoint as a full header, from the relayer's store (the relayer is stopped)."""
    trusted = int(call(devnet.child, devnet.deployment.child.receiver, "trustedHeaderHash"))
    genesis = devnet.deployment.config.genesis
    if genesis is not None and trusted == compute_header_hash(genesis):
        return genesis
    relayer_config = load_relayer_config(devnet.relayer_config)
    store = RelayerStore(relayer_config.node.data_dir / DB_NAME, store_identity(relayer_config))
    try:
        header = store.header(trusted)
    finally:
        store.close()
    if header is None:
        raise DemoFailure("the relayer's store does not hold the checkpoint the receiver trusts")
    return header


def devnet_relayer_address(devnet: Devnet) -> str:
    return str(Account.from_key(devnet.relayer_key).address)


def _prove(preset: str, circuit: str, inputs: CircuitInputs, directory: Path) -> ProofArgument:
    result = load_prover(circuit, preset).prove(inputs, directory)
    return encode_proof_argument(load_proof(result.proof_path), result.public_signals)


def play_equivocation(
    devnet: Devnet, note: Callable[[str], None] = lambda _line: None, *, restart_relayer: bool = True
) -> EquivocationReport:
    """The act described in the module docstring, on a running devnet; the receiver ends frozen.

    Without `restart_relayer` only the validators' evidence watchers (DevnetOptions.watchers) can
    answer the forged header.
    """
    report = EquivocationReport()
    config = devnet.deployment.config
    preset = config.circuits.preset
    receiver = devnet.deployment.child.receiver
    if devnet.relayer is not None:
        stop_relayer(devnet.relayer)
        devnet.relayer = None
    parent = _checkpoint_header(devnet)
    event_id, block_number = devnet.deposit(10**16)
    confirmations = config.rootchain.confirmations
    _wait(
        f"deposit {event_id}'s {confirmations} confirmations",
        lambda: int(devnet.root.web3.eth.block_number) >= block_number + confirmations,
    )
    (event,) = [e for e in read_state_synced(devnet.root, devnet.deployment.root.sender) if e.id == event_id]
    to, amount = decode(["address", "uint256"], event.data)
    inflated = StateSyncEvent(
        event.id, event.sender, event.receiver, encode(["address", "uint256"], [to, amount * INFLATION])
    )
    block = devnet.root.web3.eth.get_block(block_number)
    end = RootBlock(int(block["number"]), int.from_bytes(bytes(block["hash"]), "big"), int(block["timestamp"]))
    forged = derive_header(parent, end, [inflated], build_proposal_rules(config), compute_configured_set_hash(config))
    report.number, report.forged_hash = forged.number, compute_header_hash(forged)

    # The coalition signs with its keys directly: its nodes' slashing databases never hear of it.
    message = compute_signing_message(forged)
    signatures = {
        slot: sign_poseidon(v.private_key, message)
        for slot, v in enumerate(devnet.network.validators)
        if v.name in COALITION
    }
    commit = build_commit(forged, signatures, len(devnet.network.validators))
    attacker = devnet.child.accounts[7]
    with tempfile.TemporaryDirectory(prefix="zkstatesync-equivocation-") as scratch:
        inputs = build_header_update_inputs(trusted=parent, commit=commit, validator_set=build_validator_set(config))
        header_proof = _prove(preset, "header_update", inputs, Path(scratch) / "header")
        batch_inputs = build_event_inclusion_inputs(
            shape=event_shape(preset), header_events=[inflated], batch=[inflated]
        )
        batch_proof = _prove(preset, "event_inclusion", batch_inputs, Path(scratch) / "batch")
    head = (report.forged_hash, forged.number, forged.event_root)
    transact(devnet.child, receiver, "submitHeader", header_proof, *head, sender=attacker)
    report.executed_before = int(call(devnet.child, receiver, "lastExecutedId"))
    note(
        f"{' and '.join(COALITION)} (power 7 of 10) signed header {forged.number} minting {INFLATION}x "
        "deposit; the receiver accepted it"
    )

    started = time.monotonic()
    if restart_relayer:
        devnet.start_relayer()
    _wait("the freeze", lambda: bool(call(devnet.child, receiver, "frozen")))
    report.seconds_to_freeze = time.monotonic() - started
    (entry,) = devnet.child.web3.eth.get_logs({"address": receiver.address, "fromBlock": 0, "topics": [FROZEN]})
    accepted_hash, report.canonical_hash, reporter = decode(["uint256", "uint256", "address"], bytes(entry["data"]))
    report.reporter = to_checksum_address(reporter)
    report.freeze_gas = int(devnet.child.web3.eth.get_transaction_receipt(entry["transactionHash"])["gasUsed"])
    if accepted_hash != report.forged_hash or report.canonical_hash == report.forged_hash:
        raise DemoFailure("the receiver froze on another conflict than the forged header's")
    who = "the relayer" if report.reporter == devnet_relayer_address(devnet) else "a validator's watcher"
    note(f"{who} froze the receiver {report.seconds_to_freeze:.1f} s later")

    try:
        transact(
            devnet.child, receiver, "executeEvents", batch_proof, *head, [event_argument(inflated)], sender=attacker
        )
    except TransactionReverted as exc:
        report.refused = str(exc.reason.name)
    else:
        raise DemoFailure("the inflated deposit executed on a frozen receiver")
    if report.refused != "ZkStateReceiver__Frozen":
        raise DemoFailure(f"the inflated deposit was refused for another reason: {report.refused}")
    report.executed_after = int(call(devnet.child, receiver, "lastExecutedId"))
    if report.executed_after != report.executed_before:
        raise DemoFailure(f"events executed after the conflict: {report.executed_before} -> {report.executed_after}")

    def flagged() -> bool:
        report.flagged = [
            name
            for name, process in devnet.validators.items()
            if ValidatorClient(process.client.url).status().get("conflict") is not None
        ]
        return bool(report.flagged)

    _wait("a validator flagging the conflict", flagged, timeout=60.0)
    note(f"validators flagging the conflict: {', '.join(report.flagged)}")
    return report
