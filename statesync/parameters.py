"""The number-theoretic facts the package relies on, proven with sympy.

Kept apart from field.py and babyjub.py because it needs both (and babyjub builds on field).
"""

from __future__ import annotations

import sympy

from . import babyjub, field
from .errors import FieldError


def check_curve_parameters() -> None:
    """Prove (with sympy, a few seconds) the primality facts the package relies on.

    Raises FieldError naming the first failed fact: r and q prime and equal to BN254's
    polynomials in u, 5 a generator of GF(r)*, and the Baby Jubjub order equal to 8 * l
    with l prime.
    """
    facts: list[tuple[str, bool]] = [
        ("r equals 36u^4 + 36u^3 + 18u^2 + 6u + 1", field.r_polynomial(field.BN254_U) == field.R),
        ("q equals 36u^4 + 36u^3 + 24u^2 + 6u + 1", field.q_polynomial(field.BN254_U) == field.Q),
        ("r is prime", bool(sympy.isprime(field.R))),
        ("q is prime", bool(sympy.isprime(field.Q))),
        ("5 generates GF(r)*", bool(sympy.is_primitive_root(field.R_MULTIPLICATIVE_GENERATOR, field.R))),
        ("the Baby Jubjub order is 8 * l", babyjub.ORDER == 8 * babyjub.SUBORDER),
        ("the Baby Jubjub subgroup order l is prime", bool(sympy.isprime(babyjub.SUBORDER))),
        # The addition law is complete (no exceptional points) when a is a square and d is
        # not; babyjub.add_points relies on that.
        ("Baby Jubjub's a is a square mod r", pow(babyjub.A, (field.R - 1) // 2, field.R) == 1),
        ("Baby Jubjub's d is a non-square mod r", pow(babyjub.D, (field.R - 1) // 2, field.R) == field.R - 1),
    ]
    for fact, holds in facts:
        if not holds:
            raise FieldError(f"curve parameter check failed: {fact}")
