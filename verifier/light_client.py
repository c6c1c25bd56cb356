"""The light client in Python: a trusted checkpoint, advanced only by verified proofs.

    state = initial_state(genesis_header)
    state = apply_header_proof(state, header_key, proof, signals, header)
    state = apply_state_sync_proof(state, state_sync_key, proof, signals, header, events)
    state = apply_events_proof(state, events_key, proof, signals, events)
    state = apply_evidence(state, header_key, proof, signals)   # equivocation: state.frozen
    state = recover(state, new_genesis, last_executed_id)       # governance's new genesis
    save_state(path, state); state = load_state(path)

Each rule has a pure `validate_*` that raises LightClientError and an `apply_*` that
validates and returns the new state (State is a frozen value). A relayer or an off-chain
service builds on this: it holds exactly what ZkStateReceiver holds on-chain (the trusted
header, the proven event roots, the last executed id), so a batch the contract would refuse
is refused here too: events execute in id order from last_executed_id + 1, each once.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from statesync.errors import ZkStateSyncError
from statesync.model import Header, StateSyncEvent, compute_batch_commitment, compute_header_hash
from statesync.storage import write_atomically

from .groth16 import Proof, verify_proof
from .keys import CircuitKey
from .signals import EventSignals, HeaderSignals, StateSyncSignals

STATE_VERSION = 3  # 2: headers carry the rootchain block hash; 3: the safety rails (frozen, epoch, clock)
HEADER_CIRCUITS = ("header_update", "header_chain", "state_sync")


class LightClientError(ZkStateSyncError):
    """A proof or header the light client refuses, with the reason."""


class StateFileError(LightClientError):
    """The state file is missing, corrupted or of another version."""


class ClientFrozen(LightClientError):
    """Evidence of equivocation froze the client: nothing is accepted until recover()."""


class ClientExpired(LightClientError):
    """No header was accepted within the trusting period: the old set may have unbonded."""


class HeaderFromTheFuture(LightClientError):
    """A header whose timestamp is ahead of this client's clock by more than the allowed drift."""


DAY = 24 * 3600
MAX_TRUSTING_PERIOD = 365 * DAY


@dataclass(frozen=True)
class ClientRails:
    """The rails' parameters (docs/PROTOCOL.md section 9): Hermes' 14-day trusting period by default."""

    trusting_period: int = 14 * DAY
    max_clock_drift: int = 60

    def __post_init__(self) -> None:
        # ZkStateReceiver's bounds (MAX_PERIOD): a client never trusts a set longer than the contract would.
        if not 1 <= self.trusting_period <= MAX_TRUSTING_PERIOD or not 0 <= self.max_clock_drift <= DAY:
            raise LightClientError(f"unusable rails: {self}")


@dataclass(frozen=True)
class LightClientState:
    checkpoint: Header
    # headerHash -> (number, eventRoot) of every header proven since the epoch's genesis.
    proven_roots: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    last_executed_id: int = 0
    # The header trusted out of band that this epoch started from (deployment or recovery).
    genesis: Header | None = None
    frozen: bool = False
    # This client's clock (Unix seconds) when the checkpoint was accepted: expiry counts from it.
    accepted_at: float = 0.0
    rails: ClientRails = ClientRails()

    @property
    def checkpoint_hash(self) -> int:
        return compute_header_hash(self.checkpoint)

    @property
    def validator_set_hash(self) -> int:
        """The set that must sign the next header: the one the checkpoint named."""
        return self.checkpoint.next_validator_set_hash


def initial_state(
    genesis: Header, last_executed_id: int = 0, *, rails: ClientRails = ClientRails(), now: float | None = None
) -> LightClientState:
    return LightClientState(
        checkpoint=genesis,
        last_executed_id=last_executed_id,
        genesis=genesis,
        accepted_at=_clock(now),
        rails=rails,
    )


def _clock(now: float | None) -> float:
    return time.time() if now is None else now


