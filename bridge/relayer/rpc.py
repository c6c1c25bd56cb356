"""JSON-RPC over a list of nodes for the relayer: failover, bounded backoff, answers kept apart from failures.

Like the validator's client (bridge/validator/rpc.py), a node is used only once it said it serves
the configured chain id, calls stay on the node that answered last, and every call is bounded:
ATTEMPTS_PER_NODE tries per node with a capped exponential backoff, then RpcUnavailable. Unlike
it, a JSON-RPC error answer is not a node failure when the caller says so (`answer_errors=True`):
a reverting eth_call or a refused raw transaction is the chain's verdict, the same on every node,
and is raised at once as RpcErrorAnswer with the revert data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from web3 import Web3
from web3.types import RPCEndpoint

from statesync.errors import ZkStateSyncError

from ..validator.rpc import RpcAnswerError, RpcError, RpcUnavailable, parse_quantity, redact_url

ATTEMPTS_PER_NODE: Final = 2
BACKOFF_SECONDS: Final = 0.2
MAX_BACKOFF_SECONDS: Final = 2.0

log = logging.getLogger("zkstatesync.relayer.rpc")

__all__ = ["RelayerRpc", "RpcAnswerError", "RpcError", "RpcErrorAnswer", "RpcUnavailable"]


class RpcErrorAnswer(ZkStateSyncError):
    """A node answered the call with a JSON-RPC error (a revert, a refused transaction)."""

    def __init__(self, method: str, code: int | None, message: str, data: bytes) -> None:
        self.method = method
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"{method}: error {code}: {message[:200]}")


class _NodeFailed(Exception):
    pass


@dataclass(frozen=True)
class _Answer:
    result: Any
    error: dict[str, Any] | None


class RelayerRpc:
    """Thread-safe JSON-RPC over `urls` for chain `chain_id`; `label` names it in logs and metrics."""

    def __init__(
        self,
        label: str,
        urls: Sequence[str],
        chain_id: int,
        timeout: float,
        on_error: Callable[[RpcError], None] = lambda _error: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not urls:
            raise RpcUnavailable(f"{label}: no RPC URL configured")
        self.label = label
        self.chain_id = chain_id
        self._urls = tuple(urls)
        self._providers = [
            Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
            for url in self._urls
        ]
        self._verified = [False] * len(self._urls)
        self._current = 0
        self._lock = threading.Lock()
        self._on_error = on_error
        self._sleep = sleep

    @property
    def node_in_use(self) -> str:
        return redact_url(self._urls[self._current])

    def request(self, method: str, params: Sequence[Any], *, answer_errors: bool = False) -> Any:
        """`method`'s result from the first node that answers; RpcErrorAnswer for an error answer
        when `answer_errors`, else an error answer counts as that node failing."""
        with self._lock:
            start = self._current
        failures: list[str] = []
        for offset in range(len(self._urls)):
            index = (start + offset) % len(self._urls)
            for attempt in range(ATTEMPTS_PER_NODE):
                if attempt:
                    self._sleep(min(BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
                try:
                    self._verify_chain(index)
                    answer = self._send(index, method, params)
                    if answer.error is not None and not answer_errors:
                        raise _NodeFailed(f"{method}: {str(answer.error)[:200]}")
                except _NodeFailed as exc:
                    self._record_failure(index, str(exc))
                    failures.append(f"{redact_url(self._urls[index])}: {exc}")
                    continue
                self._stick_to(index)
                if answer.error is not None:
                    raise _error_answer(method, answer.error)
                return answer.result
        raise RpcUnavailable(f"{self.label}: {method} failed on every node: {'; '.join(failures[-4:])}")

    def _stick_to(self, index: int) -> None:
        with self._lock:
            if self._current != index:
                log.warning(
                    "rpc.failover", extra={"fields": {"chain": self.label, "node": redact_url(self._urls[index])}}
                )
            self._current = index

    def _verify_chain(self, index: int) -> None:
        if self._verified[index]:
            return
        answer = self._send(index, "eth_chainId", [])
        try:
            chain_id: int | None = parse_quantity(answer.result, "eth_chainId")
        except RpcAnswerError:
            chain_id = None
        if chain_id != self.chain_id:
            raise _NodeFailed(f"serves chain {chain_id}, not the configured {self.chain_id}")
        self._verified[index] = True

    def _send(self, index: int, method: str, params: Sequence[Any]) -> _Answer:
        try:
            response = self._providers[index].make_request(RPCEndpoint(method), list(params))
        except Exception as exc:  # refused connections, timeouts, HTTP errors, bad JSON: this node failed
            raise _NodeFailed(f"{method}: {type(exc).__name__}: {str(exc)[:200]}") from exc
        if not isinstance(response, dict):
            raise _NodeFailed(f"{method}: the answer is not a JSON-RPC object")
        if "error" in response:
            error: Any = response["error"]
            return _Answer(None, error if isinstance(error, dict) else {"message": str(error)})
        if "result" not in response:
            raise _NodeFailed(f"{method}: the answer has no result")
        return _Answer(response["result"], None)

    def _record_failure(self, index: int, message: str) -> None:
        self._verified[index] = False
        error = RpcError(time.time(), self.label, redact_url(self._urls[index]), message)
        log.warning("rpc.error", extra={"fields": {"chain": self.label, "node": error.node, "message": message}})
        self._on_error(error)


def _error_answer(method: str, error: dict[str, Any]) -> RpcErrorAnswer:
    code = error.get("code")
    data = error.get("data")
    raw = b""
    if isinstance(data, str) and data.startswith("0x"):
        try:
            raw = bytes.fromhex(data[2:])
        except ValueError:
            raw = b""
    return RpcErrorAnswer(method, code if isinstance(code, int) else None, str(error.get("message", "")), raw)
