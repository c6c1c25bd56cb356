"""The BN254 extension-field tower on plain Python ints: Fp2, Fp6, Fp12.

    Fp2  = Fp[u]  / (u^2 + 1)
    Fp6  = Fp2[v] / (v^3 - xi),  xi = 9 + u
    Fp12 = Fp6[w] / (w^2 - v)    (so w^6 = xi)

This is the tower of go-ethereum, gnark and ffjavascript (snarkjs), not py_ecc's
Fp[x]/(x^12 - 18x^6 + 82); tests convert between the two to use py_ecc as the oracle.

Elements are nested tuples of ints in [0, Q). The hot products are written out over ints
with one reduction per output coefficient: Python's interpreter overhead, not the 254-bit
arithmetic, dominates, so fewer operations beat asymptotically cleverer formulas.
"""

from __future__ import annotations

from typing import Final

Q: Final = 21888242871839275222246405745257275088696311157297823662689037894645226208583

Fp2 = tuple[int, int]
Fp6 = tuple[Fp2, Fp2, Fp2]
Fp12 = tuple[Fp6, Fp6]

FP2_ZERO: Final[Fp2] = (0, 0)
FP2_ONE: Final[Fp2] = (1, 0)
XI: Final[Fp2] = (9, 1)
FP6_ZERO: Final[Fp6] = (FP2_ZERO, FP2_ZERO, FP2_ZERO)
FP6_ONE: Final[Fp6] = (FP2_ONE, FP2_ZERO, FP2_ZERO)
FP12_ONE: Final[Fp12] = (FP6_ONE, FP6_ZERO)


# ---------------------------------------------------------------------------------------------
# Fp2


def fp2_add(a: Fp2, b: Fp2) -> Fp2:
    return ((a[0] + b[0]) % Q, (a[1] + b[1]) % Q)


def fp2_sub(a: Fp2, b: Fp2) -> Fp2:
    return ((a[0] - b[0]) % Q, (a[1] - b[1]) % Q)


def fp2_neg(a: Fp2) -> Fp2:
    return (-a[0] % Q, -a[1] % Q)


def fp2_mul(a: Fp2, b: Fp2) -> Fp2:
    a0, a1 = a
    b0, b1 = b
    return ((a0 * b0 - a1 * b1) % Q, (a0 * b1 + a1 * b0) % Q)


def fp2_sqr(a: Fp2) -> Fp2:
    a0, a1 = a
    return ((a0 + a1) * (a0 - a1) % Q, 2 * a0 * a1 % Q)


def fp2_conj(a: Fp2) -> Fp2:
    return (a[0], -a[1] % Q)


def fp2_mul_xi(a: Fp2) -> Fp2:
    a0, a1 = a
    return ((9 * a0 - a1) % Q, (a0 + 9 * a1) % Q)


def fp2_inv(a: Fp2) -> Fp2:
    a0, a1 = a
    # pow(0, -1, Q) raises ValueError: callers guarantee a != 0 (or want that to surface).
    n = pow(a0 * a0 + a1 * a1, -1, Q)
    return (a0 * n % Q, -a1 * n % Q)


def fp2_pow(a: Fp2, e: int) -> Fp2:
    result = FP2_ONE
    base = a
    while e:
        if e & 1:
            result = fp2_mul(result, base)
        base = fp2_sqr(base)
        e >>= 1
    return result


# ---------------------------------------------------------------------------------------------
# Fp6


def fp6_add(a: Fp6, b: Fp6) -> Fp6:
    return (fp2_add(a[0], b[0]), fp2_add(a[1], b[1]), fp2_add(a[2], b[2]))


def fp6_sub(a: Fp6, b: Fp6) -> Fp6:
    return (fp2_sub(a[0], b[0]), fp2_sub(a[1], b[1]), fp2_sub(a[2], b[2]))


def fp6_neg(a: Fp6) -> Fp6:
    return (fp2_neg(a[0]), fp2_neg(a[1]), fp2_neg(a[2]))


