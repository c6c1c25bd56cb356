"""Helpers shared by the verifier's tests and benchmark (after prover/testing.py).

Points on the G2 twist outside the order-r subgroup (the snarkjs fixture proofs are
prover/fixtures.py's). Never imported by the verifier itself.
"""

from __future__ import annotations

import random

from .bn254 import G2Point, Q
from .bn254.curve import B2
from .bn254.fields import Fp2, fp2_add, fp2_mul, fp2_sqr


def sqrt_fp(a: int) -> int | None:
    s = pow(a, (Q + 1) // 4, Q)  # q = 3 mod 4
    return s if s * s % Q == a % Q else None


def sqrt_fp2(a: Fp2) -> Fp2 | None:
    # sqrt(a0 + a1 u): the norm a0^2 + a1^2 is a square n^2, and x0^2 = (a0 +- n) / 2.
    a0, a1 = a
    n = sqrt_fp((a0 * a0 + a1 * a1) % Q)
    if n is None:
        return None
    half = pow(2, -1, Q)
    for c in ((a0 + n) * half % Q, (a0 - n) * half % Q):
        x0 = sqrt_fp(c)
        if x0 is None:
            continue
        candidate = (x0, a1 * pow(2 * x0, -1, Q) % Q) if x0 else (0, sqrt_fp(-a0 % Q) or 0)
        if fp2_sqr(candidate) == (a0 % Q, a1 % Q):
            return candidate
    return None


def random_twist_point(rng: random.Random) -> G2Point:
    """A point on the twist E'(Fp2), not multiplied by the cofactor: almost never in G2."""
    while True:
        x = (rng.randrange(Q), rng.randrange(Q))
        y = sqrt_fp2(fp2_add(fp2_mul(fp2_sqr(x), x), B2))
        if y is not None:
            return (x, y)
