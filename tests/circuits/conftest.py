"""Honest scenarios for the circuit tests, built with the Python reference (never by hand)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from prover.build import compile_circuit
from prover.testing import CircuitTester
from statesync.circuits import load_manifest
from statesync.committee import Committee, generate_committee
from statesync.merkle import MerkleTree
from statesync.model import Commit, Header, StateSyncEvent, build_event_tree, compute_header_hash

PRESET = load_manifest().presets["test"]
V, D, B = PRESET["V"], PRESET["D"], PRESET["B"]
# Unequal powers, so that "more than 2/3" depends on who signs, not on how many.
POWERS = [40, 30, 20, 10]


@dataclass(frozen=True)
class Scenario:
    committee: Committee
    genesis: Header
    header: Header
    events: tuple[StateSyncEvent, ...]
    tree: MerkleTree

    def commit(self, signers: set[int] | None = None) -> Commit:
        return self.committee.sign(self.header, signers)


def build_events(first_id: int, count: int) -> tuple[StateSyncEvent, ...]:
    def address(label: bytes) -> int:
        return int.from_bytes(hashlib.sha256(label).digest()[:20], "big")

    return tuple(
        StateSyncEvent(
            id=first_id + i,
            sender=address(b"sender%d" % i),
            receiver=address(b"receiver%d" % i),
            data=b"deposit %d" % (first_id + i),
        )
        for i in range(count)
    )


def build_scenario(
    committee: Committee | None = None, next_set_hash: int | None = None, event_count: int = 3
) -> Scenario:
    committee = committee or generate_committee(POWERS[:V], V, seed=b"rootchain")
    genesis = Header(
        chain_id=1,
        number=0,
        parent_hash=0,
        timestamp=1_700_000_000,
        event_root=0,
        validator_set_hash=committee.set_hash,
        next_validator_set_hash=committee.set_hash,
    )
    events = build_events(1, event_count)
    tree = build_event_tree(events, D)
    header = Header(
        chain_id=1,
        number=1,
        parent_hash=compute_header_hash(genesis),
        timestamp=1_700_000_012,
        event_root=tree.root,
        validator_set_hash=committee.set_hash,
        next_validator_set_hash=committee.set_hash if next_set_hash is None else next_set_hash,
    )
    return Scenario(committee, genesis, header, events, tree)


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    return build_scenario()


@pytest.fixture(scope="session")
def make_scenario() -> Callable[..., Scenario]:
    return build_scenario


@pytest.fixture(scope="session")
def manifest_tester() -> Callable[[str], CircuitTester]:
    """The manifest's `test` preset main at --O1 (O2 drops intermediate names tests read)."""

    def tester(circuit: str) -> CircuitTester:
        return CircuitTester(compile_circuit(load_manifest().spec(circuit, "test"), opt=1))

    return tester
