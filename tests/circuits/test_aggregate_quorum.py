"""The aggregate quorum mode (Q = 1, AggregateQuorum): one signature under the sum of the signing
slots' keys. Every refusal of the per-validator mode holds here too, plus a bitmap that differs from
the subset that signed, and an aggregate that is the identity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from prover.build import compile_circuit
from prover.inputs import build_header_update_inputs
from prover.samples import build_sample_inputs
from prover.testing import CircuitTester
from statesync.babyjub import BASE8, SUBORDER, multiply_point, negate_point
from statesync.circuits import load_manifest
from statesync.committee import Committee, generate_committee
from statesync.eddsa import Signature
from statesync.errors import ModelError
from statesync.field import R
from statesync.model import (
    AggregateCommit,
    Validator,
    ValidatorSet,
    compute_header_hash,
    hash_validator_slots,
    is_final,
)

from .conftest import POWERS, Scenario, V

PRESET = "aggregate_test"
Factory = Callable[..., Scenario]


def aggregate_tester(circuit: str) -> CircuitTester:
    return CircuitTester(compile_circuit(load_manifest().spec(circuit, PRESET), opt=1))


@pytest.fixture(scope="module")
def circuit() -> CircuitTester:
    return aggregate_tester("header_update")


def inputs_for(s: Scenario, commit: AggregateCommit, validator_set: ValidatorSet | None = None) -> dict[str, Any]:
    return build_header_update_inputs(
        trusted=s.genesis, commit=commit, validator_set=validator_set or s.committee.validator_set
    )


def honest_inputs(s: Scenario, signers: set[int] | None = None) -> dict[str, Any]:
    return inputs_for(s, s.committee.sign_aggregate(s.header, signers))


def expected_outputs(s: Scenario) -> dict[str, Any]:
    return {"headerHash": compute_header_hash(s.header), "number": s.header.number, "eventRoot": s.header.event_root}


def test_the_preset_has_the_test_shapes_in_the_aggregate_mode() -> None:
    manifest = load_manifest()
    assert manifest.preset(PRESET) == {**manifest.preset("test"), "Q": 1}


def test_an_honest_aggregate_passes_with_reference_outputs(circuit: CircuitTester, scenario: Scenario) -> None:
    circuit.expect_pass(honest_inputs(scenario), expected_outputs(scenario))
    circuit.expect_pass(honest_inputs(scenario, {0, 1}), expected_outputs(scenario))  # 70 of 100


def test_exactly_two_thirds_and_below_are_refused(circuit: CircuitTester, make_scenario: Factory) -> None:
    equal = make_scenario(generate_committee([1, 1, 1], V, seed=b"equal"))
    circuit.expect_pass(honest_inputs(equal, {0, 1, 2}), expected_outputs(equal))
    below = make_scenario()
    circuit.expect_fail_all(
        [
            honest_inputs(equal, {0, 1}),  # exactly 2/3
            honest_inputs(below, {0, 2}),  # 60 of 100
            honest_inputs(below, {1, 2, 3}),  # 60 of 100
        ]
    )


def test_a_slot_cannot_count_twice(circuit: CircuitTester, scenario: Scenario) -> None:
    inputs = honest_inputs(scenario, {0, 2})
    inputs["signed"][0] = 2  # 40 twice would reach 100; the key would be added twice as well
    circuit.expect_fail(inputs)


def test_a_bitmap_that_differs_from_the_signers_is_refused(circuit: CircuitTester, scenario: Scenario) -> None:
    fewer = honest_inputs(scenario, {0, 1, 2})
    fewer["signed"] = [1, 1, 0, 0]  # claims 0 and 1 signed what 0, 1 and 2 did
    more = honest_inputs(scenario, {0, 1})
    more["signed"] = [1, 1, 1, 0]  # claims 2 signed too, for 90 of 100
    swapped = honest_inputs(scenario, {0, 1})
    swapped["signed"] = [1, 0, 1, 1]
    circuit.expect_fail_all([fewer, more, swapped])


def test_forged_or_moved_signatures_are_refused(
    circuit: CircuitTester, scenario: Scenario, make_scenario: Factory
) -> None:
    batch = []
    bumped = honest_inputs(scenario, {0, 1})
    bumped["sigS"][0] = (bumped["sigS"][0] + 1) % SUBORDER
    batch.append(bumped)
    large = honest_inputs(scenario, {0, 1})
    large["sigS"][0] += SUBORDER  # S >= l, though S - l satisfies the equation
    batch.append(large)
    off = honest_inputs(scenario, {0, 1})
    off["sigR8"][0] = [off["sigR8"][0][0], (off["sigR8"][0][1] + 1) % R]
    batch.append(off)
    foreign = honest_inputs(scenario, {0, 1})
    other = honest_inputs(make_scenario(event_count=1), {0, 1})  # a valid aggregate of another header
    foreign["sigR8"], foreign["sigS"] = other["sigR8"], other["sigS"]
    batch.append(foreign)
    circuit.expect_fail_all(batch)


def test_a_wrong_set_or_inflated_power_is_refused(circuit: CircuitTester, scenario: Scenario) -> None:
    impostors = generate_committee(POWERS[:V], V, seed=b"impostors")
    forged = inputs_for(scenario, impostors.sign_aggregate(scenario.header), impostors.validator_set)
    inflated = honest_inputs(scenario, {0, 1})
    inflated["validatorPowers"][0] += 1
    circuit.expect_fail_all([forged, inflated])


def test_padding_cannot_carry_power_or_sign(circuit: CircuitTester, make_scenario: Factory) -> None:
    three = generate_committee(POWERS[:3], V, seed=b"three")
    s = make_scenario(three)
    honest = honest_inputs(s, {0, 1})
    circuit.expect_pass(honest, expected_outputs(s))
    signing = dict(honest)
    signing["signed"] = [1, 1, 0, 1]  # the (0, 0) slot "signs": off the curve, and padding
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
    powered: dict[str, Any] = build_header_update_inputs(
        trusted=genesis, commit=three.sign_aggregate(header, {0, 1, 2}), validator_set=three.validator_set
    )
    powered["validatorPowers"][3] = 50
    circuit.expect_fail_all([signing, powered])


def test_an_aggregate_key_that_is_the_identity_is_refused(circuit: CircuitTester, make_scenario: Factory) -> None:
    # Slots 0 and 1 hold A and -A (whoever holds a holds -a too, so a proof of possession does not
    # stop this): their sum is the identity, under which S * BASE8 = R "verifies" any message.
    base = generate_committee([40, 40, 10, 10], V, seed=b"cancel")
    a = base.validator_set.validators[0].public_key
    keys = [a, negate_point(a), *(v.public_key for v in base.validator_set.validators[2:])]
    cancelling = ValidatorSet(tuple(Validator(k, p) for k, p in zip(keys, [40, 40, 10, 10], strict=True)), V)
    s = make_scenario(Committee(base.private_keys, cancelling))
    forged = AggregateCommit(s.header, (True, True, False, False), Signature(r8=multiply_point(BASE8, 5), s=5))
    with pytest.raises(ModelError, match="proved possession"):  # the model counts aggregates only
        is_final(cancelling, forged)  # under an AggregateSet, whose -A would need a proof
    circuit.expect_fail(inputs_for(s, forged, cancelling))


def test_the_old_set_cannot_sign_after_rotation(circuit: CircuitTester, make_scenario: Factory) -> None:
    old = generate_committee(POWERS[:V], V, seed=b"old")
    new = generate_committee([5, 5, 5], V, seed=b"new")
    rotating = make_scenario(old, next_set_hash=new.set_hash)
    circuit.expect_pass(honest_inputs(rotating), expected_outputs(rotating))
    checkpoint = rotating.header
    successor = replace(
        checkpoint,
        number=2,
        parent_hash=compute_header_hash(checkpoint),
        timestamp=checkpoint.timestamp + 12,
        validator_set_hash=new.set_hash,
        next_validator_set_hash=new.set_hash,
    )

    def signed_by(committee: Committee, header: Any) -> dict[str, Any]:
        return build_header_update_inputs(
            trusted=checkpoint, commit=committee.sign_aggregate(header), validator_set=committee.validator_set
        )

    circuit.expect_pass(signed_by(new, successor), {"headerHash": compute_header_hash(successor), "number": 2})
    stale = replace(successor, validator_set_hash=old.set_hash, next_validator_set_hash=old.set_hash)
    circuit.expect_fail_all([signed_by(old, stale), signed_by(old, successor)])


def test_a_wrong_parent_is_refused(circuit: CircuitTester, scenario: Scenario) -> None:
    wrong = replace(scenario.header, parent_hash=scenario.header.parent_hash + 1)
    circuit.expect_fail(inputs_for(scenario, scenario.committee.sign_aggregate(wrong)))


def test_tampering_any_class_of_signal_breaks_constraints(circuit: CircuitTester, scenario: Scenario) -> None:
    witness = circuit.expect_pass(honest_inputs(scenario, {0, 1, 2}))
    classes = [
        r"^(trustedHeaderHash|headerHash|number|eventRoot)$",
        r"^trustedHeader\[\d\]$",
        r"^header\[\d\]$",
        r"^validatorKeys\[\d\]\[\d\]$",
        r"^validatorPowers\[\d\]$",
        r"^signed\[\d\]$",
        r"^sigR8\[0\]\[\d\]$",
        r"^sigS\[0\]$",
        r"isPadding\[\d\]$",
        r"counted\[\d\]$",
        r"selected[XY]\[\d\]$",
        r"sum[XY]\[\d\]$",
        r"BabyAdd.*\.(beta|gamma|delta|tau)$",
        r"RangeCheck.*bits\[\d+\]$",
        r"LessThan.*n2b\.out\[\d+\]$",
        r"OnCurveIfEnabled.*\.(xx|yy|xxyy)$",
        r"verifier\.(dbl\d|addRight)\.",
        r"verifier\.compConstant",
        r"verifier\.mulAny",
        r"verifier\.h2bits",
        r"ValidatorSetHash.*sponge\[0\]\.pEx",
        r"SigningMessage.*Poseidon.*pEx",
    ]
    circuit.tamper_classes(witness, classes)


def test_only_benign_hints_are_free(circuit: CircuitTester, scenario: Scenario) -> None:
    witness = circuit.expect_pass(honest_inputs(scenario, {0, 1, 2}))
    loose = circuit.unconstrained_signals(witness)
    assert loose and all(name.endswith((".eqCheckX.isz.inv", ".eqCheckY.isz.inv")) for name in loose), loose


@pytest.mark.slow  # three more compiles; HeaderUpdate above runs the same AggregateQuorum step
@pytest.mark.parametrize("name", ["state_sync", "header_chain", "checkpoint_update"])
def test_the_other_quorum_circuits_take_the_aggregate_and_refuse_a_tampered_one(name: str) -> None:
    tester = aggregate_tester(name)
    inputs = build_sample_inputs(name, PRESET)
    tester.expect_pass(inputs)
    tampered: dict[str, Any] = dict(inputs)
    sig_s: Any = inputs["sigS"]
    if name == "header_chain":
        tampered["sigS"] = [[(s[0] + 1) % SUBORDER] for s in sig_s]  # every header's aggregate
    else:
        tampered["sigS"] = [(sig_s[0] + 1) % SUBORDER]
    tester.expect_fail(tampered)
