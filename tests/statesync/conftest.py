"""Fixtures for the statesync tests: the circomlibjs oracle.

Expected values come from circomlibjs (through tests/js/crosscheck.js), never from numbers
pasted into the tests. A test module that needs them defines `circomlibjs_requests()`, a
deterministic (seeded) function returning its whole batch of requests, and reads the answers
with `circomlibjs_answers(module)`. Every batch of the session is sent at its start, one node
process per module, at most two at a time from background threads: circomlibjs's JavaScript
is slow (about 30 ms per signature or verification), so node works through the batches
while the Python side of the tests runs, instead of each waiting for the other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from prover.toolchain import run_node
from statesync.babyjub import Point
from statesync.errors import ToolError

CROSSCHECK_SCRIPT = Path(__file__).resolve().parents[1] / "js" / "crosscheck.js"

# Random vectors per primitive (at least 200, so every arity and branch gets hit).
VECTORS = 200
# For operations on which circomlibjs spends ~30 ms each, beside VECTORS of a sibling operation.
SLOW_VECTORS = VECTORS // 2

Requests = list[dict[str, Any]]

_NODE = ThreadPoolExecutor(max_workers=2, thread_name_prefix="circomlibjs")
_PENDING: dict[str, Future[list[Any]]] = {}


def ask_circomlibjs(requests: Requests) -> list[Any]:
    """Send one batch of requests to circomlibjs; return its answers in order."""
    result = run_node(CROSSCHECK_SCRIPT, input_text=json.dumps(requests), timeout=600)
    answers = json.loads(result.stdout)
    if not isinstance(answers, list) or len(answers) != len(requests):
        raise ToolError(f"crosscheck.js answered {len(answers)} of {len(requests)} requests")
    return answers


def _submit(module: ModuleType) -> Future[list[Any]]:
    if module.__name__ not in _PENDING:
        build: Callable[[], Requests] = module.circomlibjs_requests
        _PENDING[module.__name__] = _NODE.submit(lambda: ask_circomlibjs(build()))
    return _PENDING[module.__name__]


def circomlibjs_answers(module: ModuleType) -> list[Any]:
    """circomlibjs's answers to module.circomlibjs_requests(), in order (waits if needed)."""
    return _submit(module).result()


@pytest.fixture(scope="session", autouse=True)
def _send_batches_early(request: pytest.FixtureRequest) -> None:
    # In the order the modules will run, so the first one waits least.
    for item in request.session.items:
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "circomlibjs_requests"):
            _submit(module)


def encode_point(point: Point) -> list[str]:
    return [str(point[0]), str(point[1])]


def decode_point(encoded: list[str]) -> Point:
    return int(encoded[0]), int(encoded[1])
