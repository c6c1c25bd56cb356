"""Warm provers: one long-lived node process per key that computes witnesses and proves many.

    with WarmProver.for_keys(prover.circuit, prover.keys) as warm:
        files = warm.prove_into(inputs, work_dir)   # proof.json + public.json in work_dir

A fresh `snarkjs groth16 prove` starts node, sets its curve up and reads the whole zkey for every
proof (about 1.5 s of a 9 s proof at the default preset); the server (js/prove_server.js) pays
that once. Each WarmProver owns one process and proves one witness at a time; a process that dies
is started again and the job retried once, and a job past its deadline kills the process (its
whole group: the engine's worker threads live in it), so a stuck proof never blocks the next one.

Backends: "fast" (js/groth16_fast.js: this project's engine, Pippenger MSMs with batch-affine
buckets over the key's points held in its worker threads; the default) and "snarkjs" (snarkjs's own
groth16.prove on the key held in memory: the reference). Both write snarkjs's proof.json and
public.json. ZKSTATESYNC_PROVER_BACKEND picks the default.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final, Literal

from statesync.errors import ToolError, ZkStateSyncError

from .build import CompiledCircuit
from .setup import CircuitKeys
from .toolchain import NODE_HEAP_MB, check_pinned_versions, js_script, node_executable, node_modules
from .witness import CircuitInputs, encode_inputs, parse_witness_failure

Backend = Literal["fast", "snarkjs"]
BACKENDS: Final[tuple[Backend, ...]] = ("fast", "snarkjs")
BACKEND_ENV: Final = "ZKSTATESYNC_PROVER_BACKEND"
STDERR_TAIL: Final = 4000
CANCEL_POLL: Final = 0.2
READY_TIMEOUT: Final = 600.0  # loading a 2^20 key into the engine takes minutes on 2 cores


class ProverTimeout(ZkStateSyncError):
    """A proof ran past its deadline; the prover process was stopped (the next job starts a new one)."""


class ProverCancelled(ZkStateSyncError):
    """The caller asked to stop while a proof ran; the prover process was stopped."""


class ProverCrashed(ToolError):
    """The prover process died, twice in a row for one job, or could not start."""


def default_backend() -> Backend:
    name = os.environ.get(BACKEND_ENV, "fast")
    return check_backend(name)


def check_backend(name: str) -> Backend:
    for backend in BACKENDS:
        if name == backend:
            return backend
    raise ZkStateSyncError(f"unknown prover backend {name!r}: choose one of {', '.join(BACKENDS)}")


@dataclass(frozen=True)
class ProveTimes:
    witness: float
    prove: float


def _die_with_parent() -> None:
    # Between fork and exec: the server gets SIGKILL when its owner dies (kill -9 included), so
    # no warm prover outlives the process that would read its answers.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


class WarmProver:
    """One circuit's key held by a node process; proves one job at a time (thread-safe)."""

    def __init__(self, name: str, wasm: Path, zkey: Path, *, backend: Backend | None = None, threads: int = 0) -> None:
        self.name = name  # the circuit instance, for messages
        self.wasm = Path(wasm)
        self.zkey = Path(zkey)
        self.backend: Backend = check_backend(backend) if backend else default_backend()
        if not isinstance(threads, int) or not 0 <= threads <= 256:
            raise ZkStateSyncError(f"threads must be 0 (all cores) to 256, got {threads!r}")
        self.threads = threads
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._buffer = b""
        self._next_id = 0
        self.load_seconds: float | None = None
        self.restarts = 0

    @classmethod
    def for_keys(
        cls, circuit: CompiledCircuit, keys: CircuitKeys, *, backend: Backend | None = None, threads: int = 0
    ) -> WarmProver:
        return cls(circuit.spec.name, circuit.wasm, keys.zkey, backend=backend, threads=threads)

    @property
    def argv(self) -> list[str]:
        return [
            node_executable(),
            f"--max-old-space-size={NODE_HEAP_MB}",
            str(js_script("prove_server.js")),
            "--wasm",
            str(self.wasm),
            "--zkey",
            str(self.zkey),
            "--backend",
            self.backend,
            "--threads",
            str(self.threads),
        ]

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def start(self) -> None:
        """Start the server and wait until it has loaded the key (idempotent)."""
        with self._lock:
            self._ensure_started()

    def prove_into(
        self,
        inputs: CircuitInputs,
        directory: Path,
        *,
        timeout: float | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> ProveTimes:
        """Write proof.json and public.json for inputs into directory (which must exist).

        WitnessError when the inputs do not satisfy the circuit; ProverTimeout past `timeout`
        seconds and ProverCancelled once `cancel()` is true (polled every CANCEL_POLL seconds;
        either stops the process); ProverCrashed when it dies twice for this job.
        """
        encoded = encode_inputs(inputs)
        directory = Path(directory).resolve()
        with self._lock:
            retried = False
            while True:
                self._ensure_started()
                try:
                    return self._run_job(encoded, directory, timeout, cancel)
                except _Died as died:
                    self._discard()
                    if retried:
                        raise ProverCrashed(
                            f"the {self.backend} prover of {self.name} died twice on one job",
                            self.argv,
                            died.stderr,
                        ) from None
                    retried = True
                    self.restarts += 1

    def close(self) -> None:
        with self._lock:
            self._discard(graceful=True)

    def __enter__(self) -> WarmProver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        self._discard()
        check_pinned_versions()
        started = time.monotonic()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
        try:
            self._process = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env={**os.environ, "NODE_PATH": str(node_modules())},
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        except OSError as exc:
            raise ProverCrashed(f"cannot start the prover: {exc}", self.argv) from exc
        try:
            self._read_marker("ready", time.monotonic() + READY_TIMEOUT)
        except _Died as died:
            self._discard()
            raise ProverCrashed(
                f"the {self.backend} prover of {self.name} could not load its key",
                self.argv,
                died.stderr,
            ) from None
        except ProverTimeout:
            self._discard()
            raise
        self.load_seconds = round(time.monotonic() - started, 3)

    def _run_job(
        self,
        encoded: Mapping[str, object],
        directory: Path,
        timeout: float | None,
        cancel: Callable[[], bool] | None,
    ) -> ProveTimes:
        process = self._process
        if process is None or process.stdin is None:
            raise _Died(self._stderr_tail())
        self._next_id += 1
        job = {"id": self._next_id, "input": encoded, "dir": str(directory)}
        try:
            process.stdin.write(json.dumps(job).encode() + b"\n")
            process.stdin.flush()
        except OSError:
            raise _Died(self._stderr_tail()) from None
        deadline = time.monotonic() + timeout if timeout is not None else None
        try:
            answer = self._read_marker("done", deadline, cancel)
        except (ProverTimeout, ProverCancelled):
            self._discard()
            raise
        if answer.get("id") != job["id"]:
            self._discard()
            raise ProverCrashed(f"the prover answered job {answer.get('id')}, not {job['id']}", self.argv)
        if answer.get("ok"):
            seconds = answer.get("seconds")
            if not isinstance(seconds, dict):
                raise ProverCrashed("the prover's answer has no timings", self.argv)
            return ProveTimes(float(seconds["witness"]), float(seconds["prove"]))
        stage, error = answer.get("stage"), str(answer.get("error", ""))
        if stage in ("witness", "input"):
            raise parse_witness_failure(self.name, error)
        raise ToolError(f"the {self.backend} backend could not prove {self.name}", self.argv, error)

    def _read_marker(
        self, marker: str, deadline: float | None, cancel: Callable[[], bool] | None = None
    ) -> dict[str, object]:
        """The JSON after the next "@@<marker> " line (other lines are circom's log output)."""
        process = self._process
        if process is None or process.stdout is None:
            raise _Died(self._stderr_tail())
        fd = process.stdout.fileno()
        prefix = f"@@{marker} ".encode()
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                if line.startswith(prefix):
                    value = json.loads(line[len(prefix) :])
                    if not isinstance(value, dict):
                        raise ProverCrashed(f"the prover wrote {line[:200]!r}", self.argv)
                    return value
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise ProverTimeout(f"the {self.backend} prover of {self.name} ran past its deadline and was stopped")
            readable, _, _ = select.select([fd], [], [], wait)
            if not readable:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _Died(self._stderr_tail())
            self._buffer += chunk

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - STDERR_TAIL))
            return self._stderr.read().decode(errors="replace")
        return ""

    def _discard(self, *, graceful: bool = False) -> None:
        process, self._process = self._process, None
        self._buffer = b""
        if process is not None:
            if graceful and process.stdin is not None and process.poll() is None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
        if self._stderr is not None:
            with contextlib.suppress(OSError):
                self._stderr.close()
            self._stderr = None


