"""Proving and checking together: the prover makes a proof, the verifier checks it.

The prover and the verifier are siblings that never import each other; everything that
needs both (the CLI, the demo, the relayer) goes through here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from prover.artifacts import Kind, artifact_path
from prover.prove import ProofRecord, ProofResult, Prover, read_proof_record
from prover.warm import Backend
from prover.witness import CircuitInputs
from statesync.circuits import load_manifest
from statesync.errors import ZkStateSyncError
from verifier.groth16 import Proof, load_proof, load_public_inputs, verify_proof
from verifier.keys import CircuitKey, load_circuit_key
from verifier.signals import Signals, decode_signals


class ProofCheckError(ZkStateSyncError):
    """A freshly made proof does not verify against its own key (a broken key or toolchain)."""


class KeyNotFoundError(ZkStateSyncError):
    """The verification key a proof names is not here."""


@dataclass(frozen=True)
class CheckedProof:
    """A proof that verified, with its typed public signals."""

    result: ProofResult
    proof: Proof
    key: CircuitKey
    values: tuple[int, ...]

    @property
    def signals(self) -> Signals:
        return decode_signals(self.key.circuit, self.values)


@functools.cache
def _cached_key(path: Path, circuit: str, preset: str, mtime_ns: int) -> CircuitKey:
    return load_circuit_key(path, circuit, preset)


def circuit_key(prover: Prover) -> CircuitKey:
    """The prover's verification key, read and prepared once per process."""
    path = prover.keys.verification_key
    return _cached_key(path, prover.circuit.spec.circuit, prover.circuit.spec.preset, path.stat().st_mtime_ns)


def prove_checked(
    prover: Prover,
    inputs: CircuitInputs,
    out_dir: Path | None = None,
    *,
    replace: bool = False,
    backend: Backend | None = None,
) -> CheckedProof:
    """Prove, then check the proof with the strict Python verifier before anyone relies on it."""
    return check_proof(prover, prover.prove(inputs, out_dir, replace=replace, backend=backend))


def check_proof(prover: Prover, result: ProofResult) -> CheckedProof:
    """A published proof checked against the prover's key (ProofCheckError if it does not verify)."""
    key = circuit_key(prover)
    proof = load_proof(result.proof_path)
    if not verify_proof(key.key, proof, result.public_signals):
        raise ProofCheckError(f"the proof of {result.circuit} in {result.directory} does not verify against its key")
    return CheckedProof(result, proof, key, result.public_signals)


def find_verification_key(record: ProofRecord) -> Path:
    """The cached verification key whose sha256 the record names; never runs a setup."""
    spec = load_manifest().spec(record.circuit, record.preset)
    keys = artifact_path(Kind.KEYS, spec.name)
    candidates = sorted(keys.glob("*/verification_key.json")) if keys.is_dir() else []
    for path in candidates:
        if load_circuit_key(path, record.circuit, record.preset).sha256 == record.verification_key_sha256:
            return path
    raise KeyNotFoundError(
        f"no verification key with sha256 {record.verification_key_sha256[:16]}... for {spec.name} under {keys} "
        "(the keys were deleted or the proof was made elsewhere): pass the proof's key with --vkey"
    )


@dataclass(frozen=True)
class Verdict:
    valid: bool
    record: ProofRecord
    key_path: Path


def verify_proof_directory(directory: Path, vkey: Path | None = None) -> Verdict:
    """Check a proof directory (proof.json, public.json, record.json) against the key its record names."""
    record = read_proof_record(directory)
    path = vkey or find_verification_key(record)
    key = load_circuit_key(path, record.circuit, record.preset)
    if key.sha256 != record.verification_key_sha256:
        raise KeyNotFoundError(
            f"{path} is not the key the proof names (sha256 {key.sha256[:16]}..., the proof says "
            f"{record.verification_key_sha256[:16]}...)"
        )
    values = load_public_inputs(Path(directory) / "public.json")
    if not load_manifest().circuit(record.circuit).test_only:
        decode_signals(record.circuit, values)  # the count and canonical form, by name
    valid = verify_proof(key.key, load_proof(Path(directory) / "proof.json"), values)
    return Verdict(valid, record, path)
