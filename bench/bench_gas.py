"""Gas of the on-chain side, as transactions (gasUsed), on py-evm by default or on anvil.

* verifyProof of the three circuits' snarkjs verifiers at the test preset, each with a real
  proof of the sample rootchain (prover/samples.py), beside the rule of thumb for a snarkjs
  0.7.5+ verifier: about 207.5k + 6.8k per public signal (shared/REFERENCE.md).
* ZkStateReceiver.submitHeader with real header_update proofs: verification and storage
  together; the goal is at most 280k. Two headers of the sample rootchain are submitted, the
  first right after deployment (from a checkpoint at number 0) and its successor; both should
  cost the same, since the receiver's counter slot is never zero (its lock is 1 or 2).
* The same submitHeader on a receiver whose header verifier is HeaderChain's (N headers and
  a set rotation in one proof, for a client catching up): gas per proof and per header.
* syncState batches of B = 1, 8 and 16 events to NoopReceiver, whole, without the receivers'
  own execution, and per event, beside Edge's ~126k per event; the goal is at most 25k per
  event at B = 16. The receiver's B must be its circuits' B, and the real circuits have B = 2
  (test) or 8 (default), so the batches use Open(N) verifiers (verifier/chain/testing.py),
  which cost what a real verifier with as many public signals costs.
* The exit direction (run_exits, its own section: `python -m bench --only exits`):
  ZkCheckpointManager.submit with an Open(5) verifier (CheckpointUpdate has 5 public signals,
  and a snarkjs verifier's code and gas depend only on that count), the median single exit over
  16 consecutive ids, batchExit of 16 per exit, and one exit with 1 and with 1,024 checkpoints
  stored; beside Edge's CheckpointManager and ExitHelper (shared/REFERENCE.md). Receiver:
  NoopL2Receiver, 32 bytes of data, exit tree depth 16.
* The exit side's safety rails (run_limits, part of the exits section, or alone: `limits`):
  ChildToken's deposits and RootBridge's withdrawals through their token buckets (delivered at
  once, queued, released per item from a queue, a large transfer after its delay, a claim), and
  ZkExitHelper's pause.
* ZkStateReceiver's safety rails (run_rails, its own section: `python -m bench --only rails`),
  with the generated verifiers and real proofs at the test preset: freezeWithHeader and
  freezeWithStateSync on evidence of a conflicting header, recover after the freeze and after an
  expiry, the guardian's pause (first and renewal), syncState while paused (header accepted,
  batch skipped) and executeStateSync of that batch once the pause ran out, beside the same
  syncState unpaused. submitHeader and syncState with the rails in place are the figures above.

    .venv/bin/python -m bench.bench_gas [pyevm|anvil] [exits|limits|rails]
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eth_abi.abi import encode
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from bridge.chain.chains import Chain, ChainKind, open_chain, parse_chain_kind
from bridge.chain.deploy import Deployed, Receipt, call, decode_events, deploy, encode_call, transact
from bridge.chain.solc import compile_directory
from bridge.chain.stack import (
    VERIFIER_CIRCUITS,
    ChildStack,
    Guardian,
    ProofArgument,
    RateLimit,
    ReceiverRails,
    checkpoint_signals,
    compile_generated_verifier,
    deploy_child_stack,
    deploy_child_token,
    deploy_exit_stack,
    deploy_receiver,
    encode_proof_argument,
    event_argument,
    exit_argument,
    submit_checkpoint,
)
from bridge.demo import EDGE_GAS_PER_EVENT
from bridge.testing import build_open_verifier, compile_open_verifier, open_prover, proof_argument
from prover.inputs import Inputs, build_header_update_inputs, build_state_sync_inputs, event_shape
from prover.prove import ProofResult, Prover, load_prover
from prover.samples import SampleChain, build_sample_chain, build_sample_checkpoint, build_sample_inputs
from prover.setup import export_solidity_verifier
from statesync.circuits import load_manifest
from statesync.errors import ZkStateSyncError
from statesync.exits import EXIT_TREE_DEPTH, ExitEvent, build_exit_tree, compute_exit_root, get_exit_proof
from statesync.model import (
    Checkpoint,
    Header,
    StateSyncEvent,
    build_event_tree,
    compute_batch_commitment,
    compute_checkpoint_hash,
    compute_header_hash,
)
from verifier.groth16 import load_proof
from verifier.signals import StateSyncSignals, decode_header_signals, decode_signals, signal_names

PRESET: Final = "test"
HEADER_UPDATE_GOAL: Final = 280_000
PER_EVENT_GOAL: Final = 25_000  # at the largest batch
BATCH_SIZES: Final = (1, 8, 16)
VERIFY_GAS: Final = 500_000
HEADER_GAS: Final = 1_000_000
BATCH_GAS: Final = 6_000_000
# snarkjs 0.7.5+ verifyProof as a transaction, solc optimised (shared/REFERENCE.md).
SNARKJS_BASE_GAS: Final = 207_500
SNARKJS_GAS_PER_SIGNAL: Final = 6_800

# The batches' checkpoint: a receiver that has run for a while.
BATCH_GENESIS: Final = Header(
    chain_id=1,
    number=100,
    parent_hash=0,
    timestamp=1_700_000_000,
    event_root=0,
    validator_set_hash=1,
    next_validator_set_hash=1,
)


# The exit direction: goals, and Edge's figures (shared/REFERENCE.md, core-contracts 6ac0611 on
# anvil; exits at depth 16, a trivial receiver, 32 bytes of data, called directly, not proxied).
CHECKPOINT_GOAL: Final = 300_000
EXIT_GOAL: Final = 70_000
BATCH_EXIT_GOAL: Final = 30_000  # per exit, in a batch of EXIT_BATCH
EXIT_BATCH: Final = 16
STORED_CHECKPOINTS: Final = 1_024
EDGE_EXIT_GAS: Final = 78_407
EDGE_EXIT_GAS_PROXIED: Final = 92_959
EDGE_BATCH_EXIT_GAS_PER_EXIT: Final = 46_829
EDGE_EXIT_CALLDATA_BYTES: Final = 900
EDGE_EXIT_EXTRA_AT_1024_CHECKPOINTS: Final = 22_600  # its binary search over checkpoint block numbers


def edge_checkpoint_gas(validators: int, signers: int) -> int:
    """Edge's CheckpointManager.submit on a standard EVM: ~324k + 18.2k/validator + 20.3k/signer."""
    return 324_000 + 18_200 * validators + 20_300 * signers


