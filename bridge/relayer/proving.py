"""Proofs for the relayer: each made by a warm prover with a time limit, retried a bounded number of times.

The relayer holds one warm prover per circuit (prover.warm: a node process that loaded the key
once), so a proof costs the witness and the prover's work, not node's start-up and a read of the
whole key. A proof past `timeout` stops that process (its whole group) and the proof starts again
in a new one, at most `attempts` times; the relayer's stop abandons a running proof within
prover.warm.CANCEL_POLL seconds. A published proof is read back and checked against the key the
relayer holds (`load_checked`), which is also how a proof published just before a crash is adopted
after a restart instead of being made again.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from prover.prove import ProofRecordError, ProofResult, Prover, load_prover, read_proof_record
from prover.warm import Backend, ProverCancelled
from prover.witness import CircuitInputs
from statesync.errors import ZkStateSyncError
from verifier.groth16 import load_proof, load_public_inputs, verify_proof

from ..proving import CheckedProof, ProofCheckError, circuit_key

log = logging.getLogger("zkstatesync.relayer.proving")


class ProvingError(ZkStateSyncError):
    """No proof within the bounded attempts (every one failed or ran out of time)."""


class ProvingStopped(ZkStateSyncError):
    """The relayer is stopping: the proof was abandoned."""


@dataclass(frozen=True)
class ProofTiming:
    circuit: str
    seconds: float
    attempts: int


class ProofRunner:
    def __init__(
        self,
        preset: str,
        *,
        keys: Mapping[str, Path],
        timeout: float,
        attempts: int,
        should_stop: Callable[[], bool],
        backend: Backend | None = None,
    ) -> None:
        self.preset = preset
        self.keys = dict(keys)
        self.timeout = timeout
        self.attempts = attempts
        self.should_stop = should_stop
        self.backend = backend
        self._provers: dict[str, Prover] = {}

    def prover(self, circuit: str) -> Prover:
        """The circuit's compiled prover and keys (cached: the relayer holds its verification key)."""
        if circuit not in self._provers:
            self._provers[circuit] = load_prover(circuit, self.preset, keys=self.keys.get(circuit))
        return self._provers[circuit]

    def prove(self, circuit: str, inputs: CircuitInputs, out_dir: Path) -> tuple[CheckedProof, ProofTiming]:
        """A checked proof published in `out_dir` (replacing nothing: it must not exist yet)."""
        prover = self.prover(circuit)  # compile and key problems surface here, once
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        failures: list[str] = []
        for attempt in range(1, self.attempts + 1):
            if self.should_stop():
                raise ProvingStopped(f"stopping: the {circuit} proof was abandoned")
            try:
                prover.prove(
                    inputs,
                    out_dir,
                    replace=True,
                    backend=self.backend,
                    timeout=self.timeout,
                    cancel=self.should_stop,
                )
                checked = self.load_checked(circuit, out_dir)
                return checked, ProofTiming(circuit, time.monotonic() - started, attempt)
            except ProverCancelled as exc:
                _remove_partial(out_dir)
                raise ProvingStopped(f"stopping: the {circuit} proof was abandoned") from exc
            except ZkStateSyncError as exc:
                failures.append(str(exc))
                log.warning(
                    "prove.attempt_failed",
                    extra={"fields": {"circuit": circuit, "attempt": attempt, "reason": str(exc)[:500]}},
                )
                _remove_partial(out_dir)
        raise ProvingError(f"no {circuit} proof in {self.attempts} attempts: {failures[-1][:1000]}")

    def load_checked(self, circuit: str, directory: Path) -> CheckedProof:
        """A published proof read back and verified against this relayer's key for the circuit."""
        key = circuit_key(self.prover(circuit))
        try:
            record = read_proof_record(directory)
            values = tuple(load_public_inputs(directory / "public.json"))
            proof = load_proof(directory / "proof.json")
        except (ProofRecordError, OSError, ValueError, ZkStateSyncError) as exc:
            raise ProofCheckError(f"the proof in {directory} is unreadable: {exc}") from exc
        if record.circuit != circuit or record.verification_key_sha256 != key.sha256:
            raise ProofCheckError(f"the proof in {directory} is for {record.circuit} under another key")
        if not verify_proof(key.key, proof, values):
            raise ProofCheckError(f"the proof in {directory} does not verify against the {circuit} key")
        return CheckedProof(ProofResult(record, values, directory), proof, key, values)


def _remove_partial(out_dir: Path) -> None:
    """What a stopped prover may leave: the prover's work directories beside out_dir (never a half proof)."""
    for leftover in out_dir.parent.glob(".zkss-proof-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if out_dir.exists() and not (out_dir / "record.json").exists():
        shutil.rmtree(out_dir, ignore_errors=True)


def remove_leftovers(proofs_dir: Path) -> None:
    """What a previous relayer process killed mid-proof left in its proofs directory (one relayer
    per data directory: nothing else writes there): the prover's work directories (and the input
    files of earlier versions, which proved in worker processes)."""
    if not proofs_dir.is_dir():
        return
    for leftover in proofs_dir.glob(".zkss-proof-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for inputs in proofs_dir.glob("*.inputs.json"):
        inputs.unlink(missing_ok=True)


PRUNE_MISSING_RUN: Final = 16


def prune_finished_proofs(finished: Sequence[Path], keep: int, *, sweep: bool = False) -> int:
    """Delete the proof directories of finished batches (`finished`: newest first) but the newest `keep`.

    A finished batch's proof is never used again (the store says so before this runs), so a
    deletion cut short by kill -9 loses nothing: the sweep at the next start finishes it. Without
    `sweep` the walk stops after PRUNE_MISSING_RUN directories in a row already gone (where the
    previous call ended; a batch that failed before proving never had one), so each call costs
    what it deletes, not the whole history. Returns how many it deleted.
    """
    removed = missing = 0
    for directory in finished[keep:]:
        if not directory.exists():
            missing += 1
            if not sweep and missing >= PRUNE_MISSING_RUN:
                break
            continue
        missing = 0
        shutil.rmtree(directory, ignore_errors=True)
        removed += 1
    return removed


def is_published(directory: Path) -> bool:
    return (directory / "record.json").is_file() and (directory / "proof.json").is_file()
