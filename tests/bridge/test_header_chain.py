"""HeaderChain proofs: one proof carries a client (Python or contract) across N headers and a rotation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bridge.chain.chains import Chain
from bridge.chain.deploy import Deployed, TransactionReverted, call, deploy, transact
from bridge.chain.stack import compile_generated_verifier, deploy_receiver, encode_proof_argument
from bridge.proving import CheckedProof, circuit_key, prove_checked
from prover.inputs import build_header_chain_inputs
from prover.prove import Prover, load_prover
from prover.samples import build_sample_header_chain
from prover.setup import export_solidity_verifier
from prover.witness import WitnessError
from statesync.circuits import load_manifest
from statesync.committee import Committee
from statesync.model import AnyCommit, Header, compute_header_hash
from verifier.light_client import LightClientError, apply_header_proof, initial_state
from verifier.signals import HeaderSignals, decode_header_signals

pytestmark = pytest.mark.slow  # header_chain's keys at the test preset: about two minutes

PRESET = "test"
Sample = tuple[Header, tuple[AnyCommit, ...], tuple[Committee, ...]]


def header_of(commit: AnyCommit) -> Header:
    """The commit's rootchain header (a header chain holds no checkpoints)."""
    assert isinstance(commit.header, Header)
    return commit.header


@pytest.fixture(scope="module")
def sample() -> Sample:
    return build_sample_header_chain(PRESET)


@pytest.fixture(scope="module")
def chain_prover() -> Prover:
    return load_prover("header_chain", PRESET)


@pytest.fixture(scope="module")
def chain_proof(sample: Sample, chain_prover: Prover, tmp_path_factory: pytest.TempPathFactory) -> CheckedProof:
    checkpoint, commits, signers = sample
    inputs = build_header_chain_inputs(
        trusted=checkpoint, commits=commits, validator_sets=[s.validator_set for s in signers]
    )
    return prove_checked(chain_prover, inputs, tmp_path_factory.mktemp("chain") / "proof")


def header_signals(proof: CheckedProof) -> HeaderSignals:
    return decode_header_signals(proof.key.circuit, proof.values)


def test_the_sample_chain_rotates_the_set_on_the_way(sample: Sample) -> None:
    checkpoint, commits, _ = sample
    assert len(commits) >= 2
    assert header_of(commits[0]).validator_set_hash == checkpoint.next_validator_set_hash
    assert header_of(commits[-1]).validator_set_hash != checkpoint.validator_set_hash


def test_the_compiled_circuit_will_not_prove_a_skipped_header_with_events(
    sample: Sample, chain_prover: Prover, tmp_path: Path
) -> None:
    # At --O2 the empty root is a constant folded into the header hash; the witness
    # calculator's check still refuses another root before any proof is made.
    checkpoint, commits, signers = sample
    first, *rest = (header_of(c) for c in commits)
    headers = [replace(first, event_root=header_of(commits[-1]).event_root)]
    for header in rest:
        headers.append(replace(header, parent_hash=compute_header_hash(headers[-1])))
    resigned = [signer.sign(h) for signer, h in zip(signers, headers, strict=True)]
    inputs = build_header_chain_inputs(
        trusted=checkpoint, commits=resigned, validator_sets=[s.validator_set for s in signers]
    )
    with pytest.raises(WitnessError, match="template HeaderChain"):
        chain_prover.prove(inputs, tmp_path / "proof")


def test_one_proof_moves_the_light_client_across_the_chain(sample: Sample, chain_proof: CheckedProof) -> None:
    checkpoint, commits, _ = sample
    last = header_of(commits[-1])
    signals = header_signals(chain_proof)
    state = apply_header_proof(initial_state(checkpoint), chain_proof.key, chain_proof.proof, signals, last)
    assert state.checkpoint == last and state.validator_set_hash == last.next_validator_set_hash
    assert state.proven_roots == {compute_header_hash(last): (last.number, last.event_root)}
    # The proof names only the last header: an intermediate one does not match it.
    with pytest.raises(LightClientError, match="does not match"):
        first = header_of(commits[0])
        apply_header_proof(initial_state(checkpoint), chain_proof.key, chain_proof.proof, signals, first)


def test_a_header_update_key_does_not_accept_a_chain_proof(sample: Sample, chain_proof: CheckedProof) -> None:
    checkpoint, commits, _ = sample
    update_key = circuit_key(load_prover("header_update", PRESET))
    with pytest.raises(LightClientError, match="does not verify"):
        last = header_of(commits[-1])
        apply_header_proof(initial_state(checkpoint), update_key, chain_proof.proof, header_signals(chain_proof), last)


@pytest.fixture(scope="module")
def catching_up_receiver(chain: Chain, sample: Sample, chain_prover: Prover) -> Deployed:
    """A ZkStateReceiver whose header verifier is HeaderChain's: same 4 signals, no contract change.

    `chain` is the contract tests' fixture (tests/verifier/conftest.py): py-evm, and anvil.
    """
    checkpoint = sample[0]
    # The receiver's role on the left, the circuit whose verifier fills it on the right.
    roles = {"header_update": "header_chain", "state_sync": "state_sync", "event_inclusion": "event_inclusion"}
    addresses = {}
    for role, circuit in roles.items():
        source = export_solidity_verifier(load_prover(circuit, PRESET).keys)
        addresses[role] = deploy(chain, compile_generated_verifier(circuit, source)).address
    return deploy_receiver(
        chain,
        addresses,
        genesis=checkpoint,
        batch_size=load_manifest().preset(PRESET)["B"],
    )


def test_a_receiver_with_the_chain_verifier_catches_up_in_one_transaction(
    chain: Chain, sample: Sample, chain_proof: CheckedProof, catching_up_receiver: Deployed
) -> None:
    last = header_of(sample[1][-1])
    argument = encode_proof_argument(chain_proof.proof, chain_proof.values)
    snapshot = chain.snapshot()
    try:
        forged_root = replace(last, event_root=last.event_root + 1)
        with pytest.raises(TransactionReverted) as refused:
            transact(
                chain,
                catching_up_receiver,
                "submitHeader",
                argument,
                compute_header_hash(forged_root),
                last.number,
                forged_root.event_root,
            )
        assert refused.value.reason.name == "ZkStateReceiver__InvalidProof"
        receipt = transact(
            chain,
            catching_up_receiver,
            "submitHeader",
            argument,
            compute_header_hash(last),
            last.number,
            last.event_root,
        )
        assert receipt.gas_used < 300_000
        assert call(chain, catching_up_receiver, "trustedHeaderHash") == compute_header_hash(last)
        accepted = (compute_header_hash(last), last.number, last.event_root)
        assert call(chain, catching_up_receiver, "isAccepted", *accepted) is True
    finally:
        chain.revert_to(snapshot)