def fp6_mul_v(a: Fp6) -> Fp6:
    # (a0 + a1 v + a2 v^2) v = xi a2 + a0 v + a1 v^2
    return (fp2_mul_xi(a[2]), a[0], a[1])


def fp6_mul(a: Fp6, b: Fp6) -> Fp6:
    (a0r, a0i), (a1r, a1i), (a2r, a2i) = a
    (b0r, b0i), (b1r, b1i), (b2r, b2i) = b
    # c0 = a0 b0 + xi (a1 b2 + a2 b1)
    tr = a1r * b2r - a1i * b2i + a2r * b1r - a2i * b1i
    ti = a1r * b2i + a1i * b2r + a2r * b1i + a2i * b1r
    c0r = a0r * b0r - a0i * b0i + 9 * tr - ti
    c0i = a0r * b0i + a0i * b0r + tr + 9 * ti
    # c1 = a0 b1 + a1 b0 + xi a2 b2
    tr = a2r * b2r - a2i * b2i
    ti = a2r * b2i + a2i * b2r
    c1r = a0r * b1r - a0i * b1i + a1r * b0r - a1i * b0i + 9 * tr - ti
    c1i = a0r * b1i + a0i * b1r + a1r * b0i + a1i * b0r + tr + 9 * ti
    # c2 = a0 b2 + a1 b1 + a2 b0
    c2r = a0r * b2r - a0i * b2i + a1r * b1r - a1i * b1i + a2r * b0r - a2i * b0i
    c2i = a0r * b2i + a0i * b2r + a1r * b1i + a1i * b1r + a2r * b0i + a2i * b0r
    return ((c0r % Q, c0i % Q), (c1r % Q, c1i % Q), (c2r % Q, c2i % Q))


def fp6_mul_01(a: Fp6, br: int, bi: int, cr: int, ci: int) -> Fp6:
    # a (b + c v): the sparse product a Miller-loop line needs (v^2 coefficient zero).
    (a0r, a0i), (a1r, a1i), (a2r, a2i) = a
    # xi a2 c
    tr = a2r * cr - a2i * ci
    ti = a2r * ci + a2i * cr
    d0r = a0r * br - a0i * bi + 9 * tr - ti
    d0i = a0r * bi + a0i * br + tr + 9 * ti
    d1r = a0r * cr - a0i * ci + a1r * br - a1i * bi
    d1i = a0r * ci + a0i * cr + a1r * bi + a1i * br
    d2r = a1r * cr - a1i * ci + a2r * br - a2i * bi
    d2i = a1r * ci + a1i * cr + a2r * bi + a2i * br
    return ((d0r % Q, d0i % Q), (d1r % Q, d1i % Q), (d2r % Q, d2i % Q))


def fp6_inv(a: Fp6) -> Fp6:
    a0, a1, a2 = a
    # The adjugate: c0 = a0^2 - xi a1 a2, c1 = xi a2^2 - a0 a1, c2 = a1^2 - a0 a2.
    c0 = fp2_sub(fp2_sqr(a0), fp2_mul_xi(fp2_mul(a1, a2)))
    c1 = fp2_sub(fp2_mul_xi(fp2_sqr(a2)), fp2_mul(a0, a1))
    c2 = fp2_sub(fp2_sqr(a1), fp2_mul(a0, a2))
    norm = fp2_add(fp2_mul(a0, c0), fp2_mul_xi(fp2_add(fp2_mul(a2, c1), fp2_mul(a1, c2))))
    n = fp2_inv(norm)
    return (fp2_mul(c0, n), fp2_mul(c1, n), fp2_mul(c2, n))


# ---------------------------------------------------------------------------------------------
# Fp12


def fp12_mul(a: Fp12, b: Fp12) -> Fp12:
    a0, a1 = a
    b0, b1 = b
    # Karatsuba over Fp6: three products instead of four.
    t0 = fp6_mul(a0, b0)
    t1 = fp6_mul(a1, b1)
    t2 = fp6_mul(fp6_add(a0, a1), fp6_add(b0, b1))
    return (fp6_add(t0, fp6_mul_v(t1)), fp6_sub(fp6_sub(t2, t0), t1))


