"""StateSync(V, D, B): the header and its events in one proof, as the receiver contract takes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from prover.inputs import EventShape, build_state_sync_inputs
from prover.testing import CircuitTester
from statesync.model import compute_batch_commitment, compute_header_hash

from .conftest import B, D, Scenario, build_events

SHAPE = EventShape(depth=D, batch_size=B)


@pytest.fixture(scope="module")
def circuit(manifest_tester: Callable[[str], CircuitTester]) -> CircuitTester:
    return manifest_tester("state_sync")


def inputs_for(s: Scenario, start: int = 0, count: int = B, signers: set[int] | None = None) -> dict[str, Any]:
    return build_state_sync_inputs(
        shape=SHAPE,
        trusted=s.genesis,
        commit=s.commit(signers),
        validator_set=s.committee.validator_set,
        header_events=s.events,
        batch=s.events[start : start + count],
    )


def test_honest_sync_passes_with_reference_outputs(circuit: CircuitTester, scenario: Scenario) -> None:
    inputs = inputs_for(scenario)
    batch = compute_batch_commitment(scenario.tree.root, scenario.events[:B], B)
    assert (inputs["gamma"], inputs["eventsCommitment"]) == (batch.gamma, batch.commitment)
    circuit.expect_pass(
        inputs,
        {
            "headerHash": compute_header_hash(scenario.header),
            "number": scenario.header.number,
            "eventRoot": scenario.tree.root,
        },
    )


def test_events_must_be_under_the_new_header(circuit: CircuitTester, scenario: Scenario) -> None:
    # Real events of another tree, committed honestly against that tree's root.
    other_events = tuple(replace(e, data=b"other " + e.data) for e in build_events(1, 3))
    foreign = build_state_sync_inputs(
        shape=SHAPE,
        trusted=scenario.genesis,
        commit=scenario.commit(),
        validator_set=scenario.committee.validator_set,
        header_events=other_events,
        batch=other_events[:B],
    )
    below_quorum = inputs_for(scenario, signers={1, 2})
    circuit.expect_fail_all([foreign, below_quorum])


def test_tampering_public_signals_breaks_constraints(circuit: CircuitTester, scenario: Scenario) -> None:
    witness = circuit.expect_pass(inputs_for(scenario))
    for name in ["trustedHeaderHash", "gamma", "eventsCommitment", "headerHash", "number", "eventRoot"]:
        circuit.tamper(witness, name)
    loose = circuit.unconstrained_signals(witness)
    assert all(name.endswith((".eqCheckX.isz.inv", ".eqCheckY.isz.inv")) for name in loose), loose
