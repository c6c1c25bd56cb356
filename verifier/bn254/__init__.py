"""BN254 (alt_bn128) arithmetic and the optimal ate pairing on plain Python ints.

Fast enough for verification (~12 ms per final exponentiation, ~2 ms per Miller-loop pair);
py_ecc stays the reference these are tested against.
"""

from .curve import (
    G1_GENERATOR,
    G2_GENERATOR,
    G1Point,
    G2Point,
    R,
    U,
    g1_add,
    g1_linear_combination,
    g1_mul,
    g1_neg,
    g2_add,
    g2_mul,
    g2_neg,
    g2_psi,
    is_in_g2,
    is_on_g1,
    is_on_g2_curve,
)
from .fields import FP12_ONE, Fp2, Fp12, Q, fp12_conj
from .pairing import (
    G2Lines,
    compute_lines,
    final_exponentiation,
    gt_pow,
    miller_loop,
    pairing,
    pairing_product,
)

__all__ = [
    "FP12_ONE",
    "G1_GENERATOR",
    "G2_GENERATOR",
    "Q",
    "R",
    "U",
    "Fp2",
    "Fp12",
    "G1Point",
    "G2Lines",
    "G2Point",
    "compute_lines",
    "final_exponentiation",
    "fp12_conj",
    "g1_add",
    "g1_linear_combination",
    "g1_mul",
    "g1_neg",
    "g2_add",
    "g2_mul",
    "g2_neg",
    "g2_psi",
    "gt_pow",
    "is_in_g2",
    "is_on_g1",
    "is_on_g2_curve",
    "miller_loop",
    "pairing",
    "pairing_product",
]
