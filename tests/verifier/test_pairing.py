"""The BN254 tower, curves and pairing against py_ecc (the oracle) and against algebra."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128 import optimized_curve as oracle
from py_ecc.optimized_bn128 import optimized_pairing as oracle_pairing

from verifier.bn254 import (
    FP12_ONE,
    G1_GENERATOR,
    G2_GENERATOR,
    Fp12,
    G1Point,
    G2Point,
    Q,
    R,
    U,
    compute_lines,
    final_exponentiation,
    g1_add,
    g1_linear_combination,
    g1_mul,
    g1_neg,
    g2_add,
    g2_mul,
    g2_neg,
    g2_psi,
    gt_pow,
    is_in_g2,
    is_on_g1,
    is_on_g2_curve,
    miller_loop,
    pairing,
    pairing_product,
)
from verifier.bn254.fields import (
    fp2_inv,
    fp12_conj,
    fp12_cyclotomic_sqr,
    fp12_inv,
    fp12_mul,
    fp12_sqr,
)
from verifier.bn254.pairing import frobenius
from verifier.testing import random_twist_point

fp = st.integers(min_value=0, max_value=Q - 1)
scalar = st.integers(min_value=1, max_value=R - 1)
fp2 = st.tuples(fp, fp)
fp12 = st.tuples(st.tuples(fp2, fp2, fp2), st.tuples(fp2, fp2, fp2))
ZERO12: Fp12 = (((0, 0),) * 3, ((0, 0),) * 3)
nonzero12 = fp12.filter(lambda a: a != ZERO12)


# ---------------------------------------------------------------------------------------------
# Conversions to py_ecc and test-only helpers


def to_oracle(a: Fp12) -> FQ12:
    # sum x_i w^i with x_i = re + im u and u = w^6 - 9 (py_ecc's modulus is x^12 - 18x^6 + 82).
    (x0, x2, x4), (x1, x3, x5) = a
    coeffs = [0] * 12
    for i, (re, im) in enumerate((x0, x1, x2, x3, x4, x5)):
        coeffs[i] = (coeffs[i] + re - 9 * im) % Q
        coeffs[i + 6] = (coeffs[i + 6] + im) % Q
    return FQ12(coeffs)


def oracle_g1(p: G1Point) -> tuple[FQ, FQ, FQ]:
    return (FQ(p[0]), FQ(p[1]), FQ.one())


def oracle_g2(p: G2Point) -> tuple[FQ2, FQ2, FQ2]:
    return (FQ2(list(p[0])), FQ2(list(p[1])), FQ2.one())


def from_oracle_g2(p: tuple[FQ2, FQ2, FQ2]) -> G2Point:
    x, y = oracle.normalize(p)
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))


def cyclotomic(a: Fp12) -> Fp12:
    # The easy part of the final exponentiation maps into the cyclotomic subgroup.
    t = fp12_mul(fp12_conj(a), fp12_inv(a))
    return fp12_mul(frobenius(t, 2), t)


# ---------------------------------------------------------------------------------------------
# Tower


@settings(max_examples=40, deadline=None)
@given(fp12, fp12)
def test_tower_products_match_py_ecc(a: Fp12, b: Fp12) -> None:
    assert to_oracle(fp12_mul(a, b)) == to_oracle(a) * to_oracle(b)
    assert to_oracle(fp12_sqr(a)) == to_oracle(a) ** 2


@settings(max_examples=15, deadline=None)
@given(nonzero12)
def test_inverse_and_frobenius_match_py_ecc(a: Fp12) -> None:
    assert fp12_mul(fp12_inv(a), a) == FP12_ONE
    for k in range(4):
        assert to_oracle(frobenius(a, k)) == to_oracle(a) ** (Q**k)


@settings(max_examples=25, deadline=None)
@given(nonzero12)
def test_cyclotomic_squaring_equals_squaring_in_the_cyclotomic_subgroup(a: Fp12) -> None:
    c = cyclotomic(a)
    assert fp12_cyclotomic_sqr(c) == fp12_sqr(c)
    assert fp12_mul(c, fp12_conj(c)) == FP12_ONE  # unitary: inverse = conjugate


@settings(max_examples=3, deadline=None)
@given(nonzero12)
def test_final_exponentiation_equals_py_ecc(a: Fp12) -> None:
    assert to_oracle(final_exponentiation(a)) == oracle_pairing.final_exponentiate(to_oracle(a))


def test_fp2_inverse_of_zero_raises() -> None:
    with pytest.raises(ValueError):
        fp2_inv((0, 0))


# ---------------------------------------------------------------------------------------------
# Curves


@settings(max_examples=10, deadline=None)
@given(scalar, scalar)
def test_scalar_multiplication_matches_py_ecc(s: int, t: int) -> None:
    p = g1_mul(G1_GENERATOR, s)
    q = g2_mul(G2_GENERATOR, t)
    assert p is not None and q is not None
    assert p == tuple(int(c) for c in oracle.normalize(oracle.multiply(oracle.G1, s)))
    assert q == from_oracle_g2(oracle.multiply(oracle.G2, t))
    assert is_on_g1(p) and is_on_g2_curve(q) and is_in_g2(q)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(scalar, st.integers(0, R - 1)), max_size=4), scalar)
def test_linear_combination_is_the_sum_of_products(terms: list[tuple[int, int]], b: int) -> None:
    points = [(g1_mul(G1_GENERATOR, k), s) for k, s in terms]
    expected = g1_mul(G1_GENERATOR, (b + sum(k * s for k, s in terms)) % R)
    assert g1_linear_combination(g1_mul(G1_GENERATOR, b), points) == expected


def test_group_laws_at_the_exceptional_cases() -> None:
    p = g1_mul(G1_GENERATOR, 5)
    q = g2_mul(G2_GENERATOR, 5)
    assert p is not None and q is not None
    assert g1_add(p, g1_neg(p)) is None and g1_add(p, p) == g1_mul(p, 2)
    assert g1_add(None, p) == p and g1_add(p, None) == p and g1_mul(p, R) is None
    assert g2_add(q, g2_neg(q)) is None and g2_add(q, q) == g2_mul(q, 2)
    assert g2_mul(q, R) is None and g2_mul(None, 3) is None and g2_mul(q, 0) is None
    # The Straus loop meets acc == -P when the scalars cancel; it must not lose the point.
    assert g1_linear_combination(p, [(p, R - 1)]) is None
    assert g1_linear_combination(None, [(p, 1), (g1_neg(p), 1)]) is None


def test_random_twist_points_are_outside_g2_until_the_cofactor_is_cleared() -> None:
    rng = random.Random(2024)
    cofactor = 2 * Q - R  # #E'(Fp2) = r (2q - r) for BN curves
    for _ in range(3):
        t = random_twist_point(rng)
        assert is_on_g2_curve(t) and not is_in_g2(t)
        assert not oracle.is_inf(oracle.multiply(oracle_g2(t), R))  # the oracle agrees
        cleared = g2_mul(t, cofactor)
        assert cleared is not None and is_in_g2(cleared)
        # Subgroup points satisfy psi(Q) = [q]Q = [6u^2]Q; the others do not.
        assert g2_psi(cleared) == g2_mul(cleared, 6 * U * U)
        assert g2_psi(t) != g2_mul(t, 6 * U * U)


# ---------------------------------------------------------------------------------------------
# Pairing


@settings(max_examples=2, deadline=None)
@given(scalar, scalar)
def test_pairing_equals_py_ecc(s: int, t: int) -> None:
    p, q = g1_mul(G1_GENERATOR, s), g2_mul(G2_GENERATOR, t)
    assert p is not None and q is not None
    assert to_oracle(pairing(p, q)) == oracle_pairing.pairing(oracle_g2(q), oracle_g1(p))


@settings(max_examples=5, deadline=None)
@given(scalar, scalar)
def test_pairing_is_bilinear_and_non_degenerate(s: int, t: int) -> None:
    e = pairing(G1_GENERATOR, G2_GENERATOR)
    assert e != FP12_ONE and gt_pow(e, R) == FP12_ONE
    assert pairing(g1_mul(G1_GENERATOR, s), g2_mul(G2_GENERATOR, t)) == gt_pow(e, s * t % R)


@settings(max_examples=5, deadline=None)
@given(st.lists(st.tuples(scalar, scalar), min_size=1, max_size=4))
def test_shared_miller_loop_equals_product_of_pairings(pairs: list[tuple[int, int]]) -> None:
    points = [(g1_mul(G1_GENERATOR, s), g2_mul(G2_GENERATOR, t)) for s, t in pairs]
    expected = FP12_ONE
    for p, q in points:
        expected = fp12_mul(expected, pairing(p, q))
    assert pairing_product(points) == expected
    # Precomputed lines give the same Miller loop as lines computed on the fly.
    lines = [(p, None if q is None else compute_lines(q)) for p, q in points]
    assert final_exponentiation(miller_loop(lines)) == expected


def test_pairs_with_infinity_contribute_one() -> None:
    e = pairing(G1_GENERATOR, G2_GENERATOR)
    assert pairing(None, G2_GENERATOR) == FP12_ONE
    assert pairing(G1_GENERATOR, None) == FP12_ONE
    assert pairing_product([(None, G2_GENERATOR), (G1_GENERATOR, G2_GENERATOR)]) == e


def test_the_groth16_shape_cancels() -> None:
    # e(-aG, bH) e(aG, bH) = 1: the check the verifier performs, with one final exponentiation.
    p, q = g1_mul(G1_GENERATOR, 1234), g2_mul(G2_GENERATOR, 5678)
    assert pairing_product([(g1_neg(p), q), (p, q)]) == FP12_ONE
    assert pairing_product([(g1_neg(p), q), (g1_mul(p, 2), q)]) == pairing(p, q)
