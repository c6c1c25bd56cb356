"""EventInclusion(D, B): a batch of consecutive events under a root, bound to the commitment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from prover.inputs import EventShape, build_event_inclusion_inputs
from prover.testing import CircuitTester
from statesync.merkle import get_proof
from statesync.model import commit_batch_vector, compute_data_hash

from .conftest import B, D, Scenario, build_events

SHAPE = EventShape(depth=D, batch_size=B)


@pytest.fixture(scope="module")
def circuit(manifest_tester: Callable[[str], CircuitTester]) -> CircuitTester:
    return manifest_tester("event_inclusion")


def inputs_for(s: Scenario, start: int, count: int) -> dict[str, Any]:
    return build_event_inclusion_inputs(shape=SHAPE, header_events=s.events, batch=s.events[start : start + count])


def recommit(inputs: dict[str, Any]) -> dict[str, Any]:
    """Recompute gamma and the commitment for edited batch fields, as a contract would."""
    vector = [inputs["firstId"], sum(inputs["active"])]
    for i in range(B):
        vector += [inputs["senders"][i], inputs["receivers"][i], inputs["dataHashes"][i]]
    batch = commit_batch_vector(inputs["eventRoot"], vector)
    return {**inputs, "gamma": batch.gamma, "eventsCommitment": batch.commitment}


def test_full_and_partial_batches_pass(circuit: CircuitTester, scenario: Scenario) -> None:
    for start, count in [(0, 2), (1, 2), (0, 1), (2, 1)]:
        circuit.expect_pass(inputs_for(scenario, start, count))


def test_a_batch_ending_at_the_last_leaf_passes(circuit: CircuitTester) -> None:
    events = build_events(1, 2**D)
    circuit.expect_pass(build_event_inclusion_inputs(shape=SHAPE, header_events=events, batch=events[-1:]))


def test_wrong_merkle_path_or_position_is_refused(circuit: CircuitTester, scenario: Scenario) -> None:
    sibling = inputs_for(scenario, 0, 2)
    sibling["siblings"][1][0] += 1
    shifted = inputs_for(scenario, 0, 2)
    shifted["firstPosition"] += 1  # the leaves are real, but not at these positions
    far = inputs_for(scenario, 0, 1)
    far["firstPosition"] = 2**D  # outside the tree
    circuit.expect_fail_all([sibling, shifted, far])


def test_ids_must_be_consecutive(circuit: CircuitTester, scenario: Scenario) -> None:
    # Events 1 and 3: slot 1 carries event 3's fields and path, committed honestly.
    inputs = inputs_for(scenario, 0, 2)
    third = scenario.events[2]
    inputs["senders"][1], inputs["receivers"][1] = third.sender, third.receiver
    inputs["dataHashes"][1] = compute_data_hash(third.data)
    inputs["siblings"][1] = list(get_proof(scenario.tree, 2).siblings)
    circuit.expect_fail(recommit(inputs))


def test_events_must_match_the_commitment(circuit: CircuitTester, scenario: Scenario) -> None:
    # A contract that executes other data than was proven computes another commitment.
    forged = inputs_for(scenario, 0, 2)
    honest_other = inputs_for(scenario, 1, 2)
    forged["gamma"], forged["eventsCommitment"] = honest_other["gamma"], honest_other["eventsCommitment"]
    wrong_data = recommit(inputs_for(scenario, 0, 2))
    wrong_data["dataHashes"][0] += 1
    wrong_data = recommit(wrong_data)  # consistent commitment, but the leaf is no longer in the tree
    circuit.expect_fail_all([forged, wrong_data])


def test_batch_shape_is_enforced(circuit: CircuitTester, scenario: Scenario) -> None:
    empty = recommit({**inputs_for(scenario, 0, 1), "active": [0] * B})
    gap = recommit({**inputs_for(scenario, 0, 2), "active": [0, 1] + [0] * (B - 2)})
    non_bit = recommit({**inputs_for(scenario, 0, 1), "active": [2] + [0] * (B - 1)})
    junk = inputs_for(scenario, 0, 1)
    junk["senders"][1] = 7  # an inactive slot must be zero, as the contract pads it
    circuit.expect_fail_all([empty, gap, non_bit, recommit(junk)])


def test_first_id_is_range_checked(circuit: CircuitTester, scenario: Scenario) -> None:
    circuit.expect_fail(recommit({**inputs_for(scenario, 0, 1), "firstId": 2**64}))


def test_tampering_any_signal_breaks_constraints(circuit: CircuitTester, scenario: Scenario) -> None:
    witness = circuit.expect_pass(inputs_for(scenario, 1, 2))
    classes = [
        r"^(eventRoot|gamma|eventsCommitment)$",
        r"^(firstId|firstPosition)$",
        r"^active\[\d\]$",
        r"^senders\[\d\]$",
        r"^receivers\[\d\]$",
        r"^dataHashes\[\d\]$",
        r"^siblings\[\d\]\[\d\]$",
        r"^positions\[\d\]$",
        r"^roots\[\d\]$",
        r"^acc\[\d+\]$",
        r"MerkleRoot.*\.swap\[\d\]$",
        r"MerkleRoot.*\.nodes\[\d\]$",
        r"MerkleRoot.*bits\[\d\]$",
    ]
    circuit.tamper_classes(witness, classes)
    assert circuit.unconstrained_signals(witness) == []
