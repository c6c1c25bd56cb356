"""The exit direction's events and their keccak tree (docs/PROTOCOL.md section 8).

The child chain's L2StateSender emits Edge's L2StateSynced(id, sender, receiver, data). A
checkpoint commits to the keccak tree of its range's exits, so the rootchain's exit helper checks
a membership proof with keccak256 alone, as Edge's ExitHelper does: a user executes their own
exit without a prover. The tree has a fixed depth (EXIT_TREE_DEPTH): a node is
keccak256(left || right), bit i of a leaf's index (least significant first) says the node at
level i is a right child, unused leaves are bytes32(0), and an unused subtree of height i hashes
to exit_zero_hashes()[i].
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from .errors import MerkleError, ModelError

EXIT_TREE_DEPTH: Final = 16  # 65,536 exits per checkpoint, a 512-byte proof
MAX_EXIT_DATA_BYTES: Final = 2048  # Edge's L2StateSender limit
ZERO_NODE: Final = b"\x00" * 32
EXIT_TYPES: Final = ("uint256", "address", "address", "bytes")


@dataclass(frozen=True)
class ExitEvent:
    """Edge's L2StateSynced(id, sender, receiver, data); addresses as 160-bit integers."""

    id: int
    sender: int
    receiver: int
    data: bytes = field(default=b"")

    def __post_init__(self) -> None:
        for name, bits in (("exit id", 256), ("sender", 160), ("receiver", 160)):
            value = getattr(self, name.split()[-1])
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**bits:
                raise ModelError(f"{name} must be an integer in [0, 2^{bits}), got {value!r}")
        if self.id == 0:
            raise ModelError("exit ids start at 1")
        if self.receiver == 0:
            raise ModelError("the receiver must not be the zero address")
        if not isinstance(self.data, bytes) or len(self.data) > MAX_EXIT_DATA_BYTES:
            raise ModelError(f"exit data must be at most {MAX_EXIT_DATA_BYTES} bytes")


def encode_exit(event: ExitEvent) -> bytes:
    """abi.encode(id, sender, receiver, data): the `unhashedLeaf` an exit is executed with."""
    addresses = ["0x" + a.to_bytes(20, "big").hex() for a in (event.sender, event.receiver)]
    return abi_encode(list(EXIT_TYPES), [event.id, *addresses, event.data])


def compute_exit_leaf(event: ExitEvent) -> bytes:
    return keccak(encode_exit(event))


def hash_exit_pair(left: bytes, right: bytes) -> bytes:
    return keccak(left + right)


@functools.cache
def exit_zero_hashes() -> tuple[bytes, ...]:
    """exit_zero_hashes()[i]: the root of an empty subtree of height i (index 0: the zero leaf)."""
    hashes = [ZERO_NODE]
    for _ in range(EXIT_TREE_DEPTH):
        hashes.append(hash_exit_pair(hashes[-1], hashes[-1]))
    return tuple(hashes)


@dataclass(frozen=True)
class ExitTree:
    """Every computed level over the given leaves (levels[0]); the rest are zero subtrees."""

    levels: tuple[tuple[bytes, ...], ...]
    root: bytes


@dataclass(frozen=True)
class ExitProof:
    """What `exit(checkpointNumber, leafIndex, unhashedLeaf, proof)` takes besides the number."""

    leaf_index: int
    unhashed_leaf: bytes
    siblings: tuple[bytes, ...]


def validate_consecutive_exit_ids(events: Sequence[ExitEvent]) -> None:
    for before, after in zip(events, events[1:], strict=False):
        if after.id != before.id + 1:
            raise ModelError(f"exit ids must be consecutive: {before.id} is followed by {after.id}")


def build_exit_tree(events: Sequence[ExitEvent]) -> ExitTree:
    """The checkpoint's exit tree: leaf j is its range's j-th exit in id order, then zero leaves."""
    validate_consecutive_exit_ids(events)
    if len(events) > 1 << EXIT_TREE_DEPTH:
        raise MerkleError(f"{len(events)} exits do not fit a tree of depth {EXIT_TREE_DEPTH}")
    zeros = exit_zero_hashes()
    level = tuple(compute_exit_leaf(e) for e in events)
    levels = [level]
    for height in range(EXIT_TREE_DEPTH):
        if len(level) % 2:
            level = (*level, zeros[height])
        level = tuple(hash_exit_pair(level[k], level[k + 1]) for k in range(0, len(level), 2))
        levels.append(level)
    return ExitTree(levels=tuple(levels), root=level[0] if level else zeros[EXIT_TREE_DEPTH])


def compute_exit_root(events: Sequence[ExitEvent]) -> int:
    """The exit root as a 256-bit integer (what a checkpoint commits to)."""
    return int.from_bytes(build_exit_tree(events).root, "big")


def get_exit_proof(tree: ExitTree, events: Sequence[ExitEvent], leaf_index: int) -> ExitProof:
    """The proof that events[leaf_index] is leaf `leaf_index` of `tree` (built from `events`)."""
    if not 0 <= leaf_index < len(events) or len(tree.levels[0]) != len(events):
        raise MerkleError(f"leaf index {leaf_index} is not one of the tree's {len(tree.levels[0])} exits")
    zeros = exit_zero_hashes()
    siblings = []
    position = leaf_index
    for height in range(EXIT_TREE_DEPTH):
        level = tree.levels[height]
        sibling = position ^ 1
        siblings.append(level[sibling] if sibling < len(level) else zeros[height])
        position >>= 1
    return ExitProof(leaf_index, encode_exit(events[leaf_index]), tuple(siblings))


def compute_exit_root_from_proof(proof: ExitProof) -> bytes:
    """The root a proof leads to; MerkleError if it cannot be a path of the exit tree."""
    if len(proof.siblings) != EXIT_TREE_DEPTH:
        raise MerkleError(f"an exit proof has {EXIT_TREE_DEPTH} siblings, got {len(proof.siblings)}")
    if not 0 <= proof.leaf_index < 1 << EXIT_TREE_DEPTH:
        raise MerkleError(f"leaf index {proof.leaf_index} is outside the exit tree")
    node = keccak(proof.unhashed_leaf)
    for height, sibling in enumerate(proof.siblings):
        if len(sibling) != 32:
            raise MerkleError(f"sibling {height} is {len(sibling)} bytes, not 32")
        node = hash_exit_pair(sibling, node) if (proof.leaf_index >> height) & 1 else hash_exit_pair(node, sibling)
    return node
