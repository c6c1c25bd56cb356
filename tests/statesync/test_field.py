from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statesync import babyjub, field
from statesync.errors import FieldError
from statesync.field import Q, R, field_inverse, to_field
from statesync.parameters import check_curve_parameters


def test_curve_parameters_hold() -> None:
    check_curve_parameters()


def test_curve_parameter_check_can_fail_on_r(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(field, "R", R + 2)
    with pytest.raises(FieldError, match="r equals"):
        check_curve_parameters()


def test_curve_parameter_check_can_fail_on_the_subgroup_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(babyjub, "SUBORDER", babyjub.SUBORDER + 2)
    with pytest.raises(FieldError, match="8 \\* l"):
        check_curve_parameters()


def test_fields_are_254_bit_with_r_below_q() -> None:
    assert R.bit_length() == Q.bit_length() == 254
    assert R < Q


@pytest.mark.parametrize("value", [0, 1, R - 1])
def test_to_field_accepts_canonical_elements(value: int) -> None:
    assert to_field(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (R, "must be < r"),
        (R + 5, "must be < r"),
        (2**256, "must be < r"),
        (-1, "non-negative"),
        (1.0, "got float"),
        ("1", "got str"),
        (True, "got bool"),
        (None, "got NoneType"),
    ],
)
def test_to_field_rejects_non_canonical_values(value: object, message: str) -> None:
    with pytest.raises(FieldError, match=message) as info:
        to_field(value, "balance")
    assert "balance" in str(info.value)


@given(st.integers(min_value=1, max_value=R - 1))
def test_field_inverse_inverts(x: int) -> None:
    assert x * field_inverse(x) % R == 1


def test_zero_has_no_inverse() -> None:
    with pytest.raises(FieldError, match="no inverse"):
        field_inverse(0)


def test_field_inverse_rejects_non_canonical_input() -> None:
    with pytest.raises(FieldError, match="must be < r"):
        field_inverse(R + 1)
