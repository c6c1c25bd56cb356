"""The circuit tester itself: pass/fail expectations, constraint checks, tampering, names."""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.formats import write_wtns
from prover.testing import CircuitTester, CircuitTestFailure
from prover.toolchain import run_snarkjs
from prover.witness import WitnessError
from statesync.errors import ToolError
from statesync.field import R

GADGETS = Path(__file__).resolve().parents[2] / "circuits" / "test" / "gadgets.circom"


@pytest.fixture(scope="module")
def product() -> CircuitTester:
    return CircuitTester.compile(GADGETS, "ProductAndZero")


def test_expect_pass_checks_outputs_by_name(product: CircuitTester) -> None:
    product.expect_pass({"a": 6, "b": 7}, {"product": 42, "isZeroA": 0})
    product.expect_pass({"a": 0, "b": R - 1}, {"product": 0, "isZeroA": 1})
    with pytest.raises(CircuitTestFailure, match="product"):
        product.expect_pass({"a": 6, "b": 7}, {"product": 43})


def test_expect_fail_accepts_only_assert_failures(product: CircuitTester) -> None:
    error = product.expect_fail({"a": 1, "b": 0})
    assert error.template == "ProductAndZero" and error.line is not None
    with pytest.raises(CircuitTestFailure, match="accepted"):
        product.expect_fail({"a": 1, "b": 1})
    # A missing input is a broken test, not a soundness result: it must re-raise.
    with pytest.raises(WitnessError, match="Not all inputs"):
        product.expect_fail({"a": 1})


def test_tamper_detects_changes_to_constrained_signals(product: CircuitTester) -> None:
    witness = product.expect_pass({"a": 5, "b": 3})
    for signal in ("product", "isZeroA", "a", "b", "bInverse"):
        assert product.tamper(witness, signal).failing_constraints


def test_tamper_reports_under_constrained_signals() -> None:
    # --O0 keeps the unconstrained signal in the witness (O1 would drop it)
    loose = CircuitTester.compile(GADGETS, "Loose", opt=0)
    witness = loose.expect_pass({"a": 5}, {"out": 6})
    with pytest.raises(CircuitTestFailure, match="under-constrained"):
        loose.tamper(witness, "free")
    assert loose.unconstrained_signals(witness) == ["free"]


def test_tamper_classes_covers_each_class_and_refuses_an_empty_one() -> None:
    loose = CircuitTester.compile(GADGETS, "Loose", opt=0)
    witness = loose.expect_pass({"a": 5}, {"out": 6})
    loose.tamper_classes(witness, [r"^a$", r"^out$"])
    with pytest.raises(CircuitTestFailure, match="under-constrained"):
        loose.tamper_classes(witness, [r"^a$", r"^free$"])
    with pytest.raises(CircuitTestFailure, match="no witness signal matches"):
        loose.tamper_classes(witness, [r"^nothing$"])


def test_known_benign_freedom_is_visible(product: CircuitTester) -> None:
    # IsZero's inverse hint is free when its input is 0: the sweep must show exactly that.
    witness = product.expect_pass({"a": 0, "b": 2})
    assert product.unconstrained_signals(witness) == [name for name in product.signals_matching(r"\.inv$")]


def test_constraint_check_agrees_with_snarkjs(product: CircuitTester, tmp_path: Path) -> None:
    witness = product.expect_pass({"a": 9, "b": 4})
    good = tmp_path / "good.wtns"
    write_wtns(good, list(witness.values))
    run_snarkjs(["wtns", "check", product.circuit.r1cs, good])
    tampered = list(witness.values)
    tampered[product.index_of("product")] += 1
    bad = tmp_path / "bad.wtns"
    write_wtns(bad, tampered)
    assert product.failing_constraints(tampered)
    with pytest.raises(ToolError):
        run_snarkjs(["wtns", "check", product.circuit.r1cs, bad])


def test_constraint_count_matches_snarkjs(product: CircuitTester) -> None:
    info = run_snarkjs(["r1cs", "info", product.circuit.r1cs]).stdout
    assert f"# of Constraints: {product.constraint_count()}" in info
    product.expect_constraint_count(product.constraint_count())
    with pytest.raises(CircuitTestFailure):
        product.expect_constraint_count(product.constraint_count() - 1, exact=False)


def test_unknown_signal_names_are_reported(product: CircuitTester) -> None:
    witness = product.expect_pass({"a": 1, "b": 1})
    with pytest.raises(CircuitTestFailure, match="no signal named"):
        product.read(witness, "nope")
