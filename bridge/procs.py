"""The bridge's services as child processes: started, awaited until they answer, stopped or killed.

One way for the tests, the devnet and the demo to run a validator or a relayer as a real OS
process. On Linux the child gets SIGTERM when its parent dies (PR_SET_PDEATHSIG), so a killed
test run or devnet leaves no service behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from statesync.errors import ToolError

STOP_TIMEOUT: Final = 30.0
POLL_SECONDS: Final = 0.05


@dataclass(frozen=True)
class ServiceProcess:
    """A running `python -m <module> run --config FILE`; its stdout and stderr append to log_path."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def read_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_events(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (other lines skipped)."""
        events = []
        for line in self.read_log().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    events.append(entry)
        return events

    def is_running(self) -> bool:
        return self.process.poll() is None


def _die_with_parent() -> None:
    # Runs in the child between fork and exec.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def build_service_argv(module: str, config_path: Path) -> list[str]:
    return [sys.executable, "-m", module, "run", "--config", os.fspath(config_path)]


def spawn_service(name: str, module: str, config_path: Path, log_path: Path, env: Mapping[str, str]) -> ServiceProcess:
    """Start `python -m module run --config config_path` with `env` added to this process's."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - the child writes to it for its whole life
    try:
        process = subprocess.Popen(
            build_service_argv(module, config_path),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env={**os.environ, **env},
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            # Its own session: a Ctrl-C at the terminal reaches only whoever started it, which
            # stops its services in order (the relayer before the validators it asks).
            start_new_session=True,
        )
    finally:
        log.close()
    return ServiceProcess(name, process, log_path)


def wait_until_answering(service: ServiceProcess, answers: Callable[[], bool], timeout: float) -> None:
    """Poll `answers` until it is true; ToolError with the log if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if service.process.poll() is not None:
            raise ToolError(
                f"the {service.name} exited with code {service.process.returncode} before answering",
                [str(a) for a in service.process.args],  # type: ignore[union-attr]
                service.read_log(),
            )
        if answers():
            return
        if time.monotonic() > deadline:
            raise ToolError(f"the {service.name} did not answer within {timeout} s", [], service.read_log())
        time.sleep(POLL_SECONDS)


def stop_service(service: ServiceProcess, timeout: float = STOP_TIMEOUT) -> int:
    """SIGTERM, then SIGKILL after `timeout`; the exit code (negative: the signal that ended it)."""
    if service.process.poll() is None:
        service.process.terminate()
        try:
            service.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait(timeout=timeout)
    return service.process.returncode


def kill_service(service: ServiceProcess) -> int:
    """kill -9: no handler runs, nothing survives but what the service had committed."""
    if service.process.poll() is None:
        service.process.kill()
        service.process.wait(timeout=STOP_TIMEOUT)
    return service.process.returncode