EXIT_GENESIS: Final = Checkpoint(
    chain_id=2,
    number=100,
    parent_hash=0,
    timestamp=1_700_000_000,
    exit_root=compute_exit_root([]),
    validator_set_hash=1,
    next_validator_set_hash=1,
)
EXIT_GAS: Final = 1_000_000
SEED_GAS: Final = 8_000_000
# The rate limits' figures: transfers of LIMIT_AMOUNT, a bucket that holds LIMIT_QUEUE of them and
# refills slowly (0.0864 ether a day), so a queue of LIMIT_QUEUE forms behind an emptied bucket.
LIMIT_AMOUNT: Final = 10**17
LIMIT_QUEUE: Final = 8
LIMIT_CAPACITY: Final = LIMIT_QUEUE * LIMIT_AMOUNT
LIMIT_REFILL: Final = 10**12
LIMIT_DELAY: Final = 3_600


class GasBenchError(ZkStateSyncError):
    """A measured transaction did not do what it was measured for (a false verdict, a failed event)."""


def run(chain_kind: ChainKind = "pyevm") -> dict[str, Any]:
    provers = {c: load_prover(c, PRESET) for c in VERIFIER_CIRCUITS}
    sample = build_sample_chain(PRESET)
    n_public = {c: len(signal_names(c)) for c in provers}
    # The proofs are read back from their files while measured: the directory outlives them.
    with tempfile.TemporaryDirectory(prefix="bench-gas-") as tmp, open_chain(chain_kind) as chain:
        proofs = _prove_samples(provers, sample, Path(tmp))
        stack = deploy_child_stack(
            chain,
            {c: export_solidity_verifier(p.keys) for c, p in provers.items()},
            genesis=sample.checkpoint,
            batch_size=sample.batch_size,
            root_bridge=chain.accounts[0],
        )
        verifiers = [_measure_verifier(chain, c, stack.verifiers[c], proofs[c]) for c in VERIFIER_CIRCUITS]
        first = _submit_header(chain, stack.receiver, proofs["header_update"])
        later = _submit_header(chain, stack.receiver, proofs["next_header"])
        header_update = {
            "first_gas": first,
            "gas": later,
            "goal": HEADER_UPDATE_GOAL,
            "met": later <= HEADER_UPDATE_GOAL,
        }
        header_chain = _measure_header_chain(chain, stack, sample.checkpoint, sample.batch_size)
        batches = _measure_batches(chain, n_public)
    return {
        "chain": chain_kind,
        "preset": PRESET,
        "verifiers": verifiers,
        "header_update": header_update,
        "header_chain": header_chain,
        **batches,
    }


def _prove_samples(provers: Mapping[str, Prover], sample: SampleChain, directory: Path) -> dict[str, ProofResult]:
    # The header update proves the sample header against the sample checkpoint, which is the
    # checkpoint the receiver is deployed with, so submitHeader accepts it; "next_header" is
    # its child, signed by the same committee, for the header update after that.
    committee, following = sample.committee, _next_header(sample)
    inputs = {
        "header_update": build_header_update_inputs(
            trusted=sample.checkpoint, commit=committee.sign(sample.header), validator_set=committee.validator_set
        ),
        "next_header": build_header_update_inputs(
            trusted=sample.header, commit=committee.sign(following), validator_set=committee.validator_set
        ),
        "state_sync": build_sample_inputs("state_sync", PRESET),
        "event_inclusion": build_sample_inputs("event_inclusion", PRESET),
    }
    prover_of = {**provers, "next_header": provers["header_update"]}
    return {name: prover_of[name].prove(circuit_inputs, directory / name) for name, circuit_inputs in inputs.items()}


