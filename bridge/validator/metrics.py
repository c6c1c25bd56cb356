"""The validator's Prometheus metrics, in a registry of its own (never the process-global one)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

PREFIX = "zkstatesync_validator"


class ValidatorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.rootchain_head = Gauge(
            f"{PREFIX}_rootchain_head", "The rootchain head block number last seen", registry=self.registry
        )
        self.last_signed_number = Gauge(
            f"{PREFIX}_last_signed_number", "The highest header number signed", registry=self.registry
        )
        self.signatures = Counter(
            f"{PREFIX}_signatures",
            "Signatures handed out (repeats of a signed header included)",
            registry=self.registry,
        )
        self.conflict = Gauge(
            f"{PREFIX}_receiver_conflict",
            "1 once the receiver accepted a header at a number where this validator signed another",
            registry=self.registry,
        )
        self.refusals = Counter(f"{PREFIX}_refusals", "Requests refused, by code", ["code"], registry=self.registry)
        self.rpc_errors = Counter(
            f"{PREFIX}_rpc_errors",
            "Failed JSON-RPC attempts, by chain and node",
            ["chain", "node"],
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
