"""The light client of the exit direction: child-chain checkpoints and the exits under them.

    state = initial_checkpoint_state(genesis_checkpoint)
    state = apply_checkpoint_proof(state, checkpoint_key, proof, signals, checkpoint)
    state = apply_exit(state, checkpoint_number, exit_proof)
    save_checkpoint_state(path, state); state = load_checkpoint_state(path)

It holds what ZkCheckpointManager and ZkExitHelper hold on the rootchain (docs/PROTOCOL.md
section 8): the trusted checkpoint, the exit root of every accepted checkpoint by number, and
the processed exit ids, and it refuses what they refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from statesync.errors import MerkleError, ZkStateSyncError
from statesync.exits import EXIT_TYPES, ExitEvent, ExitProof, compute_exit_root_from_proof, encode_exit
from statesync.model import Checkpoint, compute_checkpoint_hash

from .groth16 import Proof, verify_proof
from .keys import CircuitKey
from .light_client import LightClientError, StateFileError, load_checked_document, save_checked_document
from .signals import CheckpointSignals

STATE_VERSION = 1


@dataclass(frozen=True)
class CheckpointClientState:
    checkpoint: Checkpoint
    exit_roots: Mapping[int, int] = field(default_factory=dict)  # checkpoint number -> exit root
    processed_exits: frozenset[int] = frozenset()

    @property
    def checkpoint_hash(self) -> int:
        return compute_checkpoint_hash(self.checkpoint)


def initial_checkpoint_state(genesis: Checkpoint) -> CheckpointClientState:
    return CheckpointClientState(checkpoint=genesis)


def validate_checkpoint_proof(
    state: CheckpointClientState, key: CircuitKey, proof: Proof, signals: CheckpointSignals, checkpoint: Checkpoint
) -> None:
    """Raise unless `proof` shows `checkpoint` final after the trusted one."""
    if key.circuit != "checkpoint_update":
        raise LightClientError(f"a {key.circuit} key cannot check a checkpoint proof")
    if signals.trusted_checkpoint_hash != state.checkpoint_hash:
        raise LightClientError("the proof was made against another checkpoint (not the one this client trusts)")
    if (compute_checkpoint_hash(checkpoint), checkpoint.number, checkpoint.exit_root) != (
        signals.checkpoint_hash,
        signals.number,
        signals.exit_root,
    ):
        raise LightClientError("the checkpoint given does not match the proof's public signals")
    if checkpoint.number <= state.checkpoint.number:
        raise LightClientError(
            f"checkpoint number {checkpoint.number} does not exceed the trusted one's {state.checkpoint.number}"
        )
    if checkpoint.exit_root == 0:
        raise LightClientError("a zero exit root is never accepted")
    if not verify_proof(key.key, proof, signals.values()):
        raise LightClientError("the checkpoint proof does not verify")


def apply_checkpoint_proof(
    state: CheckpointClientState, key: CircuitKey, proof: Proof, signals: CheckpointSignals, checkpoint: Checkpoint
) -> CheckpointClientState:
    validate_checkpoint_proof(state, key, proof, signals, checkpoint)
    roots = {**state.exit_roots, checkpoint.number: checkpoint.exit_root}
    return CheckpointClientState(checkpoint, roots, state.processed_exits)


def decode_exit(unhashed_leaf: bytes) -> ExitEvent:
    """The exit an unhashed leaf encodes; refused unless it is the one canonical encoding of it."""
    try:
        exit_id, sender, receiver, data = abi_decode(list(EXIT_TYPES), unhashed_leaf)
        event = ExitEvent(exit_id, int(sender, 16), int(receiver, 16), data)
    except (DecodingError, ZkStateSyncError, ValueError, TypeError) as exc:
        raise LightClientError(f"the leaf is not an encoded exit: {exc}") from exc
    if encode_exit(event) != unhashed_leaf:
        raise LightClientError("the leaf is not the canonical encoding of its exit")
    return event


def validate_exit(state: CheckpointClientState, checkpoint_number: int, proof: ExitProof) -> ExitEvent:
    """The exit `proof` proves under an accepted checkpoint, unless refused (unknown, wrong, or done)."""
    root = state.exit_roots.get(checkpoint_number)
    if root is None:
        raise LightClientError(f"no checkpoint at number {checkpoint_number} was accepted")
    event = decode_exit(proof.unhashed_leaf)
    try:
        proven = compute_exit_root_from_proof(proof)
    except MerkleError as exc:
        raise LightClientError(f"the exit proof is malformed: {exc}") from exc
    if int.from_bytes(proven, "big") != root:
        raise LightClientError(f"exit {event.id} is not in checkpoint {checkpoint_number}'s exit tree")
    if event.id in state.processed_exits:
        raise LightClientError(f"exit {event.id} was processed already")
    return event


def apply_exit(state: CheckpointClientState, checkpoint_number: int, proof: ExitProof) -> CheckpointClientState:
    """The state with the exit processed (its receiver succeeded; a failed one stays retryable)."""
    event = validate_exit(state, checkpoint_number, proof)
    return CheckpointClientState(state.checkpoint, state.exit_roots, state.processed_exits | {event.id})


# --- persistence ------------------------------------------------------------------------------


def save_checkpoint_state(path: Path, state: CheckpointClientState) -> None:
    """Write state atomically, with a checksum so that a damaged file is refused, not misread."""
    body = {
        "version": STATE_VERSION,
        "checkpoint": [str(v) for v in state.checkpoint.fields()],
        "exit_roots": {str(n): str(r) for n, r in sorted(state.exit_roots.items())},
        "processed_exits": sorted(state.processed_exits),
    }
    save_checked_document(path, body)


def load_checkpoint_state(path: Path) -> CheckpointClientState:
    body = load_checked_document(path, STATE_VERSION, "checkpoint state")
    try:
        checkpoint = Checkpoint.from_fields([int(v) for v in body["checkpoint"]])
        roots = {int(n): int(r) for n, r in body["exit_roots"].items()}
        return CheckpointClientState(checkpoint, roots, frozenset(int(i) for i in body["processed_exits"]))
    except (ValueError, KeyError, TypeError, ZkStateSyncError) as exc:
        raise StateFileError(f"{path}: unreadable checkpoint state ({exc})") from exc
