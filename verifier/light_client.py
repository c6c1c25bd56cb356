"""The light client in Python: a trusted checkpoint, advanced only by verified proofs.

    state = initial_state(genesis_header)
    state = apply_header_proof(state, header_key, proof, public_signals, header)
    events = verify_events(state, events_key, proof, public_signals, events)
    save_state(path, state); state = load_state(path)

State is a frozen value; every apply_* returns a new one. A relayer or an off-chain service
builds on this: it holds exactly what ZkStateReceiver holds on-chain, plus the full checkpoint
header, so that it can say which validator set it trusts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from statesync.errors import ZkStateSyncError
from statesync.model import Header, StateSyncEvent, compute_batch_commitment, compute_header_hash
from statesync.storage import write_atomically

from .groth16 import PreparedVerifyingKey, Proof, verify_proof

STATE_VERSION = 1


class LightClientError(ZkStateSyncError):
    """A proof or header the light client refuses, with the reason."""


class StateFileError(LightClientError):
    """The state file is missing, corrupted or of another version."""


@dataclass(frozen=True)
class LightClientState:
    checkpoint: Header
    # headerHash -> (number, eventRoot) of every header proven since genesis.
    proven_roots: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    last_executed_id: int = 0

    @property
    def checkpoint_hash(self) -> int:
        return compute_header_hash(self.checkpoint)

    @property
    def validator_set_hash(self) -> int:
        """The set that must sign the next header: the one the checkpoint named."""
        return self.checkpoint.next_validator_set_hash


def initial_state(genesis: Header) -> LightClientState:
    return LightClientState(checkpoint=genesis)


def apply_header_proof(
    state: LightClientState,
    key: PreparedVerifyingKey,
    proof: Proof,
    public_signals: Sequence[int],
    header: Header,
) -> LightClientState:
    """Advance the checkpoint to header, given a HeaderUpdate, HeaderChain or StateSync proof of it.

    All three circuits start their public signals with [headerHash, number, eventRoot,
    trustedHeaderHash] (docs/PROTOCOL.md section 4); `key` says which circuit the proof is of.
    A HeaderChain proof moves N headers at once; the headers it skips carry no events.
    """
    if len(public_signals) < 4:
        raise LightClientError(f"a header proof has at least 4 public signals, got {len(public_signals)}")
    header_hash, number, event_root, trusted_hash = public_signals[:4]
    if trusted_hash != state.checkpoint_hash:
        raise LightClientError("the proof was made against another checkpoint (not the set this client trusts)")
    if compute_header_hash(header) != header_hash or header.number != number or header.event_root != event_root:
        raise LightClientError("the header given does not match the proof's public signals")
    if number <= state.checkpoint.number:
        raise LightClientError(f"header number {number} does not exceed the checkpoint's {state.checkpoint.number}")
    if event_root == 0:
        raise LightClientError("a zero event root is never accepted")
    if not verify_proof(key, proof, public_signals):
        raise LightClientError("the header proof does not verify")
    roots = {**state.proven_roots, header_hash: (number, event_root)}
    return LightClientState(checkpoint=header, proven_roots=roots, last_executed_id=state.last_executed_id)


def verify_events(
    state: LightClientState,
    key: PreparedVerifyingKey,
    proof: Proof,
    public_signals: Sequence[int],
    events: Sequence[StateSyncEvent],
    batch_size: int,
) -> tuple[StateSyncEvent, ...]:
    """Check an EventInclusion proof ([eventRoot, gamma, eventsCommitment]) for events."""
    if len(public_signals) != 3:
        raise LightClientError(f"an event proof has 3 public signals, got {len(public_signals)}")
    event_root, gamma, commitment = public_signals
    if event_root not in {root for _, root in state.proven_roots.values()}:
        raise LightClientError("the events' root is not the event root of any proven header")
    expected = compute_batch_commitment(event_root, events, batch_size)
    if (gamma, commitment) != (expected.gamma, expected.commitment):
        raise LightClientError("the events given are not the events the proof commits to")
    if not verify_proof(key, proof, public_signals):
        raise LightClientError("the event proof does not verify")
    return tuple(events)


def apply_state_sync_proof(
    state: LightClientState,
    key: PreparedVerifyingKey,
    proof: Proof,
    public_signals: Sequence[int],
    header: Header,
    events: Sequence[StateSyncEvent],
    batch_size: int,
) -> LightClientState:
    """A StateSync proof: header and events at once ([..., gamma, eventsCommitment])."""
    if len(public_signals) != 6:
        raise LightClientError(f"a StateSync proof has 6 public signals, got {len(public_signals)}")
    expected = compute_batch_commitment(header.event_root, events, batch_size)
    if tuple(public_signals[4:]) != (expected.gamma, expected.commitment):
        raise LightClientError("the events given are not the events the proof commits to")
    return apply_header_proof(state, key, proof, public_signals, header)


def record_executed(state: LightClientState, events: Sequence[StateSyncEvent]) -> LightClientState:
    """Mark events executed; ids must continue from the last executed one (exactly once, in order)."""
    expected = state.last_executed_id + 1
    for event in events:
        if event.id != expected:
            raise LightClientError(f"event {event.id} is out of order: the next to execute is {expected}")
        expected += 1
    return LightClientState(state.checkpoint, state.proven_roots, expected - 1)


# --- persistence ------------------------------------------------------------------------------


def _encode(state: LightClientState) -> dict[str, object]:
    return {
        "version": STATE_VERSION,
        "checkpoint": [str(v) for v in state.checkpoint.fields()],
        "proven_roots": {str(h): [str(n), str(r)] for h, (n, r) in sorted(state.proven_roots.items())},
        "last_executed_id": state.last_executed_id,
    }


def save_state(path: Path, state: LightClientState) -> None:
    """Write state atomically, with a checksum so that a damaged file is refused, not misread."""
    body = _encode(state)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    document = {"state": body, "sha256": hashlib.sha256(canonical.encode()).hexdigest()}
    write_atomically(path, json.dumps(document, indent=2) + "\n")


def load_state(path: Path) -> LightClientState:
    try:
        document = json.loads(Path(path).read_text())
        body = document["state"]
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        if hashlib.sha256(canonical.encode()).hexdigest() != document["sha256"]:
            raise StateFileError(f"{path}: checksum mismatch; the state file is corrupted")
        if body["version"] != STATE_VERSION:
            raise StateFileError(f"{path}: state version {body['version']}, this client reads {STATE_VERSION}")
        checkpoint = Header(*(int(v) for v in body["checkpoint"]))
        roots = {int(h): (int(n), int(r)) for h, (n, r) in body["proven_roots"].items()}
        return LightClientState(checkpoint, roots, int(body["last_executed_id"]))
    except StateFileError:
        raise
    except FileNotFoundError as exc:
        raise StateFileError(f"{path}: no light-client state there") from exc
    except (OSError, ValueError, KeyError, TypeError, ZkStateSyncError) as exc:
        raise StateFileError(f"{path}: unreadable light-client state ({exc})") from exc