def validate_rails(state: LightClientState, header: Header, now: float | None = None) -> None:
    """Raise unless a new header may be accepted now: not frozen, not expired, not from the future."""
    clock = _clock(now)
    if state.frozen:
        raise ClientFrozen("the client is frozen by evidence of equivocation; it needs a recovery")
    if clock > state.accepted_at + state.rails.trusting_period:
        raise ClientExpired(
            f"no header accepted for {clock - state.accepted_at:.0f} s, beyond the trusting period of "
            f"{state.rails.trusting_period} s; it needs a recovery"
        )
    if header.timestamp > clock + state.rails.max_clock_drift:
        raise HeaderFromTheFuture(
            f"header {header.number}'s timestamp {header.timestamp} is {header.timestamp - clock:.0f} s ahead "
            f"of this clock (at most {state.rails.max_clock_drift} s)"
        )


def _check_key(key: CircuitKey, circuits: Sequence[str]) -> None:
    if key.circuit not in circuits:
        raise LightClientError(f"a {key.circuit} key cannot check this proof (expected {' or '.join(circuits)})")


def _verify(key: CircuitKey, proof: Proof, values: Sequence[int], what: str) -> None:
    if not verify_proof(key.key, proof, values):
        raise LightClientError(f"the {what} proof does not verify")


def validate_header_proof(
    state: LightClientState,
    key: CircuitKey,
    proof: Proof,
    signals: HeaderSignals | StateSyncSignals,
    header: Header,
    *,
    now: float | None = None,
) -> None:
    """Raise unless `proof` (HeaderUpdate, HeaderChain or StateSync) proves `header` final after the checkpoint.

    A HeaderChain proof moves N headers at once; the headers it skips carry no events.
    """
    _check_key(key, HEADER_CIRCUITS)
    validate_rails(state, header, now)
    head = signals.header if isinstance(signals, StateSyncSignals) else signals
    if head.trusted_header_hash != state.checkpoint_hash:
        raise LightClientError("the proof was made against another checkpoint (not the set this client trusts)")
    if (compute_header_hash(header), header.number, header.event_root) != (
        head.header_hash,
        head.number,
        head.event_root,
    ):
        raise LightClientError("the header given does not match the proof's public signals")
    if head.number <= state.checkpoint.number:
        raise LightClientError(
            f"header number {head.number} does not exceed the checkpoint's {state.checkpoint.number}"
        )
    if head.event_root == 0:
        raise LightClientError("a zero event root is never accepted")
    _verify(key, proof, signals.values(), "header")


def apply_header_proof(
    state: LightClientState,
    key: CircuitKey,
    proof: Proof,
    signals: HeaderSignals,
    header: Header,
    *,
    now: float | None = None,
) -> LightClientState:
    """The state with `header` as the new checkpoint (validate_header_proof first)."""
    validate_header_proof(state, key, proof, signals, header, now=now)
    return _with_header(state, header, now)


def _with_header(state: LightClientState, header: Header, now: float | None = None) -> LightClientState:
    roots = {**state.proven_roots, compute_header_hash(header): (header.number, header.event_root)}
    return replace(state, checkpoint=header, proven_roots=roots, accepted_at=_clock(now))


def _accepted_hash_at(state: LightClientState, number: int) -> int | None:
    return next((h for h, (n, _) in state.proven_roots.items() if n == number), None)


def validate_evidence(
    state: LightClientState, key: CircuitKey, proof: Proof, signals: HeaderSignals | StateSyncSignals
) -> None:
    """Raise unless `proof` shows a final header at a number this client accepted, with another
    hash, made against a header this client trusted (its genesis or a proven header): the rule
    ZkStateReceiver.freezeWithHeader applies."""
    _check_key(key, HEADER_CIRCUITS)
    if state.frozen:
        raise ClientFrozen("the client is frozen already")
    head = signals.header if isinstance(signals, StateSyncSignals) else signals
    accepted = _accepted_hash_at(state, head.number)
    if accepted is None or accepted == head.header_hash:
        raise LightClientError(f"no conflict: this client accepted no other header at number {head.number}")
    genesis_hash = None if state.genesis is None else compute_header_hash(state.genesis)
    linked = state.proven_roots.get(head.trusted_header_hash)
    if head.trusted_header_hash != genesis_hash and (linked is None or linked[0] >= head.number):
        raise LightClientError("the evidence is not linked to a header this client trusted before it")
    _verify(key, proof, signals.values(), "evidence")


