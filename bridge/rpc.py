"""JSON-RPC to one chain over a list of nodes: bounded retries, failover in order, the chain id checked.

Calls stay on the node that answered last (sticky), so a dead first node costs its retries once,
not on every call. A node is used only after it has said it serves the configured chain id, and
is asked again after it failed (it may have been replaced behind its URL). Every call is bounded:
at most ATTEMPTS_PER_NODE tries on each node with a capped backoff between them, each try within
the configured timeout; then RpcUnavailable.

A JSON-RPC error answer counts as the node failing, unless the caller says it is the chain's
verdict (`answer_errors=True`): a reverting eth_call or a refused raw transaction is the same on
every node, and is raised at once as RpcErrorAnswer with the revert data. The validator never
asks for that (any error is a reason not to sign); the relayer does when it calls the receiver.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from web3 import Web3
from web3.types import RPCEndpoint

from statesync.errors import ZkStateSyncError

ATTEMPTS_PER_NODE: Final = 2
BACKOFF_SECONDS: Final = 0.1
MAX_BACKOFF_SECONDS: Final = 2.0

log = logging.getLogger("zkstatesync.rpc")


class RpcUnavailable(ZkStateSyncError):
    """No node of the list gave an answer (each failed, or serves another chain)."""


class RpcAnswerError(ZkStateSyncError):
    """A node answered with something that is not what the method returns."""


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


_URL: Final = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
_WITH_URL: Final = re.compile(r"(with url: )(/[^\s'\"<>]*)")


def redact_text(text: str) -> str:
    """`text` with every URL cut to scheme://host:port and request paths dropped (an error from
    the HTTP library names the URL it failed on, and RPC URLs carry API keys)."""
    return _WITH_URL.sub(r"\1/...", _URL.sub(lambda m: redact_url(m.group(0)), text))


def redact_url(url: str) -> str:
    """scheme://host:port only: paths and queries of RPC URLs often carry API keys."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


@dataclass(frozen=True)
class RpcError:
    at: float
    chain: str
    node: str
    message: str


@dataclass(frozen=True)
class _Answer:
    result: Any
    error: dict[str, Any] | None


class FailoverRpc:
    """Thread-safe JSON-RPC over `urls` for the chain `chain_id` (`label` names it in logs and metrics)."""

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
        """`method`'s result from the first node (starting at the one in use) that answers;
        RpcErrorAnswer for an error answer when `answer_errors`, else that node failed."""
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
                        raise _NodeFailed(f"{method}: {redact_text(str(answer.error))[:200]}")
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
            raise _NodeFailed(f"{method}: {type(exc).__name__}: {redact_text(str(exc))[:200]}") from exc
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


def parse_quantity(value: object, what: str) -> int:
    """A JSON-RPC QUANTITY: 0x-hex without leading zeros (0x0 for zero), as the spec says."""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) < 3 or len(value) > 66:
        raise RpcAnswerError(f"{what}: expected a 0x-hex quantity, got {str(value)[:80]!r}")
    try:
        return int(value[2:], 16)
    except ValueError as exc:
        raise RpcAnswerError(f"{what}: expected a 0x-hex quantity, got {value[:80]!r}") from exc


def parse_data(value: object, what: str, size: int | None = None) -> bytes:
    """JSON-RPC DATA: 0x-hex bytes (exactly `size` of them if given)."""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) % 2:
        raise RpcAnswerError(f"{what}: expected 0x-hex data, got {str(value)[:80]!r}")
    try:
        data = bytes.fromhex(value[2:])
    except ValueError as exc:
        raise RpcAnswerError(f"{what}: expected 0x-hex data, got {value[:80]!r}") from exc
    if size is not None and len(data) != size:
        raise RpcAnswerError(f"{what}: expected {size} bytes, got {len(data)}")
    return data


def read_log_chunks(
    rpc: FailoverRpc,
    address: str,
    topics: Sequence[bytes | Sequence[bytes]],
    first_block: int,
    last_block: int,
    chunk: int,
) -> Iterator[tuple[int, int, list[Any]]]:
    """eth_getLogs of `address` with `topics` (a position given as a sequence matches any of them),
    `chunk` blocks per request (nodes cap a query's range): (first block, last block, the node's
    answer) for each chunk, in block order."""
    wanted = [
        "0x" + topic.hex() if isinstance(topic, bytes) else ["0x" + alternative.hex() for alternative in topic]
        for topic in topics
    ]
    start = first_block
    while start <= last_block:
        stop = min(start + chunk - 1, last_block)
        query = {
            "address": address,
            "fromBlock": hex(start),
            "toBlock": hex(stop),
            "topics": wanted,
        }
        answer = rpc.request("eth_getLogs", [query])
        if not isinstance(answer, list):
            raise RpcAnswerError("eth_getLogs did not return a list")
        yield start, stop, answer
        start = stop + 1
