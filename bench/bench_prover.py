"""Proving speed: the backends side by side on one key and witness, and the Dask farm's overhead.

backends  per (circuit, preset): `snarkjs groth16 prove` as a user runs it (its own process: node
          starts, reads the zkey, proves; peak RSS its own), and each warm backend (prover.warm):
          the median of PROOFS proofs after one warm-up proof, and the server's peak RSS (VmHWM,
          its worker threads included). The witness is computed once and is the same for all;
          prove seconds exclude it.
farm      FARM_PROOFS proofs of one key through ProofFarm(workers=N), one prover thread a worker,
          against the same proofs on N independent warm provers (one thread each, fed by N Python
          threads), in FARM_ROUNDS alternating rounds after every prover has loaded its key:
          wall seconds and proofs a minute.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from bench.measure import measure_command, node_command
from prover.farm import ProofFarm
from prover.prove import Prover, load_prover
from prover.samples import build_sample_inputs
from prover.toolchain import node_modules
from prover.warm import BACKENDS, Backend, WarmProver
from prover.witness import CircuitInputs, compute_witness
from statesync.circuits import load_manifest

PROOFS: Final = 3
CLI_RUNS: Final = 3
FARM_PROOFS: Final = 4  # a round, on each side
FARM_ROUNDS: Final = 2
FARM_WORKERS: Final = 2
GOAL_SECONDS: Final = 3.0  # issue 17: a warm state_sync proof at the default preset
# What each preset's row covers: every product circuit at the test preset; at the default one the
# circuit the speed goal names (the others' default keys take most of an hour to make).
DEFAULT_CIRCUITS: Final = {"test": None, "default": ("state_sync",)}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"process {pid} reports no VmHWM")


def _snarkjs_cli(prover: Prover, inputs: CircuitInputs, scratch: Path) -> dict[str, Any]:
    wtns = compute_witness(prover.circuit, inputs, scratch / "witness").path
    if wtns is None:
        raise RuntimeError("compute_witness kept no .wtns file in its work directory")
    cli = node_modules() / "snarkjs" / "build" / "cli.cjs"
    argv = node_command(cli, "groth16", "prove", prover.keys.zkey, wtns, scratch / "p.json", scratch / "q.json")
    runs = [measure_command(argv, scratch / "snarkjs.log") for _ in range(CLI_RUNS)]
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "runs": [r["seconds"] for r in runs],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
    }


def _warm(prover: Prover, inputs: CircuitInputs, backend: Backend, scratch: Path) -> dict[str, Any]:
    out = scratch / backend
    out.mkdir()
    with WarmProver.for_keys(prover.circuit, prover.keys, backend=backend) as warm:
        started = time.perf_counter()
        warm.start()
        load_s = time.perf_counter() - started
        first = warm.prove_into(inputs, out)
        runs = [warm.prove_into(inputs, out).prove for _ in range(PROOFS)]
        pid = warm.pid
        if pid is None:
            raise RuntimeError(f"the {backend} prover exited")
        rss = peak_rss_mb(pid)
    return {
        "seconds": round(statistics.median(runs), 3),
        "runs": [round(r, 3) for r in runs],
        "first_proof_s": round(first.prove, 3),
        "load_s": round(load_s, 2),
        "witness_s": round(first.witness, 3),
        "peak_rss_mb": rss,
    }


def bench_backends(circuit: str, preset: str) -> dict[str, Any]:
    prover = load_prover(circuit, preset)
    inputs = build_sample_inputs(circuit, preset)
    with tempfile.TemporaryDirectory(prefix="zkss-bench-") as scratch:
        row: dict[str, Any] = {
            "circuit": circuit,
            "preset": preset,
            "constraints": prover.circuit.non_linear_constraints,
            "snarkjs_cli": _snarkjs_cli(prover, inputs, Path(scratch)),
        }
        for backend in BACKENDS:
            row[backend] = _warm(prover, inputs, backend, Path(scratch))
    cli = row["snarkjs_cli"]["seconds"]
    row["speedup_fast_vs_snarkjs_cli"] = round(cli / row["fast"]["seconds"], 2)
    row["speedup_fast_vs_snarkjs_warm"] = round(row["snarkjs"]["seconds"] / row["fast"]["seconds"], 2)
    return row


def _run_independent(provers: Sequence[WarmProver], inputs: CircuitInputs, proofs: int, scratch: Path) -> float:
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            for _ in range(i, proofs, len(provers)):
                provers[i].prove_into(inputs, scratch / f"warm-{i}")
        except BaseException as exc:  # noqa: BLE001 - re-raised below in the bench's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(provers))]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return time.perf_counter() - started


def bench_farm(
    circuit: str, preset: str, workers: int = FARM_WORKERS, proofs: int = FARM_PROOFS, rounds: int = FARM_ROUNDS
) -> dict[str, Any]:
    """Independent provers and the farm, both warm, in alternating rounds: this machine's speed drifts
    by tens of percent over minutes, which one run of each, one after the other, would measure."""
    prover = load_prover(circuit, preset)
    inputs = build_sample_inputs(circuit, preset)
    alone = farmed = 0.0
    with tempfile.TemporaryDirectory(prefix="zkss-bench-") as scratch:
        directory = Path(scratch)
        provers = [WarmProver.for_keys(prover.circuit, prover.keys, threads=1) for _ in range(workers)]
        try:
            with ProofFarm(workers=workers, prover_threads=1) as farm:
                for i, warm in enumerate(provers):
                    (directory / f"warm-{i}").mkdir()
                    warm.prove_into(inputs, directory / f"warm-{i}")  # loaded and warm, as the workers will be
                # Two rounds first, so that every worker has loaded the key (Dask hands queued tasks to idle workers).
                farm.prove_all(prover, [(inputs, directory / f"farm-warm-{i}") for i in range(2 * workers)])
                for r in range(rounds):
                    alone += _run_independent(provers, inputs, proofs, directory)
                    started = time.perf_counter()
                    farm.prove_all(prover, [(inputs, directory / f"farm-{r}-{i}") for i in range(proofs)])
                    farmed += time.perf_counter() - started
        finally:
            for warm in provers:
                warm.close()
    total = proofs * rounds
    ratio = alone / farmed
    return {
        "circuit": circuit,
        "preset": preset,
        "workers": workers,
        "proofs": total,
        "rounds": rounds,
        "independent_s": round(alone, 2),
        "farm_s": round(farmed, 2),
        "independent_per_minute": round(60 * total / alone, 1),
        "farm_per_minute": round(60 * total / farmed, 1),
        "farm_throughput_ratio": round(ratio, 3),
        "goal_ratio": 0.9,
        "met": ratio >= 0.9,
    }


def run(presets: Sequence[str], farm_preset: str = "default") -> dict[str, Any]:
    rows = []
    for preset in presets:
        product = [name for name, entry in load_manifest().circuits.items() if not entry.test_only]
        for circuit in DEFAULT_CIRCUITS.get(preset) or product:
            rows.append(bench_backends(circuit, preset))
    goal = next((r for r in rows if r["circuit"] == "state_sync" and r["preset"] == "default"), None)
    return {
        "cpus": os.cpu_count(),
        "backends": rows,
        "goal": None
        if goal is None
        else {
            "circuit": "state_sync",
            "preset": "default",
            "fast_s": goal["fast"]["seconds"],
            "goal_s": GOAL_SECONDS,
            "met": goal["fast"]["seconds"] <= GOAL_SECONDS,
            "memory_met": goal["fast"]["peak_rss_mb"] <= goal["snarkjs_cli"]["peak_rss_mb"],
        },
        "farm": bench_farm("state_sync", farm_preset),
    }
