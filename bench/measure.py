"""Wall seconds, CPU seconds and peak RSS of one command, the same way for every benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from prover.toolchain import NODE_HEAP_MB, node_executable, node_modules

PEAK = Path(__file__).with_name("peak.py")
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def measure_command(argv: Sequence[str | os.PathLike[str]], log: Path, cwd: Path | None = None) -> dict[str, float]:
    """Run argv to completion (output into log) through bench/peak.py, so its peak RSS is its own."""
    env = {**os.environ, "NODE_PATH": str(node_modules())}
    with tempfile.TemporaryDirectory(prefix="zkss-peak-") as scratch, log.open("wb") as out:
        figures_path = Path(scratch) / "figures.json"
        launcher = [sys.executable, "-S", os.fspath(PEAK), os.fspath(figures_path)]
        code = subprocess.run(
            [*launcher, *(os.fspath(a) for a in argv)], stdout=out, stderr=out, env=env, cwd=cwd
        ).returncode
        figures = json.loads(figures_path.read_text()) if figures_path.is_file() else {}
    if code != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(os.fspath(a) for a in argv)} failed ({code}):\n{tail}")
    return {key: figures[key] for key in ("seconds", "cpu_seconds", "peak_rss_mb")}


def node_command(script: Path | str, *args: str | os.PathLike[str]) -> list[str | os.PathLike[str]]:
    """argv running a node script with the heap the prover gives node."""
    return [node_executable(), f"--max-old-space-size={NODE_HEAP_MB}", script, *args]
