"""The explorer's HTML: server-rendered, one small stylesheet inline, no script and nothing fetched,
so it works offline. Every value from a chain or the store is escaped."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any, Final

from statesync.errors import ZkStateSyncError

from ...rpc import parse_quantity
from .journeys import CarrierView, Direction, Journey, MessageState, TxRef
from .reader import Snapshot

REFRESH_SECONDS: Final = 3
DIRECTIONS: Final = {Direction.STATE_SYNC: "rootchain → child", Direction.EXIT: "child → rootchain"}
_STYLE: Final = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:10px 24px}header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:16px 24px;max-width:1200px}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:5px 8px;border-bottom:1px solid #e3e6ea;
text-align:left;vertical-align:top}th{background:#eef0f3;font-weight:600}code{font-size:12px}
.state{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e3e6ea}
.state-executed{background:#cdebd3;color:#135c24}.state-failed,.state-frozen{background:#f7d0d0;color:#7a1111}
.state-queued,.state-paused{background:#fbe7b5;color:#6b4a00}.state-accepted,.state-submitted,.state-proven,
.state-signed{background:#d6e4fb;color:#173d7a}.done{color:#135c24}.todo{color:#8a93a0}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border:1px solid #e3e6ea;padding:8px 12px;
min-width:150px}.card b{display:block;font-size:18px}.alarm{border-color:#c62828;background:#fdecec}
.when{white-space:nowrap}
"""


def render_index(
    snapshot: Snapshot,
    messages: Sequence[Journey],
    headers: Sequence[CarrierView],
    checkpoints: Sequence[CarrierView],
    state: MessageState | None,
) -> str:
    facts, status = snapshot.facts, snapshot.bridge
    up = sum(v.power for v in snapshot.validators if v.up)
    queued = status.get("queued_value") or {}
    cards = [
        _card(
            "receiver",
            _rails_text(facts.frozen, bool(status.get("expired")), facts.paused),
            alarm=facts.frozen or bool(status.get("expired")),
        ),
        _card("rootchain head", str(facts.root_head)),
        _card("child head", str(facts.child_head)),
        _card("header checkpoint", str((status.get("checkpoint") or {}).get("number", "?"))),
        _card("events pending", str(status.get("pending_events", "?"))),
        _card("lag", f"{status.get('lag_blocks', '?')} blocks, {status.get('lag_seconds', '?')} s"),
        _card("queued value (wei)", f"in {queued.get('deposits', '-')} / out {queued.get('withdrawals', '-')}"),
        _card("validators online", f"{up} of {facts.total_power} power", alarm=3 * up <= 2 * facts.total_power),
    ]
    conflict = status.get("conflict")
    if conflict:
        cards.append(_card("conflict", f"header {conflict.get('number')}: {conflict.get('reason', '')}", alarm=True))
    error = status.get("last_error")
    body = [
        "<h1>Bridge</h1>",
        f'<div class="cards" id="bridge">{"".join(cards)}</div>',
        f"<p class='todo'>Refreshes every {REFRESH_SECONDS} s. Last relayer error: "
        f"{escape(str(error.get('message'))) if isinstance(error, Mapping) else 'none'}</p>",
        "<h2>Messages</h2>",
        _state_filter(state),
        _table(
            ("direction", "id", "state", "sender → receiver", "emitted", "where it is"),
            (
                (
                    DIRECTIONS[m.direction],
                    _link(_message_path(m.direction, m.id), str(m.id)),
                    _state(m.state),
                    f"{_address(m.sender)} → {_address(m.receiver)}",
                    f'<span class="when">{_when(m.steps[0].at)}</span>',
                    escape(m.detail),
                )
                for m in messages
            ),
            row_ids=[f"message-{m.direction.value}-{m.id}" for m in messages],
            empty="no messages yet",
        ),
        "<h2>Headers</h2>",
        _carriers_table(headers),
        "<h2>Checkpoints</h2>",
        _carriers_table(checkpoints),
        "<h2>Validators</h2>",
        _table(
            ("name", "power", "online", "last signed header", "refusals", "errors"),
            (
                (
                    escape(v.name),
                    str(v.power),
                    "yes" if v.up else "<b>no</b>",
                    _opt(v.last_signed),
                    str(v.refusals),
                    str(v.errors),
                )
                for v in snapshot.validators
            ),
            empty="no validators",
        ),
    ]
    return _layout("zkstatesync explorer", "".join(body), refresh=True)


