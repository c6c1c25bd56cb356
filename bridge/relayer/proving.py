"""Proofs for the relayer: each made in a worker process with a time limit, retried a bounded number of times.

bridge.proving.prove_checked does the work in the worker (prove_worker.py): witness, snarkjs, then
the strict Python verifier against the prover's key. A worker that exceeds `timeout` is killed
with its whole process group and the proof started again, at most `attempts` times. The relayer
then reads the published directory back and checks it once more against the key it holds
(`load_checked`), which is also how a proof that was published just before a crash is adopted
after a restart instead of being made again.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from prover.prove import ProofRecordError, ProofResult, Prover, load_prover, read_proof_record
from prover.witness import CircuitInputs, encode_inputs
from statesync.errors import ZkStateSyncError
from statesync.storage import write_atomically
from verifier.groth16 import load_proof, load_public_inputs, verify_proof

from ..proving import CheckedProof, ProofCheckError, circuit_key

POLL_SECONDS: Final = 0.2
STDERR_TAIL: Final = 2000

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


def _die_with_parent() -> None:
    # Between fork and exec: SIGTERM the worker when the relayer dies (kill -9 included); the
    # worker's handler then kills its process group, snarkjs's node processes with it.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class ProofRunner:
    def __init__(
        self,
        preset: str,
        *,
        keys: Mapping[str, Path],
        timeout: float,
        attempts: int,
        should_stop: Callable[[], bool],
    ) -> None:
        self.preset = preset
        self.keys = dict(keys)
        self.timeout = timeout
        self.attempts = attempts
        self.should_stop = should_stop
        self._provers: dict[str, Prover] = {}

    def prover(self, circuit: str) -> Prover:
        """The circuit's compiled prover and keys (cached: the relayer holds its verification key)."""
        if circuit not in self._provers:
            self._provers[circuit] = load_prover(circuit, self.preset, keys=self.keys.get(circuit))
        return self._provers[circuit]

    def prove(self, circuit: str, inputs: CircuitInputs, out_dir: Path) -> tuple[CheckedProof, ProofTiming]:
        """A checked proof published in `out_dir` (replacing nothing: it must not exist yet)."""
        self.prover(circuit)  # compile and key problems surface here, once, not in every worker
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        inputs_path = out_dir.with_name(f"{out_dir.name}.inputs.json")
        write_atomically(inputs_path, json.dumps(encode_inputs(inputs)))
        started = time.monotonic()
        failures: list[str] = []
        try:
            for attempt in range(1, self.attempts + 1):
                outcome = self._run_worker(circuit, inputs_path, out_dir)
                if outcome is None:
                    checked = self.load_checked(circuit, out_dir)
                    return checked, ProofTiming(circuit, time.monotonic() - started, attempt)
                failures.append(outcome)
                log.warning(
                    "prove.attempt_failed",
                    extra={"fields": {"circuit": circuit, "attempt": attempt, "reason": outcome[:500]}},
                )
                _remove_partial(out_dir)
        finally:
            inputs_path.unlink(missing_ok=True)
        raise ProvingError(f"no {circuit} proof in {self.attempts} attempts: {failures[-1][:1000]}")

    def _run_worker(self, circuit: str, inputs_path: Path, out_dir: Path) -> str | None:
        """None once the worker published the proof; otherwise why it did not."""
        argv = [
            sys.executable,
            "-m",
            "bridge.relayer.prove_worker",
            "--circuit",
            circuit,
            "--preset",
            self.preset,
            "--inputs",
            os.fspath(inputs_path),
            "--out",
            os.fspath(out_dir),
        ]
        if circuit in self.keys:
            argv += ["--keys", os.fspath(self.keys[circuit])]
        with tempfile.TemporaryFile() as stderr:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
            deadline = time.monotonic() + self.timeout
            try:
                while process.poll() is None:
                    if self.should_stop():
                        raise ProvingStopped(f"stopping: the {circuit} proof was abandoned")
                    if time.monotonic() > deadline:
                        return f"the proof took more than {self.timeout} s and was stopped"
                    time.sleep(POLL_SECONDS)
            finally:
                if process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            if process.returncode == 0:
                return None
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace")[-STDERR_TAIL:]
            return f"the worker exited with {process.returncode}: {tail.strip()}"

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
    """What a killed worker may leave: the prover's work directories beside out_dir (never a half proof)."""
    for leftover in out_dir.parent.glob(".zkss-proof-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if out_dir.exists() and not (out_dir / "record.json").exists():
        shutil.rmtree(out_dir, ignore_errors=True)


def remove_leftovers(proofs_dir: Path) -> None:
    """What workers killed with a previous relayer process left in its proofs directory (one relayer
    per data directory: nothing else writes there): the prover's work directories and input files."""
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
