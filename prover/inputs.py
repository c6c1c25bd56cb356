"""Circuit inputs from the protocol model: one function per circuit, never hand-written JSON.

These build inputs faithfully from whatever objects they are given, valid or not, so tests
can hand the circuits dishonest witnesses. The protocol's rules (statesync.model's
validate_* functions) say whether a statement is true before any witness is computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from statesync.circuits import load_manifest
from statesync.errors import ModelError
from statesync.merkle import get_proof
from statesync.model import (
    AggregateCommit,
    AnyCommit,
    Checkpoint,
    Header,
    StateSyncEvent,
    ValidatorSet,
    build_event_tree,
    compute_batch_commitment,
    compute_checkpoint_hash,
    compute_data_hash,
    compute_header_hash,
)

from .witness import InputValue

Inputs = dict[str, InputValue]

# A signature slot that does not sign still needs values; the verifier is disabled for it.
_UNSIGNED_R8 = [0, 1]


def _quorum_inputs(commit: AnyCommit, validator_set: ValidatorSet) -> Inputs:
    """The set and its signatures on commit's header, as one FinalChild step takes them: one per
    slot for a Commit (quorum mode 0), the one aggregate for an AggregateCommit (mode 1)."""
    slots = validator_set.slots()
    set_inputs: Inputs = {
        "validatorKeys": [[x, y] for (x, y), _ in slots],
        "validatorPowers": [power for _, power in slots],
    }
    if isinstance(commit, AggregateCommit):
        bits = list(commit.signers) + [False] * (len(slots) - len(commit.signers))
        signature = commit.signature
        return {
            **set_inputs,
            "signed": [int(b) for b in bits],
            "sigR8": [[signature.r8[0], signature.r8[1]]],
            "sigS": [signature.s],
        }
    signatures = list(commit.signatures) + [None] * (len(slots) - len(commit.signatures))
    return {
        **set_inputs,
        "signed": [0 if s is None else 1 for s in signatures],
        "sigR8": [_UNSIGNED_R8 if s is None else [s.r8[0], s.r8[1]] for s in signatures],
        "sigS": [0 if s is None else s.s for s in signatures],
    }


@dataclass(frozen=True)
class EventShape:
    """The event tree's depth D and the events per proof B of a circuit instance."""

    depth: int
    batch_size: int


def event_shape(preset: str) -> EventShape:
    """D and B of a manifest preset."""
    params = load_manifest().preset(preset)
    return EventShape(depth=params["D"], batch_size=params["B"])


def build_header_update_inputs(*, trusted: Header, commit: AnyCommit, validator_set: ValidatorSet) -> Inputs:
    return {
        "trustedHeaderHash": compute_header_hash(trusted),
        "trustedHeader": list(trusted.fields()),
        "header": list(commit.header.fields()),
        **_quorum_inputs(commit, validator_set),
    }


def build_checkpoint_update_inputs(*, trusted: Checkpoint, commit: AnyCommit, validator_set: ValidatorSet) -> Inputs:
    """Inputs for CheckpointUpdate(V): commit.header is the child-chain checkpoint signed."""
    return {
        "trustedCheckpointHash": compute_checkpoint_hash(trusted),
        "trustedCheckpoint": list(trusted.fields()),
        "checkpoint": list(commit.header.fields()),
        **_quorum_inputs(commit, validator_set),
    }


def build_header_chain_inputs(
    *, trusted: Header, commits: Sequence[AnyCommit], validator_sets: Sequence[ValidatorSet]
) -> Inputs:
    """Inputs for HeaderChain(V, N): commits[i] is signed by validator_sets[i], N = len(commits)."""
    if not commits or len(commits) != len(validator_sets):
        raise ModelError(
            f"a header chain needs one validator set per header, got {len(commits)} headers "
            f"and {len(validator_sets)} sets"
        )
    links = [_quorum_inputs(c, s) for c, s in zip(commits, validator_sets, strict=True)]
    return {
        "trustedHeaderHash": compute_header_hash(trusted),
        "trustedHeader": list(trusted.fields()),
        "headers": [list(c.header.fields()) for c in commits],
        **{name: [link[name] for link in links] for name in links[0]},
    }


def build_event_inclusion_inputs(
    *, shape: EventShape, header_events: Sequence[StateSyncEvent], batch: Sequence[StateSyncEvent]
) -> Inputs:
    """Inputs proving `batch` (consecutive events of the header) under the tree of `header_events`."""
    if not batch:
        raise ModelError("a batch holds at least one event")
    tree = build_event_tree(header_events, shape.depth)
    ids = [e.id for e in header_events]
    if batch[0].id not in ids:
        raise ModelError(f"event {batch[0].id} is not one of the header's events")
    first_position = ids.index(batch[0].id)
    commitment = compute_batch_commitment(tree.root, batch, shape.batch_size)
    padding = shape.batch_size - len(batch)
    siblings = [list(get_proof(tree, first_position + i).siblings) for i in range(len(batch))]
    return {
        "eventRoot": tree.root,
        "gamma": commitment.gamma,
        "eventsCommitment": commitment.commitment,
        "firstId": batch[0].id,
        "firstPosition": first_position,
        "active": [1] * len(batch) + [0] * padding,
        "senders": [e.sender for e in batch] + [0] * padding,
        "receivers": [e.receiver for e in batch] + [0] * padding,
        "dataHashes": [compute_data_hash(e.data) for e in batch] + [0] * padding,
        "siblings": siblings + [[0] * shape.depth] * padding,
    }


def build_state_sync_inputs(
    *,
    shape: EventShape,
    trusted: Header,
    commit: AnyCommit,
    validator_set: ValidatorSet,
    header_events: Sequence[StateSyncEvent],
    batch: Sequence[StateSyncEvent],
) -> Inputs:
    header_part = build_header_update_inputs(trusted=trusted, commit=commit, validator_set=validator_set)
    events_part = build_event_inclusion_inputs(shape=shape, header_events=header_events, batch=batch)
    del events_part["eventRoot"]  # StateSync takes it from the new header
    return {**header_part, **events_part}