def render_message(journey: Journey) -> str:
    what = "state sync" if journey.direction is Direction.STATE_SYNC else "exit"
    facts = _table(
        ("", ""),
        (
            ("direction", DIRECTIONS[journey.direction]),
            ("state", f"{_state(journey.state)} {escape(journey.detail)}"),
            ("sender", f"<code>{escape(journey.sender)}</code>"),
            ("receiver", f"<code>{escape(journey.receiver)}</code>"),
            ("data", f"<code>{escape(journey.data[: 2 + 2 * 256])}</code>"),
            ("carried by", _carrier_link(journey)),
        ),
    )
    started = journey.steps[0].at
    steps = _table(
        ("step", "", "when", "what", "transaction"),
        (
            (
                escape(step.name),
                '<span class="done">✓</span>' if step.done else '<span class="todo">…</span>',
                _when(step.at, started),
                escape(step.detail),
                _tx_link(step.tx),
            )
            for step in journey.steps
        ),
        row_ids=[f"step-{step.name.replace(' ', '-')}" for step in journey.steps],
    )
    title = f"{what} {journey.id}"
    refresh = journey.state not in (MessageState.EXECUTED, MessageState.FAILED)
    return _layout(title, f"<h1>{escape(title)}</h1>{facts}<h2>Journey</h2>{steps}", refresh=refresh)


def render_carrier(kind: str, views: Sequence[CarrierView]) -> str:
    singular = kind[:-1]
    parts = [f"<h1>{singular} {views[0].number}</h1>"]
    direction = Direction.STATE_SYNC if kind == "headers" else Direction.EXIT
    for view in views:
        signers = ", ".join(f"{escape(s.name)} ({s.power})" for s in view.signers) or "not collected by this relayer"
        power = "-" if view.signed_power is None else f"{view.signed_power} of {view.total_power}"
        rows = [
            ("status", _state_text(view.status)),
            ("hash", f"<code>{view.hash}</code>"),
            ("event root" if kind == "headers" else "exit root", f"<code>{escape(view.root) or '-'}</code>"),
            ("accepted", f"{_when(view.accepted_at)} {_tx_link(view.accepted)}"),
            ("signed power", power),
            ("signers", signers),
            ("proof", "-" if view.proof_seconds is None else f"{view.proof_seconds:.1f} s"),
            ("rotates the set", {True: "yes", False: "no", None: "not known here"}[view.rotation]),
            ("messages", ", ".join(_link(_message_path(direction, i), str(i)) for i in view.messages) or "none"),
            ("note", escape(view.note) or "-"),
        ]
        parts.append(_table(("", ""), rows))
    return _layout(f"{singular} {views[0].number}", "".join(parts))


def render_transaction(chain: str, tx_hash: str, receipt: Mapping[str, Any]) -> str:
    status = {"0x1": "succeeded", "0x0": "reverted"}.get(str(receipt.get("status")), str(receipt.get("status")))
    rows = [
        ("chain", escape(chain)),
        ("hash", f"<code>{escape(tx_hash)}</code>"),
        ("status", escape(status)),
        ("block", escape(_quantity(receipt.get("blockNumber")))),
        ("from", f"<code>{escape(str(receipt.get('from')))}</code>"),
        ("to", f"<code>{escape(str(receipt.get('to')))}</code>"),
        ("gas used", escape(_quantity(receipt.get("gasUsed")))),
        ("logs", str(len(receipt.get("logs") or []))),
    ]
    return _layout(f"transaction {tx_hash[:10]}", f"<h1>{escape(chain)} transaction</h1>{_table(('', ''), rows)}")


def render_problem(status: int, message: str) -> str:
    return _layout(f"{status}", f"<h1>{status}</h1><p>{escape(message)}</p>")


# --- pieces ---------------------------------------------------------------------------------------


