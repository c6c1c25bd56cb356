"""CheckpointUpdate(V): honest checkpoints pass; every way of faking finality or the link is refused.

The exit direction's twin of test_header_update.py: the same quorum and link rules, over a
10-field checkpoint whose keccak exit root enters as two 128-bit limbs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from prover.inputs import build_checkpoint_update_inputs
from prover.testing import CircuitTester
from statesync.babyjub import SUBORDER
from statesync.committee import Committee, generate_committee
from statesync.eddsa import sign_poseidon
from statesync.errors import FieldError
from statesync.exits import ExitEvent, compute_exit_root
from statesync.field import R
from statesync.model import (
    Checkpoint,
    SigningPurpose,
    compute_checkpoint_hash,
    compute_signing_message,
    validate_header_update,
)
from statesync.poseidon import poseidon

from .conftest import POWERS, V

CHILD_CHAIN_ID = 1002


@dataclass(frozen=True)
class Scene:
    committee: Committee
    genesis: Checkpoint
    checkpoint: Checkpoint


def build_scene(committee: Committee | None = None, *, next_set_hash: int | None = None) -> Scene:
    committee = committee or generate_committee(POWERS[:V], V, seed=b"child chain")
    genesis = Checkpoint(
        chain_id=CHILD_CHAIN_ID,
        number=0,
        parent_hash=0,
        timestamp=1_700_000_000,
        exit_root=compute_exit_root(()),
        validator_set_hash=committee.set_hash,
        next_validator_set_hash=committee.set_hash,
    )
    exits = [ExitEvent(i, 0xAB, 0xCD, b"withdraw %d" % i) for i in (1, 2, 3)]
    checkpoint = Checkpoint(
        chain_id=CHILD_CHAIN_ID,
        number=64,
        parent_hash=compute_checkpoint_hash(genesis),
        timestamp=1_700_000_128,
        exit_root=compute_exit_root(exits),
        validator_set_hash=committee.set_hash,
        next_validator_set_hash=committee.set_hash if next_set_hash is None else next_set_hash,
        block_hash=2**255 + 12345,
    )
    return Scene(committee, genesis, checkpoint)


@pytest.fixture(scope="module")
def circuit(manifest_tester: Callable[[str], CircuitTester]) -> CircuitTester:
    return manifest_tester("checkpoint_update")


@pytest.fixture(scope="module")
def scene() -> Scene:
    return build_scene()


def honest_inputs(s: Scene, signers: set[int] | None = None) -> dict[str, Any]:
    return build_checkpoint_update_inputs(
        trusted=s.genesis, commit=s.committee.sign(s.checkpoint, signers), validator_set=s.committee.validator_set
    )


def expected_outputs(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "checkpointHash": compute_checkpoint_hash(checkpoint),
        "number": checkpoint.number,
        "exitRootHigh": checkpoint.exit_root >> 128,
        "exitRootLow": checkpoint.exit_root & (2**128 - 1),
    }


def test_honest_checkpoint_passes_with_reference_outputs(circuit: CircuitTester, scene: Scene) -> None:
    # The model accepts it too: the circuit and the reference agree on the statement.
    commit = scene.committee.sign(scene.checkpoint, {0, 1})
    validate_header_update(trusted=scene.genesis, commit=commit, validator_set=scene.committee.validator_set)
    circuit.expect_pass(honest_inputs(scene), expected_outputs(scene.checkpoint))
    circuit.expect_pass(honest_inputs(scene, {0, 1}), expected_outputs(scene.checkpoint))  # 70 of 100


def test_at_or_below_two_thirds_is_refused(circuit: CircuitTester, scene: Scene) -> None:
    equal = build_scene(generate_committee([1, 1, 1], V, seed=b"equal"))
    circuit.expect_pass(honest_inputs(equal, {0, 1, 2}), expected_outputs(equal.checkpoint))
    circuit.expect_fail_all(
        [
            honest_inputs(equal, {0, 1}),  # exactly 2/3
            honest_inputs(scene, {0, 2}),  # 60 of 100
            honest_inputs(scene, set()),
        ]
    )
    doubled = honest_inputs(scene, {0, 2})
    doubled["signed"][0] = 2  # counting 40 twice would reach 100
    circuit.expect_fail(doubled)


def test_forged_or_foreign_signatures_are_refused(circuit: CircuitTester, scene: Scene) -> None:
    bumped = honest_inputs(scene, {0, 1})
    bumped["sigS"][0] = (bumped["sigS"][0] + 1) % SUBORDER
    large = honest_inputs(scene, {0, 1})
    large["sigS"][0] += SUBORDER  # S >= l, even if the equation holds for S - l
    moved = honest_inputs(scene, {0, 1})
    moved["sigR8"][1] = honest_inputs(scene, {0, 1, 2})["sigR8"][2]
    # Signatures by the same keys on the same checkpoint hash, but for the header purpose.
    as_header = honest_inputs(scene, {0, 1})
    header_message = compute_signing_message(scene.checkpoint, SigningPurpose.HEADER)
    signatures = [sign_poseidon(k, header_message) for k in scene.committee.private_keys[:2]]
    as_header["sigR8"][:2] = [[s.r8[0], s.r8[1]] for s in signatures]
    as_header["sigS"][:2] = [s.s for s in signatures]
    circuit.expect_fail_all([bumped, large, moved, as_header])


def test_wrong_set_and_wrong_link_are_refused(circuit: CircuitTester, scene: Scene) -> None:
    impostors = generate_committee(POWERS[:V], V, seed=b"impostors")
    forged = build_checkpoint_update_inputs(
        trusted=scene.genesis, commit=impostors.sign(scene.checkpoint), validator_set=impostors.validator_set
    )

    def signed_variant(**changes: int) -> dict[str, Any]:
        checkpoint = replace(scene.checkpoint, **changes)
        return build_checkpoint_update_inputs(
            trusted=scene.genesis, commit=scene.committee.sign(checkpoint), validator_set=scene.committee.validator_set
        )

    wrong_trusted = honest_inputs(scene)
    wrong_trusted["trustedCheckpointHash"] = compute_checkpoint_hash(replace(scene.genesis, timestamp=1))
    circuit.expect_fail_all(
        [
            forged,
            signed_variant(parent_hash=scene.checkpoint.parent_hash + 1),
            signed_variant(number=0),
            signed_variant(chain_id=CHILD_CHAIN_ID + 1),
            wrong_trusted,
        ]
    )


def test_old_set_cannot_sign_after_rotation(circuit: CircuitTester) -> None:
    old = generate_committee(POWERS[:V], V, seed=b"old child set")
    new = generate_committee([5, 5, 5], V, seed=b"new child set")
    rotating = build_scene(old, next_set_hash=new.set_hash)
    circuit.expect_pass(honest_inputs(rotating), expected_outputs(rotating.checkpoint))
    trusted = rotating.checkpoint
    successor = replace(
        trusted,
        number=trusted.number + 64,
        parent_hash=compute_checkpoint_hash(trusted),
        validator_set_hash=new.set_hash,
        next_validator_set_hash=new.set_hash,
    )

    def signed_by(committee: Committee, checkpoint: Checkpoint) -> dict[str, Any]:
        return build_checkpoint_update_inputs(
            trusted=trusted, commit=committee.sign(checkpoint), validator_set=committee.validator_set
        )

    circuit.expect_pass(signed_by(new, successor), expected_outputs(successor))
    stale = replace(successor, validator_set_hash=old.set_hash, next_validator_set_hash=old.set_hash)
    circuit.expect_fail_all([signed_by(old, stale), signed_by(old, successor)])


def test_every_limb_has_one_reading(circuit: CircuitTester, scene: Scene) -> None:
    # Exit root and block hash enter as 128-bit limbs; a limb of 2^128 would let one signed
    # checkpoint name two different 256-bit exit roots.
    top = replace(scene.checkpoint, exit_root=2**256 - 1, block_hash=2**256 - 1)
    fields = list(top.fields())
    circuit.expect_pass(_resign(scene, fields), expected_outputs(top))
    for index in (4, 5, 8, 9):
        wide = list(fields)
        wide[index] = 2**128
        circuit.expect_fail(_resign(scene, wide))


def test_non_canonical_inputs_are_refused_before_the_circuit(circuit: CircuitTester, scene: Scene) -> None:
    inputs = honest_inputs(scene)
    inputs["trustedCheckpointHash"] += R
    with pytest.raises(FieldError, match="trustedCheckpointHash"):
        circuit.calculate(inputs)


def test_tampering_any_class_of_signal_breaks_constraints(circuit: CircuitTester, scene: Scene) -> None:
    witness = circuit.expect_pass(honest_inputs(scene, {0, 1, 2}))
    classes = [
        r"^(trustedCheckpointHash|checkpointHash|number|exitRootHigh|exitRootLow)$",  # public
        r"^trustedCheckpoint\[\d\]$",
        r"^checkpoint\[\d\]$",
        r"^validatorKeys\[\d\]\[\d\]$",
        r"^validatorPowers\[\d\]$",
        r"^signed\[\d\]$",
        r"^sigR8\[\d\]\[\d\]$",
        r"^sigS\[\d\]$",
        r"isPadding\[\d\]$",
        r"counted\[\d\]$",
        r"RangeCheck.*bits\[\d+\]$",
        r"LessThan.*n2b\.out\[\d+\]$",
        r"verifiers\[\d\]\.(dbl\d|addRight)\.",
        r"verifiers\[\d\]\.h2bits",
        r"CheckpointHash.*Poseidon.*pEx",
        r"SigningMessage.*Poseidon.*pEx",
    ]
    circuit.tamper_classes(witness, classes)


def test_only_benign_hints_are_free(circuit: CircuitTester, scene: Scene) -> None:
    witness = circuit.expect_pass(honest_inputs(scene, {0, 1, 2}))
    loose = circuit.unconstrained_signals(witness)
    assert loose and all(name.endswith((".eqCheckX.isz.inv", ".eqCheckY.isz.inv")) for name in loose), loose


def _resign(scene: Scene, fields: list[int]) -> dict[str, Any]:
    """Honest inputs for a checkpoint given as raw fields, every validator signing its message."""
    inputs = honest_inputs(scene)
    inputs["checkpoint"] = fields
    message = poseidon([int(SigningPurpose.CHECKPOINT), fields[0], poseidon(fields)])
    signatures = [sign_poseidon(key, message) for key in scene.committee.private_keys]
    inputs["sigR8"] = [[s.r8[0], s.r8[1]] for s in signatures] + inputs["sigR8"][len(signatures) :]
    inputs["sigS"] = [s.s for s in signatures] + inputs["sigS"][len(signatures) :]
    return inputs
