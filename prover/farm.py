"""Independent proofs farmed out to a Dask cluster (the event batches of a long header, a catch-up's headers).

    with ProofFarm(workers=2) as farm:                      # an embedded LocalCluster
    with ProofFarm(scheduler="tcp://10.0.0.5:8786") as farm:  # an existing cluster
        results = farm.prove_all(prover, [(inputs, out_dir), ...])   # in the order given

Each worker holds one warm prover per key (prover.warm), so it loads a key once and then only
proves. A task names the key's files (the zkey, the circuit's wasm and its witness_calculator.js)
by sha256. A worker uses the client's own paths when it finds them there with those hashes (the
same machine, or a shared filesystem); otherwise the client ships the files once per worker
through Dask (content-addressed: the worker checks each file's sha256 and keeps it under its
build root, build/farm/<digest>/, so a later client finds it there). A task returns the texts of
proof.json and public.json; the client writes them with the record and publishes the directory
atomically, as Prover.prove does, so nothing on a worker's disk is needed afterwards.

A worker that dies mid-proof loses nothing: the scheduler runs its tasks again on another worker
(up to distributed.scheduler.allowed-failures times) and the Nanny starts a new worker. Results
are handed back in the order of the jobs, whatever order they finish in.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from statesync.errors import ZkStateSyncError

from .artifacts import build_root, file_sha256
from .prove import ProofResult, Prover, publish_proof_texts
from .warm import Backend, check_backend, default_backend, shared_warm_prover_of
from .witness import CircuitInputs, InputValue, encode_inputs

WITNESS_JS: Final = "witness_calculator.js"
CACHE_DIR: Final = "farm"


class FarmError(ZkStateSyncError):
    """The cluster could not be reached or set up, or a worker lacks a key nobody shipped."""


@dataclass(frozen=True)
class KeyFile:
    path: str  # on the client
    sha256: str


@dataclass(frozen=True)
class KeyFiles:
    """What a worker needs to prove for one key: named by content, found by path or shipped."""

    name: str
    zkey: KeyFile
    wasm: KeyFile
    witness_js: KeyFile

    @property
    def digest(self) -> str:
        joined = f"{self.zkey.sha256}:{self.wasm.sha256}:{self.witness_js.sha256}"
        return hashlib.sha256(joined.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class FarmTask:
    files: KeyFiles
    inputs: dict[str, InputValue]
    backend: Backend
    threads: int
    use_client_paths: bool = True


@dataclass(frozen=True)
class FarmAnswer:
    proof: str
    public: str
    witness_seconds: float
    prove_seconds: float
    worker_pid: int


_DIGESTS: dict[tuple[str, int, int], str] = {}


def remembered_sha256(path: Path) -> str:
    """file_sha256, remembered per (path, size, mtime) in this process: a 68 MB key is hashed once."""
    stat = path.stat()
    slot = (str(path), stat.st_size, stat.st_mtime_ns)
    if slot not in _DIGESTS:
        _DIGESTS[slot] = file_sha256(path)
    return _DIGESTS[slot]


def describe_key_files(prover: Prover) -> KeyFiles:
    def named(path: Path) -> KeyFile:
        return KeyFile(str(path.resolve()), remembered_sha256(path))

    wasm = prover.circuit.wasm
    return KeyFiles(prover.circuit.spec.name, named(prover.keys.zkey), named(wasm), named(wasm.parent / WITNESS_JS))


def find_key_files(files: KeyFiles, *, use_client_paths: bool = True) -> tuple[Path, Path] | None:
    """(wasm, zkey) on this machine with the named contents, or None: the client's paths, else the cache."""
    direct = [Path(f.path) for f in (files.zkey, files.wasm, files.witness_js)]
    if (
        use_client_paths
        and all(p.is_file() for p in direct)
        and all(
            remembered_sha256(p) == f.sha256
            for p, f in zip(direct, (files.zkey, files.wasm, files.witness_js), strict=True)
        )
    ):
        return direct[1], direct[0]
    cached = build_root() / CACHE_DIR / files.digest
    if (cached / "complete").is_file():
        return cached / "main.wasm", cached / "circuit.zkey"
    return None


def store_key_files(files: KeyFiles, shipped: dict[str, bytes]) -> tuple[Path, Path]:
    """Keep shipped key files under build/farm/<digest>/ once each one's sha256 is checked."""
    final = build_root() / CACHE_DIR / files.digest
    if (final / "complete").is_file():
        return final / "main.wasm", final / "circuit.zkey"
    expected = {"circuit.zkey": files.zkey.sha256, "main.wasm": files.wasm.sha256, WITNESS_JS: files.witness_js.sha256}
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{files.digest}-", dir=final.parent))
    try:
        for name, sha in expected.items():
            data = shipped.get(name)
            if data is None or hashlib.sha256(data).hexdigest() != sha:
                raise FarmError(f"the shipped {name} of {files.name} does not have sha256 {sha[:16]}...")
            (staging / name).write_bytes(data)
        (staging / "complete").write_text(files.digest + "\n")
        try:
            staging.rename(final)
        except OSError:
            if not (final / "complete").is_file():  # another task of this worker won the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final / "main.wasm", final / "circuit.zkey"


