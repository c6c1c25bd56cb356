"""Circuit inputs from the protocol model: one function per circuit, never hand-written JSON.

These build inputs faithfully from whatever objects they are given, valid or not, so tests
can hand the circuits dishonest witnesses. The validate_* functions check the statement in
protocol terms, so a caller can learn what is wrong before any witness is computed.
"""

from __future__ import annotations

from collections.abc import Sequence

from statesync.errors import ModelError
from statesync.merkle import MerkleTree, get_proof
from statesync.model import (
    Commit,
    Header,
    StateSyncEvent,
    ValidatorSet,
    build_event_tree,
    compute_batch_commitment,
    compute_data_hash,
    compute_header_hash,
    is_final,
    validate_header_link,
)

from .witness import InputValue

Inputs = dict[str, InputValue]

# A signature slot that does not sign still needs values; the verifier is disabled for it.
_UNSIGNED_R8 = [0, 1]


def _quorum_inputs(commit: Commit, validator_set: ValidatorSet) -> Inputs:
    """The set and its signatures on commit's header, as one FinalChild step takes them."""
    slots = validator_set.slots()
    signatures = list(commit.signatures) + [None] * (len(slots) - len(commit.signatures))
    return {
        "validatorKeys": [[x, y] for (x, y), _ in slots],
        "validatorPowers": [power for _, power in slots],
        "signed": [0 if s is None else 1 for s in signatures],
        "sigR8": [_UNSIGNED_R8 if s is None else [s.r8[0], s.r8[1]] for s in signatures],
        "sigS": [0 if s is None else s.s for s in signatures],
    }


def build_header_update_inputs(trusted: Header, commit: Commit, validator_set: ValidatorSet) -> Inputs:
    return {
        "trustedHeaderHash": compute_header_hash(trusted),
        "trustedHeader": list(trusted.fields()),
        "header": list(commit.header.fields()),
        **_quorum_inputs(commit, validator_set),
    }


def build_header_chain_inputs(
    trusted: Header, commits: Sequence[Commit], validator_sets: Sequence[ValidatorSet]
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
    tree: MerkleTree,
    header_events: Sequence[StateSyncEvent],
    batch: Sequence[StateSyncEvent],
    batch_size: int,
) -> Inputs:
    """Inputs proving `batch` (consecutive events of the header) under the tree's root."""
    if not batch:
        raise ModelError("a batch holds at least one event")
    ids = [e.id for e in header_events]
    if batch[0].id not in ids:
        raise ModelError(f"event {batch[0].id} is not one of the header's events")
    first_position = ids.index(batch[0].id)
    depth = tree.depth
    commitment = compute_batch_commitment(tree.root, batch, batch_size)
    padding = batch_size - len(batch)
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
        "siblings": siblings + [[0] * depth] * padding,
    }


def build_state_sync_inputs(
    trusted: Header,
    commit: Commit,
    validator_set: ValidatorSet,
    tree: MerkleTree,
    header_events: Sequence[StateSyncEvent],
    batch: Sequence[StateSyncEvent],
    batch_size: int,
) -> Inputs:
    header_part = build_header_update_inputs(trusted, commit, validator_set)
    events_part = build_event_inclusion_inputs(tree, header_events, batch, batch_size)
    del events_part["eventRoot"]  # StateSync takes it from the new header
    return {**header_part, **events_part}


def validate_header_update(trusted: Header, commit: Commit, validator_set: ValidatorSet) -> None:
    """Raise ModelError unless the commit is a header the light client would accept."""
    validate_header_link(trusted, commit.header)
    if not is_final(validator_set, commit):
        raise ModelError("the header is not final: its signers hold at most 2/3 of the set's power")


def validate_header_chain(
    trusted: Header, commits: Sequence[Commit], validator_sets: Sequence[ValidatorSet], depth: int
) -> None:
    """Raise ModelError unless HeaderChain(V, depth, len(commits)) can prove the commits.

    Each header must be one the light client would accept after the one before, and every
    header but the last must carry no events (the empty depth-`depth` tree's root): a chain
    proof publishes only the last event root, so events of a skipped header would be stranded.
    """
    if not commits or len(commits) != len(validator_sets):
        raise ModelError("a header chain needs at least one header and one validator set per header")
    empty_root = build_event_tree((), depth).root
    parent = trusted
    for index, (commit, validator_set) in enumerate(zip(commits, validator_sets, strict=True)):
        try:
            validate_header_update(parent, commit, validator_set)
            if index < len(commits) - 1 and commit.header.event_root != empty_root:
                raise ModelError("it carries events, and only the last header of a chain may")
        except ModelError as exc:
            raise ModelError(f"header {index} of the chain (number {commit.header.number}): {exc}") from exc
        parent = commit.header