def _layout(title: str, body: str, *, refresh: bool = False) -> str:
    meta = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if refresh else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>{meta}'
        f'<style>{_STYLE}</style></head><body><header><a href="/explorer">zkstatesync explorer</a> · '
        f'<a href="/api/v1/bridge">JSON API</a></header><main>{body}</main></body></html>'
    )


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], *, row_ids: Sequence[str] = (), empty: str = "") -> str:
    body = []
    for index, row in enumerate(rows):
        attribute = f' id="{escape(row_ids[index])}"' if index < len(row_ids) else ""
        body.append(f"<tr{attribute}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    if not body and empty:
        body.append(f'<tr><td colspan="{len(head)}" class="todo">{escape(empty)}</td></tr>')
    header = "" if not any(head) else "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"
    return f"<table>{header}{''.join(body)}</table>"


def _carriers_table(views: Sequence[CarrierView]) -> str:
    return _table(
        ("number", "status", "signed power", "messages", "rotation", "proof", "accepted"),
        (
            (
                _link(f"/explorer/{v.kind}s/{v.number}", str(v.number)),
                _state_text(v.status),
                "-" if v.signed_power is None else f"{v.signed_power} of {v.total_power}",
                str(len(v.messages)),
                {True: "rotates", False: "-", None: "?"}[v.rotation],
                "-" if v.proof_seconds is None else f"{v.proof_seconds:.1f} s",
                f"{_when(v.accepted_at)} {_tx_link(v.accepted)}",
            )
            for v in views
        ),
        empty="none yet",
    )


def _state_filter(current: MessageState | None) -> str:
    links = ['<a href="/explorer">all</a>'] + [
        f'<a href="/explorer?state={s.value}">{"<b>" + s.value + "</b>" if s is current else s.value}</a>'
        for s in MessageState
    ]
    return "<p>Show: " + " · ".join(links) + "</p>"


def _card(label: str, value: str, *, alarm: bool = False) -> str:
    return f'<div class="card{" alarm" if alarm else ""}">{escape(label)}<b>{escape(value)}</b></div>'


def _rails_text(frozen: bool, expired: bool, paused: bool) -> str:
    if frozen:
        return "FROZEN"
    if expired:
        return "EXPIRED"
    return "paused" if paused else "ok"


def _state(state: MessageState) -> str:
    return f'<span class="state state-{state.value}" data-state="{state.value}">{state.value}</span>'


def _state_text(status: str) -> str:
    css = {"accepted": "executed", "conflicting": "frozen"}.get(status, status)
    return f'<span class="state state-{escape(css)}">{escape(status)}</span>'


def _link(path: str, text: str) -> str:
    return f'<a href="{escape(path)}">{escape(text)}</a>'


def _message_path(direction: Direction, message_id: int) -> str:
    return f"/explorer/messages/{direction.value}/{message_id}"


def _carrier_link(journey: Journey) -> str:
    if journey.carrier is None:
        return "not yet"
    kind = "headers" if journey.direction is Direction.STATE_SYNC else "checkpoints"
    return _link(f"/explorer/{kind}/{journey.carrier}", f"{kind[:-1]} {journey.carrier}")


def _tx_link(tx: TxRef | None) -> str:
    if tx is None:
        return ""
    text = f"{tx.chain} {tx.tx_hash[:10]}…"
    return (
        f'<a class="tx" data-chain="{escape(tx.chain)}" data-tx="{escape(tx.tx_hash)}" '
        f'href="/explorer/tx/{escape(tx.chain)}/{escape(tx.tx_hash)}">{escape(text)}</a>'
    )


def _when(at: int | float | None, since: int | float | None = None) -> str:
    if at is None:
        return "-"
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))
    if since is not None and at >= since and at != since:
        text += f" (+{at - since:.0f} s)"
    return escape(text)


def _quantity(value: object) -> str:
    """A receipt's hex quantity in decimal, or what the node sent if it is none."""
    try:
        return str(parse_quantity(value, "receipt field"))
    except ZkStateSyncError:
        return str(value)


def _address(address: str) -> str:
    return f'<code title="{escape(address)}">{escape(address[:8])}…{escape(address[-6:])}</code>'


def _opt(value: int | None) -> str:
    return "-" if value is None else str(value)
