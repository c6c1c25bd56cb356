"""The `zkstatesync` command line as a user runs it: prove, verify, and errors in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.proving import find_verification_key
from prover.prove import read_proof_record
from statesync.circuits import load_manifest

from .conftest import run_cli

PRESET = "test"


def test_cli_proves_and_verifies(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.json"
    assert run_cli("sample-inputs", "state_sync", "--preset", PRESET, "--out", str(inputs)).returncode == 0
    proved = run_cli("prove", "state_sync", "--preset", PRESET, "--input", str(inputs), "--out", str(tmp_path / "p"))
    assert proved.returncode == 0, proved.stderr
    verified = run_cli("verify", str(tmp_path / "p"))
    assert verified.returncode == 0 and "valid" in verified.stdout and "state_sync (test)" in verified.stdout
    public = json.loads((tmp_path / "p" / "public.json").read_text())
    public[0] = str(int(public[0]) + 1)
    (tmp_path / "p" / "public.json").write_text(json.dumps(public))
    rejected = run_cli("verify", str(tmp_path / "p"))
    assert rejected.returncode == 1 and "invalid" in rejected.stderr


def test_cli_verify_never_runs_a_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A proof whose key is gone (make clean, or made elsewhere) is a one-line error, not fresh keys.
    proof = tmp_path / "p"
    assert run_cli("prove", "state_sync", "--preset", PRESET, "--out", str(proof)).returncode == 0
    empty = tmp_path / "empty-build"
    monkeypatch.setenv("ZKSTATESYNC_BUILD", str(empty))
    result = run_cli("verify", str(proof))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: no verification key with sha256") and len(result.stderr.splitlines()) == 1
    assert not (empty / "keys").exists() and not (empty / "ptau").exists()
    (proof / "record.json").unlink()
    result = run_cli("verify", str(proof))
    assert result.returncode == 1 and "record.json is missing" in result.stderr


def test_cli_verify_refuses_another_key(tmp_path: Path) -> None:
    proof = tmp_path / "p"
    assert run_cli("prove", "state_sync", "--preset", PRESET, "--out", str(proof)).returncode == 0
    other = tmp_path / "other"
    assert run_cli("prove", "header_update", "--preset", PRESET, "--out", str(other)).returncode == 0
    wrong = find_verification_key(read_proof_record(other))
    result = run_cli("verify", str(proof), "--vkey", str(wrong))
    assert result.returncode == 1 and "is not the key the proof names" in result.stderr


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
    presets = ", ".join(sorted(load_manifest().presets))
    assert result.stderr.strip() == f"error: unknown preset 'nope'; the manifest has: {presets}"


def test_cli_refuses_an_optimisation_level_circom_lacks() -> None:
    result = run_cli("compile", "header_update", "--preset", PRESET, "--opt", "7")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: circom optimisation level must be 0, 1 or 2, not 7"


def test_cli_reports_missing_files(tmp_path: Path) -> None:
    result = run_cli("verify", str(tmp_path / "absent"))
    assert result.returncode == 1 and "record.json is missing" in result.stderr and "Traceback" not in result.stderr