class _Died(Exception):
    def __init__(self, stderr: str) -> None:
        self.stderr = stderr
        super().__init__("the prover process died")


# One warm prover per key, backend and thread count in each process, shared by every caller.
_SHARED: dict[tuple[str, str, Backend, int], WarmProver] = {}
_SHARED_PID = os.getpid()
_SHARED_LOCK = threading.Lock()


def shared_warm_prover(
    circuit: CompiledCircuit, keys: CircuitKeys, *, backend: Backend | None = None, threads: int = 0
) -> WarmProver:
    """This process's warm prover for the key (started on first use, stopped at exit)."""
    return shared_warm_prover_of(circuit.spec.name, circuit.wasm, keys.zkey, backend=backend, threads=threads)


def shared_warm_prover_of(
    name: str, wasm: Path, zkey: Path, *, backend: Backend | None = None, threads: int = 0
) -> WarmProver:
    """shared_warm_prover by paths (a Dask worker holds no build objects)."""
    global _SHARED_PID
    chosen = check_backend(backend) if backend else default_backend()
    with _SHARED_LOCK:
        if os.getpid() != _SHARED_PID:
            # A forked child must not talk to its parent's servers through inherited pipes.
            _SHARED.clear()
            _SHARED_PID = os.getpid()
        slot = (str(zkey), str(wasm), chosen, threads)
        if slot not in _SHARED:
            _SHARED[slot] = WarmProver(name, wasm, zkey, backend=chosen, threads=threads)
        return _SHARED[slot]


def close_shared_warm_provers() -> None:
    with _SHARED_LOCK:
        provers = list(_SHARED.values()) if os.getpid() == _SHARED_PID else []
        _SHARED.clear()
    for warm in provers:
        warm.close()


atexit.register(close_shared_warm_provers)
