"""HeaderChain(V, N): a chain of final headers with rotation passes; any broken link is refused.

Every refused chain is also refused by the Python model (validate_header_chain), so the
circuit and the reference agree on what a valid chain is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest

from prover.inputs import build_header_chain_inputs
from prover.testing import CircuitTester
from statesync.babyjub import SUBORDER
from statesync.committee import Committee, generate_committee
from statesync.errors import ModelError
from statesync.model import Commit, Header, build_event_tree, compute_header_hash, validate_header_chain

from .conftest import POWERS, D, Scenario, V

N = 2  # the test preset's chain length


@pytest.fixture(scope="module")
def circuit(manifest_tester: Callable[[str], CircuitTester]) -> CircuitTester:
    return manifest_tester("header_chain")


@dataclass(frozen=True)
class Chain:
    genesis: Header
    headers: tuple[Header, ...]
    signers: tuple[Committee, ...]

    def commits(self, signed_by: Sequence[set[int] | None] = (None, None)) -> list[Commit]:
        return [c.sign(h, s) for c, h, s in zip(self.signers, self.headers, signed_by, strict=True)]

    def inputs(self, signed_by: Sequence[set[int] | None] = (None, None)) -> dict[str, Any]:
        return build_header_chain_inputs(
            trusted=self.genesis,
            commits=self.commits(signed_by),
            validator_sets=[c.validator_set for c in self.signers],
        )


OLD = generate_committee(POWERS[:V], V, seed=b"old")
NEW = generate_committee([5, 5, 5], V, seed=b"new")
EMPTY_ROOT = build_event_tree((), D).root  # the event root of a header without events


def child(parent: Header, signer: Committee, next_signer: Committee, **changes: int) -> Header:
    header = Header(
        chain_id=parent.chain_id,
        number=parent.number + 1,
        parent_hash=compute_header_hash(parent),
        timestamp=parent.timestamp + 12,
        event_root=EMPTY_ROOT,
        validator_set_hash=signer.set_hash,
        next_validator_set_hash=next_signer.set_hash,
    )
    return replace(header, **changes)


@pytest.fixture(scope="module")
def chain(scenario: Scenario) -> Chain:
    # Header 1 (no events) is signed by the old set and rotates to the new one, which signs
    # header 2, whose events are the scenario's.
    genesis = replace(scenario.genesis, validator_set_hash=OLD.set_hash, next_validator_set_hash=OLD.set_hash)
    first = child(genesis, OLD, NEW)
    return Chain(genesis, (first, child(first, NEW, NEW, event_root=scenario.tree.root)), (OLD, NEW))


def expect_refused(circuit: CircuitTester, chains: list[tuple[Chain, dict[str, Any], list[Commit]]]) -> None:
    for c, _, commits in chains:
        with pytest.raises(ModelError):
            validate_header_chain(c.genesis, commits, [s.validator_set for s in c.signers], D)
    circuit.expect_fail_all([inputs for _, inputs, _ in chains])


def case(c: Chain, signed_by: Sequence[set[int] | None] = (None, None)) -> tuple[Chain, dict[str, Any], list[Commit]]:
    return c, c.inputs(signed_by), c.commits(signed_by)


def test_honest_chain_with_rotation_passes_with_the_last_headers_outputs(circuit: CircuitTester, chain: Chain) -> None:
    validate_header_chain(chain.genesis, chain.commits(), [s.validator_set for s in chain.signers], D)
    last = chain.headers[-1]
    expected = {"headerHash": compute_header_hash(last), "number": last.number, "eventRoot": last.event_root}
    circuit.expect_pass(chain.inputs(), expected)
    # 40 + 30 of 100 finalises header 1; 2 of 3 equal validators would be exactly 2/3, so all three sign header 2.
    circuit.expect_pass(chain.inputs([{0, 1}, {0, 1, 2}]), expected)


def test_a_gap_in_numbers_is_allowed_but_not_a_fall(circuit: CircuitTester, chain: Chain) -> None:
    first = child(chain.genesis, OLD, NEW, number=5)
    gapped = Chain(chain.genesis, (first, child(first, NEW, NEW, number=9)), chain.signers)
    circuit.expect_pass(gapped.inputs(), {"number": 9})
    falling = Chain(chain.genesis, (first, child(first, NEW, NEW, number=5)), chain.signers)
    expect_refused(circuit, [case(falling)])


def test_below_quorum_anywhere_in_the_chain_is_refused(circuit: CircuitTester, chain: Chain) -> None:
    expect_refused(circuit, [case(chain, [{0, 2}, None]), case(chain, [None, {0, 1}])])


def test_the_old_set_cannot_sign_after_the_rotation(circuit: CircuitTester, chain: Chain) -> None:
    first = chain.headers[0]
    stale = Chain(chain.genesis, (first, child(first, OLD, OLD)), (OLD, OLD))
    old_signs_new = Chain(chain.genesis, chain.headers, (OLD, OLD))
    expect_refused(circuit, [case(stale), case(old_signs_new)])


def test_a_broken_link_is_refused(circuit: CircuitTester, chain: Chain) -> None:
    first, second = chain.headers
    wrong_parent = Chain(chain.genesis, (first, replace(second, parent_hash=second.parent_hash + 1)), chain.signers)
    other_chain = Chain(chain.genesis, (first, replace(second, chain_id=2)), chain.signers)
    # Header 2 hung directly off the checkpoint, skipping header 1.
    skipping = Chain(chain.genesis, (first, child(chain.genesis, NEW, NEW, number=2)), chain.signers)
    swapped = Chain(chain.genesis, (second, first), (NEW, OLD))
    expect_refused(circuit, [case(wrong_parent), case(other_chain), case(skipping), case(swapped)])


def test_the_first_link_is_checked_against_the_checkpoint(circuit: CircuitTester, chain: Chain) -> None:
    first, second = chain.headers

    def with_first(**changes: int) -> Chain:
        changed = replace(first, **changes)
        return Chain(chain.genesis, (changed, replace(second, parent_hash=compute_header_hash(changed))), chain.signers)

    expect_refused(
        circuit,
        [
            case(with_first(number=chain.genesis.number)),  # not above the checkpoint
            case(with_first(chain_id=2)),
            case(with_first(parent_hash=first.parent_hash + 1)),
        ],
    )


def test_a_rotating_checkpoint_hands_over_to_its_next_set(circuit: CircuitTester, chain: Chain) -> None:
    # The checkpoint itself rotates from OLD to NEW: header 1 must be signed by NEW, not OLD.
    genesis = replace(chain.genesis, next_validator_set_hash=NEW.set_hash)
    by_new = child(genesis, NEW, NEW)
    honest = Chain(genesis, (by_new, child(by_new, NEW, NEW, event_root=chain.headers[1].event_root)), (NEW, NEW))
    circuit.expect_pass(honest.inputs(), {"headerHash": compute_header_hash(honest.headers[1])})
    by_old = child(genesis, OLD, NEW)
    stale = Chain(genesis, (by_old, child(by_old, NEW, NEW)), (OLD, NEW))
    expect_refused(circuit, [case(stale)])


def test_only_the_last_header_may_carry_events(circuit: CircuitTester, chain: Chain) -> None:
    # A skipped header with events would strand them: its event root is never published.
    first, second = chain.headers
    with_events = replace(first, event_root=second.event_root)
    skipping = Chain(
        chain.genesis, (with_events, replace(second, parent_hash=compute_header_hash(with_events))), chain.signers
    )
    expect_refused(circuit, [case(skipping)])


def test_a_wrong_checkpoint_or_forged_signature_is_refused(circuit: CircuitTester, chain: Chain) -> None:
    wrong_checkpoint = chain.inputs()
    wrong_checkpoint["trustedHeaderHash"] = compute_header_hash(replace(chain.genesis, timestamp=1))
    forged = chain.inputs([{0, 1}, None])
    forged["sigS"][0][1] = (forged["sigS"][0][1] + 1) % SUBORDER
    # A valid signature of header 1's signer, moved onto header 2's slot of the same key.
    moved = chain.inputs([None, None])
    moved["sigR8"][1][0], moved["sigS"][1][0] = moved["sigR8"][0][0], moved["sigS"][0][0]
    circuit.expect_fail_all([wrong_checkpoint, forged, moved])


def test_tampering_any_public_or_per_link_signal_breaks_constraints(circuit: CircuitTester, chain: Chain) -> None:
    witness = circuit.expect_pass(chain.inputs())
    classes = [
        r"^(trustedHeaderHash|headerHash|number|eventRoot)$",
        r"^trustedHeader\[\d\]$",
        r"^headers\[\d\]\[\d\]$",
        r"^validatorKeys\[1\]\[\d\]\[\d\]$",
        r"^validatorPowers\[1\]\[\d\]$",
        r"^signed\[1\]\[\d\]$",
        r"^sigS\[1\]\[\d\]$",
        # Link 0's header hash is link 1's parent hash (linear signals are substituted away).
        r"^links\[0\]\.HeaderHash.*\.pEx\.",
        r"^links\[1\]\..*ValidatorSetHash.*sponge\[0\]\.pEx",
        r"^links\[1\]\..*counted\[\d\]$",
        r"^links\[1\]\..*LessThan.*n2b\.out\[\d+\]$",
    ]
    circuit.tamper_classes(witness, classes)


def test_only_benign_hints_are_free(circuit: CircuitTester, chain: Chain) -> None:
    witness = circuit.expect_pass(chain.inputs())
    loose = circuit.unconstrained_signals(witness)
    # ForceEqualIfEnabled's inverse hints are free when an honest signature makes their inputs
    # equal; IsZero's inverse is free when its input is zero, as for the new set's padding slot 3.
    padding = re.compile(
        r"^links\[1\]\..*QuorumCertificate_\w+\.(SlotRules_\w+\[3\]\.IsZero_\w+|verifiers\[3\]\.(isZero|mulAny\.zeropoint))\.inv$"
    )
    benign = [n for n in loose if n.endswith((".eqCheckX.isz.inv", ".eqCheckY.isz.inv")) or padding.match(n)]
    assert loose and benign == loose, sorted(set(loose) - set(benign))


def test_the_python_builder_refuses_mismatched_lengths(chain: Chain) -> None:
    with pytest.raises(ModelError, match="one validator set per header"):
        build_header_chain_inputs(trusted=chain.genesis, commits=chain.commits(), validator_sets=[OLD.validator_set])
    with pytest.raises(ModelError, match="at least one header"):
        validate_header_chain(chain.genesis, [], [], D)
