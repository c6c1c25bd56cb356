from __future__ import annotations

import functools
import random
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statesync.babyjub import (
    BASE8,
    GENERATOR,
    IDENTITY,
    ORDER,
    SUBORDER,
    A,
    D,
    Point,
    add_points,
    check_point,
    is_in_subgroup,
    is_on_curve,
    multiply_point,
    negate_point,
)
from statesync.errors import CurveError, FieldError
from statesync.field import R
from tests.statesync.conftest import (
    VECTORS,
    Requests,
    circomlibjs_answers,
    decode_point,
    encode_point,
)

# Points of small order: (0, -1) has order 2; the full-group generator times l has order 8.
ORDER_TWO: Point = (0, R - 1)

scalars = st.integers(min_value=0, max_value=2 * ORDER)


def _random_point(rng: random.Random) -> Point:
    # Half in the prime-order subgroup, half anywhere in the full group of order 8 * l.
    base = rng.choice([BASE8, GENERATOR])
    return multiply_point(base, rng.randrange(1, ORDER))


def _off_curve_point(rng: random.Random) -> Point:
    while True:
        point = (rng.randrange(R), rng.randrange(R))
        if not is_on_curve(point):
            return point


SPECIAL_POINTS = [IDENTITY, ORDER_TWO, GENERATOR, BASE8]
EDGE_SCALARS = [0, 1, 2, 7, 8, SUBORDER - 1, SUBORDER, SUBORDER + 1, ORDER - 1, ORDER, 2**300]


@dataclass(frozen=True)
class Vectors:
    pairs: list[tuple[Point, Point]]
    products: list[tuple[Point, int]]
    checked: list[Point]


