"""A validator as a child process (the tests, the devnet): bridge/procs.py plus its API client."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ..procs import ServiceProcess, spawn_service, stop_service, wait_until_answering
from .client import ValidatorClient, ValidatorUnreachable

START_TIMEOUT: Final = 60.0
STOP_TIMEOUT: Final = 15.0


@dataclass(frozen=True)
class ValidatorProcess(ServiceProcess):
    client: ValidatorClient

    def answers(self) -> bool:
        try:
            self.client.status()
        except ValidatorUnreachable:
            return False
        return True


def spawn_validator(config_path: Path, url: str, log_path: Path, env: Mapping[str, str]) -> ValidatorProcess:
    """Start `python -m bridge.validator run --config` with `env` added; its log appends to log_path."""
    service = spawn_service("validator", "bridge.validator", config_path, log_path, env)
    return ValidatorProcess(service.name, service.process, service.log_path, ValidatorClient(url, timeout=30.0))


def wait_until_ready(validator: ValidatorProcess, timeout: float = START_TIMEOUT) -> None:
    """Poll /status until it answers; ToolError with the log if the process exits or time runs out."""
    wait_until_answering(validator, validator.answers, timeout)


def stop_validator(validator: ValidatorProcess, timeout: float = STOP_TIMEOUT) -> int:
    return stop_service(validator, timeout)


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
