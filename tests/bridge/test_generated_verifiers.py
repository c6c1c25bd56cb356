"""The receiver's snarkjs verifiers: kept as generated, deployed as compiled, agreeing with Python.

Nothing may edit a generated verifier between `snarkjs zkey export solidityverifier` and the
chain. So each verifier of the test preset is generated again from its cached zkey and compared
byte for byte with the cached copy that deploy_child_stack deploys, and the code py-evm holds at
the deployed address is compared with the compiled runtime of the fresh copy. Then the real
state_sync verifier and the Python verifier (verifier/groth16.py) are given an honest proof and
the same proof with each public signal moved by 1 and by r, and must agree on every one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from bridge.chain.chains import Chain, open_chain
from bridge.chain.deploy import TransactionReverted, call, deploy
from bridge.chain.stack import (
    DEPLOYED_CIRCUITS,
    EXIT_CIRCUIT,
    VERIFIER_CIRCUITS,
    ChildStack,
    checkpoint_signals,
    compile_generated_verifier,
    deploy_child_stack,
    deploy_exit_stack,
    encode_proof_argument,
    submit_checkpoint,
)
from bridge.proving import CheckedProof, prove_checked
from prover.prove import Prover, load_prover
from prover.samples import build_sample_chain, build_sample_checkpoint, build_sample_inputs
from prover.setup import export_solidity_verifier
from prover.toolchain import run_snarkjs
from prover.warm import BACKENDS, Backend
from statesync.field import R
from statesync.model import compute_checkpoint_hash
from verifier.errors import PublicInputError, Reason
from verifier.groth16 import verify, verify_proof

PRESET = "test"
# headerHash, number, eventRoot (outputs first), then trustedHeaderHash, gamma, eventsCommitment.
STATE_SYNC_SIGNALS = 6


@pytest.fixture(scope="module")
def provers() -> dict[str, Prover]:
    return {c: load_prover(c, PRESET) for c in DEPLOYED_CIRCUITS}


@pytest.fixture(scope="module")
def regenerated(provers: Mapping[str, Prover], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("regenerated")
    sources = {}
    for circuit, prover in provers.items():
        sources[circuit] = directory / f"{circuit}.sol"
        run_snarkjs(["zkey", "export", "solidityverifier", prover.keys.zkey, sources[circuit]])
    return sources


@pytest.fixture(scope="module")
def deployed(provers: Mapping[str, Prover]) -> Iterator[tuple[Chain, ChildStack]]:
    sample = build_sample_chain(PRESET)
    with open_chain("pyevm") as chain:
        stack = deploy_child_stack(
            chain,
            {c: export_solidity_verifier(p.keys) for c, p in provers.items()},
            genesis=sample.checkpoint,
            batch_size=sample.batch_size,
            root_bridge=chain.accounts[0],
        )
        yield chain, stack


@pytest.fixture(scope="module")
def honest(provers: Mapping[str, Prover], tmp_path_factory: pytest.TempPathFactory) -> CheckedProof:
    inputs = build_sample_inputs("state_sync", PRESET)
    return prove_checked(provers["state_sync"], inputs, tmp_path_factory.mktemp("proof") / "state_sync")


@pytest.mark.parametrize("circuit", DEPLOYED_CIRCUITS)
def test_the_cached_verifier_is_byte_for_byte_what_snarkjs_generates(
    provers: Mapping[str, Prover], regenerated: Mapping[str, Path], circuit: str
) -> None:
    cached = export_solidity_verifier(provers[circuit].keys)
    fresh = regenerated[circuit]
    if cached.read_bytes() != fresh.read_bytes():
        diff = difflib.unified_diff(
            fresh.read_text().splitlines(), cached.read_text().splitlines(), "generated", str(cached), lineterm=""
        )
        pytest.fail("the cached verifier differs from snarkjs's output:\n" + "\n".join(list(diff)[:60]))


@pytest.mark.parametrize("circuit", VERIFIER_CIRCUITS)
def test_the_deployed_verifier_runs_the_compiled_generated_source(
    deployed: tuple[Chain, ChildStack], regenerated: Mapping[str, Path], circuit: str
) -> None:
    chain, stack = deployed
    on_chain = bytes(chain.web3.eth.get_code(stack.verifiers[circuit].address))
    # A snarkjs verifier has no immutables: its code on chain is solc's runtime, unpatched.
    assert on_chain == compile_generated_verifier(circuit, regenerated[circuit]).deployed_bytecode


def verify_on_chain(deployed: tuple[Chain, ChildStack], result: CheckedProof, signals: list[int]) -> object:
    chain, stack = deployed
    a, b, c = encode_proof_argument(result.proof, result.values)
    return call(chain, stack.verifiers["state_sync"], "verifyProof", a, b, c, signals)


def test_an_honest_proof_verifies_on_chain_and_in_python(
    deployed: tuple[Chain, ChildStack], provers: Mapping[str, Prover], honest: CheckedProof
) -> None:
    key = honest.key.key
    assert len(honest.values) == STATE_SYNC_SIGNALS
    assert verify_on_chain(deployed, honest, list(honest.values)) is True
    assert verify_proof(key, honest.proof, honest.values) is True
    assert verify(key, honest.result.proof_path, honest.result.public_path) is True


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backends_proof_verifies_on_chain(
    deployed: tuple[Chain, ChildStack], provers: Mapping[str, Prover], backend: Backend, tmp_path: Path
) -> None:
    inputs = build_sample_inputs("state_sync", PRESET)
    result = prove_checked(provers["state_sync"], inputs, tmp_path / backend, backend=backend)
    assert verify_on_chain(deployed, result, list(result.values)) is True
    moved = [result.values[0] + 1, *result.values[1:]]
    assert verify_on_chain(deployed, result, moved) is False


@pytest.mark.parametrize("index", range(STATE_SYNC_SIGNALS))
def test_a_signal_plus_one_is_refused_on_chain_and_in_python(
    deployed: tuple[Chain, ChildStack], provers: Mapping[str, Prover], honest: CheckedProof, index: int
) -> None:
    key = honest.key.key
    signals = list(honest.values)
    signals[index] += 1
    assert verify_on_chain(deployed, honest, signals) is False
    assert verify_proof(key, honest.proof, signals) is False
    assert verify(key, honest.result.proof_path, [str(s) for s in signals]) is False


@pytest.mark.parametrize("index", range(STATE_SYNC_SIGNALS))
def test_a_signal_plus_r_is_refused_on_chain_and_in_python(
    deployed: tuple[Chain, ChildStack], provers: Mapping[str, Prover], honest: CheckedProof, index: int
) -> None:
    # The same field element, written >= r: snarkjs 0.7.0-0.7.3 verifiers accepted it.
    key = honest.key.key
    signals = list(honest.values)
    signals[index] += R
    assert verify_on_chain(deployed, honest, signals) is False
    with pytest.raises(PublicInputError) as refused:
        verify_proof(key, honest.proof, signals)
    assert refused.value.reason is Reason.OUT_OF_RANGE
    assert verify(key, honest.result.proof_path, [str(s) for s in signals]) is False


def test_the_real_checkpoint_verifier_under_the_manager_accepts_its_proof_and_nothing_else(
    provers: Mapping[str, Prover], tmp_path: Path
) -> None:
    # The contract tests use Open(5); here the generated CheckpointUpdate verifier itself, with a
    # proof of the sample checkpoint (prover/samples.py), on py-evm.
    genesis, checkpoint, _, _ = build_sample_checkpoint(PRESET)
    checked = prove_checked(provers[EXIT_CIRCUIT], build_sample_inputs(EXIT_CIRCUIT, PRESET), tmp_path / "checkpoint")
    assert tuple(checked.values) == checkpoint_signals(checkpoint, compute_checkpoint_hash(genesis))
    source = export_solidity_verifier(provers[EXIT_CIRCUIT].keys)
    with open_chain("pyevm") as chain:
        verifier = deploy(chain, compile_generated_verifier(EXIT_CIRCUIT, source))
        exits = deploy_exit_stack(chain, verifier.address, genesis=genesis)
        argument = encode_proof_argument(checked.proof, checked.values)
        # The same proof for another exit root (one bit of the low limb, or of the high one).
        for flipped in (1, 1 << 200):
            with pytest.raises(TransactionReverted) as caught:
                submit_checkpoint(chain, exits, argument, replace(checkpoint, exit_root=checkpoint.exit_root ^ flipped))
            assert caught.value.reason.name == "ZkCheckpointManager__InvalidProof"
        assert submit_checkpoint(chain, exits, argument, checkpoint).success
        stored = call(chain, exits.checkpoint_manager, "exitRootOf", checkpoint.number)
        assert int.from_bytes(stored, "big") == checkpoint.exit_root
        with pytest.raises(TransactionReverted) as replayed:
            submit_checkpoint(chain, exits, argument, checkpoint)
        assert replayed.value.reason.name == "ZkCheckpointManager__NumberNotRising"