def apply_evidence(
    state: LightClientState, key: CircuitKey, proof: Proof, signals: HeaderSignals | StateSyncSignals
) -> LightClientState:
    """The state frozen by evidence of equivocation (validate_evidence first)."""
    validate_evidence(state, key, proof, signals)
    return replace(state, frozen=True)


def recover(
    state: LightClientState, genesis: Header, last_executed_id: int, *, now: float | None = None
) -> LightClientState:
    """A new epoch from `genesis`, trusted out of band (governance's choice after a freeze or an
    expiry): never behind the accepted number or the executed id, and no old header counts."""
    clock = _clock(now)
    if not state.frozen and clock <= state.accepted_at + state.rails.trusting_period:
        raise LightClientError("the client is neither frozen nor expired: nothing to recover from")
    if genesis.number < state.checkpoint.number:
        raise LightClientError(f"the new genesis {genesis.number} is below the checkpoint {state.checkpoint.number}")
    if last_executed_id < state.last_executed_id:
        raise LightClientError(f"last executed id {last_executed_id} goes back from {state.last_executed_id}")
    return LightClientState(
        checkpoint=genesis,
        last_executed_id=last_executed_id,
        genesis=genesis,
        accepted_at=clock,
        rails=state.rails,
    )


def validate_batch(state: LightClientState, event_root: int, events: Sequence[StateSyncEvent], batch_size: int) -> None:
    """Raise unless `events` is the next batch to execute: ids from last_executed_id + 1, at most B."""
    if state.frozen:
        raise ClientFrozen("the client is frozen by evidence of equivocation: no event executes")
    if not events:
        raise LightClientError("a batch holds at least one event")
    if len(events) > batch_size:
        raise LightClientError(f"a batch holds at most {batch_size} events, got {len(events)}")
    expected = state.last_executed_id + 1
    for offset, event in enumerate(events):
        if event.id != expected + offset:
            raise LightClientError(
                f"event {event.id} is out of order: the batch must run from id {expected} consecutively"
            )
    if event_root not in {root for _, root in state.proven_roots.values()}:
        raise LightClientError("the events' root is not the event root of any proven header")


def _check_commitment(
    signals: EventSignals | StateSyncSignals, events: Sequence[StateSyncEvent], batch_size: int
) -> None:
    expected = compute_batch_commitment(signals.event_root, events, batch_size)
    if (signals.gamma, signals.events_commitment) != (expected.gamma, expected.commitment):
        raise LightClientError("the events given are not the events the proof commits to")


def validate_events_proof(
    state: LightClientState, key: CircuitKey, proof: Proof, signals: EventSignals, events: Sequence[StateSyncEvent]
) -> None:
    """Raise unless an EventInclusion proof shows `events`, the next batch, under a proven root."""
    _check_key(key, ("event_inclusion",))
    validate_batch(state, signals.event_root, events, key.batch_size)
    _check_commitment(signals, events, key.batch_size)
    _verify(key, proof, signals.values(), "event")


def apply_events_proof(
    state: LightClientState, key: CircuitKey, proof: Proof, signals: EventSignals, events: Sequence[StateSyncEvent]
) -> LightClientState:
    """The state with `events` executed."""
    validate_events_proof(state, key, proof, signals, events)
    return replace(state, last_executed_id=events[-1].id)


