"""Benchmark of the fast local powers of tau against snarkjs's own ceremony.

`run()` times `prover/js/ptau_fast.js` at each power (wall seconds, CPU seconds and peak RSS of
the node process, worker threads included) and, at one small power, snarkjs's ceremony
(`powersoftau new` + `contribute` + `beacon` + `prepare phase2`, each its own node process) for
the ratio. The machine may be shared: CPU seconds are the steadier figure.

    .venv/bin/python -m bench.bench_ptau            # powers 12 to 18 (the goals: 2^16, 2^18); snarkjs at 2^12
    .venv/bin/python -m bench.bench_ptau 16 17 18   # other powers
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.measure import measure_command, node_command
from prover.ptau import ptau_script
from prover.toolchain import check_pinned_versions, node_modules

SNARKJS_BEACON = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"


def bench_local(power: int, directory: Path) -> dict[str, float]:
    out = directory / f"local_{power}.ptau"
    result = measure_command(node_command(ptau_script(), str(power), out), directory / "local.log")
    result["file_mb"] = round(out.stat().st_size / 2**20, 1)
    out.unlink()
    return result


def bench_snarkjs(power: int, directory: Path) -> dict[str, dict[str, float]]:
    """Each step of snarkjs's ceremony at 2^power, plus a "total" entry."""
    cli = node_modules() / "snarkjs" / "build" / "cli.cjs"
    d = directory
    steps: dict[str, list[str | os.PathLike[str]]] = {
        "new": ["powersoftau", "new", "bn128", str(power), d / "pot0.ptau"],
        "contribute": [
            "powersoftau",
            "contribute",
            d / "pot0.ptau",
            d / "pot1.ptau",
            "--name=bench",
            "-e=bench entropy",
        ],
        "beacon": [
            "powersoftau",
            "beacon",
            d / "pot1.ptau",
            d / "pot2.ptau",
            SNARKJS_BEACON,
            "10",
            "-n=bench beacon",
        ],
        "prepare_phase2": ["powersoftau", "prepare", "phase2", d / "pot2.ptau", d / "pot.ptau"],
    }
    timings = {
        name: measure_command(node_command(cli, *argv), d / f"snarkjs_{name}.log") for name, argv in steps.items()
    }
    for name in ("pot0", "pot1", "pot2", "pot"):
        (d / f"{name}.ptau").unlink(missing_ok=True)
    timings["total"] = {
        "seconds": round(sum(t["seconds"] for t in timings.values()), 2),
        "cpu_seconds": round(sum(t["cpu_seconds"] for t in timings.values()), 2),
        "peak_rss_mb": max(t["peak_rss_mb"] for t in timings.values()),
    }
    return timings


def run(powers: Sequence[int] = (12, 14, 16, 17, 18), snarkjs_power: int = 12) -> dict[str, object]:
    """Seconds and peak RSS of ptau_fast per power, and the speed-up over snarkjs at one power."""
    if snarkjs_power > 12:
        raise ValueError("keep snarkjs's ceremony at 2^12 or below (it takes minutes beyond)")
    check_pinned_versions()
    with tempfile.TemporaryDirectory(prefix="bench-ptau-") as tmp:
        d = Path(tmp)
        local = {power: bench_local(power, d) for power in powers}
        local_small = local.get(snarkjs_power) or bench_local(snarkjs_power, d)
        snark = bench_snarkjs(snarkjs_power, d)
    total = snark["total"]
    return {
        "machine_cores": os.cpu_count(),
        "local": {str(p): r for p, r in local.items()},
        "snarkjs_power": snarkjs_power,
        "local_at_snarkjs_power": local_small,
        "snarkjs": snark,
        "speedup_wall": round(total["seconds"] / local_small["seconds"], 1),
        "speedup_cpu": round(total["cpu_seconds"] / local_small["cpu_seconds"], 1),
    }


if __name__ == "__main__":
    chosen = tuple(int(a) for a in sys.argv[1:])
    print(json.dumps(run(chosen) if chosen else run(), indent=2))
