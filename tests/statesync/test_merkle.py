from __future__ import annotations

import dataclasses
import functools
import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statesync import merkle
from statesync.errors import FieldError, MerkleError
from statesync.field import R
from statesync.merkle import (
    MAX_DEPTH,
    ZERO_LEAF,
    MerkleProof,
    build_tree,
    compute_root,
    compute_root_from_proof,
    get_proof,
    hash_pair,
    is_valid_proof,
    zero_hashes,
)
from statesync.poseidon import poseidon
from tests.statesync.conftest import VECTORS, Requests, circomlibjs_answers

# circomlibjs's side builds every node of the full tree, so keep the trees small.
CROSSCHECK_MAX_DEPTH = 6

field_elements = st.integers(min_value=0, max_value=R - 1)


@st.composite
def trees(draw: st.DrawFn, max_depth: int = 5) -> tuple[list[int], int]:
    depth = draw(st.integers(min_value=1, max_value=max_depth))
    leaves = draw(st.lists(field_elements, max_size=2**depth))
    return leaves, depth


@functools.cache
def vectors() -> list[tuple[list[int], int]]:
    rng = random.Random("merkle crosscheck")
    result: list[tuple[list[int], int]] = [([], 1), ([R - 1, R - 1], 1), ([], CROSSCHECK_MAX_DEPTH)]
    while len(result) < VECTORS:
        depth = rng.randint(1, CROSSCHECK_MAX_DEPTH)
        # Mostly sparse trees: the case where the zero-subtree shortcut does the work.
        count = rng.choice([rng.randint(0, 2**depth), rng.randint(0, min(3, 2**depth))])
        result.append(([rng.randrange(R) for _ in range(count)], depth))
    return result


def circomlibjs_requests() -> Requests:
    return [{"op": "merkle_root", "leaves": [str(x) for x in leaves], "depth": depth} for leaves, depth in vectors()]


def test_roots_match_the_full_tree_built_by_circomlibjs() -> None:
    expected = circomlibjs_answers(sys.modules[__name__])
    for (leaves, depth), root in zip(vectors(), expected, strict=True):
        assert compute_root(leaves, depth) == int(root), (leaves, depth)


def test_zero_hashes_are_empty_subtree_roots() -> None:
    zeros = zero_hashes()
    assert len(zeros) == MAX_DEPTH + 1
    assert zeros[0] == ZERO_LEAF
    for height in range(MAX_DEPTH):
        assert zeros[height + 1] == hash_pair(zeros[height], zeros[height])
    assert compute_root([], 3) == zeros[3] == compute_root([ZERO_LEAF] * 8, 3)


@settings(max_examples=25, deadline=None)
@given(trees())
def test_every_index_has_a_valid_proof(tree_spec: tuple[list[int], int]) -> None:
    leaves, depth = tree_spec
    tree = build_tree(leaves, depth)
    for index in range(2**depth):
        proof = get_proof(tree, index)
        assert proof.leaf == (leaves[index] if index < len(leaves) else ZERO_LEAF)
        assert len(proof.siblings) == depth
        assert is_valid_proof(root=tree.root, proof=proof, depth=depth)


@settings(max_examples=25, deadline=None)
@given(trees(), st.data())
def test_tampered_proofs_fail(tree_spec: tuple[list[int], int], data: st.DataObject) -> None:
    leaves, depth = tree_spec
    tree = build_tree(leaves, depth)
    index = data.draw(st.integers(min_value=0, max_value=2**depth - 1))
    proof = get_proof(tree, index)
    level = data.draw(st.integers(min_value=0, max_value=depth - 1))
    siblings = list(proof.siblings)
    siblings[level] = (siblings[level] + 1) % R
    assert not is_valid_proof(root=tree.root, proof=dataclasses.replace(proof, siblings=tuple(siblings)), depth=depth)
    assert not is_valid_proof(root=tree.root, proof=dataclasses.replace(proof, leaf=(proof.leaf + 1) % R), depth=depth)
    # Another index takes another path; it verifies only if the nodes happen to coincide
    # (e.g. the same empty subtree on both sides), which rebuilding shows.
    other = index ^ (1 << level)
    moved = dataclasses.replace(proof, index=other)
    same_root = compute_root_from_proof(proof.leaf, other, proof.siblings, depth) == tree.root
    assert is_valid_proof(root=tree.root, proof=moved, depth=depth) is same_root


def test_a_sparse_deep_tree_costs_about_one_hash_per_leaf(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    zero_hashes()  # computed once per process, not part of the count
    calls = 0

    def counting_poseidon(inputs: list[int]) -> int:
        nonlocal calls
        calls += 1
        return poseidon(inputs)

    monkeypatch.setattr(merkle, "poseidon", counting_poseidon)
    leaves = list(range(1, 101))
    tree = build_tree(leaves, 16)
    # n - 1 hashes combine the leaves, plus at most one per level against an empty subtree.
    assert calls <= len(leaves) + 16
    assert tree.root == compute_root_from_proof(1, 0, get_proof(tree, 0).siblings, 16)


@pytest.mark.parametrize("depth", [0, MAX_DEPTH + 1, -1, 1.0, True])
def test_depth_outside_range_is_rejected(depth: object) -> None:
    with pytest.raises(MerkleError, match="depth must be"):
        build_tree([1], depth)  # type: ignore[arg-type]
    with pytest.raises(MerkleError, match="depth must be"):
        compute_root_from_proof(1, 0, [0], depth)  # type: ignore[arg-type]


def test_too_many_leaves_are_rejected() -> None:
    with pytest.raises(MerkleError, match="5 leaves do not fit a tree of depth 2"):
        build_tree([1, 2, 3, 4, 5], 2)


@pytest.mark.parametrize("index", [-1, 8, 2**40])
def test_index_out_of_range_is_rejected(index: int) -> None:
    tree = build_tree([1, 2, 3], 3)
    with pytest.raises(MerkleError, match=f"leaf index {index} is outside 0..7"):
        get_proof(tree, index)
    with pytest.raises(MerkleError, match="outside 0..7"):
        compute_root_from_proof(1, index, [0, 0, 0], 3)


@pytest.mark.parametrize("length", [0, 2, 4])
def test_path_of_wrong_length_is_rejected(length: int) -> None:
    tree = build_tree([1, 2, 3], 3)
    proof = MerkleProof(leaf=1, index=0, siblings=get_proof(tree, 0).siblings[:length])
    if length > 3:
        proof = MerkleProof(leaf=1, index=0, siblings=(0,) * length)
    with pytest.raises(MerkleError, match=f"has 3 siblings, got {length}"):
        is_valid_proof(root=tree.root, proof=proof, depth=3)


def test_values_outside_the_field_are_rejected() -> None:
    tree = build_tree([1, 2], 2)
    proof = get_proof(tree, 0)
    with pytest.raises(FieldError, match="leaf 1 must be < r"):
        build_tree([1, R], 2)
    with pytest.raises(FieldError, match="leaf must be < r"):
        is_valid_proof(root=tree.root, proof=dataclasses.replace(proof, leaf=R), depth=2)
    with pytest.raises(FieldError, match="sibling 1 must be < r"):
        compute_root_from_proof(1, 0, [0, R], 2)
    with pytest.raises(FieldError, match="root must be < r"):
        is_valid_proof(root=R, proof=proof, depth=2)
