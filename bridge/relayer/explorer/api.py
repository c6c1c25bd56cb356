"""The explorer's routes: HTML pages under /explorer, the same data as JSON under /api/v1.

    GET /explorer                                  bridge, messages both ways, headers, checkpoints, validators
    GET /explorer/messages/{statesync|exit}/{id}   one message's journey, each step linked to its transaction
    GET /explorer/headers/{number}                 GET /explorer/checkpoints/{number}
    GET /explorer/tx/{rootchain|child}/{hash}      a transaction's receipt, as its chain gives it
    GET /api/v1/bridge | messages | messages/{direction}/{id} | headers | headers/{number}
        | checkpoints | checkpoints/{number} | validators | transactions/{chain}/{hash}

Lists take ?limit=1..500 (default 50); messages also ?direction= and ?state=. Bad input is a
400 and an unknown id a 404, each with {"error": {"code", "message"}}; a chain that does not
answer is a 503.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from .journeys import (
    CHILD,
    ROOTCHAIN,
    CarrierView,
    Direction,
    Journey,
    MessageState,
    build_checkpoint_views,
    build_header_views,
    build_journey,
    to_json,
)
from .pages import render_carrier, render_index, render_message, render_problem, render_transaction
from .reader import ExplorerReader, ExplorerUnavailable, Snapshot

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
JSON: Final = "application/json"
HTML: Final = "text/html; charset=utf-8"
_NUMBER: Final = re.compile(r"[0-9]{1,20}")
_TX_HASH: Final = re.compile(r"0x[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    location: str | None = None


class BadRequest(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ExplorerApp:
    def __init__(self, reader: ExplorerReader) -> None:
        self.reader = reader
        self._routes: tuple[tuple[re.Pattern[str], Callable[..., Response]], ...] = (
            (re.compile(r"/explorer/?"), self.index_page),
            (re.compile(r"/explorer/messages/([^/]+)/([^/]+)"), self.message_page),
            (re.compile(r"/explorer/(headers|checkpoints)/([^/]+)"), self.carrier_page),
            (re.compile(r"/explorer/tx/([^/]+)/([^/]+)"), self.transaction_page),
            (re.compile(r"/api/v1/bridge"), self.bridge_json),
            (re.compile(r"/api/v1/messages"), self.messages_json),
            (re.compile(r"/api/v1/messages/([^/]+)/([^/]+)"), self.message_json),
            (re.compile(r"/api/v1/(headers|checkpoints)"), self.carriers_json),
            (re.compile(r"/api/v1/(headers|checkpoints)/([^/]+)"), self.carrier_json),
            (re.compile(r"/api/v1/validators"), self.validators_json),
            (re.compile(r"/api/v1/transactions/([^/]+)/([^/]+)"), self.transaction_json),
        )

    def handles(self, path: str) -> bool:
        route = urlsplit(path).path
        return route == "/" or route.startswith(("/explorer", "/api/"))

    def handle(self, path: str) -> Response:
        parts = urlsplit(path)
        if parts.path == "/":
            return Response(302, HTML, b"", location="/explorer")
        html = parts.path.startswith("/explorer")
        try:
            query = _parse_query(parts.query)
            for pattern, handler in self._routes:
                match = pattern.fullmatch(parts.path)
                if match:
                    return handler(query, *match.groups())
            raise BadRequest(404, "not_found", f"no such path: {parts.path}")
        except BadRequest as exc:
            return _problem(exc.status, exc.code, exc.message, html)
        except ExplorerUnavailable as exc:
            return _problem(503, "unavailable", str(exc), html)

    # --- pages ------------------------------------------------------------------------------

    def index_page(self, query: Mapping[str, str]) -> Response:
        direction, state, limit = _list_filters(query)
        snapshot = self.reader.snapshot()
        messages = select_messages(snapshot, direction, state, limit)
        headers = build_header_views(snapshot.facts)[:limit]
        checkpoints = build_checkpoint_views(snapshot.facts)[:limit]
        return _html(render_index(snapshot, messages, headers, checkpoints, state))

    def message_page(self, query: Mapping[str, str], direction: str, message_id: str) -> Response:
        _no_query(query)
        return _html(render_message(self._message(direction, message_id)))

    def carrier_page(self, query: Mapping[str, str], kind: str, number: str) -> Response:
        _no_query(query)
        return _html(render_carrier(kind, self._carriers(kind, number)))

    def transaction_page(self, query: Mapping[str, str], chain: str, tx_hash: str) -> Response:
        _no_query(query)
        return _html(render_transaction(chain, tx_hash, self._receipt(chain, tx_hash)))

    # --- JSON -------------------------------------------------------------------------------

    def bridge_json(self, query: Mapping[str, str]) -> Response:
        _no_query(query)
        return _json(describe_bridge(self.reader.snapshot()))

    def messages_json(self, query: Mapping[str, str]) -> Response:
        direction, state, limit = _list_filters(query)
        snapshot = self.reader.snapshot()
        return _json({"messages": to_json(select_messages(snapshot, direction, state, limit))})

    def message_json(self, query: Mapping[str, str], direction: str, message_id: str) -> Response:
        _no_query(query)
        return _json({"message": to_json(self._message(direction, message_id))})

    def carriers_json(self, query: Mapping[str, str], kind: str) -> Response:
        limit = _limit(query, allowed=("limit",))
        facts = self.reader.snapshot().facts
        views = build_header_views(facts) if kind == "headers" else build_checkpoint_views(facts)
        return _json({kind: to_json(views[:limit])})

    def carrier_json(self, query: Mapping[str, str], kind: str, number: str) -> Response:
        _no_query(query)
        return _json({kind: to_json(self._carriers(kind, number))})

    def validators_json(self, query: Mapping[str, str]) -> Response:
        _no_query(query)
        return _json({"validators": to_json(self.reader.snapshot().validators)})

    def transaction_json(self, query: Mapping[str, str], chain: str, tx_hash: str) -> Response:
        _no_query(query)
        return _json({"chain": chain, "receipt": self._receipt(chain, tx_hash)})

    # --- lookups ----------------------------------------------------------------------------

    def _message(self, direction: str, message_id: str) -> Journey:
        kind = _direction(direction)
        wanted = _number(message_id, "message id")
        facts = self.reader.snapshot().facts
        sent = facts.state_synced if kind is Direction.STATE_SYNC else facts.exits
        found = next((s for s in sent if int(s.args["id"]) == wanted), None)
        if found is None:
            where = "StateSender" if kind is Direction.STATE_SYNC else "L2StateSender"
            raise BadRequest(404, "unknown_message", f"{where} logged no message {wanted}")
        return build_journey(kind, found, facts)

    def _carriers(self, kind: str, number: str) -> list[CarrierView]:
        wanted = _number(number, f"{kind[:-1]} number")
        facts = self.reader.snapshot().facts
        views = build_header_views(facts) if kind == "headers" else build_checkpoint_views(facts)
        found = [v for v in views if v.number == wanted]
        if not found:
            raise BadRequest(404, f"unknown_{kind[:-1]}", f"no {kind[:-1]} at number {wanted} was accepted or proposed")
        return found

    def _receipt(self, chain: str, tx_hash: str) -> dict[str, Any]:
        if chain not in (ROOTCHAIN, CHILD):
            raise BadRequest(400, "bad_chain", f"a chain is {ROOTCHAIN!r} or {CHILD!r}, not {chain[:40]!r}")
        if not _TX_HASH.fullmatch(tx_hash):
            raise BadRequest(400, "bad_hash", "a transaction hash is 0x and 64 hex digits")
        receipt = self.reader.receipt(chain, tx_hash.lower())
        if receipt is None:
            raise BadRequest(404, "unknown_transaction", f"the {chain} has no transaction {tx_hash.lower()}")
        return receipt


def select_messages(
    snapshot: Snapshot, direction: Direction | None, state: MessageState | None, limit: int
) -> list[Journey]:
    """The newest messages (by their emitting block's time), both ways unless `direction` says one."""
    facts = snapshot.facts
    candidates = []
    for kind, sent in ((Direction.STATE_SYNC, facts.state_synced), (Direction.EXIT, facts.exits)):
        if direction is None or direction is kind:
            candidates += [(facts.time(event.chain, event.block) or 0, kind, event) for event in sent]
    candidates.sort(key=lambda c: (c[0], c[2].block), reverse=True)
    journeys = []
    for _, kind, event in candidates:
        journey = build_journey(kind, event, facts)
        if state is None or journey.state is state:
            journeys.append(journey)
            if len(journeys) == limit:
                break
    return journeys


def describe_bridge(snapshot: Snapshot) -> dict[str, Any]:
    facts, status = snapshot.facts, snapshot.bridge
    total = facts.total_power
    up = sum(v.power for v in snapshot.validators if v.up)
    return {
        "rootchain_head": facts.root_head,
        "child_head": facts.child_head,
        "checkpoint": status.get("checkpoint"),
        "last_executed_id": status.get("last_executed_id"),
        "pending_events": status.get("pending_events"),
        "lag_blocks": status.get("lag_blocks"),
        "lag_seconds": status.get("lag_seconds"),
        "frozen": facts.frozen,
        "expired": facts.expired,
        "paused": facts.paused,
        "exits_paused": facts.exits_paused,
        "paused_until": status.get("paused_until"),
        "conflict": status.get("conflict"),
        "queued_value": status.get("queued_value"),
        "exits": status.get("checkpoints"),
        "last_error": status.get("last_error"),
        "power_online": up,
        "power_total": total,
        "messages": {"statesync": len(facts.state_synced), "exit": len(facts.exits)},
    }


def _parse_query(query: str) -> dict[str, str]:
    try:
        parsed = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query), max_num_fields=10)
    except ValueError as exc:
        raise BadRequest(400, "bad_query", f"the query string does not parse: {exc}") from exc
    for name, values in parsed.items():
        if len(values) != 1:
            raise BadRequest(400, "bad_query", f"{name!r} is given {len(values)} times")
    return {name: values[0] for name, values in parsed.items()}


