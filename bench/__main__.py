"""`make bench`: every benchmark, into bench/results.json and a table. Never a timed test.

python -m bench                       # everything, presets test and default
python -m bench --presets test        # the pipeline at the test preset only
python -m bench --only crypto verifier
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from statesync.storage import write_atomically

from . import bench_crypto, bench_pipeline, bench_ptau, bench_verifier

RESULTS = Path(__file__).resolve().parent / "results.json"
SECTIONS = ("crypto", "verifier", "ptau", "pipeline")


def _flat_table(title: str, rows: dict[str, Any]) -> Table:
    table = Table("measure", "value", title=title)
    for key, value in rows.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict | list) else str(value))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--presets", nargs="+", default=["test", "default"])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    args = parser.parse_args()
    console = Console(width=150)
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "cpus": __import__("os").cpu_count(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if "crypto" in args.only:
        console.print("[bold]crypto[/] (Poseidon, EdDSA, Merkle)")
        results["crypto"] = bench_crypto.run()
        console.print(_flat_table("reference cryptography", results["crypto"]))
    if "verifier" in args.only:
        console.print("[bold]verifier[/] (Python Groth16 vs snarkjs CLI)")
        results["verifier"] = bench_verifier.run()
        console.print(_flat_table("Groth16 verification", results["verifier"]))
    if "ptau" in args.only:
        console.print("[bold]ptau[/] (local powers of tau vs snarkjs's ceremony)")
        results["ptau"] = bench_ptau.run()
        console.print(_flat_table("powers of tau", results["ptau"]))
    if "pipeline" in args.only:
        console.print(f"[bold]pipeline[/] (presets {', '.join(args.presets)}; first runs make the keys)")
        rows = bench_pipeline.run(args.presets)
        results["pipeline"] = rows
        table = Table(
            "circuit",
            "preset",
            "constraints",
            "2^k",
            "compile s",
            "ptau s",
            "phase 2 s",
            "witness s",
            "prove s",
            "prove RSS MB",
            title="proving pipeline",
        )
        for row in rows:
            phase2 = sum(row["phase2_seconds"].values())
            table.add_row(
                row["circuit"],
                row["preset"],
                str(row["non_linear_constraints"]),
                str(row["power"]),
                str(row["compile_s"]),
                str(row["ptau_seconds"]),
                f"{phase2:.1f}",
                str(row["witness_s"]),
                str(row["prove_s"]),
                str(row["prove_peak_rss_mb"]),
            )
        console.print(table)
    write_atomically(RESULTS, json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
