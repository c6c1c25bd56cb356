"""From inputs to a verified proof at the test preset, through the API and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.inputs import build_state_sync_inputs
from prover.prove import ProofError, Prover, load_prover
from prover.samples import build_sample_chain, build_sample_inputs
from prover.toolchain import run_snarkjs
from prover.witness import WitnessError
from statesync.model import compute_batch_commitment, compute_header_hash
from verifier.groth16 import verify_proof

from .conftest import run_cli

PRESET = "test"


@pytest.fixture(scope="module")
def prover() -> Prover:
    return load_prover("state_sync", PRESET)


def test_sample_proof_verifies_with_reference_public_signals(prover: Prover, tmp_path: Path) -> None:
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
    assert verify_proof(prover.verifying_key, result.proof, result.public_signals)
    run_snarkjs(["groth16", "verify", prover.keys.verification_key, result.public_path, result.proof_path])
    assert sorted(p.name for p in result.directory.iterdir()) == ["proof.json", "public.json"]


def test_a_changed_public_signal_does_not_verify(prover: Prover, tmp_path: Path) -> None:
    result = prover.prove(build_sample_inputs("state_sync", PRESET), tmp_path / "proof")
    for i in range(len(result.public_signals)):
        changed = list(result.public_signals)
        changed[i] += 1
        assert not verify_proof(prover.verifying_key, result.proof, changed)


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
        chain.checkpoint,
        weak,
        chain.committee.validator_set,
        chain.tree,
        chain.events,
        chain.events[: chain.batch_size],
        chain.batch_size,
    )
    with pytest.raises(WitnessError, match="QuorumCertificate, line"):
        prover.prove(inputs, tmp_path / "proof")
    assert not (tmp_path / "proof").exists()


def test_an_occupied_output_directory_is_refused(prover: Prover, tmp_path: Path) -> None:
    (tmp_path / "proof").mkdir()
    (tmp_path / "proof" / "keep.txt").write_text("mine")
    with pytest.raises(ProofError, match="not empty"):
        prover.prove(build_sample_inputs("state_sync", PRESET), tmp_path / "proof")
    assert (tmp_path / "proof" / "keep.txt").read_text() == "mine"


def test_cli_proves_and_verifies(prover: Prover, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.json"
    assert run_cli("sample-inputs", "state_sync", "--preset", PRESET, "--out", str(inputs)).returncode == 0
    proved = run_cli("prove", "state_sync", "--preset", PRESET, "--input", str(inputs), "--out", str(tmp_path / "p"))
    assert proved.returncode == 0, proved.stderr
    assert run_cli("verify", str(tmp_path / "p"), "--preset", PRESET).returncode == 0
    public = json.loads((tmp_path / "p" / "public.json").read_text())
    public[0] = str(int(public[0]) + 1)
    (tmp_path / "p" / "public.json").write_text(json.dumps(public))
    rejected = run_cli("verify", str(tmp_path / "p"), "--preset", PRESET)
    assert rejected.returncode == 1 and "invalid" in rejected.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ('{"trustedHeaderHash": "-1"}', "canonical decimal"), ("[1]", "JSON object")],
)
def test_cli_reports_bad_inputs_without_a_traceback(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = run_cli("prove", "state_sync", "--preset", PRESET, "--input", str(bad), "--out", str(tmp_path / "p"))
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_cli_reports_unknown_circuits(tmp_path: Path) -> None:
    result = run_cli("prove", "nope", "--preset", PRESET)
    assert result.returncode == 1 and "unknown circuit 'nope'" in result.stderr


@pytest.mark.parametrize("command", [["prove", "header_chain"], ["compile", "state_sync"], ["demo"]])
def test_cli_reports_unknown_presets_in_one_line(command: list[str]) -> None:
    # `prove` without --input builds the sample rootchain, which reads the preset first.
    result = run_cli(*command, "--preset", "nope")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: unknown preset 'nope'; the manifest has: default, test"


def test_cli_refuses_an_optimisation_level_circom_lacks() -> None:
    result = run_cli("compile", "header_update", "--preset", PRESET, "--opt", "7")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: circom optimisation level must be 0, 1 or 2, not 7"


def test_cli_reports_missing_files(tmp_path: Path) -> None:
    result = run_cli("verify", str(tmp_path / "absent"), "--preset", PRESET)
    assert result.returncode == 1 and "No such file" in result.stderr and "Traceback" not in result.stderr
