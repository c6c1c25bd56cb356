"""A deterministic sample rootchain for a preset: committee, checkpoint, header, events.

`make prove` without INPUT=, the benchmarks and the CLI's `sample-inputs` prove this, so a
new user sees every step work before bringing their own data. Keys derive from a fixed seed:
sample proofs are reproducible, and the sample committee is public, so it secures nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from statesync.circuits import ManifestError, load_manifest
from statesync.committee import Committee, generate_committee
from statesync.exits import ExitEvent, compute_exit_root
from statesync.merkle import MerkleTree
from statesync.model import (
    AnyCommit,
    Checkpoint,
    Header,
    Signed,
    StateSyncEvent,
    build_event_tree,
    compute_checkpoint_hash,
    compute_header_hash,
)

from .inputs import (
    Inputs,
    build_checkpoint_update_inputs,
    build_event_inclusion_inputs,
    build_header_chain_inputs,
    build_header_update_inputs,
    build_state_sync_inputs,
    event_shape,
)

SAMPLE_SEED = b"zkstatesync sample committee"


@dataclass(frozen=True)
class SampleChain:
    committee: Committee
    checkpoint: Header
    header: Header
    events: tuple[StateSyncEvent, ...]
    tree: MerkleTree
    batch_size: int


def _address(label: str) -> int:
    return int.from_bytes(hashlib.sha256(label.encode()).digest()[:20], "big")


def build_sample_chain(preset: str) -> SampleChain:
    params = load_manifest().preset(preset)
    size, depth, batch = params.get("V", 4), params.get("D", 4), params.get("B", 2)
    # Unequal powers: 1, 2, ..., so the quorum depends on who signs.
    committee = generate_committee(list(range(1, size + 1)), size, seed=SAMPLE_SEED)
    checkpoint = Header(
        chain_id=1,
        number=0,
        parent_hash=0,
        timestamp=1_700_000_000,
        event_root=0,
        validator_set_hash=committee.set_hash,
        next_validator_set_hash=committee.set_hash,
    )
    events = tuple(
        StateSyncEvent(
            id=i + 1,
            sender=_address(f"depositor {i}"),
            receiver=_address("child bridge"),
            data=(i + 1).to_bytes(32, "big"),
        )
        for i in range(batch + 1)
    )
    tree = build_event_tree(events, depth)
    header = Header(
        chain_id=1,
        number=1,
        parent_hash=compute_header_hash(checkpoint),
        timestamp=1_700_000_012,
        event_root=tree.root,
        validator_set_hash=committee.set_hash,
        next_validator_set_hash=committee.set_hash,
    )
    return SampleChain(committee, checkpoint, header, events, tree, batch)


def sign_sample(committee: Committee, item: Signed, preset: str) -> AnyCommit:
    """Every validator's signature in the preset's quorum mode: one each (Q = 0) or one aggregate
    (Q = 1; its nonces are fresh, so the signature differs between runs, the public signals not)."""
    if load_manifest().preset(preset).get("Q", 0) == 1:
        return committee.sign_aggregate(item)
    return committee.sign(item)


def build_sample_header_chain(preset: str) -> tuple[Header, tuple[AnyCommit, ...], tuple[Committee, ...]]:
    """N headers after the sample checkpoint, and who signed each; the first rotates to a second committee."""
    chain = build_sample_chain(preset)
    params = load_manifest().preset(preset)
    size, count = params.get("V", 4), params.get("N", 2)
    rotated = generate_committee(list(range(size, 0, -1)), size, seed=SAMPLE_SEED + b" rotated")
    empty_root = build_event_tree((), chain.tree.depth).root
    commits, signers, parent, signer = [], [], chain.checkpoint, chain.committee
    for index in range(count):
        header = Header(
            chain_id=parent.chain_id,
            number=parent.number + 1,
            parent_hash=compute_header_hash(parent),
            timestamp=parent.timestamp + 12,
            event_root=chain.tree.root if index == count - 1 else empty_root,
            validator_set_hash=signer.set_hash,
            next_validator_set_hash=rotated.set_hash,
        )
        commits.append(sign_sample(signer, header, preset))
        signers.append(signer)
        parent, signer = header, rotated
    return chain.checkpoint, tuple(commits), tuple(signers)


def build_sample_checkpoint(preset: str) -> tuple[Checkpoint, Checkpoint, tuple[ExitEvent, ...], Committee]:
    """A child-chain checkpoint after a genesis one, carrying three exits, signed by the sample committee."""
    committee = build_sample_chain(preset).committee
    genesis = Checkpoint(
        chain_id=1002,
        number=0,
        parent_hash=0,
        timestamp=1_700_000_000,
        exit_root=compute_exit_root(()),
        validator_set_hash=committee.set_hash,
        next_validator_set_hash=committee.set_hash,
    )
    exits = tuple(
        ExitEvent(id=i + 1, sender=_address("child token"), receiver=_address("root bridge"), data=bytes([i]) * 32)
        for i in range(3)
    )
    checkpoint = Checkpoint(
        chain_id=1002,
        number=40,
        parent_hash=compute_checkpoint_hash(genesis),
        timestamp=1_700_000_080,
        exit_root=compute_exit_root(exits),
        validator_set_hash=committee.set_hash,
        next_validator_set_hash=committee.set_hash,
        block_hash=int.from_bytes(hashlib.sha256(b"child block 40").digest(), "big"),
    )
    return genesis, checkpoint, exits, committee


def build_sample_inputs(circuit: str, preset: str) -> Inputs:
    if circuit == "checkpoint_update":
        genesis, child_checkpoint, _, committee = build_sample_checkpoint(preset)
        return build_checkpoint_update_inputs(
            trusted=genesis,
            commit=sign_sample(committee, child_checkpoint, preset),
            validator_set=committee.validator_set,
        )
    if circuit == "header_chain":
        checkpoint, commits, signers = build_sample_header_chain(preset)
        return build_header_chain_inputs(
            trusted=checkpoint, commits=commits, validator_sets=[s.validator_set for s in signers]
        )
    chain = build_sample_chain(preset)
    commit = sign_sample(chain.committee, chain.header, preset)
    batch = chain.events[: chain.batch_size]
    if circuit == "header_update":
        return build_header_update_inputs(
            trusted=chain.checkpoint, commit=commit, validator_set=chain.committee.validator_set
        )
    if circuit == "event_inclusion":
        return build_event_inclusion_inputs(shape=event_shape(preset), header_events=chain.events, batch=batch)
    if circuit == "state_sync":
        return build_state_sync_inputs(
            shape=event_shape(preset),
            trusted=chain.checkpoint,
            commit=commit,
            validator_set=chain.committee.validator_set,
            header_events=chain.events,
            batch=batch,
        )
    load_manifest().spec(circuit, preset)  # raises the manifest's own error for unknown names
    raise ManifestError(f"no sample inputs for circuit {circuit!r}: give your own with --input")