def _next_header(sample: SampleChain) -> Header:
    parent = sample.header
    return Header(
        chain_id=parent.chain_id,
        number=parent.number + 1,
        parent_hash=compute_header_hash(parent),
        timestamp=parent.timestamp + 12,
        event_root=build_event_tree([], sample.tree.depth).root,  # no events: the empty tree, whose root is not 0
        validator_set_hash=parent.next_validator_set_hash,
        next_validator_set_hash=parent.next_validator_set_hash,
    )


def _measure_verifier(chain: Chain, circuit: str, verifier: Deployed, result: ProofResult) -> dict[str, Any]:
    proof = encode_proof_argument(load_proof(result.proof_path), result.public_signals)
    signals = list(result.public_signals)
    # A snarkjs verifier says false instead of reverting: check the verdict, or the figure
    # could be that of a refusal.
    if call(chain, verifier, "verifyProof", *proof, signals) is not True:
        raise GasBenchError(f"the {circuit} verifier refuses the sample proof")
    receipt = transact(chain, verifier, "verifyProof", *proof, signals, gas=VERIFY_GAS)
    return {
        "circuit": circuit,
        "public_signals": len(signals),
        "gas": receipt.gas_used,
        "rule_of_thumb": SNARKJS_BASE_GAS + SNARKJS_GAS_PER_SIGNAL * len(signals),
    }


