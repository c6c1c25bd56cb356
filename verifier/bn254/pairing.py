"""The optimal ate pairing on BN254, shaped for Groth16: precomputed lines, one shared
Miller loop for all pairs, one final exponentiation.

Conventions: pairs are (P in G1, Q in G2) in the EVM's order (py_ecc takes (Q, P)), None is
the point at infinity, and a pair with an infinite point contributes 1, as in EIP-197.

Lines. Everything a line needs from Q (slope and intercept on the twist) is computed in
affine coordinates once per Q, so the fixed G2 points of a verifying key cost nothing per
proof and a proof's B costs ~90 Fp2 inversions (cheap: pow(x, -1, q) runs in C). Each line
is divided by y_P, an Fp factor the final exponentiation kills, which leaves the constant
coefficient 1 and makes each line multiplication two sparse Fp6 products.

Final exponentiation: (q^12 - 1)/r = (q^6 - 1)(q^2 + 1) * (q^4 - q^2 + 1)/r. The easy part is
a conjugation, an inversion and a Frobenius map. The hard part is the addition chain of
Scott et al., "On the final exponentiation for calculating pairings on ordinary elliptic
curves" (Pairing 2009), as in go-ethereum's bn256: it computes exactly f^((q^4-q^2+1)/r),
not a multiple, so results equal py_ecc's naive exponentiation bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from statesync.errors import CurveError

from .curve import G1Point, G2Point, R, U, g2_neg
from .fields import (
    FP12_ONE,
    XI,
    Fp2,
    Fp6,
    Fp12,
    Q,
    fp2_conj,
    fp2_inv,
    fp2_mul,
    fp2_pow,
    fp2_sqr,
    fp2_sub,
    fp12_conj,
    fp12_cyclotomic_sqr,
    fp12_inv,
    fp12_mul,
    fp12_mul_line,
    fp12_sqr,
)

# A line on the twist through T with slope lam, stored as (-lam, lam x_T - y_T), four ints.
Line = tuple[int, int, int, int]
G2Lines = tuple[Line, ...]


def _naf(n: int) -> tuple[int, ...]:
    # Non-adjacent form, least significant digit first: fewer additions in the Miller loop.
    digits = []
    while n:
        if n & 1:
            d = 2 - (n & 3)
            n -= d
        else:
            d = 0
        digits.append(d)
        n >>= 1
    return tuple(digits)


ATE_LOOP_COUNT: Final = 6 * U + 2
_ATE_NAF: Final = _naf(ATE_LOOP_COUNT)

# Frobenius coefficients: pi^k(sum x_i w^i) = sum frob^k(x_i) * xi^(i (q^k - 1) / 6) w^i.
_FROBENIUS: Final = tuple(tuple(fp2_pow(XI, i * (Q**k - 1) // 6) for i in range(6)) for k in range(4))

# The hard part's exponent in base q (Scott et al.): lambda_0 + lambda_1 q + ... + lambda_3 q^3.
_HARD_EXPONENT_DIGITS: Final = (
    -36 * U**3 - 30 * U**2 - 18 * U - 2,
    -36 * U**3 - 18 * U**2 - 12 * U + 1,
    6 * U**2 + 1,
    1,
)


# ---------------------------------------------------------------------------------------------
# Lines


def _doubling_line(t: G2Point) -> tuple[G2Point, Line]:
    x, y = t
    if y == (0, 0):
        raise CurveError("tangent at a point of order 2: the G2 point is not in the subgroup")
    x2 = fp2_sqr(x)
    lam = fp2_mul((3 * x2[0], 3 * x2[1]), fp2_inv((2 * y[0], 2 * y[1])))
    return _step(t, t, lam)


def _addition_line(t: G2Point, q: G2Point) -> tuple[G2Point, Line]:
    dx = fp2_sub(q[0], t[0])
    if dx == (0, 0):
        raise CurveError("Miller loop met T = +-Q: the G2 point is not in the subgroup")
    lam = fp2_mul(fp2_sub(q[1], t[1]), fp2_inv(dx))
    return _step(t, q, lam)


def _step(t: G2Point, q: G2Point, lam: Fp2) -> tuple[G2Point, Line]:
    (xt, yt), xq = t, q[0]
    lam_r, lam_i = lam
    x3 = fp2_sub(fp2_sub(fp2_sqr(lam), xt), xq)
    y3 = fp2_sub(fp2_mul(lam, fp2_sub(xt, x3)), yt)
    mu = fp2_sub(fp2_mul(lam, xt), yt)
    return (x3, y3), (-lam_r % Q, -lam_i % Q, mu[0], mu[1])


def compute_lines(q: G2Point) -> G2Lines:
    """The Miller loop's lines for Q, in loop order (do this once per fixed Q).

    Q must be in the G2 subgroup; degenerate steps that only off-subgroup points reach
    raise CurveError instead of dividing by zero.
    """
    lines: list[Line] = []
    minus_q = g2_neg(q)
    t = q
    for digit in reversed(_ATE_NAF[:-1]):
        t, line = _doubling_line(t)
        lines.append(line)
        if digit:
            t, line = _addition_line(t, q if digit > 0 else minus_q)
            lines.append(line)
    # Two more lines with pi(Q) and -pi^2(Q), where pi is the q-power Frobenius on E(Fp12).
    x, y = q
    q1 = (fp2_mul(fp2_conj(x), _FROBENIUS[1][2]), fp2_mul(fp2_conj(y), _FROBENIUS[1][3]))
    q2 = (fp2_mul(x, _FROBENIUS[2][2]), fp2_mul(y, _FROBENIUS[2][3]))
    t, line = _addition_line(t, q1)
    lines.append(line)
    _, line = _addition_line(t, g2_neg(q2))
    lines.append(line)
    return tuple(lines)


def _square_schedule() -> tuple[bool, ...]:
    # Whether f is squared before each line; the first line meets f = 1, so no square.
    schedule: list[bool] = []
    for digit in reversed(_ATE_NAF[:-1]):
        schedule.append(bool(schedule))
        if digit:
            schedule.append(False)
    return (*schedule, False, False)


_SQUARE_BEFORE: Final = _square_schedule()


# ---------------------------------------------------------------------------------------------
# Miller loop and final exponentiation


def miller_loop(pairs: Iterable[tuple[G1Point | None, G2Lines | None]]) -> Fp12:
    """prod_i f_{Q_i}(P_i) with one squaring chain; pairs with infinity contribute 1."""
    evaluations: list[tuple[int, int, G2Lines]] = []
    for p, lines in pairs:
        if p is None or lines is None:
            continue
        x, y = p
        if y == 0:
            raise CurveError("G1 point with y = 0 is not on BN254")
        y_inv = pow(y, -1, Q)
        evaluations.append((x * y_inv % Q, y_inv, lines))
    f = FP12_ONE
    for j, square in enumerate(_SQUARE_BEFORE):
        if square:
            f = fp12_sqr(f)
        for xs, ys, lines in evaluations:
            lr, li, mr, mi = lines[j]
            f = fp12_mul_line(f, lr * xs % Q, li * xs % Q, mr * ys % Q, mi * ys % Q)
    return f


def frobenius(a: Fp12, k: int) -> Fp12:
    """a^(q^k) for k in 0..3."""
    (x0, x2, x4), (x1, x3, x5) = a
    gamma = _FROBENIUS[k]
    xs = (x0, x1, x2, x3, x4, x5)
    if k & 1:
        xs = tuple(fp2_conj(c) for c in xs)  # type: ignore[assignment]
    y = [fp2_mul(c, g) for c, g in zip(xs, gamma, strict=True)]
    c0: Fp6 = (y[0], y[2], y[4])
    c1: Fp6 = (y[1], y[3], y[5])
    return (c0, c1)


def _cyclotomic_exp_u(a: Fp12) -> Fp12:
    # a^u for unitary a, square-and-multiply from the top bit of u (u has 19 set bits).
    result = a
    for bit in range(U.bit_length() - 2, -1, -1):
        result = fp12_cyclotomic_sqr(result)
        if U >> bit & 1:
            result = fp12_mul(result, a)
    return result


def final_exponentiation(f: Fp12) -> Fp12:
    """f^((q^12 - 1) / r), equal to py_ecc's final_exponentiate."""
    # Easy part: f^((q^6 - 1)(q^2 + 1)) lands in the cyclotomic subgroup (inverse = conjugate).
    t = fp12_mul(fp12_conj(f), fp12_inv(f))
    t = fp12_mul(frobenius(t, 2), t)
    # Hard part, Scott et al. (and go-ethereum's crypto/bn256/cloudflare/optate.go).
    fp = frobenius(t, 1)
    fp2 = frobenius(t, 2)
    fp3 = frobenius(fp2, 1)
    fu = _cyclotomic_exp_u(t)
    fu2 = _cyclotomic_exp_u(fu)
    fu3 = _cyclotomic_exp_u(fu2)
    y0 = fp12_mul(fp12_mul(fp, fp2), fp3)
    y1 = fp12_conj(t)
    y2 = frobenius(fu2, 2)
    y3 = fp12_conj(frobenius(fu, 1))
    y4 = fp12_conj(fp12_mul(fu, frobenius(fu2, 1)))
    y5 = fp12_conj(fu2)
    y6 = fp12_conj(fp12_mul(fu3, frobenius(fu3, 1)))
    # y0 y1^2 y2^6 y3^12 y4^18 y5^30 y6^36 by a vectorial addition chain.
    t0 = fp12_mul(fp12_mul(fp12_cyclotomic_sqr(y6), y4), y5)
    t1 = fp12_mul(fp12_mul(y3, y5), t0)
    t0 = fp12_mul(t0, y2)
    t1 = fp12_cyclotomic_sqr(fp12_mul(fp12_cyclotomic_sqr(t1), t0))
    t0 = fp12_mul(t1, y1)
    t1 = fp12_mul(t1, y0)
    return fp12_mul(fp12_cyclotomic_sqr(t0), t1)


