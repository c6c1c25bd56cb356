"""Benchmark of Groth16 phase 2: snarkjs against prover/js/zkey_fast.js, step by step.

`run()` compiles the circuit at each preset, takes the local ptau of the size it needs, then
times each step as its own node process (wall seconds, CPU seconds and peak RSS, worker threads
included): `groth16 setup`, `zkey contribute`, `zkey beacon`, `zkey verify` with snarkjs, and the
same steps with zkey_fast (plus its contribution + beacon in one pass, what prover.setup runs).
It also checks that both setups wrote the same file. The machine may be shared: CPU seconds are
the steadier figure.

    .venv/bin/python -m bench.bench_zkey                 # state_sync at the test preset
    .venv/bin/python -m bench.bench_zkey test default    # and at the default preset (~15 min)
"""

from __future__ import annotations

import filecmp
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.measure import measure_command, node_command
from prover.build import compile_circuit
from prover.formats import read_r1cs_header
from prover.setup import local_ptau, required_power
from prover.toolchain import check_pinned_versions, node_modules
from prover.zkey import zkey_script
from statesync.circuits import load_manifest

BEACON = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
STEPS = ("setup", "contribute", "beacon", "verify")


def bench_circuit(r1cs: Path, ptau: Path, d: Path) -> dict[str, object]:
    """Both tools' steps on one circuit, the ratios, and whether the two setups are the same file."""
    snark_cli = node_modules() / "snarkjs" / "build" / "cli.cjs"
    fast = zkey_script()

    def snark(name: str, *args: str | os.PathLike[str]) -> dict[str, float]:
        return measure_command(node_command(snark_cli, *args), d / f"snarkjs_{name}.log")

    def ours(name: str, *args: str | os.PathLike[str]) -> dict[str, float]:
        return measure_command(node_command(fast, *args), d / f"zkey_fast_{name}.log")

    s: dict[str, dict[str, float]] = {}
    s["setup"] = snark("setup", "groth16", "setup", r1cs, ptau, d / "s0.zkey")
    s["contribute"] = snark("contribute", "zkey", "contribute", d / "s0.zkey", d / "s1.zkey", "--name=b", "-e=bench")
    s["beacon"] = snark("beacon", "zkey", "beacon", d / "s1.zkey", d / "s2.zkey", BEACON, "10", "-n=final")
    s["verify"] = snark("verify", "zkey", "verify", r1cs, ptau, d / "s2.zkey")

    f: dict[str, dict[str, float]] = {}
    f["setup"] = ours("setup", "new", r1cs, ptau, d / "f0.zkey")
    same_setup = filecmp.cmp(d / "s0.zkey", d / "f0.zkey", shallow=False)
    f["contribute"] = ours("contribute", "contribute", d / "f0.zkey", d / "f1.zkey", "--name=b", "--entropy=bench")
    f["beacon"] = ours("beacon", "beacon", d / "f1.zkey", d / "f2.zkey", BEACON, "10", "--name", "final")
    f["verify"] = ours("verify", "verify", r1cs, ptau, d / "f2.zkey")
    fused = ours("fused", "contribute", d / "f0.zkey", d / "f3.zkey", "--entropy", "bench", "--beacon-hash", BEACON)
    f["contribute+beacon (one pass)"] = fused
    for z in d.glob("*.zkey"):
        z.unlink()

    def total(steps: dict[str, dict[str, float]], names: Sequence[str]) -> dict[str, float]:
        return {
            "seconds": round(sum(steps[n]["seconds"] for n in names), 2),
            "cpu_seconds": round(sum(steps[n]["cpu_seconds"] for n in names), 2),
        }

    s["total"] = total(s, STEPS)
    f["total (as prover.setup runs it)"] = total(f, ("setup", "contribute+beacon (one pass)", "verify"))
    speedup = {
        step: {
            "wall": round(s[step]["seconds"] / f[step]["seconds"], 1),
            "cpu": round(s[step]["cpu_seconds"] / f[step]["cpu_seconds"], 1),
        }
        for step in STEPS
    }
    mine = f["total (as prover.setup runs it)"]
    speedup["phase 2 as prover.setup runs it"] = {
        "wall": round(s["total"]["seconds"] / mine["seconds"], 1),
        "cpu": round(s["total"]["cpu_seconds"] / mine["cpu_seconds"], 1),
    }
    return {"snarkjs": s, "zkey_fast": f, "speedup": speedup, "same_initial_zkey": same_setup}


def run(presets: Sequence[str] = ("test",), circuit: str = "state_sync") -> dict[str, object]:
    """Per preset (circuit size): seconds of snarkjs vs zkey_fast for setup, contribute, beacon, verify."""
    check_pinned_versions()
    manifest = load_manifest()
    results: dict[str, object] = {"machine_cores": os.cpu_count(), "circuit": circuit}
    for preset in presets:
        compiled = compile_circuit(manifest.spec(circuit, preset))
        power = required_power(compiled)
        ptau = local_ptau(power)[0]
        header = read_r1cs_header(compiled.r1cs)
        with tempfile.TemporaryDirectory(prefix="bench-zkey-") as tmp:
            entry = bench_circuit(compiled.r1cs, ptau, Path(tmp))
        results[preset] = {"constraints": header.n_constraints, "power": power, **entry}
    return results


if __name__ == "__main__":
    chosen = tuple(sys.argv[1:]) or ("test",)
    print(json.dumps(run(chosen), indent=2))
