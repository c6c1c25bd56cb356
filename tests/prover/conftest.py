"""Helpers of the prover tests."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bridge.cli ARGS` in a child process, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "bridge.cli", *args], capture_output=True, text=True)
