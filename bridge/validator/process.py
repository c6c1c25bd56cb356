"""A validator as a child process: started, awaited until it answers, stopped (the tests and a devnet).

On Linux the child gets SIGTERM when its parent dies (PR_SET_PDEATHSIG), so a killed test run
leaves no validator behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from statesync.errors import ToolError

from .client import ValidatorClient, ValidatorUnreachable

START_TIMEOUT: Final = 60.0
STOP_TIMEOUT: Final = 15.0


@dataclass(frozen=True)
class ValidatorProcess:
    process: subprocess.Popen[bytes]
    client: ValidatorClient
    log_path: Path

    def read_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _die_with_parent() -> None:
    # Runs in the child between fork and exec.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def build_validator_argv(config_path: Path) -> list[str]:
    return [sys.executable, "-m", "bridge.validator", "run", "--config", os.fspath(config_path)]


def spawn_validator(config_path: Path, url: str, log_path: Path, env: Mapping[str, str]) -> ValidatorProcess:
    """Start `python -m bridge.validator run --config` with `env` added; its stderr goes to log_path."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - the child writes to it for its whole life
    try:
        process = subprocess.Popen(
            build_validator_argv(config_path),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env={**os.environ, **env},
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    finally:
        log.close()
    return ValidatorProcess(process, ValidatorClient(url, timeout=30.0), log_path)


def wait_until_ready(validator: ValidatorProcess, timeout: float = START_TIMEOUT) -> None:
    """Poll /status until it answers; ToolError with the log if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if validator.process.poll() is not None:
            raise ToolError(
                f"the validator exited with code {validator.process.returncode} before answering",
                [str(a) for a in validator.process.args],  # type: ignore[union-attr]
                validator.read_log(),
            )
        try:
            validator.client.status()
            return
        except ValidatorUnreachable:
            pass
        if time.monotonic() > deadline:
            raise ToolError(f"the validator did not answer within {timeout} s", [], validator.read_log())
        time.sleep(0.05)


def stop_validator(validator: ValidatorProcess, timeout: float = STOP_TIMEOUT) -> int:
    """SIGTERM, then SIGKILL after `timeout`; the exit code (negative: the signal that ended it)."""
    if validator.process.poll() is None:
        validator.process.terminate()
        try:
            validator.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            validator.process.kill()
            validator.process.wait(timeout=timeout)
    return validator.process.returncode


@contextlib.contextmanager
def run_validator_process(
    config_path: Path, url: str, log_path: Path, env: Mapping[str, str]
) -> Iterator[ValidatorProcess]:
    """A running validator, always stopped when the context exits."""
    validator = spawn_validator(config_path, url, log_path, env)
    try:
        wait_until_ready(validator)
        yield validator
    finally:
        stop_validator(validator)
