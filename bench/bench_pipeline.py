"""Benchmark of the proving pipeline for each manifest main at each preset.

Per (circuit, preset): constraints, compile seconds (a fresh compile into a scratch build
directory), setup seconds with the ptau and phase 2 apart (as recorded when the cached keys
were made), witness and prove seconds, peak RSS of each step, and the proof's size.
Each step runs as its own process, `python -m bench.bench_pipeline STEP CIRCUIT PRESET OUT`,
started through bench/peak.py: its peak RSS (its own or its largest subprocess's) is the
step's, as when a user runs the CLI, and not the benchmark process's (Linux carries a
parent's peak into a forked child). Seconds are timed inside the step, without start-up.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.measure import PROJECT_ROOT, measure_command
from prover.artifacts import Kind, artifact_path
from prover.build import compile_circuit
from prover.prove import load_prover
from prover.samples import build_sample_inputs
from prover.setup import required_power
from statesync.circuits import load_manifest


def measure(step: str, circuit: str, preset: str) -> tuple[Any, float, float]:
    """(result, seconds, peak RSS in MB) of one step run as its own process."""
    with tempfile.TemporaryDirectory(prefix="zkss-bench-") as scratch:
        out = Path(scratch) / "result.json"
        argv = [sys.executable, "-m", "bench.bench_pipeline", step, circuit, preset, os.fspath(out)]
        figures = measure_command(argv, Path(scratch) / "step.log", cwd=PROJECT_ROOT)
        result = json.loads(out.read_text())
    return result["value"], round(result["seconds"], 3), figures["peak_rss_mb"]


def _fresh_compile(circuit: str, preset: str) -> int:
    with tempfile.TemporaryDirectory(prefix="zkss-bench-") as scratch:
        os.environ["ZKSTATESYNC_BUILD"] = scratch
        return compile_circuit(load_manifest().spec(circuit, preset)).non_linear_constraints


def _setup(circuit: str, preset: str) -> dict[str, Any]:
    prover = load_prover(circuit, preset)
    power = prover.keys.ptau.power
    ptau_record = artifact_path(Kind.PTAU, f"local-{power}") / f"local-{power}.json"
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
    constraints, compile_s, compile_rss = measure("compile", circuit, preset)
    compiled = compile_circuit(load_manifest().spec(circuit, preset))
    setup, setup_s, setup_rss = measure("setup", circuit, preset)
    proved, prove_s, prove_rss = measure("prove", circuit, preset)
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


STEPS: dict[str, Callable[[str, str], Any]] = {"compile": _fresh_compile, "setup": _setup, "prove": _prove}


if __name__ == "__main__":
    step, circuit_name, preset_name, result_path = sys.argv[1:5]
    started = time.perf_counter()
    value = STEPS[step](circuit_name, preset_name)
    seconds = time.perf_counter() - started
    Path(result_path).write_text(json.dumps({"value": value, "seconds": seconds}))
