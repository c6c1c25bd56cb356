"""Baby Jubjub: the twisted Edwards curve a*x^2 + y^2 = 1 + d*x^2*y^2 over GF(r).

As circomlibjs's babyjub.js and circomlib's babyjub.circom: a = 168700, d = 168696, points are
affine (x, y) tuples with the identity (0, 1), the group has order 8 * l, and BASE8 = 8 *
GENERATOR generates the prime-order subgroup used by EdDSA. Since a is a square and d is not
(parameters.check_curve_parameters proves it), the addition law is complete: no exceptional points.

Scalar multiplication works in projective coordinates and inverts once at the end. It is not
constant-time: fine for a reference and for tests, not for keys on shared hardware.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Final

from statesync.errors import CurveError
from statesync.field import R, to_field

Point = tuple[int, int]

A: Final = 168700
D: Final = 168696

IDENTITY: Final[Point] = (0, 1)
GENERATOR: Final[Point] = (
    995203441582195749578291179787384436505546430278305826713579947235728471134,
    5472060717959818805561601436314318772137091100104008585924551046643952123905,
)
BASE8: Final[Point] = (
    5299619240641551281634865583518297030282874472190772894086521144482721001553,
    16950150798460657717958625567821834550301663161624707787222815936182638968203,
)
ORDER: Final = 21888242871839275222246405745257275088614511777268538073601725287587578984328
SUBORDER: Final = ORDER >> 3

_Projective = tuple[int, int, int]
_WINDOW_BITS: Final = 4


# -- Unchecked arithmetic (callers validate) ---------------------------------------------------


def _on_curve(x: int, y: int) -> bool:
    xx, yy = x * x, y * y
    return (A * xx + yy - 1 - D * xx % R * yy) % R == 0


def _add_affine(p: Point, q: Point) -> Point:
    # The affine formulas of babyjub.js, one inversion per coordinate.
    (x1, y1), (x2, y2) = p, q
    beta, gamma = x1 * y2 % R, y1 * x2 % R
    dtau = D * beta % R * gamma % R
    x3 = (beta + gamma) * pow(1 + dtau, -1, R) % R
    y3 = (y1 * y2 - A * x1 * x2) * pow(1 - dtau, -1, R) % R
    return x3, y3


def _add(p: _Projective, q: _Projective) -> _Projective:
    # add-2008-bbjlp (Bernstein, Birkner, Joye, Lange, Peters): complete on this curve.
    x1, y1, z1 = p
    x2, y2, z2 = q
    a = z1 * z2 % R
    b = a * a % R
    c = x1 * x2 % R
    d = y1 * y2 % R
    e = D * c * d % R
    f = b - e
    g = b + e
    x3 = a * f % R * ((x1 + y1) * (x2 + y2) - c - d) % R
    y3 = a * g % R * (d - A * c) % R
    return x3, y3, f * g % R


def _double(p: _Projective) -> _Projective:
    # dbl-2008-bbjlp.
    x1, y1, z1 = p
    b = (x1 + y1) * (x1 + y1) % R
    c = x1 * x1 % R
    d = y1 * y1 % R
    e = A * c % R
    f = e + d
    h = z1 * z1 % R
    j = f - 2 * h
    return (b - c - d) * j % R, f * (e - d) % R, f * j % R


def _to_affine(p: _Projective) -> Point:
    x, y, z = p
    z_inv = pow(z, -1, R)
    return x * z_inv % R, y * z_inv % R


def _multiples(point: Point) -> list[_Projective]:
    table: list[_Projective] = [(0, 1, 1), (point[0], point[1], 1)]
    for _ in range(2, 1 << _WINDOW_BITS):
        table.append(_add(table[-1], table[1]))
    return table


def _multiply(point: Point, scalar: int) -> Point:
    # Fixed 4-bit windows, most significant first: 4 doublings and at most one addition each.
    if scalar == 0:
        return IDENTITY
    table = _multiples(point)
    acc: _Projective = (0, 1, 1)
    top = (scalar.bit_length() + _WINDOW_BITS - 1) // _WINDOW_BITS * _WINDOW_BITS
    for shift in range(top - _WINDOW_BITS, -1, -_WINDOW_BITS):
        for _ in range(_WINDOW_BITS):
            acc = _double(acc)
        digit = (scalar >> shift) & ((1 << _WINDOW_BITS) - 1)
        if digit:
            acc = _add(acc, table[digit])
    return _to_affine(acc)


@functools.cache
def _base8_table() -> tuple[tuple[_Projective, ...], ...]:
    # table[i][k] = k * 16^i * BASE8, so a fixed-base product is one addition per window and
    # no doublings: EdDSA multiplies BASE8 in every key derivation, signature and verification.
    windows = (SUBORDER.bit_length() + _WINDOW_BITS - 1) // _WINDOW_BITS
    rows: list[tuple[_Projective, ...]] = []
    base: _Projective = (BASE8[0], BASE8[1], 1)
    for _ in range(windows):
        row: list[_Projective] = [(0, 1, 1), base]
        for _ in range(2, 1 << _WINDOW_BITS):
            row.append(_add(row[-1], base))
        rows.append(tuple(_to_affine_projective(p) for p in row))
        base = _add(row[-1], base)
    return tuple(rows)


def _to_affine_projective(p: _Projective) -> _Projective:
    x, y = _to_affine(p)
    return x, y, 1


def _multiply_base8(scalar: int) -> Point:
    table = _base8_table()
    # Past the table, BASE8 has order l: reduce instead of extending the table.
    scalar %= SUBORDER
    acc: _Projective = (0, 1, 1)
    mask = (1 << _WINDOW_BITS) - 1
    for row in table:
        digit = scalar & mask
        if digit:
            acc = _add(acc, row[digit])
        scalar >>= _WINDOW_BITS
    return _to_affine(acc)


# -- Public API --------------------------------------------------------------------------------


def is_on_curve(point: object) -> bool:
    """True if point is a pair of canonical field elements satisfying the curve equation."""
    if not isinstance(point, tuple) or len(point) != 2:
        return False
    x, y = point
    for c in (x, y):
        if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < R:
            return False
    return _on_curve(x, y)


def check_point(point: object, name: str = "point") -> Point:
    """Return point as a Point if it is on the curve; raise CurveError (or FieldError) if not."""
    if not isinstance(point, tuple) or len(point) != 2:
        raise CurveError(f"{name} must be an (x, y) tuple of field elements, got {point!r}")
    x = to_field(point[0], f"{name}.x")
    y = to_field(point[1], f"{name}.y")
    if not _on_curve(x, y):
        raise CurveError(f"{name} ({x}, {y}) is not on Baby Jubjub")
    return x, y


def is_in_subgroup(point: object) -> bool:
    """True if point is on the curve and in the prime-order subgroup (l * point = identity)."""
    if not is_on_curve(point):
        return False
    return _multiply(check_point(point), SUBORDER) == IDENTITY


def add_points(p: Point, q: Point) -> Point:
    """p + q (babyjub.js addPoint)."""
    return _add_affine(check_point(p, "p"), check_point(q, "q"))


def sum_points(points: Iterable[Point]) -> Point:
    """The sum of the points (the identity for none): projective additions and one inversion, as a
    signer sums a thousand keys and nonces per session."""
    total: _Projective = (0, 1, 1)
    for point in points:
        x, y = check_point(point)
        total = _add(total, (x, y, 1))
    return _to_affine(total)


def negate_point(p: Point) -> Point:
    """-p: the reflection (x, y) -> (-x, y)."""
    x, y = check_point(p, "p")
    return (-x) % R, y


def multiply_point(point: Point, scalar: int) -> Point:
    """scalar * point for any non-negative integer scalar (babyjub.js mulPointEscalar)."""
    checked = check_point(point)
    if not isinstance(scalar, int) or isinstance(scalar, bool) or scalar < 0:
        raise CurveError(f"scalar must be a non-negative int, got {scalar!r}")
    if checked == BASE8:
        return _multiply_base8(scalar)
    return _multiply(checked, scalar)


def _check_constants() -> None:
    # Import-time guard against a mistyped constant (cheap: no scalar multiplications).
    for name, point in (("GENERATOR", GENERATOR), ("BASE8", BASE8)):
        if not _on_curve(*point):
            raise CurveError(f"babyjub.{name} is not on the curve")
    doubled: _Projective = (GENERATOR[0], GENERATOR[1], 1)
    for _ in range(3):
        doubled = _double(doubled)
    if _to_affine(doubled) != BASE8:
        raise CurveError("babyjub.BASE8 is not 8 * GENERATOR")
    if ORDER != 8 * SUBORDER:
        raise CurveError("babyjub.ORDER is not 8 * SUBORDER")


_check_constants()
