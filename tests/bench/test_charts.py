"""bench/charts.py: each section with results gives a PNG that matplotlib reads back at its size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.image

from bench.charts import write_charts


def backend(seconds: float) -> dict[str, Any]:
    return {"seconds": seconds, "peak_rss_mb": 100.0}


RESULTS: dict[str, Any] = {
    "prover": {
        "cpus": 2,
        "backends": [
            {
                "circuit": "header_update",
                "preset": "test",
                "constraints": 30_000,
                **{"snarkjs_cli": backend(3.1), "snarkjs": backend(2.2), "fast": backend(0.9)},
            },
            {
                "circuit": "state_sync",
                "preset": "default",
                "constraints": 105_822,
                **{"snarkjs_cli": backend(11.9), "snarkjs": backend(11.0), "fast": backend(3.8)},
            },
        ],
        "goal": {"goal_s": 3.0},
    },
    "gas": {
        "chain": "pyevm",
        "preset": "test",
        "batches": [
            {
                "batch_size": b,
                "per_event": 24_000 + 90_000 // b,
                "per_event_without_receivers": 20_000 + 90_000 // b,
                "edge_per_event": 60_000,
            }
            for b in (1, 4, 16)
        ],
    },
    "network": {
        "preset": "test",
        "latency": {"seconds": [4.1, 5.0, 6.2], "goal_median_s": 15.0},
        "load": {"events": 3, "latency_seconds": [8.0, 9.5, 12.0]},
    },
}


def test_every_section_with_results_is_drawn(tmp_path: Path) -> None:
    written = write_charts(RESULTS, tmp_path)
    assert [p.name for p in written] == ["prove_time.png", "gas_per_event.png", "latency.png"]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = matplotlib.image.imread(path).shape
        assert width > 600 and height > 400


def test_sections_without_results_or_raw_samples_are_left_out(tmp_path: Path) -> None:
    older_network = {**RESULTS["network"], "latency": {"goal_median_s": 15.0}}  # before samples were kept
    assert write_charts({"network": older_network}, tmp_path) == []
    assert [p.name for p in write_charts({"gas": RESULTS["gas"]}, tmp_path)] == ["gas_per_event.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gas_per_event.png"]
