"""Benchmark of the proving pipeline for each manifest main at each preset.

Per (circuit, preset): constraints, compile seconds (a fresh compile into a scratch build
directory), setup seconds with the ptau and phase 2 apart (as recorded when the cached keys
were made), witness and prove seconds, peak RSS of each step, and the proof's size.
Each step runs in its own forked worker, so its peak RSS (its own and its subprocesses')
is not the largest of the run so far. Linux starts a forked process's peak from its parent's,
so a step's figure is at least the benchmark process's own (about 230 MB with galois loaded):
read small figures as "at most that"; the phase 2 and ptau benchmarks measure node alone.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from prover.build import compile_circuit
from prover.manifest import load_manifest
from prover.prove import load_prover
from prover.samples import build_sample_inputs
from prover.setup import required_power

T = TypeVar("T")


def _worker(fn: Callable[[], Any], queue: Any) -> None:
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    queue.put((result, seconds, max(own, children) / 1024))


def measure(fn: Callable[[], T]) -> tuple[T, float, float]:
    """(result, wall seconds, peak RSS in MB) of fn run in a fresh forked process."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_worker, args=(fn, queue))
    process.start()
    result, seconds, rss = queue.get()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"benchmark step failed with exit code {process.exitcode}")
    return result, round(seconds, 3), round(rss, 1)


def _fresh_compile(circuit: str, preset: str) -> int:
    with tempfile.TemporaryDirectory(prefix="zkss-bench-") as scratch:
        os.environ["ZKSTATESYNC_BUILD"] = scratch
        return compile_circuit(load_manifest().spec(circuit, preset)).non_linear_constraints


def _setup(circuit: str, preset: str) -> dict[str, Any]:
    prover = load_prover(circuit, preset)
    ptau_record = prover.keys.directory.parents[2] / "ptau" / f"local-{prover.keys.ptau.power}.json"
    ptau_seconds = json.loads(ptau_record.read_text()).get("seconds") if ptau_record.is_file() else None
    return {
        "cached": prover.keys.cached,
        "ptau_power": prover.keys.ptau.power,
        "ptau_seconds": ptau_seconds,
        "phase2_seconds": prover.keys.record["seconds"],
    }


def _prove(circuit: str, preset: str) -> dict[str, Any]:
    prover = load_prover(circuit, preset)
    inputs = build_sample_inputs(circuit, preset)
    with tempfile.TemporaryDirectory(prefix="zkss-bench-") as scratch:
        result = prover.prove(inputs, Path(scratch) / "proof")
        size = result.proof_path.stat().st_size
    return {**result.seconds, "proof_json_bytes": size}


def bench_circuit(circuit: str, preset: str) -> dict[str, Any]:
    constraints, compile_s, compile_rss = measure(lambda: _fresh_compile(circuit, preset))
    compiled = compile_circuit(load_manifest().spec(circuit, preset))
    setup, setup_s, setup_rss = measure(lambda: _setup(circuit, preset))
    proved, prove_s, prove_rss = measure(lambda: _prove(circuit, preset))
    return {
        "circuit": circuit,
        "preset": preset,
        "non_linear_constraints": constraints,
        "power": required_power(compiled),
        "compile_s": compile_s,
        "compile_peak_rss_mb": compile_rss,
        **setup,
        "setup_s_this_run": setup_s,
        "setup_peak_rss_mb": setup_rss,
        "witness_s": proved["witness"],
        "prove_s": proved["prove"],
        "prove_peak_rss_mb": prove_rss,
        "proof_json_bytes": proved["proof_json_bytes"],
        # A Groth16 proof is 2 G1 + 1 G2 points: 256 bytes of EVM calldata, whatever the circuit.
        "proof_calldata_bytes": 256,
    }


def run(presets: Sequence[str] = ("test", "default")) -> list[dict[str, Any]]:
    manifest = load_manifest()
    return [bench_circuit(circuit, preset) for preset in presets for circuit in manifest.circuits]
