"""A small circuit tester (after circomkit's): compile a template, run inputs, check constraints.

Constraints are checked here in Python, over the r1cs, rather than trusted to the witness
calculator: a tampered witness never goes through the calculator, and an index from each wire
to the constraints that use it lets a one-signal tamper be re-checked in microseconds, so
tests can sweep every signal of a circuit for under-constrained ones.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from statesync.circuits import MainSpec
from statesync.errors import ZkStateSyncError
from statesync.field import R

from .build import CompiledCircuit, compile_circuit
from .formats import R1cs, read_r1cs, read_sym
from .witness import CircuitInputs, InputValue, Witness, WitnessError, compute_witness, compute_witnesses


class CircuitTestFailure(ZkStateSyncError, AssertionError):
    """A tester expectation did not hold (the test fails with this message)."""


@dataclass(frozen=True)
class TamperResult:
    signal: str
    index: int
    failing_constraints: tuple[int, ...]


def _evaluate(lc: Iterable[tuple[int, int]], w: Sequence[int]) -> int:
    return sum(coeff * w[wire] for wire, coeff in lc) % R


class CircuitTester:
    def __init__(self, circuit: CompiledCircuit) -> None:
        self.circuit = circuit

    @classmethod
    def compile(
        cls,
        file: Path,
        template: str,
        params: Sequence[int] = (),
        public: Sequence[str] = (),
        *,
        opt: int = 1,
        name: str | None = None,
    ) -> CircuitTester:
        """Compile a main for template(params) from file; O1 keeps the signal names tests read."""
        label = name or "-".join([template, *map(str, params)])
        spec = MainSpec(f"test-{label}", label, "tester", Path(file).resolve(), template, tuple(params), tuple(public))
        return cls(compile_circuit(spec, opt=opt))

    # --- structure -------------------------------------------------------------------------

    @functools.cached_property
    def r1cs(self) -> R1cs:
        return read_r1cs(self.circuit.r1cs)

    @functools.cached_property
    def symbols(self) -> dict[str, int]:
        return read_sym(self.circuit.sym)

    @functools.cached_property
    def _constraints_of_wire(self) -> dict[int, list[int]]:
        index: dict[int, list[int]] = defaultdict(list)
        for i, c in enumerate(self.r1cs.constraints):
            for wire in {w for lc in (c.a, c.b, c.c) for w, _ in lc}:
                index[wire].append(i)
        return index

    def constraint_count(self) -> int:
        return len(self.r1cs.constraints)

    def expect_constraint_count(self, expected: int, *, exact: bool = True) -> None:
        actual = self.constraint_count()
        if (exact and actual != expected) or (not exact and actual > expected):
            relation = "exactly" if exact else "at most"
            raise CircuitTestFailure(
                f"{self.circuit.spec.name}: expected {relation} {expected} constraints, got {actual}"
            )

    def index_of(self, signal: str) -> int:
        name = signal if signal.startswith("main.") else f"main.{signal}"
        if name not in self.symbols:
            raise CircuitTestFailure(f"{self.circuit.spec.name}: no signal named {name!r}")
        index = self.symbols[name]
        if index < 0:
            raise CircuitTestFailure(
                f"{self.circuit.spec.name}: signal {name!r} was optimised away (compile at a lower --O)"
            )
        return index

    def signals_matching(self, pattern: str) -> list[str]:
        """Names (without 'main.') of witness signals whose name matches the regex pattern."""
        regex = re.compile(pattern)
        return [
            name.removeprefix("main.")
            for name, index in self.symbols.items()
            if index > 0 and regex.search(name.removeprefix("main."))
        ]

    # --- running ---------------------------------------------------------------------------

    def failing_constraints(self, witness: Sequence[int], only: Iterable[int] | None = None) -> list[int]:
        constraints = self.r1cs.constraints
        indices = range(len(constraints)) if only is None else sorted(set(only))
        return [
            i
            for i in indices
            if (
                _evaluate(constraints[i].a, witness) * _evaluate(constraints[i].b, witness)
                - _evaluate(constraints[i].c, witness)
            )
            % R
        ]

    def calculate(self, inputs: CircuitInputs) -> Witness:
        return compute_witness(self.circuit, inputs)

    def read(self, witness: Witness | Sequence[int], signal: str) -> int:
        values = witness.values if isinstance(witness, Witness) else witness
        return values[self.index_of(signal)]

    def expect_pass(self, inputs: CircuitInputs, outputs: Mapping[str, InputValue] | None = None) -> Witness:
        """The witness computes, satisfies every constraint, and has the given outputs."""
        witness = self.calculate(inputs)
        if witness.values[0] != 1:
            raise CircuitTestFailure("witness wire 0 must be the constant 1")
        failing = self.failing_constraints(witness.values)
        if failing:
            raise CircuitTestFailure(f"{self.circuit.spec.name}: honest witness fails constraints {failing[:10]}")
        for name, expected in _flatten(outputs or {}):
            actual = self.read(witness, name)
            if actual != expected % R:
                raise CircuitTestFailure(f"{self.circuit.spec.name}: {name} = {actual}, expected {expected}")
        return witness

    def expect_fail(self, inputs: CircuitInputs) -> WitnessError:
        """Witness generation fails on an assert or ===; any other error (bad input shape) re-raises."""
        return self.expect_fail_all([inputs])[0]

    def expect_fail_all(self, batch: Sequence[CircuitInputs]) -> list[WitnessError]:
        """expect_fail for each inputs mapping, in one witness-calculator process."""
        errors = []
        for i, answer in enumerate(compute_witnesses(self.circuit, batch)):
            if isinstance(answer, Witness):
                raise CircuitTestFailure(f"{self.circuit.spec.name}: inputs #{i} were accepted, expected a failure")
            if not answer.is_constraint_failure:
                raise answer
            errors.append(answer)
        return errors

    def tamper(self, witness: Witness | Sequence[int], signal: str, value: int | None = None) -> TamperResult:
        """Set one signal of an honest witness (default: +1) and require some constraint to fail."""
        values = list(witness.values if isinstance(witness, Witness) else witness)
        index = self.index_of(signal)
        values[index] = (values[index] + 1) % R if value is None else value % R
        if values[index] == (witness.values if isinstance(witness, Witness) else witness)[index]:
            raise CircuitTestFailure(f"tampering {signal} with its own value proves nothing")
        failing = self.failing_constraints(values, self._constraints_of_wire.get(index, []))
        if not failing:
            raise CircuitTestFailure(
                f"{self.circuit.spec.name}: signal {signal} changed and every constraint still holds "
                "(under-constrained)"
            )
        return TamperResult(signal, index, tuple(failing))

    def tamper_classes(self, witness: Witness | Sequence[int], patterns: Sequence[str], per_class: int = 4) -> None:
        """Tamper the first per_class signals of each pattern (a class of signal); each must match some."""
        for pattern in patterns:
            names = self.signals_matching(pattern)
            if not names:
                raise CircuitTestFailure(f"{self.circuit.spec.name}: no witness signal matches {pattern}")
            for name in names[:per_class]:
                self.tamper(witness, name)

    def unconstrained_signals(self, witness: Witness | Sequence[int], pattern: str = ".*") -> list[str]:
        """Signals matching pattern whose +1 change leaves every constraint satisfied."""
        loose = []
        for name in self.signals_matching(pattern):
            try:
                self.tamper(witness, name)
            except CircuitTestFailure:
                loose.append(name)
        return loose


def _flatten(values: Mapping[str, InputValue], prefix: str = "") -> list[tuple[str, int]]:
    flat: list[tuple[str, int]] = []

    def walk(name: str, value: InputValue) -> None:
        if isinstance(value, int):
            flat.append((name, value))
        else:
            for i, item in enumerate(value):
                walk(f"{name}[{i}]", item)

    for name, value in values.items():
        walk(prefix + name, value)
    return flat
