"""Fixed-depth binary Poseidon Merkle trees, as a circuit recomputes them from a path.

A node is poseidon([left, right]). Bit i of a leaf's index (least significant first) is 1 when
the node on the path at level i is a right child, so it is hashed as poseidon([sibling, node]).
Unused leaves hold ZERO_LEAF, and an unused subtree of height i hashes to zero_hashes()[i], so
building a depth-16 tree of n leaves costs about n hashes, not 2^16.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from statesync.errors import MerkleError
from statesync.field import to_field
from statesync.poseidon import poseidon

ZERO_LEAF: Final = 0
MIN_DEPTH: Final = 1
MAX_DEPTH: Final = 32


@dataclass(frozen=True)
class MerkleProof:
    """A leaf, its index, and the sibling of each node on its path, from the leaf level up."""

    leaf: int
    index: int
    siblings: tuple[int, ...]


@dataclass(frozen=True)
class MerkleTree:
    """Every computed level: levels[0] holds the leaves given, levels[depth] the root alone.

    Each level stores only the nodes over given leaves; the rest are zero_hashes()[level].
    """

    depth: int
    levels: tuple[tuple[int, ...], ...]
    root: int


def hash_pair(left: int, right: int) -> int:
    """The parent of two nodes."""
    return poseidon([left, right])


@functools.cache
def zero_hashes() -> tuple[int, ...]:
    """zero_hashes()[i] is the root of an empty subtree of height i (index 0: ZERO_LEAF)."""
    hashes = [ZERO_LEAF]
    for _ in range(MAX_DEPTH):
        hashes.append(hash_pair(hashes[-1], hashes[-1]))
    return tuple(hashes)


def _check_depth(depth: int) -> int:
    if not isinstance(depth, int) or isinstance(depth, bool):
        raise MerkleError(f"tree depth must be an int, got {type(depth).__name__}")
    if not MIN_DEPTH <= depth <= MAX_DEPTH:
        raise MerkleError(f"tree depth must be in {MIN_DEPTH}..{MAX_DEPTH}, got {depth}")
    return depth


def _check_index(index: int, depth: int) -> int:
    if not isinstance(index, int) or isinstance(index, bool):
        raise MerkleError(f"leaf index must be an int, got {type(index).__name__}")
    if not 0 <= index < 1 << depth:
        raise MerkleError(f"leaf index {index} is outside 0..{(1 << depth) - 1} (depth {depth})")
    return index


def build_tree(leaves: Sequence[int], depth: int) -> MerkleTree:
    """The tree of depth `depth` whose first len(leaves) leaves are `leaves`, the rest empty."""
    _check_depth(depth)
    if len(leaves) > 1 << depth:
        raise MerkleError(f"{len(leaves)} leaves do not fit a tree of depth {depth}")
    level = tuple(to_field(leaf, f"leaf {i}") for i, leaf in enumerate(leaves))
    zeros = zero_hashes()
    levels = [level]
    for height in range(depth):
        if len(level) % 2:
            level = (*level, zeros[height])
        level = tuple(poseidon([level[k], level[k + 1]]) for k in range(0, len(level), 2))
        levels.append(level)
    root = level[0] if level else zeros[depth]
    return MerkleTree(depth=depth, levels=tuple(levels), root=root)


def compute_root(leaves: Sequence[int], depth: int) -> int:
    """The root of build_tree(leaves, depth)."""
    return build_tree(leaves, depth).root


def get_proof(tree: MerkleTree, index: int) -> MerkleProof:
    """The membership proof of the leaf at index (ZERO_LEAF if no leaf was given there)."""
    _check_index(index, tree.depth)
    zeros = zero_hashes()
    siblings = []
    position = index
    for height in range(tree.depth):
        level = tree.levels[height]
        sibling = position ^ 1
        siblings.append(level[sibling] if sibling < len(level) else zeros[height])
        position >>= 1
    leaves = tree.levels[0]
    leaf = leaves[index] if index < len(leaves) else ZERO_LEAF
    return MerkleProof(leaf=leaf, index=index, siblings=tuple(siblings))


def compute_root_from_proof(leaf: int, index: int, siblings: Sequence[int], depth: int) -> int:
    """The root that a path from leaf at index through siblings leads to."""
    _check_depth(depth)
    _check_index(index, depth)
    if len(siblings) != depth:
        raise MerkleError(f"a path in a tree of depth {depth} has {depth} siblings, got {len(siblings)}")
    node = to_field(leaf, "leaf")
    for height, sibling in enumerate(siblings):
        sibling = to_field(sibling, f"sibling {height}")
        is_right = (index >> height) & 1
        node = hash_pair(sibling, node) if is_right else hash_pair(node, sibling)
    return node


def is_valid_proof(*, root: int, proof: MerkleProof, depth: int) -> bool:
    """True iff proof leads to root; raises MerkleError if proof cannot belong to such a tree."""
    to_field(root, "root")
    return compute_root_from_proof(proof.leaf, proof.index, proof.siblings, depth) == root
