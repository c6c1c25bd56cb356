"""The relayer as a child process: started, awaited until its HTTP endpoint answers, stopped or killed
(the tests, and a devnet). On Linux the child gets SIGTERM when its parent dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from statesync.errors import ToolError

START_TIMEOUT: Final = 120.0
STOP_TIMEOUT: Final = 30.0


@dataclass(frozen=True)
class RelayerProcess:
    process: subprocess.Popen[bytes]
    port: int
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

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def status(self) -> dict[str, Any]:
        code, body = self.get("/status")
        if code != 200:
            raise ToolError(f"the relayer's /status answered {code}")
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ToolError("the relayer's /status is not a JSON object")
        return document


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def build_relayer_argv(config_path: Path) -> list[str]:
    return [sys.executable, "-m", "bridge.relayer", "run", "--config", os.fspath(config_path)]


def spawn_relayer(config_path: Path, port: int, log_path: Path, env: Mapping[str, str]) -> RelayerProcess:
    """Start `python -m bridge.relayer run --config` with `env` added; stderr (its JSON log) appends to log_path."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - the child writes to it for its whole life
    try:
        process = subprocess.Popen(
            build_relayer_argv(config_path),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env={**os.environ, **env},
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    finally:
        log.close()
    return RelayerProcess(process, port, log_path)


def wait_until_ready(relayer: RelayerProcess, timeout: float = START_TIMEOUT) -> None:
    """Poll /health until it answers; ToolError with the log if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if relayer.process.poll() is not None:
            raise ToolError(
                f"the relayer exited with code {relayer.process.returncode} before answering", [], relayer.read_log()
            )
        with contextlib.suppress(OSError, http.client.HTTPException):
            if relayer.get("/health", timeout=2.0)[0] == 200:
                return
        if time.monotonic() > deadline:
            raise ToolError(f"the relayer did not answer within {timeout} s", [], relayer.read_log())
        time.sleep(0.1)


def stop_relayer(relayer: RelayerProcess, timeout: float = STOP_TIMEOUT) -> int:
    """SIGTERM, then SIGKILL after `timeout`; the exit code (negative: the signal that ended it)."""
    if relayer.process.poll() is None:
        relayer.process.terminate()
        try:
            relayer.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            relayer.process.kill()
            relayer.process.wait(timeout=timeout)
    return relayer.process.returncode


def kill_relayer(relayer: RelayerProcess) -> int:
    """kill -9: no handler runs, nothing is flushed but what the store committed."""
    if relayer.process.poll() is None:
        relayer.process.kill()
        relayer.process.wait(timeout=STOP_TIMEOUT)
    return relayer.process.returncode
