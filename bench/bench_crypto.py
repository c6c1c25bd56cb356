"""Throughput of the reference cryptography (statesync/), for the figures in the docs.

`run()` returns the measured figures; `python -m bench.bench_crypto` prints them. Nothing here
asserts a speed: machines differ, so figures are reported, not tested.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from statesync.eddsa import derive_public_key, sign_poseidon, verify_poseidon
from statesync.field import R
from statesync.merkle import build_tree
from statesync.poseidon import (
    available_backends,
    poseidon,
    poseidon_galois,
    poseidon_reference,
)

TREE_DEPTH = 16


def _rate(operation: Callable[[int], object], seconds: float) -> float:
    """Operations per second, running operation(i) for i = 0, 1, ... for about `seconds`."""
    operation(0)  # warm caches (constants, tables) outside the timing
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        operation(count)
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def _poseidon_rate(backend: str, pairs: list[tuple[int, int]], seconds: float) -> float:
    return _rate(lambda i: poseidon(pairs[i % len(pairs)], backend=backend), seconds)


def run(seconds: float = 2.0, tree_leaves: int = 1 << TREE_DEPTH) -> dict[str, Any]:
    """Measure Poseidon(2) per implementation, EdDSA sign/verify, and a full Merkle build.

    The fast path is measured with each integer backend installed ("int" always, "gmpy2" if
    present); signatures and the tree use the default (fastest) one.
    """
    rng = random.Random("bench")
    pairs = [(rng.randrange(R), rng.randrange(R)) for _ in range(1024)]
    key = rng.randbytes(32)
    public_key = derive_public_key(key)
    signatures = [(m, sign_poseidon(key, m)) for m in (rng.randrange(R) for _ in range(64))]

    figures: dict[str, Any] = {
        f"poseidon2_per_s_fast_{backend}": _poseidon_rate(backend, pairs, seconds) for backend in available_backends()
    }
    figures |= {
        "poseidon2_per_s_reference": _rate(lambda i: poseidon_reference(pairs[i % 1024]), seconds),
        "poseidon2_per_s_galois": _rate(lambda i: poseidon_galois(pairs[i % 1024]), seconds),
        "eddsa_sign_per_s": _rate(lambda i: sign_poseidon(key, i), seconds),
        "eddsa_verify_per_s": _rate(
            lambda i: verify_poseidon(public_key, signatures[i % 64][0], signatures[i % 64][1]),
            seconds,
        ),
    }
    leaves = [rng.randrange(R) for _ in range(tree_leaves)]
    start = time.perf_counter()
    build_tree(leaves, TREE_DEPTH)
    figures["merkle_build_s"] = time.perf_counter() - start
    figures["default_backend"] = available_backends()[-1]
    figures["merkle_leaves"] = tree_leaves
    figures["merkle_depth"] = TREE_DEPTH
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
