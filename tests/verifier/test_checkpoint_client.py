"""The exit direction's light client: checkpoints move only with verified proofs, each exit runs once."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from prover.inputs import build_checkpoint_update_inputs
from prover.prove import load_prover
from prover.samples import build_sample_checkpoint
from statesync.exits import ExitEvent, build_exit_tree, encode_exit, get_exit_proof
from statesync.model import Checkpoint, compute_checkpoint_hash
from verifier.checkpoint_client import (
    CheckpointClientState,
    apply_checkpoint_proof,
    apply_exit,
    initial_checkpoint_state,
    load_checkpoint_state,
    save_checkpoint_state,
    validate_checkpoint_proof,
)
from verifier.groth16 import Proof, load_proof
from verifier.keys import CircuitKey, load_circuit_key
from verifier.light_client import LightClientError, StateFileError
from verifier.signals import CheckpointSignals, decode_signals

PRESET = "test"
Scene = tuple[Checkpoint, Checkpoint, tuple[ExitEvent, ...]]


@pytest.fixture(scope="module")
def scene() -> Scene:
    genesis, checkpoint, exits, _ = build_sample_checkpoint(PRESET)
    return genesis, checkpoint, exits


@pytest.fixture(scope="module")
def proven(tmp_path_factory: pytest.TempPathFactory) -> tuple[CircuitKey, Proof, CheckpointSignals]:
    genesis, checkpoint, _, committee = build_sample_checkpoint(PRESET)
    prover = load_prover("checkpoint_update", PRESET)
    inputs = build_checkpoint_update_inputs(
        trusted=genesis, commit=committee.sign(checkpoint, {2, 3}), validator_set=committee.validator_set
    )
    result = prover.prove(inputs, tmp_path_factory.mktemp("checkpoint") / "proof")
    signals = decode_signals("checkpoint_update", result.public_signals)
    assert isinstance(signals, CheckpointSignals)
    key = load_circuit_key(prover.keys.verification_key, "checkpoint_update", PRESET)
    return key, load_proof(result.proof_path), signals


@pytest.fixture
def accepted(scene: Scene, proven: tuple[CircuitKey, Proof, CheckpointSignals]) -> CheckpointClientState:
    genesis, checkpoint, _ = scene
    return apply_checkpoint_proof(initial_checkpoint_state(genesis), *proven, checkpoint)


def test_a_proven_checkpoint_is_accepted_with_its_exit_root(scene: Scene, accepted: CheckpointClientState) -> None:
    _, checkpoint, _ = scene
    assert accepted.checkpoint == checkpoint
    assert accepted.exit_roots == {checkpoint.number: checkpoint.exit_root}


def test_checkpoint_refusals(
    scene: Scene, proven: tuple[CircuitKey, Proof, CheckpointSignals], accepted: CheckpointClientState
) -> None:
    genesis, checkpoint, _ = scene
    key, proof, signals = proven
    state = initial_checkpoint_state(genesis)
    cases = {
        "another checkpoint": (initial_checkpoint_state(replace(genesis, timestamp=1)), signals, checkpoint),
        "does not match": (state, signals, replace(checkpoint, exit_root=checkpoint.exit_root ^ 1)),
        "does not exceed": (accepted, replace(signals, trusted_checkpoint_hash=accepted.checkpoint_hash), checkpoint),
    }
    for message, (start, claimed, given) in cases.items():
        with pytest.raises(LightClientError, match=message):
            validate_checkpoint_proof(start, key, proof, claimed, given)
    # A proof of other public signals: the same checkpoint claimed under a forged exit root.
    forged_root = checkpoint.exit_root ^ (1 << 200)
    forged = replace(checkpoint, exit_root=forged_root)
    forged_signals = replace(
        signals, checkpoint_hash=compute_checkpoint_hash(forged), exit_root_high=forged_root >> 128
    )
    with pytest.raises(LightClientError, match="does not verify"):
        validate_checkpoint_proof(state, key, proof, forged_signals, forged)
    with pytest.raises(LightClientError, match="cannot check"):
        validate_checkpoint_proof(state, replace(key, circuit="header_update"), proof, signals, checkpoint)


def test_an_exit_runs_once_and_only_with_its_proof(scene: Scene, accepted: CheckpointClientState) -> None:
    _, checkpoint, exits = scene
    tree = build_exit_tree(exits)
    proof = get_exit_proof(tree, exits, 1)
    done = apply_exit(accepted, checkpoint.number, proof)
    assert done.processed_exits == {exits[1].id}
    with pytest.raises(LightClientError, match="processed already"):
        apply_exit(done, checkpoint.number, proof)
    with pytest.raises(LightClientError, match="no checkpoint at number"):
        apply_exit(accepted, checkpoint.number + 1, proof)
    with pytest.raises(LightClientError, match="not in checkpoint"):
        apply_exit(accepted, checkpoint.number, replace(proof, leaf_index=0))
    moved = encode_exit(replace(exits[1], receiver=exits[1].receiver + 1))
    with pytest.raises(LightClientError, match="not in checkpoint"):
        apply_exit(accepted, checkpoint.number, replace(proof, unhashed_leaf=moved))
    with pytest.raises(LightClientError, match="not an encoded exit"):
        apply_exit(accepted, checkpoint.number, replace(proof, unhashed_leaf=proof.unhashed_leaf[:-32]))
    # Dirty upper bits in the sender word: the same decoded exit, but not its one encoding.
    dirty = bytearray(proof.unhashed_leaf)
    dirty[32] = 1
    with pytest.raises(LightClientError, match="canonical|not an encoded exit"):
        apply_exit(accepted, checkpoint.number, replace(proof, unhashed_leaf=bytes(dirty)))


def test_state_survives_a_restart_and_a_damaged_file_is_refused(
    scene: Scene, accepted: CheckpointClientState, tmp_path: Path
) -> None:
    _, checkpoint, exits = scene
    state = apply_exit(accepted, checkpoint.number, get_exit_proof(build_exit_tree(exits), exits, 0))
    path = tmp_path / "checkpoints.json"
    save_checkpoint_state(path, state)
    assert load_checkpoint_state(path) == state
    document = json.loads(path.read_text())
    document["state"]["processed_exits"] = []
    path.write_text(json.dumps(document))
    with pytest.raises(StateFileError, match="checksum"):
        load_checkpoint_state(path)
    with pytest.raises(StateFileError, match="no checkpoint state"):
        load_checkpoint_state(tmp_path / "missing.json")
