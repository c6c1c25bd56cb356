"""Inputs to a Groth16 proof: compile (cached), keys (cached), witness, `snarkjs groth16 prove`.

    result = prove("state_sync", "test", inputs)
    result.proof, result.public_signals      # typed, already checked by the Python verifier

Outputs are written to a fresh directory that appears only when the proof is complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from statesync.errors import ZkStateSyncError
from verifier.groth16 import (
    PreparedVerifyingKey,
    Proof,
    load_proof,
    load_public_inputs,
    load_verifying_key,
    prepare_verifying_key,
    verify_proof,
)

from .build import CompiledCircuit, build_root, compile_circuit
from .manifest import load_manifest
from .setup import CircuitKeys, setup_circuit
from .toolchain import run_snarkjs
from .witness import CircuitInputs, compute_witness


class ProofError(ZkStateSyncError):
    """snarkjs produced a proof that does not verify (a broken key or toolchain)."""


@dataclass(frozen=True)
class ProofResult:
    circuit: str
    proof: Proof
    public_signals: tuple[int, ...]
    directory: Path
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def proof_path(self) -> Path:
        return self.directory / "proof.json"

    @property
    def public_path(self) -> Path:
        return self.directory / "public.json"


@dataclass(frozen=True)
class Prover:
    """A compiled circuit with its keys: the unit that proves (reuse it across proofs)."""

    circuit: CompiledCircuit
    keys: CircuitKeys

    @property
    def verifying_key(self) -> PreparedVerifyingKey:
        return prepare_verifying_key(load_verifying_key(self.keys.verification_key))

    def prove(self, inputs: CircuitInputs, out_dir: Path | None = None, *, replace: bool = False) -> ProofResult:
        """Prove into out_dir (a new or empty directory; replace=True swaps out an old proof).

        Without out_dir the proof goes to a new directory under build/proofs/ (make clean).
        """
        if out_dir is None:
            proofs = build_root() / "proofs"
            proofs.mkdir(parents=True, exist_ok=True)
            out_dir = Path(tempfile.mkdtemp(prefix=f"{self.circuit.spec.name}-", dir=proofs))
        timings: dict[str, float] = {}
        if not replace and out_dir is not None and Path(out_dir).exists() and any(Path(out_dir).iterdir()):
            raise ProofError(f"{out_dir} exists and is not empty; choose a new output directory")
        # Work beside the destination, so publishing is a rename on one filesystem.
        parent = Path(out_dir).resolve().parent if out_dir is not None else None
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".zkss-proof-", dir=parent))
        try:
            started = time.perf_counter()
            witness = compute_witness(self.circuit, inputs, work)
            timings["witness"] = round(time.perf_counter() - started, 3)
            started = time.perf_counter()
            run_snarkjs(["groth16", "prove", self.keys.zkey, witness.path, work / "proof.json", work / "public.json"])
            timings["prove"] = round(time.perf_counter() - started, 3)
            proof = load_proof(work / "proof.json")
            public = load_public_inputs(work / "public.json")
            if not verify_proof(self.verifying_key, proof, public):
                raise ProofError(f"snarkjs's proof for {self.circuit.spec.name} does not verify against its key")
            destination = _publish(work, out_dir, replace)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return ProofResult(self.circuit.spec.name, proof, public, destination, timings)


def _publish(work: Path, out_dir: Path | None, replace: bool) -> Path:
    for name in ("proof.json", "public.json"):
        if not (work / name).is_file():
            raise ProofError(f"snarkjs did not write {name}")
    for leftover in work.iterdir():
        if leftover.name not in ("proof.json", "public.json"):
            leftover.unlink()
    if out_dir is None:
        return work
    out_dir = Path(out_dir)
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        # Empty unless replacing; a reader sees the old proof or the new one, never a mix.
        out_dir.rename(old)
    work.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return out_dir


def load_prover(circuit: str, preset: str, progress: Callable[[str], None] | None = None) -> Prover:
    """Compile and set up (both cached) a manifest circuit at a preset."""
    compiled = compile_circuit(load_manifest().spec(circuit, preset))
    return Prover(compiled, setup_circuit(compiled, progress=progress))


def prove(circuit: str, preset: str, inputs: CircuitInputs, out_dir: Path | None = None) -> ProofResult:
    return load_prover(circuit, preset).prove(inputs, out_dir)
