"""The Python light client: only proofs against its checkpoint advance it; state survives crashes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from prover.inputs import build_event_inclusion_inputs, build_header_update_inputs
from prover.prove import ProofResult, Prover, load_prover
from prover.samples import SampleChain, build_sample_chain
from statesync.model import compute_header_hash
from verifier.light_client import (
    LightClientError,
    StateFileError,
    apply_header_proof,
    initial_state,
    load_state,
    record_executed,
    save_state,
    verify_events,
)

PRESET = "test"


@pytest.fixture(scope="module")
def chain() -> SampleChain:
    return build_sample_chain(PRESET)


@pytest.fixture(scope="module")
def header_prover() -> Prover:
    return load_prover("header_update", PRESET)


@pytest.fixture(scope="module")
def header_proof(chain: SampleChain, header_prover: Prover, tmp_path_factory: pytest.TempPathFactory) -> ProofResult:
    inputs = build_header_update_inputs(
        chain.checkpoint, chain.committee.sign(chain.header), chain.committee.validator_set
    )
    return header_prover.prove(inputs, tmp_path_factory.mktemp("header") / "proof")


def test_a_valid_header_proof_advances_the_checkpoint(
    chain: SampleChain, header_prover: Prover, header_proof: ProofResult
) -> None:
    state = initial_state(chain.checkpoint)
    after = apply_header_proof(
        state, header_prover.verifying_key, header_proof.proof, header_proof.public_signals, chain.header
    )
    assert after.checkpoint == chain.header and after.validator_set_hash == chain.header.next_validator_set_hash
    assert after.proven_roots[compute_header_hash(chain.header)] == (1, chain.tree.root)
    # The same proof cannot be applied twice: it was made against the old checkpoint.
    with pytest.raises(LightClientError, match="another checkpoint"):
        apply_header_proof(
            after, header_prover.verifying_key, header_proof.proof, header_proof.public_signals, chain.header
        )


def test_bad_header_updates_are_refused(chain: SampleChain, header_prover: Prover, header_proof: ProofResult) -> None:
    state = initial_state(chain.checkpoint)
    key, proof, public = header_prover.verifying_key, header_proof.proof, header_proof.public_signals
    with pytest.raises(LightClientError, match="does not match"):
        apply_header_proof(state, key, proof, public, replace(chain.header, timestamp=1))
    with pytest.raises(LightClientError, match="another checkpoint"):
        apply_header_proof(initial_state(replace(chain.checkpoint, timestamp=5)), key, proof, public, chain.header)
    forged = list(public)
    forged[2] += 1  # another event root, with a header that matches it
    with pytest.raises(LightClientError):
        apply_header_proof(state, key, proof, forged, replace(chain.header, event_root=forged[2]))


def test_events_verify_only_under_proven_roots(
    chain: SampleChain, header_prover: Prover, header_proof: ProofResult, tmp_path: Path
) -> None:
    events_prover = load_prover("event_inclusion", PRESET)
    batch = chain.events[: chain.batch_size]
    result = events_prover.prove(
        build_event_inclusion_inputs(chain.tree, chain.events, batch, chain.batch_size), tmp_path / "e"
    )
    key = events_prover.verifying_key
    fresh = initial_state(chain.checkpoint)
    with pytest.raises(LightClientError, match="not the event root of any proven header"):
        verify_events(fresh, key, result.proof, result.public_signals, batch, chain.batch_size)
    state = apply_header_proof(
        fresh, header_prover.verifying_key, header_proof.proof, header_proof.public_signals, chain.header
    )
    assert verify_events(state, key, result.proof, result.public_signals, batch, chain.batch_size) == batch
    swapped = (replace(batch[0], data=b"steal"), *batch[1:])
    with pytest.raises(LightClientError, match="not the events the proof commits to"):
        verify_events(state, key, result.proof, result.public_signals, swapped, chain.batch_size)
    done = record_executed(state, batch)
    assert done.last_executed_id == batch[-1].id
    with pytest.raises(LightClientError, match="out of order"):
        record_executed(done, batch)  # a replay


def test_state_round_trips_and_refuses_corruption(chain: SampleChain, tmp_path: Path) -> None:
    state = record_executed(initial_state(chain.checkpoint), chain.events[:1])
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
        save_state(path, record_executed(before, chain.events[:1]))
    monkeypatch.undo()
    assert load_state(path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["client.json"]
