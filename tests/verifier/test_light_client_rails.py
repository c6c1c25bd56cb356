"""The light client's safety rails: evidence of equivocation freezes it, silence expires it,
a header from the future is refused, and only a recovery (a new genesis) restarts it.

The conflicting header is real: the sample committee signs a second header at the checkpoint's
next number (another timestamp), and snarkjs proves it, exactly as a corrupt quorum would.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from prover.inputs import build_header_update_inputs
from prover.prove import load_prover
from prover.samples import SampleChain, build_sample_chain
from statesync.model import Header, compute_header_hash
from verifier.groth16 import Proof, load_proof
from verifier.keys import CircuitKey, load_circuit_key
from verifier.light_client import (
    ClientExpired,
    ClientFrozen,
    ClientRails,
    HeaderFromTheFuture,
    LightClientError,
    LightClientState,
    apply_evidence,
    apply_header_proof,
    initial_state,
    load_state,
    recover,
    save_state,
    validate_batch,
)
from verifier.signals import HeaderSignals, decode_signals

PRESET = "test"
RAILS = ClientRails(trusting_period=1_000, max_clock_drift=60)

Proven = tuple[CircuitKey, Proof, HeaderSignals, Header]


@pytest.fixture(scope="module")
def chain() -> SampleChain:
    return build_sample_chain(PRESET)


def _prove_header(chain: SampleChain, header: Header, directory: Path) -> Proven:
    prover = load_prover("header_update", PRESET)
    inputs = build_header_update_inputs(
        trusted=chain.checkpoint, commit=chain.committee.sign(header), validator_set=chain.committee.validator_set
    )
    result = prover.prove(inputs, directory)
    signals = decode_signals("header_update", result.public_signals)
    if not isinstance(signals, HeaderSignals):
        raise TypeError("header_update decodes to HeaderSignals")
    key = load_circuit_key(prover.keys.verification_key, "header_update", PRESET)
    return key, load_proof(result.proof_path), signals, header


@pytest.fixture(scope="module")
def honest(chain: SampleChain, tmp_path_factory: pytest.TempPathFactory) -> Proven:
    return _prove_header(chain, chain.header, tmp_path_factory.mktemp("honest") / "proof")


@pytest.fixture(scope="module")
def conflicting(chain: SampleChain, tmp_path_factory: pytest.TempPathFactory) -> Proven:
    twin = replace(chain.header, timestamp=chain.header.timestamp + 1)
    return _prove_header(chain, twin, tmp_path_factory.mktemp("conflicting") / "proof")


def _start(chain: SampleChain) -> float:
    return float(chain.header.timestamp)  # a clock at the header's time: no drift, nothing expired


def _accepted(chain: SampleChain, honest: Proven) -> LightClientState:
    now = _start(chain)
    key, proof, signals, header = honest
    return apply_header_proof(
        initial_state(chain.checkpoint, rails=RAILS, now=now), key, proof, signals, header, now=now
    )


def test_a_proven_conflicting_header_freezes_the_client(
    chain: SampleChain, honest: Proven, conflicting: Proven, tmp_path: Path
) -> None:
    state = _accepted(chain, honest)
    key, proof, signals, twin = conflicting
    assert compute_header_hash(twin) != compute_header_hash(chain.header) and twin.number == chain.header.number
    frozen = apply_evidence(state, key, proof, signals)
    assert frozen.frozen and not state.frozen
    # Frozen: no header is accepted, no event executes, no second evidence is needed.
    with pytest.raises(ClientFrozen):
        apply_header_proof(frozen, *honest, now=_start(chain))
    with pytest.raises(ClientFrozen):
        validate_batch(frozen, chain.header.event_root, chain.events[:1], chain.batch_size)
    with pytest.raises(ClientFrozen):
        apply_evidence(frozen, key, proof, signals)
    # The freeze survives a restart.
    save_state(tmp_path / "client.json", frozen)
    assert load_state(tmp_path / "client.json").frozen


def test_bogus_evidence_is_refused(chain: SampleChain, honest: Proven, conflicting: Proven) -> None:
    state = _accepted(chain, honest)
    key, proof, signals, _ = conflicting
    # The accepted header itself is no conflict.
    with pytest.raises(LightClientError, match="no conflict"):
        apply_evidence(state, *honest[:3])
    # Nothing accepted at that number yet: the same proof is a plain header update, not evidence.
    with pytest.raises(LightClientError, match="no conflict"):
        apply_evidence(initial_state(chain.checkpoint, rails=RAILS, now=_start(chain)), key, proof, signals)
    # Linked to a header this client never trusted.
    unlinked = replace(signals, trusted_header_hash=signals.trusted_header_hash + 1)
    with pytest.raises(LightClientError, match="not linked"):
        apply_evidence(state, key, proof, unlinked)
    # A false proof: the signals of the conflicting header with the honest header's proof.
    with pytest.raises(LightClientError, match="does not verify"):
        apply_evidence(state, key, honest[1], signals)


def test_the_client_expires_after_its_trusting_period(chain: SampleChain, honest: Proven) -> None:
    start = _start(chain)
    fresh = initial_state(chain.checkpoint, rails=RAILS, now=start)
    key, proof, signals, header = honest
    apply_header_proof(fresh, key, proof, signals, header, now=start + RAILS.trusting_period)  # the last second
    with pytest.raises(ClientExpired, match="trusting period"):
        apply_header_proof(fresh, key, proof, signals, header, now=start + RAILS.trusting_period + 1)


def test_a_header_from_the_future_is_refused(chain: SampleChain, honest: Proven) -> None:
    key, proof, signals, header = honest
    early = header.timestamp - RAILS.max_clock_drift
    apply_header_proof(initial_state(chain.checkpoint, rails=RAILS, now=early), key, proof, signals, header, now=early)
    with pytest.raises(HeaderFromTheFuture, match="ahead"):
        state = initial_state(chain.checkpoint, rails=RAILS, now=early - 1)
        apply_header_proof(state, key, proof, signals, header, now=early - 1)


def test_recovery_starts_a_new_epoch_and_never_goes_back(
    chain: SampleChain, honest: Proven, conflicting: Proven
) -> None:
    frozen = apply_evidence(_accepted(chain, honest), *conflicting[:3])
    frozen = replace(frozen, last_executed_id=2)
    with pytest.raises(LightClientError, match="neither frozen nor expired"):
        recover(_accepted(chain, honest), chain.header, 2, now=_start(chain))
    with pytest.raises(LightClientError, match="below the checkpoint"):
        recover(frozen, chain.checkpoint, 2)
    with pytest.raises(LightClientError, match="goes back"):
        recover(frozen, chain.header, 1)
    later = _start(chain) + 10 * RAILS.trusting_period
    recovered = recover(frozen, chain.header, 2, now=later)
    assert not recovered.frozen and recovered.checkpoint == chain.header and recovered.genesis == chain.header
    assert recovered.last_executed_id == 2 and recovered.accepted_at == later and recovered.rails == RAILS
    # The old epoch's headers are gone: the conflict that froze it is no evidence now.
    assert recovered.proven_roots == {}
    with pytest.raises(LightClientError, match="no conflict"):
        apply_evidence(recovered, *conflicting[:3])
    # An expired client recovers the same way.
    expired = initial_state(chain.checkpoint, rails=RAILS, now=_start(chain))
    with pytest.raises(ClientExpired):
        apply_header_proof(expired, *honest, now=later)
    assert recover(expired, chain.checkpoint, 0, now=later).accepted_at == later
