"""PNG charts of bench/results.json (matplotlib, no screen): each drawn when its section has results.

prove_time.png    prove seconds against constraints, a line per backend (snarkjs's CLI, warm
                  snarkjs, the fast engine), log-log, with the default preset's goal marked
gas_per_event.png syncState gas per event against the batch size, receivers' own gas in and out,
                  beside Edge's StateReceiver
latency.png       the devnet's confirmation-to-execution latency: single deposits and under load
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display here, and none needed

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from statesync.storage import write_atomically  # noqa: E402

CHARTS: Final = Path(__file__).resolve().parent / "charts"
BACKEND_LABELS: Final = {
    "snarkjs_cli": "snarkjs groth16 prove (CLI)",
    "snarkjs": "warm snarkjs (in memory)",
    "fast": "warm fast engine",
}


def _save(figure: Figure, path: Path) -> Path:
    # PNG bytes, then one rename: a reader never sees half a chart.
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    write_atomically(path, buffer.getvalue())
    return path


def draw_prove_time(prover: Mapping[str, Any], path: Path) -> Path:
    rows = sorted(prover["backends"], key=lambda r: r["constraints"])
    figure, axes = plt.subplots(figsize=(7.5, 4.8))
    for backend, label in BACKEND_LABELS.items():
        xs = [r["constraints"] for r in rows]
        ys = [r[backend]["seconds"] for r in rows]
        axes.plot(xs, ys, marker="o", label=label)
    goal = prover.get("goal")
    if goal:
        label = f"goal at the default preset ({goal['goal_s']} s)"
        axes.axhline(goal["goal_s"], color="grey", linestyle=":", label=label)
    for r in rows:
        axes.annotate(
            f"{r['circuit']} ({r['preset']})",
            (r["constraints"], r["snarkjs_cli"]["seconds"]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=7,
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("non-linear constraints")
    axes.set_ylabel("prove seconds (witness excluded)")
    axes.set_title(f"Groth16 proving on BN254, {prover['cpus']} cores")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    return _save(figure, path)


def draw_gas_per_event(gas: Mapping[str, Any], path: Path) -> Path:
    rows = sorted(gas["batches"], key=lambda r: r["batch_size"])
    sizes = [r["batch_size"] for r in rows]
    figure, axes = plt.subplots(figsize=(7.5, 4.8))
    axes.plot(sizes, [r["per_event"] for r in rows], marker="o", label="zkstatesync syncState, per event")
    axes.plot(
        sizes,
        [r["per_event_without_receivers"] for r in rows],
        marker="o",
        label="the same without the receivers' own gas",
    )
    edge = [r["edge_per_event"] for r in rows]
    axes.plot(sizes, edge, marker="s", linestyle="--", label="Edge StateReceiver (approx.)")
    axes.set_xscale("log", base=2)
    axes.set_xticks(sizes, [str(s) for s in sizes])
    axes.set_xlabel("events per batch (B)")
    axes.set_ylabel("gas per event")
    axes.set_title(f"syncState gas per event ({gas['chain']}, {gas['preset']} preset)")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    return _save(figure, path)


def draw_latency(network: Mapping[str, Any], path: Path) -> Path:
    single = network["latency"]["seconds"]
    loaded = network["load"]["latency_seconds"]
    figure, axes = plt.subplots(figsize=(7.5, 4.8))
    top = max([*single, *loaded, 1.0])
    bins = [top * i / 30 for i in range(31)]
    axes.hist(single, bins=bins, alpha=0.7, label=f"single deposits ({len(single)})")
    axes.hist(loaded, bins=bins, alpha=0.5, label=f"{network['load']['events']} deposits at once")
    axes.axvline(network["latency"]["goal_median_s"], color="grey", linestyle=":", label="goal for the median")
    axes.set_xlabel("seconds from confirmation to execution on the child chain")
    axes.set_ylabel("deposits")
    axes.set_title(f"bridge latency (devnet, {network['preset']} preset)")
    axes.legend(fontsize=8)
    return _save(figure, path)


def write_charts(results: Mapping[str, Any], directory: Path = CHARTS) -> list[Path]:
    """Every chart whose section is in results (older results without raw samples are skipped)."""
    written = []
    if "prover" in results:
        written.append(draw_prove_time(results["prover"], directory / "prove_time.png"))
    if "gas" in results:
        written.append(draw_gas_per_event(results["gas"], directory / "gas_per_event.png"))
    network = results.get("network")
    if network and "seconds" in network["latency"] and "latency_seconds" in network["load"]:
        written.append(draw_latency(network, directory / "latency.png"))
    return written