def validate_state_sync_proof(
    state: LightClientState,
    key: CircuitKey,
    proof: Proof,
    signals: StateSyncSignals,
    header: Header,
    events: Sequence[StateSyncEvent],
    *,
    now: float | None = None,
) -> None:
    """Raise unless a StateSync proof shows `header` final and `events` its next batch.

    A proof whose header the client already trusts (someone submitted that header first)
    still executes its events: the header part is settled, and the proof's event root is the
    circuit's hash-bound output of that very header, so its trusted hash no longer matters.
    """
    _check_key(key, ("state_sync",))
    if signals.header_hash in state.proven_roots:
        if (compute_header_hash(header), header.event_root) != (signals.header_hash, signals.event_root):
            raise LightClientError("the header given does not match the proof's public signals")
        _verify(key, proof, signals.values(), "state sync")
    else:
        validate_header_proof(state, key, proof, signals, header, now=now)
    validate_batch(_with_header(state, header, now), header.event_root, events, key.batch_size)
    _check_commitment(signals, events, key.batch_size)


def apply_state_sync_proof(
    state: LightClientState,
    key: CircuitKey,
    proof: Proof,
    signals: StateSyncSignals,
    header: Header,
    events: Sequence[StateSyncEvent],
    *,
    now: float | None = None,
) -> LightClientState:
    """The state with `header` trusted and `events` executed."""
    validate_state_sync_proof(state, key, proof, signals, header, events, now=now)
    advanced = state if signals.header_hash in state.proven_roots else _with_header(state, header, now)
    return replace(advanced, last_executed_id=events[-1].id)


# --- persistence ------------------------------------------------------------------------------


def _encode(state: LightClientState) -> dict[str, object]:
    return {
        "version": STATE_VERSION,
        "checkpoint": [str(v) for v in state.checkpoint.fields()],
        "proven_roots": {str(h): [str(n), str(r)] for h, (n, r) in sorted(state.proven_roots.items())},
        "last_executed_id": state.last_executed_id,
        "genesis": None if state.genesis is None else [str(v) for v in state.genesis.fields()],
        "frozen": state.frozen,
        "accepted_at": state.accepted_at,
        "rails": [state.rails.trusting_period, state.rails.max_clock_drift],
    }


def save_state(path: Path, state: LightClientState) -> None:
    """Write state atomically, with a checksum so that a damaged file is refused, not misread."""
    save_checked_document(path, _encode(state))


def load_state(path: Path) -> LightClientState:
    body = load_checked_document(path, STATE_VERSION, "light-client state")
    try:
        checkpoint = Header.from_fields([int(v) for v in body["checkpoint"]])
        roots = {int(h): (int(n), int(r)) for h, (n, r) in body["proven_roots"].items()}
        genesis = None if body["genesis"] is None else Header.from_fields([int(v) for v in body["genesis"]])
        period, drift = body["rails"]
        return LightClientState(
            checkpoint,
            roots,
            int(body["last_executed_id"]),
            genesis=genesis,
            frozen=bool(body["frozen"]),
            accepted_at=float(body["accepted_at"]),
            rails=ClientRails(int(period), int(drift)),
        )
    except (ValueError, KeyError, TypeError, ZkStateSyncError) as exc:
        raise StateFileError(f"{path}: unreadable light-client state ({exc})") from exc


def save_checked_document(path: Path, body: Mapping[str, object]) -> None:
    """`body` (with its "version") and its sha256, written atomically: a damaged file is refused, not misread."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    document = {"state": body, "sha256": hashlib.sha256(canonical.encode()).hexdigest()}
    write_atomically(path, json.dumps(document, indent=2) + "\n")


def load_checked_document(path: Path, version: int, what: str) -> dict[str, Any]:
    """The body save_checked_document wrote, if its checksum and version hold; StateFileError otherwise."""
    try:
        document = json.loads(Path(path).read_text())
        body = document["state"]
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        if hashlib.sha256(canonical.encode()).hexdigest() != document["sha256"]:
            raise StateFileError(f"{path}: checksum mismatch; the {what} file is corrupted")
        if body["version"] != version:
            raise StateFileError(f"{path}: {what} version {body['version']}, this client reads {version}")
    except StateFileError:
        raise
    except FileNotFoundError as exc:
        raise StateFileError(f"{path}: no {what} there") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StateFileError(f"{path}: unreadable {what} ({exc})") from exc
    if not isinstance(body, dict):
        raise StateFileError(f"{path}: unreadable {what} (not an object)")
    return body
