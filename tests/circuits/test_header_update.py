"""HeaderUpdate(V): honest headers pass; every way of faking finality or the link is refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from prover.inputs import build_header_update_inputs
from prover.testing import CircuitTester
from statesync.babyjub import SUBORDER
from statesync.committee import generate_committee
from statesync.eddsa import sign_poseidon
from statesync.errors import FieldError, ModelError
from statesync.field import R
from statesync.model import SigningPurpose, compute_header_hash, compute_signing_message, hash_validator_slots
from statesync.poseidon import poseidon

from .conftest import POWERS, Scenario, V

Factory = Callable[..., Scenario]


@pytest.fixture(scope="module")
def circuit(manifest_tester: Callable[[str], CircuitTester]) -> CircuitTester:
    return manifest_tester("header_update")


def honest_inputs(s: Scenario, signers: set[int] | None = None) -> dict[str, Any]:
    return build_header_update_inputs(
        trusted=s.genesis, commit=s.commit(signers), validator_set=s.committee.validator_set
    )


def expected_outputs(s: Scenario) -> dict[str, Any]:
    return {"headerHash": compute_header_hash(s.header), "number": s.header.number, "eventRoot": s.header.event_root}


def test_honest_header_passes_with_reference_outputs(circuit: CircuitTester, scenario: Scenario) -> None:
    circuit.expect_pass(honest_inputs(scenario), expected_outputs(scenario))
    # 40 + 30 of 100 is more than 2/3 without the others.
    circuit.expect_pass(honest_inputs(scenario, {0, 1}), expected_outputs(scenario))


def test_quorum_boundary_is_strictly_more_than_two_thirds(circuit: CircuitTester, make_scenario: Factory) -> None:
    equal = make_scenario(generate_committee([1, 1, 1], V, seed=b"equal"))
    circuit.expect_pass(honest_inputs(equal, {0, 1, 2}), expected_outputs(equal))
    circuit.expect_fail(honest_inputs(equal, {0, 1}))  # exactly 2/3


def test_below_quorum_is_refused(circuit: CircuitTester, scenario: Scenario) -> None:
    # 40 + 20 = 60 and 30 + 20 + 10 = 60 of 100: at most 2/3.
    circuit.expect_fail_all(
        [honest_inputs(scenario, {0, 2}), honest_inputs(scenario, {1, 2, 3}), honest_inputs(scenario, set())]
    )


def test_a_slot_cannot_count_twice(circuit: CircuitTester, scenario: Scenario) -> None:
    inputs = honest_inputs(scenario, {0, 2})  # 60: below quorum
    inputs["signed"][0] = 2  # counting validator 0's 40 twice would reach 100
    circuit.expect_fail(inputs)


def test_forged_signatures_are_refused(circuit: CircuitTester, scenario: Scenario, make_scenario: Factory) -> None:
    batch = []
    bumped = honest_inputs(scenario, {0, 1})
    bumped["sigS"][0] = (bumped["sigS"][0] + 1) % SUBORDER
    batch.append(bumped)
    moved = honest_inputs(scenario, {0, 1})
    moved["sigR8"][1] = honest_inputs(scenario, {0, 1, 2})["sigR8"][2]
    batch.append(moved)
    # A valid signature, on another header.
    other = make_scenario(event_count=1)
    foreign = honest_inputs(scenario, {0, 1})
    other_inputs = honest_inputs(other, {0, 1})
    foreign["sigR8"], foreign["sigS"] = other_inputs["sigR8"], other_inputs["sigS"]
    batch.append(foreign)
    # S >= l is refused even when the equation would hold for S - l.
    large = honest_inputs(scenario, {0, 1})
    large["sigS"][0] += SUBORDER
    batch.append(large)
    # R8 off the curve.
    off = honest_inputs(scenario, {0, 1})
    off["sigR8"][0] = [off["sigR8"][0][0], (off["sigR8"][0][1] + 1) % R]
    batch.append(off)
    circuit.expect_fail_all(batch)


def test_wrong_validator_set_is_refused(circuit: CircuitTester, scenario: Scenario) -> None:
    other = generate_committee(POWERS[:V], V, seed=b"impostors")
    forged = build_header_update_inputs(
        trusted=scenario.genesis, commit=other.sign(scenario.header), validator_set=other.validator_set
    )
    inflated = honest_inputs(scenario, {0, 1})
    inflated["validatorPowers"][0] += 1
    circuit.expect_fail_all([forged, inflated])


def test_padding_cannot_carry_power_or_sign(circuit: CircuitTester, make_scenario: Factory) -> None:
    three = generate_committee(POWERS[:3], V, seed=b"three")
    s = make_scenario(three)
    honest = honest_inputs(s, {0, 1})
    circuit.expect_pass(honest, expected_outputs(s))
    assert honest["validatorKeys"][3] == [0, 0]
    # A set whose hash commits padding power: the circuit refuses it outright.
    slots = three.validator_set.slots()
    slots[3] = ((0, 0), 50)
    padded_hash = hash_validator_slots(slots)
    genesis = replace(s.genesis, validator_set_hash=padded_hash, next_validator_set_hash=padded_hash)
    header = replace(
        s.header,
        parent_hash=compute_header_hash(genesis),
        validator_set_hash=padded_hash,
        next_validator_set_hash=padded_hash,
    )
    inputs: dict[str, Any] = build_header_update_inputs(
        trusted=genesis, commit=three.sign(header, {0, 1, 2}), validator_set=three.validator_set
    )
    inputs["validatorPowers"][3] = 50
    signing = dict(honest)
    signing["signed"] = [1, 1, 0, 1]
    circuit.expect_fail_all([inputs, signing])


def test_power_overflow_is_refused(circuit: CircuitTester, scenario: Scenario) -> None:
    slots = scenario.committee.validator_set.slots()
    for huge in (2**64, R - 1):
        big = [(k, huge if i == 0 else p) for i, (k, p) in enumerate(slots)]
        h = hash_validator_slots(big)
        genesis = replace(scenario.genesis, validator_set_hash=h, next_validator_set_hash=h)
        header = replace(
            scenario.header, parent_hash=compute_header_hash(genesis), validator_set_hash=h, next_validator_set_hash=h
        )
        inputs: dict[str, Any] = build_header_update_inputs(
            trusted=genesis, commit=scenario.committee.sign(header, {0}), validator_set=scenario.committee.validator_set
        )
        inputs["validatorPowers"][0] = huge
        circuit.expect_fail(inputs)


def test_wrong_link_is_refused(circuit: CircuitTester, scenario: Scenario) -> None:
    def signed_variant(**changes: int) -> dict[str, Any]:
        header = replace(scenario.header, **changes)
        return build_header_update_inputs(
            trusted=scenario.genesis,
            commit=scenario.committee.sign(header),
            validator_set=scenario.committee.validator_set,
        )

    wrong_checkpoint = honest_inputs(scenario)
    wrong_checkpoint["trustedHeaderHash"] = compute_header_hash(replace(scenario.genesis, timestamp=1))
    circuit.expect_fail_all(
        [
            signed_variant(parent_hash=scenario.header.parent_hash + 1),  # wrong parent
            signed_variant(number=0),  # number does not rise
            signed_variant(chain_id=2),  # another chain
            wrong_checkpoint,  # the checkpoint's fields do not hash to the trusted hash
        ]
    )


def test_old_set_cannot_sign_after_rotation(circuit: CircuitTester, make_scenario: Factory) -> None:
    old = generate_committee(POWERS[:V], V, seed=b"old")
    new = generate_committee([5, 5, 5], V, seed=b"new")
    rotating = make_scenario(old, next_set_hash=new.set_hash)
    circuit.expect_pass(honest_inputs(rotating), expected_outputs(rotating))
    # The rotated header becomes the checkpoint; its successor must be signed by the new set.
    checkpoint = rotating.header
    successor = replace(
        checkpoint,
        number=2,
        parent_hash=compute_header_hash(checkpoint),
        timestamp=checkpoint.timestamp + 12,
        validator_set_hash=new.set_hash,
        next_validator_set_hash=new.set_hash,
    )
    by_new = build_header_update_inputs(trusted=checkpoint, commit=new.sign(successor), validator_set=new.validator_set)
    circuit.expect_pass(by_new, {"headerHash": compute_header_hash(successor), "number": 2})
    stale = replace(successor, validator_set_hash=old.set_hash, next_validator_set_hash=old.set_hash)
    by_old = build_header_update_inputs(trusted=checkpoint, commit=old.sign(stale), validator_set=old.validator_set)
    old_signs_new = build_header_update_inputs(
        trusted=checkpoint, commit=old.sign(successor), validator_set=old.validator_set
    )
    circuit.expect_fail_all([by_old, old_signs_new])


def test_non_canonical_inputs_are_refused_before_the_circuit(circuit: CircuitTester, scenario: Scenario) -> None:
    inputs = honest_inputs(scenario)
    inputs["trustedHeaderHash"] += R  # circom's calculator would silently reduce this
    with pytest.raises(FieldError, match="trustedHeaderHash"):
        circuit.calculate(inputs)


def test_tampering_any_public_or_intermediate_signal_breaks_constraints(
    circuit: CircuitTester, scenario: Scenario
) -> None:
    witness = circuit.expect_pass(honest_inputs(scenario, {0, 1, 2}))
    # One regex per class of signal; every witness signal of each class (up to 4) is tampered.
    classes = [
        r"^(trustedHeaderHash|headerHash|number|eventRoot)$",  # public
        r"^trustedHeader\[\d\]$",
        r"^header\[\d\]$",
        r"^validatorKeys\[\d\]\[\d\]$",
        r"^validatorPowers\[\d\]$",
        r"^signed\[\d\]$",
        r"^sigR8\[\d\]\[\d\]$",
        r"^sigS\[\d\]$",
        r"isPadding\[\d\]$",
        r"counted\[\d\]$",
        r"IsZero.*\.out$",
        r"RangeCheck.*bits\[\d+\]$",
        r"LessThan.*n2b\.out\[\d+\]$",
        r"OnCurveIfEnabled.*\.(xx|yy|xxyy)$",
        r"verifiers\[\d\]\.(dbl\d|addRight)\.",
        r"verifiers\[\d\]\.compConstant",
        r"verifiers\[\d\]\.mulAny",
        r"verifiers\[\d\]\.h2bits",
        r"ValidatorSetHash.*sponge\[0\]\.pEx",
        r"HeaderHash.*Poseidon.*pEx",
        r"SigningMessage.*Poseidon.*pEx",
    ]
    circuit.tamper_classes(witness, classes)


def test_only_benign_hints_are_free(circuit: CircuitTester, scenario: Scenario) -> None:
    # ForceEqualIfEnabled's inverse hint is free exactly when its two inputs are equal, which is
    # what an honest signature makes them; nothing else in the circuit may change alone.
    witness = circuit.expect_pass(honest_inputs(scenario, {0, 1, 2}))
    loose = circuit.unconstrained_signals(witness)
    assert loose and all(name.endswith((".eqCheckX.isz.inv", ".eqCheckY.isz.inv")) for name in loose), loose


def _resign(scenario: Scenario, header_fields: list[int], message: int) -> dict[str, Any]:
    """Honest inputs for a header given as raw fields, every validator signing `message`."""
    inputs = honest_inputs(scenario)
    inputs["header"] = header_fields
    signatures = [sign_poseidon(key, message) for key in scenario.committee.private_keys]
    inputs["sigR8"] = [[s.r8[0], s.r8[1]] for s in signatures] + inputs["sigR8"][len(signatures) :]
    inputs["sigS"] = [s.s for s in signatures] + inputs["sigS"][len(signatures) :]
    return inputs


def _message(purpose: int, chain_id: int, fields: list[int]) -> int:
    return poseidon([purpose, chain_id, poseidon(fields)])


def test_a_quorum_signed_timestamp_past_uint64_is_refused(circuit: CircuitTester, scenario: Scenario) -> None:
    # Audit 6: a header with timestamp r - 1 used to satisfy the constraints; the model cannot even hold it.
    fields = list(scenario.header.fields())
    chain_id = fields[0]
    honest = _resign(scenario, fields, _message(SigningPurpose.HEADER, chain_id, fields))
    circuit.expect_pass(honest, expected_outputs(scenario))
    for timestamp in (2**64, R - 1):
        fields[3] = timestamp
        circuit.expect_fail(_resign(scenario, fields, _message(SigningPurpose.HEADER, chain_id, fields)))
    with pytest.raises(ModelError, match="timestamp"):
        replace(scenario.header, timestamp=2**64)


def test_signatures_are_bound_to_their_purpose(circuit: CircuitTester, scenario: Scenario) -> None:
    # Audit 6: a signature over the bare header hash, or made for another purpose, signs nothing here.
    fields = list(scenario.header.fields())
    bare = _resign(scenario, fields, poseidon(fields))
    checkpoint = _resign(scenario, fields, _message(SigningPurpose.CHECKPOINT, fields[0], fields))
    other_chain = _resign(scenario, fields, _message(SigningPurpose.HEADER, fields[0] + 1, fields))
    circuit.expect_fail_all([bare, checkpoint, other_chain])
    assert compute_signing_message(scenario.header) == _message(SigningPurpose.HEADER, fields[0], fields)


def test_block_hash_limbs_are_128_bits(circuit: CircuitTester, scenario: Scenario) -> None:
    # The range's block hash enters as two limbs; a limb of 2^128 or more would give one header two
    # readings of its 256-bit hash (hi * 2^128 + lo is no longer unique).
    fields = list(replace(scenario.header, block_hash=2**256 - 1).fields())
    chain_id = fields[0]
    top = _resign(scenario, fields, _message(SigningPurpose.HEADER, chain_id, fields))
    circuit.expect_pass(top, {"headerHash": poseidon(fields)})
    for index in (7, 8):
        wide = list(fields)
        wide[index] = 2**128
        circuit.expect_fail(_resign(scenario, wide, _message(SigningPurpose.HEADER, chain_id, wide)))