def gt_pow(a: Fp12, e: int) -> Fp12:
    """a^e for a in GT (or any unitary element), e >= 0, by cyclotomic squarings."""
    result = FP12_ONE
    for bit in range(e.bit_length() - 1, -1, -1):
        result = fp12_cyclotomic_sqr(result)
        if e >> bit & 1:
            result = fp12_mul(result, a)
    return result


def pairing_product(pairs: Iterable[tuple[G1Point | None, G2Point | None]]) -> Fp12:
    """prod_i e(P_i, Q_i) for subgroup points (the caller checks membership)."""
    return final_exponentiation(miller_loop((p, None if q is None else compute_lines(q)) for p, q in pairs))


def pairing(p: G1Point | None, q: G2Point | None) -> Fp12:
    return pairing_product([(p, q)])


# Self-checks of the constants (cheap; a typo here would silently break every pairing).
if sum(d << i for i, d in enumerate(_ATE_NAF)) != ATE_LOOP_COUNT or _ATE_NAF[-1] != 1:
    raise RuntimeError("NAF of the ate loop count is wrong")
if sum(d * Q**i for i, d in enumerate(_HARD_EXPONENT_DIGITS)) * R != Q**4 - Q**2 + 1:
    raise RuntimeError("the hard part of the final exponentiation is not (q^4 - q^2 + 1)/r")
if fp2_pow(_FROBENIUS[1][1], 6) != fp2_pow(XI, Q - 1):
    raise RuntimeError("Frobenius coefficients are wrong")
