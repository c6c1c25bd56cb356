"""BN254 (alt_bn128) G1 and G2 arithmetic on plain ints, the curves of EIP-196/197.

    G1: y^2 = x^3 + 3        over Fp, prime order R (cofactor 1)
    G2: y^2 = x^3 + 3 / xi   over Fp2 (the D-type sextic twist), subgroup of order R

Affine points are tuples; the point at infinity is None at every API boundary (the EVM
spells it (0, 0), which is not a curve point because 3 is not 0). Internally scalar
multiplication runs in Jacobian coordinates to avoid an inversion per step, with the
exceptional cases (equal points, opposite points, infinity) handled rather than assumed away:
public inputs are attacker-chosen scalars and G2 inputs may lie outside the subgroup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from .fields import (
    FP2_ONE,
    FP2_ZERO,
    XI,
    Fp2,
    Q,
    fp2_add,
    fp2_conj,
    fp2_inv,
    fp2_mul,
    fp2_neg,
    fp2_pow,
    fp2_sqr,
    fp2_sub,
)

R: Final = 21888242871839275222246405745257275088548364400416034343698204186575808495617
# The BN parameter: Q and R are 36u^4 + 36u^3 + 24u^2 + 6u + 1 and the same minus 6u^2.
U: Final = 4965661367192848881

G1Point = tuple[int, int]
G2Point = tuple[Fp2, Fp2]

B1: Final = 3
B2: Final[Fp2] = fp2_mul((3, 0), fp2_inv(XI))

G1_GENERATOR: Final[G1Point] = (1, 2)
G2_GENERATOR: Final[G2Point] = (
    (
        10857046999023057135944570762232829481370756359578518086990519993285655852781,
        11559732032986387107991004021392285783925812861821192530917403151452391805634,
    ),
    (
        8495653923123431417604973247489272438418190587263600148770280649306958101930,
        4082367875863433681332203403145435568316851327593401208105741076214120093531,
    ),
)

# psi = untwist-Frobenius-twist on G2: (x, y) -> (conj(x) xi^((q-1)/3), conj(y) xi^((q-1)/2)).
PSI_X: Final[Fp2] = fp2_pow(XI, (Q - 1) // 3)
PSI_Y: Final[Fp2] = fp2_pow(XI, (Q - 1) // 2)


# ---------------------------------------------------------------------------------------------
# G1


def is_on_g1(p: G1Point) -> bool:
    x, y = p
    return (y * y - x * x * x - B1) % Q == 0


def g1_neg(p: G1Point | None) -> G1Point | None:
    return None if p is None else (p[0], -p[1] % Q)


_Jac1 = tuple[int, int, int]
_INF1: Final[_Jac1] = (1, 1, 0)


def _g1_double(p: _Jac1) -> _Jac1:
    x, y, z = p
    if z == 0 or y == 0:
        return _INF1
    a = x * x % Q
    b = y * y % Q
    c = b * b % Q
    d = 2 * ((x + b) * (x + b) - a - c) % Q
    e = 3 * a
    x3 = (e * e - 2 * d) % Q
    return (x3, (e * (d - x3) - 8 * c) % Q, 2 * y * z % Q)


def _g1_add_affine(p: _Jac1, a: G1Point) -> _Jac1:
    x1, y1, z1 = p
    x2, y2 = a
    if z1 == 0:
        return (x2, y2, 1)
    zz = z1 * z1 % Q
    h = (x2 * zz - x1) % Q
    r = 2 * (y2 * z1 * zz - y1) % Q
    if h == 0:
        # Same x: either the same point (double it) or opposite points (infinity).
        return _g1_double(p) if r == 0 else _INF1
    hh = h * h % Q
    i = 4 * hh
    j = h * i % Q
    v = x1 * i % Q
    x3 = (r * r - j - 2 * v) % Q
    y3 = (r * (v - x3) - 2 * y1 * j) % Q
    z3 = ((z1 + h) * (z1 + h) - zz - hh) % Q
    return (x3, y3, z3)


def _g1_to_affine(p: _Jac1) -> G1Point | None:
    x, y, z = p
    if z == 0:
        return None
    zi = pow(z, -1, Q)
    zi2 = zi * zi % Q
    return (x * zi2 % Q, y * zi2 * zi % Q)


def g1_linear_combination(base: G1Point | None, terms: Sequence[tuple[G1Point | None, int]]) -> G1Point | None:
    """base + sum(s * P), with one shared doubling chain for all terms (Straus)."""
    live = [(p, s) for p, s in terms if p is not None and s != 0]
    if any(s < 0 for _, s in live):
        raise ValueError("scalars must be non-negative")
    acc = _INF1
    top = max((s.bit_length() for _, s in live), default=0)
    for bit in range(top - 1, -1, -1):
        acc = _g1_double(acc)
        for p, s in live:
            if s >> bit & 1:
                acc = _g1_add_affine(acc, p)
    if base is not None:
        acc = _g1_add_affine(acc, base)
    return _g1_to_affine(acc)


def g1_add(p: G1Point | None, q: G1Point | None) -> G1Point | None:
    # ecAdd semantics on affine points (None = infinity).
    if q is None:
        return p
    if p is None:
        return q
    return _g1_to_affine(_g1_add_affine((p[0], p[1], 1), q))


def g1_mul(p: G1Point | None, s: int) -> G1Point | None:
    # ecMul semantics: any non-negative scalar, reduced implicitly by the group order.
    return g1_linear_combination(None, [(p, s)])


# ---------------------------------------------------------------------------------------------
# G2


def is_on_g2_curve(p: G2Point) -> bool:
    x, y = p
    lhs = fp2_sqr(y)
    rhs = fp2_add(fp2_mul(fp2_sqr(x), x), B2)
    return lhs == rhs


def g2_neg(p: G2Point) -> G2Point:
    return (p[0], fp2_neg(p[1]))


def g2_psi(p: G2Point) -> G2Point:
    x, y = p
    return (fp2_mul(fp2_conj(x), PSI_X), fp2_mul(fp2_conj(y), PSI_Y))


_Jac2 = tuple[Fp2, Fp2, Fp2]
_INF2: Final[_Jac2] = (FP2_ONE, FP2_ONE, FP2_ZERO)


def _g2_double(p: _Jac2) -> _Jac2:
    x, y, z = p
    if z == FP2_ZERO or y == FP2_ZERO:
        return _INF2
    a = fp2_sqr(x)
    b = fp2_sqr(y)
    c = fp2_sqr(b)
    xb = fp2_add(x, b)
    d = fp2_sub(fp2_sub(fp2_sqr(xb), a), c)
    d = fp2_add(d, d)
    e = fp2_add(fp2_add(a, a), a)
    x3 = fp2_sub(fp2_sqr(e), fp2_add(d, d))
    c8 = fp2_add(c, c)
    c8 = fp2_add(c8, c8)
    c8 = fp2_add(c8, c8)
    y3 = fp2_sub(fp2_mul(e, fp2_sub(d, x3)), c8)
    yz = fp2_mul(y, z)
    return (x3, y3, fp2_add(yz, yz))


def _g2_add_affine(p: _Jac2, a: G2Point) -> _Jac2:
    x1, y1, z1 = p
    x2, y2 = a
    if z1 == FP2_ZERO:
        return (x2, y2, FP2_ONE)
    zz = fp2_sqr(z1)
    h = fp2_sub(fp2_mul(x2, zz), x1)
    r = fp2_sub(fp2_mul(y2, fp2_mul(z1, zz)), y1)
    r = fp2_add(r, r)
    if h == FP2_ZERO:
        return _g2_double(p) if r == FP2_ZERO else _INF2
    hh = fp2_sqr(h)
    i = fp2_add(hh, hh)
    i = fp2_add(i, i)
    j = fp2_mul(h, i)
    v = fp2_mul(x1, i)
    x3 = fp2_sub(fp2_sub(fp2_sqr(r), j), fp2_add(v, v))
    y1j = fp2_mul(y1, j)
    y3 = fp2_sub(fp2_mul(r, fp2_sub(v, x3)), fp2_add(y1j, y1j))
    z3 = fp2_sub(fp2_sub(fp2_sqr(fp2_add(z1, h)), zz), hh)
    return (x3, y3, z3)


def _g2_to_affine(p: _Jac2) -> G2Point | None:
    x, y, z = p
    if z == FP2_ZERO:
        return None
    zi = fp2_inv(z)
    zi2 = fp2_sqr(zi)
    return (fp2_mul(x, zi2), fp2_mul(y, fp2_mul(zi2, zi)))


def g2_mul(p: G2Point | None, s: int) -> G2Point | None:
    if s < 0:
        raise ValueError("scalars must be non-negative")
    if p is None:
        return None
    acc = _INF2
    for bit in range(s.bit_length() - 1, -1, -1):
        acc = _g2_double(acc)
        if s >> bit & 1:
            acc = _g2_add_affine(acc, p)
    return _g2_to_affine(acc)


def g2_add(p: G2Point | None, q: G2Point | None) -> G2Point | None:
    if q is None:
        return p
    if p is None:
        return q
    return _g2_to_affine(_g2_add_affine((p[0], p[1], FP2_ONE), q))


def is_in_g2(p: G2Point) -> bool:
    """On the twist and of order R: what EIP-197 demands of every G2 input."""
    return is_on_g2_curve(p) and g2_mul(p, R) is None


if g2_mul(G2_GENERATOR, R) is not None or not is_on_g2_curve(G2_GENERATOR):
    raise RuntimeError("BN254 G2 generator or twist constant is wrong")
if 36 * U**4 + 36 * U**3 + 24 * U**2 + 6 * U + 1 != Q or Q - 6 * U**2 != R:
    raise RuntimeError("BN254 parameter u does not generate Q and R")
