"""The relayer as a child process (the tests, the devnet): bridge/procs.py plus its HTTP endpoint."""

from __future__ import annotations

import contextlib
import http.client
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from statesync.errors import ToolError

from ..procs import ServiceProcess, kill_service, spawn_service, stop_service, wait_until_answering

START_TIMEOUT: Final = 120.0
STOP_TIMEOUT: Final = 30.0


@dataclass(frozen=True)
class RelayerProcess(ServiceProcess):
    port: int

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

    def answers(self) -> bool:
        with contextlib.suppress(OSError, http.client.HTTPException):
            return self.get("/health", timeout=2.0)[0] == 200
        return False


def spawn_relayer(config_path: Path, port: int, log_path: Path, env: Mapping[str, str]) -> RelayerProcess:
    """Start `python -m bridge.relayer run --config` with `env` added; its JSON log appends to log_path."""
    service = spawn_service("relayer", "bridge.relayer", config_path, log_path, env)
    return RelayerProcess(service.name, service.process, service.log_path, port)


def wait_until_ready(relayer: RelayerProcess, timeout: float = START_TIMEOUT) -> None:
    """Poll /health until it answers; ToolError with the log if the process exits or time runs out."""
    wait_until_answering(relayer, relayer.answers, timeout)


def stop_relayer(relayer: RelayerProcess, timeout: float = STOP_TIMEOUT) -> int:
    return stop_service(relayer, timeout)


def kill_relayer(relayer: RelayerProcess) -> int:
    return kill_service(relayer)