@functools.cache
def vectors() -> Vectors:
    rng = random.Random("babyjub crosscheck")
    pairs = [(p, q) for p in SPECIAL_POINTS for q in SPECIAL_POINTS]
    pairs += [(_random_point(rng), _random_point(rng)) for _ in range(VECTORS)]
    products = [(p, k) for p in SPECIAL_POINTS for k in EDGE_SCALARS]
    products += [
        (_random_point(rng), rng.choice([rng.randrange(ORDER), rng.randrange(2**260)])) for _ in range(VECTORS)
    ]
    checked = SPECIAL_POINTS + [_random_point(rng) for _ in range(VECTORS // 4)]
    checked += [_off_curve_point(rng) for _ in range(VECTORS // 4)]
    return Vectors(pairs, products, checked)


def circomlibjs_requests() -> Requests:
    v = vectors()
    requests: Requests = [{"op": "babyjub_params"}]
    requests += [{"op": "babyjub_add", "a": encode_point(p), "b": encode_point(q)} for p, q in v.pairs]
    requests += [{"op": "babyjub_mul", "point": encode_point(p), "scalar": str(k)} for p, k in v.products]
    requests += [{"op": "babyjub_check", "point": encode_point(p)} for p in v.checked]
    return requests


def _answers() -> list[Any]:
    return circomlibjs_answers(sys.modules[__name__])


def test_parameters_equal_circomlibjs() -> None:
    params = _answers()[0]
    assert decode_point(params["generator"]) == GENERATOR
    assert decode_point(params["base8"]) == BASE8
    assert int(params["order"]) == ORDER
    assert int(params["subOrder"]) == SUBORDER
    assert (int(params["a"]), int(params["d"])) == (A, D)


def test_addition_matches_circomlibjs() -> None:
    pairs = vectors().pairs
    for (p, q), theirs in zip(pairs, _answers()[1 : 1 + len(pairs)], strict=True):
        assert add_points(p, q) == decode_point(theirs), (p, q)


def test_multiplication_matches_circomlibjs() -> None:
    v = vectors()
    start = 1 + len(v.pairs)
    for (p, k), theirs in zip(v.products, _answers()[start : start + len(v.products)], strict=True):
        assert multiply_point(p, k) == decode_point(theirs), (p, k)


def test_curve_and_subgroup_membership_match_circomlibjs() -> None:
    v = vectors()
    start = 1 + len(v.pairs) + len(v.products)
    for p, theirs in zip(v.checked, _answers()[start:], strict=True):
        assert is_on_curve(p) is theirs["onCurve"], p
        assert is_in_subgroup(p) is theirs["inSubgroup"], p


def test_orders() -> None:
    assert multiply_point(BASE8, SUBORDER) == IDENTITY
    assert multiply_point(GENERATOR, ORDER) == IDENTITY
    # GENERATOR has order exactly 8 * l: no proper divisor of 8 * l annihilates it.
    for divisor in (ORDER // 2, SUBORDER):
        assert multiply_point(GENERATOR, divisor) != IDENTITY
    assert multiply_point(GENERATOR, 8) == BASE8
    assert is_in_subgroup(BASE8)
    assert not is_in_subgroup(GENERATOR)
    assert is_on_curve(ORDER_TWO) and add_points(ORDER_TWO, ORDER_TWO) == IDENTITY


@settings(max_examples=25, deadline=None)
@given(scalars, scalars, scalars)
def test_group_law(a: int, b: int, c: int) -> None:
    p, q, s = (multiply_point(GENERATOR, k) for k in (a, b, c))
    assert add_points(p, q) == add_points(q, p)
    assert add_points(add_points(p, q), s) == add_points(p, add_points(q, s))
    assert add_points(p, IDENTITY) == p
    assert add_points(p, negate_point(p)) == IDENTITY
    assert multiply_point(GENERATOR, a + b) == add_points(p, q)
    assert multiply_point(p, b) == multiply_point(GENERATOR, a * b)


@settings(max_examples=25, deadline=None)
@given(scalars)
def test_fixed_base_path_equals_generic_path(k: int) -> None:
    # BASE8 takes a precomputed-table path; BASE8 as (8 * GENERATOR) * k must agree with it.
    assert multiply_point(BASE8, k) == multiply_point(multiply_point(GENERATOR, 8 * k), 1)


@pytest.mark.parametrize(
    ("function", "args"),
    [
        (add_points, ((1, 2), BASE8)),
        (add_points, (BASE8, (BASE8[0], BASE8[1] + 1))),
        (multiply_point, ((5, 5), 3)),
        (negate_point, ((0, 0),)),
        (check_point, ((1, 1),)),
    ],
)
def test_points_off_the_curve_are_rejected(function: object, args: tuple[object, ...]) -> None:
    with pytest.raises(CurveError, match="is not on Baby Jubjub"):
        function(*args)  # type: ignore[operator]


@pytest.mark.parametrize(
    "point",
    [(BASE8[0] + R, BASE8[1]), (BASE8[0], BASE8[1] + R), (-1, 1)],
)
def test_non_canonical_coordinates_are_rejected(point: Point) -> None:
    assert not is_on_curve(point)
    assert not is_in_subgroup(point)
    with pytest.raises(FieldError, match="point"):
        multiply_point(point, 1)


@pytest.mark.parametrize("point", [BASE8[0], (1, 2, 3), [BASE8[0], BASE8[1]], None])
def test_malformed_points_are_rejected(point: object) -> None:
    assert not is_on_curve(point)
    with pytest.raises(CurveError, match="must be an \\(x, y\\) tuple"):
        check_point(point, "R8")


@pytest.mark.parametrize("scalar", [-1, 1.5, True, "3"])
def test_bad_scalars_are_rejected(scalar: object) -> None:
    with pytest.raises(CurveError, match="scalar must be a non-negative int"):
        multiply_point(BASE8, scalar)  # type: ignore[arg-type]


def test_off_curve_message_names_the_argument() -> None:
    with pytest.raises(CurveError, match="^q \\(1, 2\\) is not on Baby Jubjub"):
        add_points(BASE8, (1, 2))
