"""The exit tree (docs/PROTOCOL.md section 8) against a naive full-width tree, and its refusals.

The contracts check the same tree on the EVM (tests/bridge/test_exit_contracts.py): the EVM's
keccak and abi.encode are the independent reference for encode_exit and the node rule.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from statesync.errors import MerkleError, ModelError
from statesync.exits import (
    EXIT_TREE_DEPTH,
    MAX_EXIT_DATA_BYTES,
    ExitEvent,
    build_exit_tree,
    compute_exit_leaf,
    compute_exit_root,
    compute_exit_root_from_proof,
    encode_exit,
    get_exit_proof,
)


def exits(count: int, first_id: int = 1) -> list[ExitEvent]:
    return [ExitEvent(first_id + i, 0x1000 + i, 0xBEEF, b"w" * (i % 70)) for i in range(count)]


def naive_root(leaves: list[bytes]) -> bytes:
    """Every one of the 2^16 leaves hashed level by level: no zero-subtree shortcut."""
    level = leaves + [b"\x00" * 32] * ((1 << EXIT_TREE_DEPTH) - len(leaves))
    while len(level) > 1:
        level = [keccak(level[k] + level[k + 1]) for k in range(0, len(level), 2)]
    return level[0]


@pytest.mark.parametrize("count", [0, 1, 2, 3, 17])
def test_root_equals_the_naive_full_tree(count: int) -> None:
    events = exits(count)
    assert build_exit_tree(events).root == naive_root([compute_exit_leaf(e) for e in events])


def test_leaf_is_keccak_of_the_abi_encoding() -> None:
    event = ExitEvent(7, 0xAA, 0xBB, b"\x01\x02")
    encoded = encode_exit(event)
    # abi.encode(uint256, address, address, bytes): four head words, then length and data padded.
    assert len(encoded) == 6 * 32
    assert encoded[:32] == (7).to_bytes(32, "big") and encoded[3 * 32 : 4 * 32] == (128).to_bytes(32, "big")
    assert compute_exit_leaf(event) == keccak(encoded)


@settings(max_examples=20, deadline=None)
@given(count=st.integers(1, 40), data=st.data())
def test_every_proof_leads_to_the_root_and_a_tampered_one_does_not(count: int, data: st.DataObject) -> None:
    events = exits(count)
    tree = build_exit_tree(events)
    index = data.draw(st.integers(0, count - 1))
    proof = get_exit_proof(tree, events, index)
    assert compute_exit_root_from_proof(proof) == tree.root
    level = data.draw(st.integers(0, EXIT_TREE_DEPTH - 1))
    siblings = list(proof.siblings)
    siblings[level] = bytes(b ^ 1 for b in siblings[level])
    assert compute_exit_root_from_proof(replace(proof, siblings=tuple(siblings))) != tree.root
    assert compute_exit_root_from_proof(replace(proof, leaf_index=index ^ (1 << level))) != tree.root
    other = encode_exit(replace(events[index], data=events[index].data + b"!"))
    assert compute_exit_root_from_proof(replace(proof, unhashed_leaf=other)) != tree.root


def test_malformed_proofs_and_trees_are_refused() -> None:
    events = exits(3)
    tree = build_exit_tree(events)
    proof = get_exit_proof(tree, events, 1)
    with pytest.raises(MerkleError, match="16 siblings"):
        compute_exit_root_from_proof(replace(proof, siblings=proof.siblings[:-1]))
    with pytest.raises(MerkleError, match="outside"):
        compute_exit_root_from_proof(replace(proof, leaf_index=1 << EXIT_TREE_DEPTH))
    with pytest.raises(MerkleError, match="32"):
        compute_exit_root_from_proof(replace(proof, siblings=(b"\x00",) + proof.siblings[1:]))
    with pytest.raises(MerkleError, match="not one of"):
        get_exit_proof(tree, events, 3)
    with pytest.raises(ModelError, match="consecutive"):
        build_exit_tree([exits(1)[0], exits(1, first_id=3)[0]])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": 0}, "start at 1"),
        ({"receiver": 0}, "zero address"),
        ({"sender": 2**160}, "sender"),
        ({"data": b"x" * (MAX_EXIT_DATA_BYTES + 1)}, "at most 2048"),
    ],
)
def test_exit_events_follow_edges_limits(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        replace(ExitEvent(1, 2, 3), **changes)  # type: ignore[arg-type]


def test_the_empty_tree_has_a_nonzero_root() -> None:
    # The checkpoint manager refuses a zero root (Nomad's lesson); an empty range still has one.
    assert compute_exit_root(()) != 0