def fp12_sqr(a: Fp12) -> Fp12:
    a0, a1 = a
    # Complex squaring: (a0 + a1 w)^2 = (a0 + a1)(a0 + v a1) - (1 + v) a0 a1 + 2 a0 a1 w.
    t = fp6_mul(a0, a1)
    s = fp6_mul(fp6_add(a0, a1), fp6_add(a0, fp6_mul_v(a1)))
    c0 = fp6_sub(fp6_sub(s, t), fp6_mul_v(t))
    return (c0, fp6_add(t, t))


def fp12_mul_line(f: Fp12, br: int, bi: int, cr: int, ci: int) -> Fp12:
    # f (1 + (b + c v) w): a line normalised to constant term 1 (see pairing.py).
    f0, f1 = f
    t0 = fp6_mul_01(f1, br, bi, cr, ci)
    t1 = fp6_mul_01(f0, br, bi, cr, ci)
    return (fp6_add(f0, fp6_mul_v(t0)), fp6_add(f1, t1))


def fp12_conj(a: Fp12) -> Fp12:
    # a^(q^6); also the inverse of a unitary (cyclotomic) element.
    return (a[0], fp6_neg(a[1]))


def fp12_inv(a: Fp12) -> Fp12:
    a0, a1 = a
    t = fp6_inv(fp6_sub(fp6_mul(a0, a0), fp6_mul_v(fp6_mul(a1, a1))))
    return (fp6_mul(a0, t), fp6_neg(fp6_mul(a1, t)))


def fp12_cyclotomic_sqr(a: Fp12) -> Fp12:
    """Squaring valid only in the cyclotomic subgroup (Granger-Scott, eprint 2009/565).

    Nine Fp2 squarings instead of two Fp6 products; the final exponentiation's hard part
    spends almost all its time here.
    """
    (x0, x2, x4), (x1, x3, x5) = a
    # Writing a = sum x_i w^i, the pairs (x0, x3), (x1, x4), (x2, x5) are elements of
    # Fp4 = Fp2[s]/(s^2 - xi) with s = w^3; squaring a costs three Fp4 squarings.
    t0 = _fp4_sqr(x0, x3)
    t1 = _fp4_sqr(x1, x4)
    t2 = _fp4_sqr(x2, x5)
    z0 = _three_minus_two(t0[0], x0)
    z3 = _three_plus_two(t0[1], x3)
    z2 = _three_minus_two(t1[0], x2)
    z5 = _three_plus_two(t1[1], x5)
    z4 = _three_minus_two(t2[0], x4)
    z1 = _three_plus_two(fp2_mul_xi(t2[1]), x1)
    return ((z0, z2, z4), (z1, z3, z5))


def _fp4_sqr(a: Fp2, b: Fp2) -> tuple[Fp2, Fp2]:
    # (a + b s)^2 with s^2 = xi: (a^2 + xi b^2) + 2ab s.
    ar, ai = a
    br, bi = b
    a2r = (ar + ai) * (ar - ai)
    a2i = 2 * ar * ai
    b2r = (br + bi) * (br - bi)
    b2i = 2 * br * bi
    c0r = a2r + 9 * b2r - b2i
    c0i = a2i + b2r + 9 * b2i
    c1r = 2 * (ar * br - ai * bi)
    c1i = 2 * (ar * bi + ai * br)
    return ((c0r % Q, c0i % Q), (c1r % Q, c1i % Q))


def _three_minus_two(t: Fp2, x: Fp2) -> Fp2:
    return ((3 * t[0] - 2 * x[0]) % Q, (3 * t[1] - 2 * x[1]) % Q)


def _three_plus_two(t: Fp2, x: Fp2) -> Fp2:
    return ((3 * t[0] + 2 * x[0]) % Q, (3 * t[1] + 2 * x[1]) % Q)