def _measure_header_chain(chain: Chain, stack: ChildStack, checkpoint: Header, batch_size: int) -> dict[str, Any]:
    prover = load_prover("header_chain", PRESET)
    verifier = deploy(chain, compile_generated_verifier("header_chain", export_solidity_verifier(prover.keys)))
    others = {c: stack.verifiers[c].address for c in VERIFIER_CIRCUITS if c != "header_update"}
    receiver = deploy_receiver(
        chain,
        {"header_update": verifier.address, **others},
        genesis=checkpoint,
        batch_size=batch_size,
    )
    headers = load_manifest().preset(PRESET)["N"]
    with tempfile.TemporaryDirectory(prefix="bench-gas-") as tmp:
        result = prover.prove(build_sample_inputs("header_chain", PRESET), Path(tmp) / "proof")
        gas = _submit_header(chain, receiver, result)
    return {"headers": headers, "gas": gas, "per_header": gas // headers}


def _submit_header(chain: Chain, receiver: Deployed, result: ProofResult) -> int:
    header = decode_header_signals(result.circuit, result.public_signals)
    proof = encode_proof_argument(load_proof(result.proof_path), result.public_signals)
    receipt = transact(
        chain, receiver, "submitHeader", proof, header.header_hash, header.number, header.event_root, gas=HEADER_GAS
    )
    if len(decode_events(receiver, receipt, "HeaderAccepted")) != 1:
        raise GasBenchError(f"submitHeader succeeded without accepting header {header.number}")
    return receipt.gas_used


def _measure_batches(chain: Chain, n_public: Mapping[str, int]) -> dict[str, Any]:
    opens = {c: build_open_verifier(n) for c, n in n_public.items()}
    verifiers = {c: deploy(chain, compile_open_verifier(v)).address for c, v in opens.items()}
    build = compile_directory()
    noop = deploy(chain, build.get("NoopReceiver"))
    meter = deploy(chain, build.get("GasMeter"))
    bridge = chain.accounts[5]
    data = encode(["address", "uint256"], [chain.accounts[2], 10**18])  # a deposit's payload
    depth = load_manifest().preset("default")["D"]
    noop_gas = _noop_execution_gas(chain, meter, noop, bridge, data)
    rows = []
    with open_prover() as prove:
        for size in BATCH_SIZES:
            receiver = deploy_receiver(
                chain,
                verifiers,
                genesis=BATCH_GENESIS,
                batch_size=size,
            )
            events = [StateSyncEvent(i, int(bridge, 16), int(noop.address, 16), data) for i in range(1, size + 1)]
            header = Header(
                chain_id=BATCH_GENESIS.chain_id,
                number=BATCH_GENESIS.number + 1,
                parent_hash=compute_header_hash(BATCH_GENESIS),
                timestamp=BATCH_GENESIS.timestamp + 12,
                event_root=build_event_tree(events, depth).root,
                validator_set_hash=BATCH_GENESIS.next_validator_set_hash,
                next_validator_set_hash=BATCH_GENESIS.next_validator_set_hash,
            )
            commitment = compute_batch_commitment(header.event_root, events, size)
            head = (compute_header_hash(header), header.number, header.event_root)
            signals = [*head, compute_header_hash(BATCH_GENESIS), commitment.gamma, commitment.commitment]
            (calldata,) = prove(opens["state_sync"], [signals])
            arguments = [event_argument(e) for e in events]
            receipt = transact(chain, receiver, "syncState", proof_argument(calldata), *head, arguments, gas=BATCH_GAS)
            outcomes = [bool(e.args["success"]) for e in decode_events(receiver, receipt, "StateSyncResult")]
            if outcomes != [True] * size:
                raise GasBenchError(f"a batch of {size} to NoopReceiver reported {outcomes}")
            rows.append(_batch_row(size, receipt.gas_used, noop_gas))
    largest = rows[-1]
    return {
        "noop_receiver_gas": noop_gas,
        "batches": rows,
        "per_event_goal": {
            "batch_size": largest["batch_size"],
            "goal": PER_EVENT_GOAL,
            "met": largest["per_event"] <= PER_EVENT_GOAL,
        },
    }


def _noop_execution_gas(chain: Chain, meter: Deployed, noop: Deployed, sender: ChecksumAddress, data: bytes) -> int:
    # The receiver's call to NoopReceiver, from GasMeter: minus the same call to an account
    # without code, what is left is NoopReceiver's own execution.
    message = encode_call(noop.abi, "onStateReceive", [1, sender, data])
    with_code, ok = call(chain, meter, "measure", noop.address, message)
    without_code, _ = call(chain, meter, "measure", chain.accounts[9], message)
    if not ok:
        raise GasBenchError("NoopReceiver.onStateReceive failed under GasMeter")
    return int(with_code - without_code)


def _batch_row(size: int, gas: int, noop_gas: int) -> dict[str, Any]:
    without = gas - size * noop_gas
    return {
        "batch_size": size,
        "gas": gas,
        "receivers_gas": size * noop_gas,
        "gas_without_receivers": without,
        "per_event": round(gas / size),
        "per_event_without_receivers": round(without / size),
        "edge_per_event": EDGE_GAS_PER_EVENT,
    }


def run_exits(chain_kind: ChainKind = "pyevm") -> dict[str, Any]:
    """The exit direction's gas: checkpoint submission, single and batched exits, and flatness."""
    opened = build_open_verifier(5)
    build = compile_directory()
    with open_chain(chain_kind) as chain, open_prover() as prove:
        verifier = deploy(chain, compile_open_verifier(opened))
        exits_stack = deploy_exit_stack(chain, verifier.address, genesis=EXIT_GENESIS)
        helper = exits_stack.exit_helper
        noop = deploy(chain, build.get("NoopL2Receiver"))
        sender = int(chain.accounts[3], 16)
        exits = [ExitEvent(i, sender, int(noop.address, 16), b"\x07" * 32) for i in range(1, 2 * EXIT_BATCH + 1)]

        def submit(parent: Checkpoint, exits: list[ExitEvent]) -> tuple[Checkpoint, int]:
            checkpoint = _next_checkpoint(parent, exits)
            (calldata,) = prove(opened, [checkpoint_signals(checkpoint, compute_checkpoint_hash(parent))])
            receipt = submit_checkpoint(chain, exits_stack, proof_argument(calldata), checkpoint)
            if len(decode_events(exits_stack.checkpoint_manager, receipt, "CheckpointAccepted")) != 1:
                raise GasBenchError(f"submit succeeded without accepting checkpoint {checkpoint.number}")
            return checkpoint, receipt.gas_used

        first, first_gas = submit(EXIT_GENESIS, [])
        checkpoint, later_gas = submit(first, exits)
        tree = build_exit_tree(exits)
        arguments = [exit_argument(checkpoint.number, get_exit_proof(tree, exits, i)) for i in range(len(exits))]

        def executed(receipt_: Any, count: int) -> None:
            outcomes = [bool(e.args["success"]) for e in decode_events(helper, receipt_, "ExitProcessed")]
            if outcomes != [True] * count:
                raise GasBenchError(f"exits to NoopL2Receiver reported {outcomes}")

        singles = []
        for argument in arguments[:EXIT_BATCH]:
            receipt = transact(chain, helper, "exit", *argument, gas=EXIT_GAS)
            executed(receipt, 1)
            singles.append(receipt.gas_used)
        batch = [list(a) for a in arguments[EXIT_BATCH:]]
        receipt = transact(chain, helper, "batchExit", batch, gas=BATCH_GAS)
        executed(receipt, EXIT_BATCH)
        calldata_bytes = len(encode_call(helper.abi, "exit", list(arguments[0])))
        flatness = _measure_exit_flatness(chain, verifier, noop, sender)
        # The real verifier at two set sizes: its cost must not move with V.
        generated = [_measure_generated_checkpoint_submit(chain, preset) for preset in ("test", "default")]
    median = int(statistics.median(singles))
    per_exit = round(receipt.gas_used / EXIT_BATCH)
    return {
        "chain": chain_kind,
        "depth": EXIT_TREE_DEPTH,
        "checkpoint": {
            "first_gas": first_gas,
            "gas": later_gas,
            "goal": CHECKPOINT_GOAL,
            "met": max(first_gas, later_gas) <= CHECKPOINT_GOAL,
            "generated_verifier": generated,
            "edge_4_validators": edge_checkpoint_gas(4, 4),
            "edge_16_validators_11_signing": edge_checkpoint_gas(16, 11),
        },
        "exit": {
            "gas": singles,
            "median": median,
            "first_in_bitmap_word": singles[0],
            "calldata_bytes": calldata_bytes,
            "goal": EXIT_GOAL,
            "met": median <= EXIT_GOAL,
            "edge": EDGE_EXIT_GAS,
            "edge_proxied": EDGE_EXIT_GAS_PROXIED,
            "edge_calldata_bytes": EDGE_EXIT_CALLDATA_BYTES,
        },
        "batch_exit": {
            "size": EXIT_BATCH,
            "gas": receipt.gas_used,
            "per_exit": per_exit,
            "goal": BATCH_EXIT_GOAL,
            "met": per_exit <= BATCH_EXIT_GOAL,
            "edge_per_exit": EDGE_BATCH_EXIT_GAS_PER_EXIT,
        },
        "stored_checkpoints": flatness,
        "limits": run_limits(chain_kind),
    }


def _measure_generated_checkpoint_submit(chain: Chain, preset: str = "test") -> dict[str, Any]:
    """submit with the generated CheckpointUpdate verifier and a real proof of the sample checkpoint.

    The verifier's cost does not depend on V (5 public signals whatever the set's size), so this
    figure at the test preset's V stands for every V; the Open(5) rows measure the same code shape.
    """
    prover = load_prover("checkpoint_update", preset)
    genesis, checkpoint, _, committee = build_sample_checkpoint(preset)
    with tempfile.TemporaryDirectory() as directory:
        result = prover.prove(build_sample_inputs("checkpoint_update", preset), Path(directory) / "proof")
        proof = load_proof(result.proof_path)
    verifier = deploy(chain, compile_generated_verifier("checkpoint_update", export_solidity_verifier(prover.keys)))
    stack = deploy_exit_stack(chain, verifier.address, genesis=genesis)
    receipt = submit_checkpoint(chain, stack, encode_proof_argument(proof, result.public_signals), checkpoint)
    return {"preset": preset, "validators": committee.validator_set.size, "gas": receipt.gas_used}


def _next_checkpoint(parent: Checkpoint, exits: list[ExitEvent]) -> Checkpoint:
    return Checkpoint(
        chain_id=parent.chain_id,
        number=parent.number + 1,
        parent_hash=compute_checkpoint_hash(parent),
        timestamp=parent.timestamp + 12,
        exit_root=compute_exit_root(exits),
        validator_set_hash=parent.next_validator_set_hash,
        next_validator_set_hash=parent.next_validator_set_hash,
    )


def _measure_exit_flatness(chain: Chain, verifier: Deployed, noop: Deployed, sender: int) -> dict[str, Any]:
    # CheckpointManagerHarness stores roots without proofs (1,024 proven submissions take ~25 min on
    # py-evm); an exit reads them with ZkCheckpointManager's own exitRootOf. The same exit (id 2,
    # a bitmap word already written by id 1) under the oldest checkpoint, with 1 and with 1,024
    # stored, and under the newest, whose number costs a calldata byte more.
    build = compile_directory()
    harness = deploy(
        chain,
        build.get("CheckpointManagerHarness"),
        verifier.address,
        compute_checkpoint_hash(EXIT_GENESIS),
        EXIT_GENESIS.number,
    )
    no_guardian = Guardian()
    helper = deploy(
        chain, build.get("ZkExitHelper"), harness.address, no_guardian.address, no_guardian.max_pause_duration
    )
    exits = [ExitEvent(i, sender, int(noop.address, 16), b"\x07" * 32) for i in (1, 2)]
    tree = build_exit_tree(exits)
    oldest = EXIT_GENESIS.number + 1
    first, second = (exit_argument(oldest, get_exit_proof(tree, exits, i)) for i in (0, 1))
    root = tree.root
    transact(chain, harness, "seed", 1, root)
    transact(chain, helper, "exit", *first, gas=EXIT_GAS)

    def exit_gas(number: int) -> int:
        snapshot = chain.snapshot()
        gas = transact(chain, helper, "exit", number, *second[1:], gas=EXIT_GAS).gas_used
        chain.revert_to(snapshot)
        return gas

    with_one = exit_gas(oldest)
    stored = 1
    while stored < STORED_CHECKPOINTS:
        count = min(256, STORED_CHECKPOINTS - stored)
        transact(chain, harness, "seed", count, root, gas=SEED_GAS)
        stored += count
    newest = int(call(chain, harness, "lastNumber"))
    return {
        "with_1": with_one,
        f"with_{STORED_CHECKPOINTS}_oldest": exit_gas(oldest),
        f"with_{STORED_CHECKPOINTS}_newest": exit_gas(newest),
        "edge_extra": EDGE_EXIT_EXTRA_AT_1024_CHECKPOINTS,
    }


def run_limits(chain_kind: ChainKind = "pyevm") -> dict[str, Any]:
    """The samples' rate limits (TokenBucketQueue) and ZkExitHelper's pause, as transactions.

    The bridge callbacks are sent by an account standing in for ZkStateReceiver / ZkExitHelper
    (so the figures are the token's and the bridge's own work, plus 21k and calldata); every
    recipient is a fresh account, as a user's first deposit or withdrawal meets it. One transfer
    is delivered at once from the full bucket, a second empties it, LIMIT_QUEUE more queue behind
    it with one above capacity in the large lane, and after the delay and a full refill the large
    one is released alone and the queue in one call.
    """
    build = compile_directory()
    limit = RateLimit(LIMIT_CAPACITY, LIMIT_REFILL, LIMIT_DELAY)
    with open_chain(chain_kind) as chain:
        courier, root_bridge, child_token = chain.accounts[8], chain.accounts[5], chain.accounts[6]
        token = deploy_child_token(chain, courier, root_bridge, rate_limit=limit)
        sender = deploy(chain, build.get("StateSender"))
        bridge = deploy(chain, build.get("RootBridge"), sender.address, child_token, courier, limit.argument())
        transact(chain, bridge, "deposit", chain.accounts[1], value=10**19, sender=chain.accounts[1])
        fresh = iter(range(1, 10_000))

        def arrive(target: Deployed, function: str, origin: ChecksumAddress, amount: int) -> tuple[int, str]:
            to = to_checksum_address((0xFEE0_0000 + next(fresh)).to_bytes(20, "big"))
            data = encode(["address", "uint256"], [to, amount])
            receipt = transact(chain, target, function, next(fresh), origin, data, sender=courier)
            names = {e.name for e in decode_events(target, receipt)}
            return receipt.gas_used, "queued" if "TransferQueued" in names else "delivered"

        def side(target: Deployed, function: str, origin: ChecksumAddress) -> dict[str, Any]:
            first = arrive(target, function, origin, LIMIT_AMOUNT)  # fills the supply's slot
            at_once = arrive(target, function, origin, LIMIT_AMOUNT)
            drain = arrive(target, function, origin, LIMIT_CAPACITY - 2 * LIMIT_AMOUNT)
            queued = [arrive(target, function, origin, LIMIT_AMOUNT) for _ in range(LIMIT_QUEUE)]
            large = arrive(target, function, origin, 2 * LIMIT_CAPACITY)
            outcomes = [first[1], at_once[1], drain[1], *(q[1] for q in queued), large[1]]
            if outcomes != ["delivered"] * 3 + ["queued"] * (LIMIT_QUEUE + 1):
                raise GasBenchError(f"{target.contract.name}: the bucket did not deliver and queue as measured")
            chain.advance_time(LIMIT_DELAY + LIMIT_CAPACITY // LIMIT_REFILL)  # the large one ripe, the bucket full
            one = transact(chain, target, "releaseQueued", 1, gas=EXIT_GAS)  # the large transfer alone
            rest = transact(chain, target, "releaseQueued", LIMIT_QUEUE, gas=BATCH_GAS)
            if len(decode_events(target, rest, "TransferReleased")) != LIMIT_QUEUE:
                raise GasBenchError(f"{target.contract.name}: releaseQueued did not release the queue")
            return {
                "first_at_once": first[0],
                "at_once": at_once[0],
                "queued": int(statistics.median(q[0] for q in queued)),
                "queued_large": large[0],
                "release_large_alone": one.gas_used,
                f"release_{LIMIT_QUEUE}": rest.gas_used,
                "release_per_item": round(rest.gas_used / LIMIT_QUEUE),
            }

        deposits = side(token, "onStateReceive", root_bridge)
        withdrawals = side(bridge, "onL2StateReceive", child_token)
        # A payee that refuses ether: its withdrawal becomes claimable, then it claims elsewhere.
        payee = deploy(chain, build.get("Payee"))
        transact(chain, payee, "setMode", 1, bridge.address)
        data = encode(["address", "uint256"], [payee.address, LIMIT_AMOUNT])
        chain.advance_time(LIMIT_CAPACITY // LIMIT_REFILL)  # the bucket full again
        credited = transact(chain, bridge, "onL2StateReceive", 10_001, child_token, data, sender=courier)
        if [e.name for e in decode_events(bridge, credited)] != ["WithdrawalClaimable"]:
            raise GasBenchError("a refused payment did not become claimable")
        claim = transact(chain, payee, "claimTo", chain.accounts[9])
        withdrawals["at_once_to_a_refusing_payee"] = credited.gas_used
        withdrawals["claim"] = claim.gas_used
        # The guardian's pause (the verifier only needs code: no proof is checked here).
        verifier = deploy(chain, compile_open_verifier(build_open_verifier(5)))
        guardian = Guardian(chain.accounts[7], 3_600)
        helper = deploy_exit_stack(chain, verifier.address, genesis=EXIT_GENESIS, guardian=guardian).exit_helper
        first = transact(chain, helper, "pause", sender=guardian.address)
        renewal = transact(chain, helper, "pause", sender=guardian.address)
    return {
        "chain": chain_kind,
        "capacity": LIMIT_CAPACITY,
        "amount": LIMIT_AMOUNT,
        "child_token_deposit": deposits,
        "root_bridge_withdrawal": withdrawals,
        "pause": {"first": first.gas_used, "renewal": renewal.gas_used},
    }


# The receiver's safety rails: a short trusting period and pause bound, so the bench moves time
# past them. The bound for a header update with the rails in place; ours is tighter
# (HEADER_UPDATE_GOAL). Both apply to the gas section's submitHeader, which is not measured here.
RAILS_TRUSTING_PERIOD: Final = 3_600
RAILS_MAX_PAUSE: Final = 600
RAILS_HEADER_UPDATE_BOUND: Final = 300_000


@dataclass(frozen=True)
class _RailsRig:
    """Generated verifiers, the rails, and real proofs about one accepted header and its twin."""

    chain: Chain
    verifiers: Mapping[str, ChecksumAddress]
    rails: ReceiverRails
    genesis: Header
    batch_size: int
    batch: tuple[StateSyncEvent, ...]
    proofs: Mapping[str, ProofResult]

    def deploy(self) -> Deployed:
        return deploy_receiver(
            self.chain, self.verifiers, genesis=self.genesis, batch_size=self.batch_size, rails=self.rails
        )

    def genesis_head(self) -> tuple[int, int, int]:
        return (compute_header_hash(self.genesis), self.genesis.number, 0)  # the genesis's event root is 0


def run_rails(chain_kind: ChainKind = "pyevm") -> dict[str, Any]:
    """ZkStateReceiver's rails with the generated verifiers and real proofs at the test preset.

    The accepted header is the sample header with its events sent to NoopReceiver (so executed
    batches succeed instead of storing failures); its twin has the same events and a timestamp one
    second later: another final header at number 1, against the same checkpoint.
    """
    provers = {c: load_prover(c, PRESET) for c in VERIFIER_CIRCUITS}
    sample = build_sample_chain(PRESET)
    with tempfile.TemporaryDirectory(prefix="bench-gas-") as tmp, open_chain(chain_kind) as chain:
        noop = deploy(chain, compile_directory().get("NoopReceiver"))
        events = tuple(dataclasses.replace(e, receiver=int(noop.address, 16)) for e in sample.events)
        accepted = dataclasses.replace(sample.header, event_root=build_event_tree(events, sample.tree.depth).root)
        conflicting = dataclasses.replace(accepted, timestamp=accepted.timestamp + 1)
        verifiers = {
            c: deploy(chain, compile_generated_verifier(c, export_solidity_verifier(p.keys)))
            for c, p in provers.items()
        }
        rig = _RailsRig(
            chain,
            {c: v.address for c, v in verifiers.items()},
            ReceiverRails(chain.accounts[6], chain.accounts[7], RAILS_TRUSTING_PERIOD, RAILS_MAX_PAUSE),
            sample.checkpoint,
            sample.batch_size,
            events[: sample.batch_size],
            _prove_rails(provers, sample, (accepted, conflicting), events, Path(tmp)),
        )
        figures = {**_measure_freeze_with_header(rig), **_measure_freeze_with_state_sync(rig), **_measure_pause(rig)}
    return {
        "chain": chain_kind,
        "preset": PRESET,
        "batch_size": sample.batch_size,
        "trusting_period": RAILS_TRUSTING_PERIOD,
        "max_pause_duration": RAILS_MAX_PAUSE,
        **figures,
        "header_update_goal": HEADER_UPDATE_GOAL,
        "header_update_bound": RAILS_HEADER_UPDATE_BOUND,
    }


def _prove_rails(
    provers: Mapping[str, Prover],
    sample: SampleChain,
    headers: tuple[Header, Header],
    events: tuple[StateSyncEvent, ...],
    directory: Path,
) -> dict[str, ProofResult]:
    # Both headers against the receiver's genesis (the sample checkpoint), each by HeaderUpdate
    # and by StateSync (with the first batch of the same events): "accepted" and "sync" make the
    # first header the checkpoint, "evidence" and "sync_evidence" prove its twin.
    committee, shape = sample.committee, event_shape(PRESET)

    def header_update(header: Header) -> Inputs:
        return build_header_update_inputs(
            trusted=sample.checkpoint, commit=committee.sign(header), validator_set=committee.validator_set
        )

    def state_sync(header: Header) -> Inputs:
        return build_state_sync_inputs(
            shape=shape,
            trusted=sample.checkpoint,
            commit=committee.sign(header),
            validator_set=committee.validator_set,
            header_events=events,
            batch=events[: sample.batch_size],
        )

    accepted, conflicting = headers
    inputs = {
        "accepted": ("header_update", header_update(accepted)),
        "evidence": ("header_update", header_update(conflicting)),
        "sync": ("state_sync", state_sync(accepted)),
        "sync_evidence": ("state_sync", state_sync(conflicting)),
    }
    return {name: provers[c].prove(circuit_inputs, directory / name) for name, (c, circuit_inputs) in inputs.items()}


def _head(result: ProofResult) -> tuple[int, int, int]:
    header = decode_header_signals(result.circuit, result.public_signals)
    return (header.header_hash, header.number, header.event_root)


def _proof(result: ProofResult) -> ProofArgument:
    return encode_proof_argument(load_proof(result.proof_path), result.public_signals)


def _emitted(receiver: Deployed, receipt: Receipt, name: str, what: str) -> None:
    if len(decode_events(receiver, receipt, name)) != 1:
        raise GasBenchError(f"{what} succeeded without emitting {name}")


def _measure_freeze_with_header(rig: _RailsRig) -> dict[str, int]:
    receiver = rig.deploy()
    accepted, evidence = rig.proofs["accepted"], rig.proofs["evidence"]
    _submit_header(rig.chain, receiver, accepted)
    receipt = transact(
        rig.chain,
        receiver,
        "freezeWithHeader",
        _proof(evidence),
        _head(evidence),
        _head(accepted),
        rig.genesis_head(),
        gas=HEADER_GAS,
    )
    _emitted(receiver, receipt, "Frozen", "freezeWithHeader")
    # Governance names the accepted header as the new genesis (the canonical one, say).
    return {"freeze_with_header": receipt.gas_used, "recover_after_freeze": _recover(rig, receiver, accepted, 0)}


def _measure_freeze_with_state_sync(rig: _RailsRig) -> dict[str, int]:
    receiver = rig.deploy()
    accepted, evidence = rig.proofs["accepted"], rig.proofs["sync_evidence"]
    _submit_header(rig.chain, receiver, accepted)
    signals = decode_signals(evidence.circuit, evidence.public_signals)
    if not isinstance(signals, StateSyncSignals):
        raise GasBenchError(f"the {evidence.circuit} evidence carries no batch")
    receipt = transact(
        rig.chain,
        receiver,
        "freezeWithStateSync",
        _proof(evidence),
        _head(evidence),
        _head(accepted),
        rig.genesis_head(),
        signals.gamma,
        signals.events_commitment,
        gas=HEADER_GAS,
    )
    _emitted(receiver, receipt, "Frozen", "freezeWithStateSync")
    return {"freeze_with_state_sync": receipt.gas_used}


def _recover(rig: _RailsRig, receiver: Deployed, genesis: ProofResult, last_executed_id: int) -> int:
    header_hash, number, _ = _head(genesis)
    receipt = transact(
        rig.chain, receiver, "recover", header_hash, number, last_executed_id, sender=rig.rails.governance
    )
    _emitted(receiver, receipt, "Recovered", "recover")
    return receipt.gas_used


def _measure_pause(rig: _RailsRig) -> dict[str, int]:
    """pause, syncState while paused, its batch after the pause, and recover after an expiry."""
    chain, sync = rig.chain, rig.proofs["sync"]
    batch = [event_argument(e) for e in rig.batch]
    head, linked = _head(sync), compute_header_hash(rig.genesis)
    unpaused = _sync_state(rig, rig.deploy(), sync, batch)  # the same batch at once, for comparison
    receiver = rig.deploy()
    first = transact(chain, receiver, "pause", sender=rig.rails.guardian)
    _emitted(receiver, first, "Paused", "pause")
    paused = _sync_state(rig, receiver, sync, batch)
    chain.advance_time(RAILS_MAX_PAUSE // 2)
    renewal = transact(chain, receiver, "pause", sender=rig.rails.guardian)
    _emitted(receiver, renewal, "Paused", "pause (renewal)")
    chain.advance_time(RAILS_MAX_PAUSE + 1)
    resumed = transact(chain, receiver, "executeStateSync", _proof(sync), *head, linked, batch, gas=BATCH_GAS)
    _executed(receiver, resumed, len(batch))
    chain.advance_time(RAILS_TRUSTING_PERIOD + 1)
    if call(chain, receiver, "expired") is not True:
        raise GasBenchError("the receiver did not expire after its trusting period")
    return {
        "pause_first": first.gas_used,
        "pause_renewal": renewal.gas_used,
        "sync_state_paused": paused,
        "execute_state_sync_after_pause": resumed.gas_used,
        "sync_state_unpaused": unpaused,
        "recover_after_expiry": _recover(rig, receiver, sync, len(batch)),
    }


def _sync_state(rig: _RailsRig, receiver: Deployed, sync: ProofResult, batch: list[Any]) -> int:
    """syncState of the first batch: executed at once, or only its header accepted while paused."""
    receipt = transact(rig.chain, receiver, "syncState", _proof(sync), *_head(sync), batch, gas=BATCH_GAS)
    _emitted(receiver, receipt, "HeaderAccepted", "syncState")
    paused = call(rig.chain, receiver, "paused") is True
    _executed(receiver, receipt, 0 if paused else len(batch))
    if call(rig.chain, receiver, "lastExecutedId") != (0 if paused else len(batch)):
        raise GasBenchError(f"syncState ({'paused' if paused else 'unpaused'}) moved lastExecutedId wrongly")
    return receipt.gas_used


def _executed(receiver: Deployed, receipt: Receipt, count: int) -> None:
    outcomes = [bool(e.args["success"]) for e in decode_events(receiver, receipt, "StateSyncResult")]
    if outcomes != [True] * count:
        raise GasBenchError(f"a batch to NoopReceiver reported {outcomes}, expected {count} successes")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    sections = {"exits": run_exits, "limits": run_limits, "rails": run_rails}
    chosen = [a for a in arguments if a in sections]
    kinds = [a for a in arguments if a not in sections]
    kind = parse_chain_kind(kinds[0] if kinds else "pyevm")
    json.dump(sections[chosen[0]](kind) if chosen else run(kind), sys.stdout, indent=2)
    print()
