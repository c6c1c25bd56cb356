"""The Python light client: checkpoints move only with verified proofs, batches run in id order."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from prover.inputs import build_event_inclusion_inputs, build_header_update_inputs, build_state_sync_inputs, event_shape
from prover.prove import Prover, load_prover
from prover.samples import SampleChain, build_sample_chain
from prover.witness import CircuitInputs
from statesync.model import compute_header_hash
from verifier.groth16 import Proof, load_proof
from verifier.keys import CircuitKey, load_circuit_key
from verifier.light_client import (
    LightClientError,
    LightClientState,
    StateFileError,
    apply_events_proof,
    apply_header_proof,
    apply_state_sync_proof,
    initial_state,
    load_state,
    save_state,
    validate_header_proof,
)
from verifier.signals import EventSignals, HeaderSignals, StateSyncSignals, decode_signals

PRESET = "test"


@pytest.fixture(scope="module")
def chain() -> SampleChain:
    return build_sample_chain(PRESET)


def _key(prover: Prover) -> CircuitKey:
    return load_circuit_key(prover.keys.verification_key, prover.circuit.spec.circuit, PRESET)


def _prove(prover: Prover, inputs: CircuitInputs, directory: Path) -> tuple[Proof, tuple[int, ...]]:
    result = prover.prove(inputs, directory)
    return load_proof(result.proof_path), result.public_signals


@pytest.fixture(scope="module")
def header(chain: SampleChain, tmp_path_factory: pytest.TempPathFactory) -> tuple[CircuitKey, Proof, HeaderSignals]:
    prover = load_prover("header_update", PRESET)
    inputs = build_header_update_inputs(
        trusted=chain.checkpoint, commit=chain.committee.sign(chain.header), validator_set=chain.committee.validator_set
    )
    proof, values = _prove(prover, inputs, tmp_path_factory.mktemp("header") / "proof")
    signals = decode_signals("header_update", values)
    assert isinstance(signals, HeaderSignals)
    return _key(prover), proof, signals


@pytest.fixture(scope="module")
def events(chain: SampleChain, tmp_path_factory: pytest.TempPathFactory) -> tuple[CircuitKey, Proof, EventSignals]:
    prover = load_prover("event_inclusion", PRESET)
    batch = chain.events[: chain.batch_size]
    inputs = build_event_inclusion_inputs(shape=event_shape(PRESET), header_events=chain.events, batch=batch)
    proof, values = _prove(prover, inputs, tmp_path_factory.mktemp("events") / "proof")
    signals = decode_signals("event_inclusion", values)
    assert isinstance(signals, EventSignals)
    return _key(prover), proof, signals


def test_a_valid_header_proof_advances_the_checkpoint(
    chain: SampleChain, header: tuple[CircuitKey, Proof, HeaderSignals]
) -> None:
    key, proof, signals = header
    state = initial_state(chain.checkpoint)
    after = apply_header_proof(state, key, proof, signals, chain.header)
    assert after.checkpoint == chain.header and after.validator_set_hash == chain.header.next_validator_set_hash
    assert after.proven_roots[compute_header_hash(chain.header)] == (1, chain.tree.root)
    assert state.checkpoint == chain.checkpoint  # validate and apply never mutate
    # The same proof cannot be applied twice: it was made against the old checkpoint.
    with pytest.raises(LightClientError, match="another checkpoint"):
        apply_header_proof(after, key, proof, signals, chain.header)


def test_bad_header_updates_are_refused(chain: SampleChain, header: tuple[CircuitKey, Proof, HeaderSignals]) -> None:
    key, proof, signals = header
    state = initial_state(chain.checkpoint)
    with pytest.raises(LightClientError, match="does not match"):
        validate_header_proof(state, key, proof, signals, replace(chain.header, timestamp=1))
    with pytest.raises(LightClientError, match="another checkpoint"):
        validate_header_proof(initial_state(replace(chain.checkpoint, timestamp=5)), key, proof, signals, chain.header)
    forged = replace(signals, event_root=signals.event_root + 1)  # another root, with a header that matches it
    with pytest.raises(LightClientError, match="does not match|does not verify"):
        validate_header_proof(state, key, proof, forged, replace(chain.header, event_root=forged.event_root))
    with pytest.raises(LightClientError, match="cannot check this proof"):
        validate_header_proof(
            state,
            load_circuit_key(key_path_of("event_inclusion"), "event_inclusion", PRESET),
            proof,
            signals,
            chain.header,
        )


def key_path_of(circuit: str) -> Path:
    return load_prover(circuit, PRESET).keys.verification_key


def test_events_run_only_under_proven_roots_and_from_the_next_id(
    chain: SampleChain,
    header: tuple[CircuitKey, Proof, HeaderSignals],
    events: tuple[CircuitKey, Proof, EventSignals],
) -> None:
    key, proof, signals = events
    batch = chain.events[: chain.batch_size]
    fresh = initial_state(chain.checkpoint)
    with pytest.raises(LightClientError, match="not the event root of any proven header"):
        apply_events_proof(fresh, key, proof, signals, batch)
    state = apply_header_proof(fresh, *header, chain.header)
    done = apply_events_proof(state, key, proof, signals, batch)
    assert done.last_executed_id == batch[-1].id and state.last_executed_id == 0
    swapped = (replace(batch[0], data=b"steal"), *batch[1:])
    with pytest.raises(LightClientError, match="not the events the proof commits to"):
        apply_events_proof(state, key, proof, signals, swapped)
    # Issue 11 (4): after executing 1 and 2, the same real proof used to be accepted again.
    with pytest.raises(LightClientError, match="must run from id 3"):
        apply_events_proof(done, key, proof, signals, batch)


def test_a_state_sync_proof_for_an_already_trusted_header_executes_its_events(
    chain: SampleChain, header: tuple[CircuitKey, Proof, HeaderSignals], tmp_path: Path
) -> None:
    # Issue 11 (5): someone submits the header first; the relayer's StateSync proof still executes its events.
    prover = load_prover("state_sync", PRESET)
    batch = chain.events[: chain.batch_size]
    inputs = build_state_sync_inputs(
        shape=event_shape(PRESET),
        trusted=chain.checkpoint,
        commit=chain.committee.sign(chain.header),
        validator_set=chain.committee.validator_set,
        header_events=chain.events,
        batch=batch,
    )
    proof, values = _prove(prover, inputs, tmp_path / "sync")
    signals = decode_signals("state_sync", values)
    assert isinstance(signals, StateSyncSignals)
    key = _key(prover)
    now = time.time()  # one clock for both paths: the states record when they accepted the header
    fresh = initial_state(chain.checkpoint, now=now)
    direct = apply_state_sync_proof(fresh, key, proof, signals, chain.header, batch, now=now)
    griefed = apply_header_proof(fresh, *header, chain.header, now=now)
    after = apply_state_sync_proof(griefed, key, proof, signals, chain.header, batch, now=now)
    assert after == direct and after.last_executed_id == batch[-1].id
    with pytest.raises(LightClientError, match="must run from id"):
        apply_state_sync_proof(after, key, proof, signals, chain.header, batch)


def _executed(state: LightClientState, last: int) -> LightClientState:
    return replace(state, last_executed_id=last)


def test_state_round_trips_and_refuses_corruption(chain: SampleChain, tmp_path: Path) -> None:
    state = _executed(initial_state(chain.checkpoint), 1)
    path = tmp_path / "client.json"
    save_state(path, state)
    assert load_state(path) == state
    assert [p.name for p in tmp_path.iterdir()] == ["client.json"]  # no temporary file left behind
    document = json.loads(path.read_text())
    document["state"]["last_executed_id"] = 0  # a replay-enabling edit
    path.write_text(json.dumps(document))
    with pytest.raises(StateFileError, match="checksum"):
        load_state(path)
    path.write_text(path.read_text()[:40])  # truncated
    with pytest.raises(StateFileError, match="unreadable"):
        load_state(path)
    with pytest.raises(StateFileError, match="no light-client state"):
        load_state(tmp_path / "missing.json")


def test_a_failed_write_keeps_the_previous_state(
    chain: SampleChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "client.json"
    before = initial_state(chain.checkpoint)
    save_state(path, before)

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", crash)  # the crash happens after the data is written, before the rename
    with pytest.raises(OSError):
        save_state(path, _executed(before, 1))
    monkeypatch.undo()
    assert load_state(path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["client.json"]
