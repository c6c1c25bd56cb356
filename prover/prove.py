"""Groth16 proofs: compile (cached), keys (cached), then witness and proof in a warm prover.

    prover = load_prover("state_sync", "test")
    result = prover.prove(inputs)                 # build/proofs/state_sync-test/<id>/
    result.public_signals, result.proof_path

A proof directory holds proof.json and public.json (snarkjs's formats) and record.json, which
names the circuit, the preset and the sha256 of the verification key the proof is for, so a
verifier never has to guess (or re-create) the key. A directory appears only when complete;
a failed proof leaves nothing behind. The witness and the proof are made by this process's
warm prover for the key (prover.warm: a node process that loaded the key once). Checking the
proof is the verifier's job (verifier/), done by the callers that hold both (bridge/proving.py).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from statesync.circuits import load_manifest
from statesync.errors import ZkStateSyncError

from .artifacts import Kind, artifact_path
from .build import CompiledCircuit, compile_circuit
from .setup import CircuitKeys, setup_circuit
from .warm import Backend, shared_warm_prover
from .witness import CircuitInputs

RECORD = "record.json"
RECORD_VERSION = 1


class ProofError(ZkStateSyncError):
    """A proof could not be made or written (a broken key or toolchain, a bad destination)."""


class ProofRecordError(ProofError):
    """A proof directory's record.json is missing or unreadable."""


@dataclass(frozen=True)
class ProofRecord:
    """What a proof is of: the manifest circuit and preset, and its verification key's sha256."""

    circuit: str
    preset: str
    verification_key_sha256: str
    signals: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "version": RECORD_VERSION,
            "circuit": self.circuit,
            "preset": self.preset,
            "verification_key_sha256": self.verification_key_sha256,
            "signals": list(self.signals),
        }


def read_proof_record(directory: Path) -> ProofRecord:
    path = Path(directory) / RECORD
    try:
        raw = json.loads(path.read_text())
        if raw.get("version") != RECORD_VERSION:
            raise ProofRecordError(f"{path}: record version {raw.get('version')!r}, this reads {RECORD_VERSION}")
        return ProofRecord(
            circuit=str(raw["circuit"]),
            preset=str(raw["preset"]),
            verification_key_sha256=str(raw["verification_key_sha256"]),
            signals=tuple(str(s) for s in raw["signals"]),
        )
    except FileNotFoundError as exc:
        raise ProofRecordError(f"{path} is missing: the proof does not say which circuit and key it is for") from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProofRecordError(f"{path} is unreadable ({exc})") from exc


@dataclass(frozen=True)
class ProofResult:
    record: ProofRecord
    public_signals: tuple[int, ...]
    directory: Path
    seconds: Mapping[str, float] = field(default_factory=dict)

    @property
    def circuit(self) -> str:
        return self.record.circuit

    @property
    def proof_path(self) -> Path:
        return self.directory / "proof.json"

    @property
    def public_path(self) -> Path:
        return self.directory / "public.json"

    def proof_json(self) -> dict[str, Any]:
        return dict(json.loads(self.proof_path.read_text()))


@dataclass(frozen=True)
class Prover:
    """A compiled circuit with its keys: the unit that proves (reuse it across proofs)."""

    circuit: CompiledCircuit
    keys: CircuitKeys

    @property
    def record(self) -> ProofRecord:
        spec = self.circuit.spec
        return ProofRecord(spec.circuit, spec.preset, self.keys.verification_key_sha256, spec.signals)

    def prove(
        self,
        inputs: CircuitInputs,
        out_dir: Path | None = None,
        *,
        replace: bool = False,
        backend: Backend | None = None,
        timeout: float | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> ProofResult:
        """Prove into out_dir (new or empty; replace=True swaps out an old proof atomically).

        Without out_dir the proof goes to a new directory under build/proofs/<instance>/.
        `backend` picks the engine (prover.warm; default: ZKSTATESYNC_PROVER_BACKEND or "fast").
        """
        if out_dir is None:
            out_dir = new_proof_directory(self.circuit.spec.name)
        record = self.record

        def make(work: Path) -> dict[str, float]:
            warm = shared_warm_prover(self.circuit, self.keys, backend=backend)
            times = warm.prove_into(inputs, work, timeout=timeout, cancel=cancel)
            return {"witness": round(times.witness, 3), "prove": round(times.prove, 3)}

        return _publish_made(record, Path(out_dir), replace, make)


def new_proof_directory(instance: str) -> Path:
    """A new directory under build/proofs/<instance>/, named by time and a random suffix."""
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
    return artifact_path(Kind.PROOFS, instance, name)


def publish_proof_texts(
    record: ProofRecord,
    proof: str,
    public: str,
    out_dir: Path,
    *,
    replace: bool = False,
    seconds: Mapping[str, float] | None = None,
) -> ProofResult:
    """Publish a proof made elsewhere (prover.farm's workers) as Prover.prove publishes its own."""

    def make(work: Path) -> dict[str, float]:
        (work / "proof.json").write_text(proof)
        (work / "public.json").write_text(public)
        return dict(seconds or {})

    return _publish_made(record, Path(out_dir), replace, make)


def _publish_made(
    record: ProofRecord, out_dir: Path, replace: bool, make: Callable[[Path], dict[str, float]]
) -> ProofResult:
    if not replace and out_dir.exists() and any(out_dir.iterdir()):
        raise ProofError(f"{out_dir} exists and is not empty; choose a new output directory")
    # Work beside the destination, so publishing is a rename on one filesystem.
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".zkss-proof-", dir=parent))
    try:
        timings = make(work)
        signals = _read_public(work / "public.json", len(record.signals))
        (work / RECORD).write_text(json.dumps(record.to_dict(), indent=2) + "\n")
        destination = _publish(work, out_dir, replace)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ProofResult(record, signals, destination, timings)


def _read_public(path: Path, count: int) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise ProofError(f"the prover wrote no readable public.json ({exc})") from exc
    if len(values) != count:
        raise ProofError(f"the prover wrote {len(values)} public signals, the manifest lists {count}")
    return values


def _publish(work: Path, out_dir: Path, replace: bool) -> Path:
    for leftover in work.iterdir():
        if leftover.name not in ("proof.json", "public.json", RECORD):
            leftover.unlink()
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        # Empty unless replacing; a reader sees the old proof or the new one, never a mix.
        out_dir.rename(old)
    work.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return out_dir


def load_prover(
    circuit: str, preset: str, progress: Callable[[str], None] | None = None, *, keys: Path | None = None
) -> Prover:
    """Compile (cached) a manifest circuit at a preset, with its keys.

    Without ``keys`` the keys come from the local setup (cached); with a keys directory (a
    ceremony's, prover.ceremony) they are used as published, once their record is shown to be
    for this circuit, preset and r1cs (KeysMismatchError otherwise).
    """
    compiled = compile_circuit(load_manifest().spec(circuit, preset))
    if keys is None:
        return Prover(compiled, setup_circuit(compiled, progress=progress))
    loaded = CircuitKeys.load(keys)
    loaded.check_matches(compiled)
    return Prover(compiled, loaded)
