"""From inputs to a proof at the test preset, through the prover's API; the verifier checks it."""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.inputs import build_state_sync_inputs, event_shape
from prover.prove import ProofError, Prover, load_prover, read_proof_record
from prover.samples import build_sample_chain, build_sample_inputs
from prover.toolchain import run_snarkjs
from prover.witness import WitnessError
from statesync.model import compute_batch_commitment, compute_header_hash
from verifier.groth16 import load_proof, verify_proof
from verifier.keys import CircuitKey, load_circuit_key

PRESET = "test"


@pytest.fixture(scope="module")
def prover() -> Prover:
    return load_prover("state_sync", PRESET)


@pytest.fixture(scope="module")
def key(prover: Prover) -> CircuitKey:
    return load_circuit_key(prover.keys.verification_key, "state_sync", PRESET)


def test_sample_proof_verifies_with_reference_public_signals(prover: Prover, key: CircuitKey, tmp_path: Path) -> None:
    chain = build_sample_chain(PRESET)
    result = prover.prove(build_sample_inputs("state_sync", PRESET), tmp_path / "proof")
    batch = compute_batch_commitment(chain.tree.root, chain.events[: chain.batch_size], chain.batch_size)
    # snarkjs orders outputs first, then public inputs (docs/PROTOCOL.md section 4).
    assert result.public_signals == (
        compute_header_hash(chain.header),
        chain.header.number,
        chain.tree.root,
        compute_header_hash(chain.checkpoint),
        batch.gamma,
        batch.commitment,
    )
    assert verify_proof(key.key, load_proof(result.proof_path), result.public_signals)
    run_snarkjs(["groth16", "verify", prover.keys.verification_key, result.public_path, result.proof_path])
    assert sorted(p.name for p in result.directory.iterdir()) == ["proof.json", "public.json", "record.json"]
    record = read_proof_record(result.directory)
    assert (record.circuit, record.preset, record.verification_key_sha256) == ("state_sync", PRESET, key.sha256)


def test_a_changed_public_signal_does_not_verify(prover: Prover, key: CircuitKey, tmp_path: Path) -> None:
    result = prover.prove(build_sample_inputs("state_sync", PRESET), tmp_path / "proof")
    for i in range(len(result.public_signals)):
        changed = list(result.public_signals)
        changed[i] += 1
        assert not verify_proof(key.key, load_proof(result.proof_path), changed)


def test_keys_record_a_verified_local_setup_and_are_reused(prover: Prover) -> None:
    record = prover.keys.record
    assert record["setup_kind"] == "local-dev" and "development" in str(record["warning"])
    assert "zkey verify: ok" in record["phase2"]  # type: ignore[operator]
    again = load_prover("state_sync", PRESET)
    assert again.keys.cached and again.keys.directory == prover.keys.directory


def test_unsatisfiable_inputs_name_the_failing_template(prover: Prover, tmp_path: Path) -> None:
    chain = build_sample_chain(PRESET)
    weak = chain.committee.sign(chain.header, {0})  # the smallest power alone
    inputs = build_state_sync_inputs(
        shape=event_shape(PRESET),
        trusted=chain.checkpoint,
        commit=weak,
        validator_set=chain.committee.validator_set,
        header_events=chain.events,
        batch=chain.events[: chain.batch_size],
    )
    with pytest.raises(WitnessError, match="QuorumRule, line"):
        prover.prove(inputs, tmp_path / "proof")
    assert not (tmp_path / "proof").exists()


def test_an_occupied_output_directory_is_refused(prover: Prover, tmp_path: Path) -> None:
    (tmp_path / "proof").mkdir()
    (tmp_path / "proof" / "keep.txt").write_text("mine")
    with pytest.raises(ProofError, match="not empty"):
        prover.prove(build_sample_inputs("state_sync", PRESET), tmp_path / "proof")
    assert (tmp_path / "proof" / "keep.txt").read_text() == "mine"


def test_a_failed_proof_leaves_nothing_behind(prover: Prover, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 11 (7): temporary witness directories and empty proof directories used to pile up.
    monkeypatch.setenv("ZKSTATESYNC_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    chain = build_sample_chain(PRESET)
    weak = chain.committee.sign(chain.header, {0})
    bad = build_state_sync_inputs(
        shape=event_shape(PRESET),
        trusted=chain.checkpoint,
        commit=weak,
        validator_set=chain.committee.validator_set,
        header_events=chain.events,
        batch=chain.events[: chain.batch_size],
    )
    with pytest.raises(WitnessError):
        prover.prove(bad)
    good = prover.prove(build_sample_inputs("state_sync", PRESET))
    from prover.witness import compute_witness

    compute_witness(prover.circuit, build_sample_inputs("state_sync", PRESET))
    with pytest.raises(WitnessError):
        compute_witness(prover.circuit, bad)
    proofs = tmp_path / "build" / "proofs"
    assert [p for p in proofs.rglob("*") if p.is_dir() and p.parent != proofs] == [good.directory]
    assert list((tmp_path / "tmp").iterdir()) == []
