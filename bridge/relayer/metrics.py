"""The relayer's Prometheus metrics (a registry of its own) and its loopback HTTP endpoint.

GET /metrics is the Prometheus text format; GET /status is a JSON snapshot (the last view of the
chains, the store's rows per status, the last error); GET /health answers 200 while the loop runs.
The explorer (explorer/api.py), when given, answers /explorer... and /api/v1/... on the same server.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from .explorer.api import ExplorerApp

PREFIX = "zkstatesync_relayer"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
PROOF_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200)

log = logging.getLogger("zkstatesync.relayer.http")


class RelayerMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.rootchain_head = Gauge(f"{PREFIX}_rootchain_head", "The rootchain head block last seen", registry=r)
        self.last_header_proven = Gauge(
            f"{PREFIX}_last_header_proven", "The number of the last header this relayer proved", registry=r
        )
        self.last_header_accepted = Gauge(
            f"{PREFIX}_last_header_accepted", "The receiver's checkpoint number (lastNumber)", registry=r
        )
        self.last_executed_id = Gauge(f"{PREFIX}_last_executed_id", "The receiver's lastExecutedId", registry=r)
        self.pending_events = Gauge(
            f"{PREFIX}_pending_events",
            "Events sent on the rootchain and not yet executed on the child chain",
            registry=r,
        )
        self.lag_blocks = Gauge(
            f"{PREFIX}_lag_blocks", "Rootchain blocks since the oldest unexecuted event's block", registry=r
        )
        self.lag_seconds = Gauge(
            f"{PREFIX}_lag_seconds", "Seconds since the oldest unexecuted event's block (its timestamp)", registry=r
        )
        self.account_balance = Gauge(
            f"{PREFIX}_account_balance_wei",
            "The relayer account's child-chain balance (it pays the gas)",
            registry=r,
        )
        self.proofs = Counter(
            f"{PREFIX}_proofs", "Proofs made, by circuit and outcome", ["circuit", "outcome"], registry=r
        )
        self.proof_seconds = Histogram(
            f"{PREFIX}_proof_seconds",
            "Seconds per proof (all attempts)",
            ["circuit"],
            buckets=PROOF_BUCKETS,
            registry=r,
        )
        self.transactions = Counter(
            f"{PREFIX}_transactions", "Transactions, by method and outcome", ["method", "outcome"], registry=r
        )
        self.events_executed = Counter(
            f"{PREFIX}_events_executed", "Events executed by this relayer's transactions", registry=r
        )
        self.signatures = Counter(
            f"{PREFIX}_signatures", "Signature requests, by validator and outcome", ["validator", "outcome"], registry=r
        )
        self.rpc_errors = Counter(
            f"{PREFIX}_rpc_errors", "Failed JSON-RPC attempts, by chain and node", ["chain", "node"], registry=r
        )
        self.errors = Counter(f"{PREFIX}_errors", "Steps that failed, by kind", ["kind"], registry=r)
        self.races_lost = Counter(
            f"{PREFIX}_races_lost", "Work another relayer finished first (reconciled, not an error)", registry=r
        )

        self.receiver_frozen = Gauge(
            f"{PREFIX}_receiver_frozen", "1 while the receiver is frozen by evidence of equivocation", registry=r
        )
        self.receiver_expired = Gauge(
            f"{PREFIX}_receiver_expired",
            "1 while the receiver is expired (no header within its trusting period)",
            registry=r,
        )
        self.receiver_paused = Gauge(f"{PREFIX}_receiver_paused", "1 while the guardian's pause holds", registry=r)
        self.queued_deposits = Gauge(
            f"{PREFIX}_queued_deposits_wei", "Deposits the sample ChildToken's token bucket holds back", registry=r
        )
        self.queued_withdrawals = Gauge(
            f"{PREFIX}_queued_withdrawals_wei",
            "Withdrawals the sample RootBridge's token bucket holds back",
            registry=r,
        )
        self.conflicts = Counter(
            f"{PREFIX}_conflicts",
            "Accepted headers the rootchain does not give (each counted once)",
            registry=r,
        )
        self.evidence_submitted = Counter(
            f"{PREFIX}_evidence_submitted",
            "freezeWithHeader transactions of this relayer that froze the receiver",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class StatusServer:
    """A ThreadingHTTPServer on loopback in a daemon thread: /metrics, /status, /health."""

    def __init__(
        self,
        host: str,
        port: int,
        metrics: RelayerMetrics,
        status: Callable[[], dict[str, Any]],
        explorer: ExplorerApp | None = None,
    ) -> None:
        handler = _handler(metrics, status, explorer, loopback=host in LOOPBACK_NAMES or host.startswith("127."))
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="relayer-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(
    metrics: RelayerMetrics, status: Callable[[], dict[str, Any]], explorer: ExplorerApp | None, *, loopback: bool
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            if explorer is not None and explorer.handles(self.path):
                if loopback and not self._host_is_loopback():
                    # A page on another site that rebinds its name to 127.0.0.1 must not read the API.
                    body = b'{"error":{"code":"forbidden_host","message":"this server answers loopback names only"}}'
                    self._answer(403, body, "application/json")
                    return
                self._explore(explorer)
            elif self.path == "/metrics":
                self._answer(200, metrics.render(), CONTENT_TYPE_LATEST)
            elif self.path == "/status":
                self._answer(200, json.dumps(status(), default=str).encode(), "application/json")
            elif self.path == "/health":
                self._answer(200, b'{"ok":true}', "application/json")
            else:
                self._answer(404, b'{"error":{"code":"not_found","message":"no such path"}}', "application/json")

        def _host_is_loopback(self) -> bool:
            name = urlsplit("//" + self.headers.get("Host", "")).hostname
            return name is not None and (name in LOOPBACK_NAMES or name.startswith("127."))

        def _explore(self, app: ExplorerApp) -> None:
            from .explorer.api import render_failure

            try:
                response = app.handle(self.path)
            except Exception as exc:  # a bug: logged with its traceback, answered with one line
                log.error("explorer.failed", exc_info=True, extra={"fields": {"path": self.path[:200]}})
                response = render_failure(
                    self.path, f"the explorer failed ({type(exc).__name__}); see the relayer's log"
                )
            self._answer(response.status, response.body, response.content_type, response.location)

        def _answer(self, code: int, body: bytes, content_type: str, location: str | None = None) -> None:
            self.send_response(code)
            if location is not None:
                self.send_header("Location", location)
            self.send_header("Content-Type", content_type)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            log.debug("http.request", extra={"fields": {"line": format % args}})

    return Handler