def prove_on_worker(task: FarmTask, shipped: dict[str, bytes] | None = None) -> FarmAnswer:
    """Run on a Dask worker: the proof's two files for task, from this worker's warm prover."""
    located = find_key_files(task.files, use_client_paths=task.use_client_paths)
    if located is None:
        if shipped is None:
            raise FarmError(f"this worker has no key files for {task.files.name} and none were shipped")
        located = store_key_files(task.files, shipped)
    wasm, zkey = located
    warm = shared_warm_prover_of(task.files.name, wasm, zkey, backend=task.backend, threads=task.threads)
    work = Path(tempfile.mkdtemp(prefix="zkss-farm-"))
    try:
        times = warm.prove_into(task.inputs, work)
        return FarmAnswer(
            (work / "proof.json").read_text(),
            (work / "public.json").read_text(),
            times.witness,
            times.prove,
            os.getpid(),
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def has_key_files(files: KeyFiles) -> bool:
    return find_key_files(files) is not None


def worker_pid() -> int:
    return os.getpid()


class ProofFarm:
    """A Dask client (and, without a scheduler address, the LocalCluster it runs on)."""

    def __init__(
        self,
        *,
        scheduler: str | None = None,
        workers: int = 2,
        prover_threads: int | None = None,
        backend: Backend | None = None,
        ship_keys: bool = False,
        worker_env: Mapping[str, str] | None = None,
    ) -> None:
        """`ship_keys`: always ship the key files (workers that do not share the client's filesystem);
        `worker_env`: environment of the embedded cluster's workers (e.g. their ZKSTATESYNC_BUILD)."""
        from distributed import Client, LocalCluster

        if not isinstance(workers, int) or not 1 <= workers <= 256:
            raise FarmError(f"workers must be 1 to 256, got {workers!r}")
        self.backend: Backend = check_backend(backend) if backend else default_backend()
        self.ship_keys = ship_keys
        self._cluster: Any = None
        try:
            if scheduler is None:
                # One process per worker, one thread each: a proof holds its worker's cores through
                # the prover's own threads, and a killed worker takes only its own jobs with it.
                self._cluster = LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    env=dict(worker_env or {}),
                )
                self.client: Any = Client(self._cluster)  # type: ignore[no-untyped-call]
                cores = os.cpu_count() or 1
                self.prover_threads = prover_threads if prover_threads is not None else max(1, cores // workers)
            else:
                self.client = Client(scheduler, timeout="20s")  # type: ignore[no-untyped-call]
                self.prover_threads = prover_threads if prover_threads is not None else 0
        except (OSError, TimeoutError, ValueError) as exc:
            self.close()
            raise FarmError(f"cannot start or reach the Dask cluster {scheduler or '(local)'}: {exc}") from exc
        self._shipped: dict[str, Any] = {}

    @property
    def scheduler_address(self) -> str:
        return str(self.client.scheduler.address)

    def worker_pids(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.client.run(worker_pid).items()}

    def _shipment(self, files: KeyFiles) -> Any:
        """None when every worker has the files; else a Dask future of their bytes (either decided once per key)."""
        if files.digest in self._shipped:
            return self._shipped[files.digest]
        if not self.ship_keys and all(self.client.run(has_key_files, files).values()):
            self._shipped[files.digest] = None  # asked once per key, not once per proof
            return None
        data = {
            "circuit.zkey": Path(files.zkey.path).read_bytes(),
            "main.wasm": Path(files.wasm.path).read_bytes(),
            WITNESS_JS: Path(files.witness_js.path).read_bytes(),
        }
        self._shipped[files.digest] = self.client.scatter(data, hash=False)
        return self._shipped[files.digest]

    def submit(self, prover: Prover, inputs: CircuitInputs) -> Any:
        """A Dask future of one proof's FarmAnswer."""
        files = describe_key_files(prover)
        encode_inputs(inputs)  # a bad value is refused here, not on a worker
        task = FarmTask(files, dict(inputs), self.backend, self.prover_threads, not self.ship_keys)
        shipment = self._shipment(files)
        # pure=False: two proofs of one witness are two tasks (their randomness differs).
        return self.client.submit(prove_on_worker, task, shipment, pure=False)

    def iter_results(
        self, prover: Prover, jobs: Sequence[tuple[CircuitInputs, Path]], *, replace: bool = False
    ) -> Iterator[ProofResult]:
        """Submit every job at once; yield each published proof in the jobs' order."""
        futures = [self.submit(prover, inputs) for inputs, _ in jobs]
        try:
            for future, (_, out_dir) in zip(futures, jobs, strict=True):
                answer: FarmAnswer = future.result()
                yield publish_proof_texts(
                    prover.record,
                    answer.proof,
                    answer.public,
                    Path(out_dir),
                    replace=replace,
                    seconds={"witness": round(answer.witness_seconds, 3), "prove": round(answer.prove_seconds, 3)},
                )
        finally:
            for future in futures:
                future.cancel()

    def prove_all(
        self, prover: Prover, jobs: Sequence[tuple[CircuitInputs, Path]], *, replace: bool = False
    ) -> list[ProofResult]:
        return list(self.iter_results(prover, jobs, replace=replace))

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()
            self._cluster = None

    def __enter__(self) -> ProofFarm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