def _no_query(query: Mapping[str, str]) -> None:
    if query:
        raise BadRequest(400, "bad_query", f"this path takes no query parameters, got {sorted(query)}")


def _list_filters(query: Mapping[str, str]) -> tuple[Direction | None, MessageState | None, int]:
    limit = _limit(query, allowed=("limit", "direction", "state"))
    direction = _direction(query["direction"]) if query.get("direction") else None
    state = None
    if query.get("state"):
        try:
            state = MessageState(query["state"])
        except ValueError:
            known = ", ".join(s.value for s in MessageState)
            raise BadRequest(400, "bad_state", f"state is one of {known}, not {query['state'][:40]!r}") from None
    return direction, state, limit


def _limit(query: Mapping[str, str], allowed: Sequence[str]) -> int:
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise BadRequest(400, "bad_query", f"unknown query parameters {unknown}; this path takes {list(allowed)}")
    if "limit" not in query:
        return DEFAULT_LIMIT
    if not _NUMBER.fullmatch(query["limit"]) or not 1 <= int(query["limit"]) <= MAX_LIMIT:
        raise BadRequest(
            400, "bad_limit", f"limit is a whole number from 1 to {MAX_LIMIT}, not {query['limit'][:40]!r}"
        )
    return int(query["limit"])


def _direction(value: str) -> Direction:
    try:
        return Direction(value)
    except ValueError:
        raise BadRequest(
            400, "bad_direction", f"a direction is 'statesync' (rootchain to child) or 'exit', not {value[:40]!r}"
        ) from None


def _number(value: str, what: str) -> int:
    if not _NUMBER.fullmatch(value) or int(value) >= 2**64:
        raise BadRequest(400, "bad_number", f"a {what} is a whole number below 2^64, not {value[:40]!r}")
    return int(value)


def _json(document: Any) -> Response:
    return Response(200, JSON, json.dumps(document, default=str).encode())


def _html(page: str) -> Response:
    return Response(200, HTML, page.encode())


def render_failure(path: str, message: str) -> Response:
    """The answer to a request the explorer failed on (a bug): a page or JSON, as the path wants."""
    return _problem(500, "internal", message, urlsplit(path).path.startswith("/explorer"))


def _problem(status: int, code: str, message: str, html: bool) -> Response:
    if html:
        return Response(status, HTML, render_problem(status, message).encode())
    return Response(status, JSON, json.dumps({"error": {"code": code, "message": message}}).encode())
