"""circuits/circuits.toml's signal order against what circom compiled and snarkjs generated.

public.json holds witness wires 1..nPublic: the outputs, then the public inputs. Each wire's
name comes from the .sym file, so the manifest's names are checked wire by wire; the generated
Solidity verifiers take arrays of exactly that length.
"""

from __future__ import annotations

import re

import pytest

from prover.build import compile_circuit
from prover.formats import read_r1cs_header, read_sym
from prover.prove import load_prover
from prover.setup import export_solidity_verifier
from statesync.circuits import load_manifest
from verifier.signals import decode_signals, signal_names

PRESET = "test"
MANIFEST = load_manifest()
PRODUCT = [c.name for c in MANIFEST.product_circuits()]


def public_wire_names(circuit: str, overrides: dict[str, int] | None = None) -> tuple[list[str], int, int]:
    compiled = compile_circuit(MANIFEST.spec(circuit, PRESET, overrides))
    header = read_r1cs_header(compiled.r1cs)
    by_wire = {index: name for name, index in read_sym(compiled.sym).items() if index > 0}
    names = [by_wire[i].removeprefix("main.") for i in range(1, header.n_public + 1)]
    return names, header.n_pub_out, header.n_pub_in


def expand(names: list[str]) -> list[str]:
    """A manifest name stands for a signal or every element of an array signal."""
    return [re.sub(r"\[\d+\]", "", n) for n in names]


@pytest.mark.parametrize("circuit", [*PRODUCT, "tiny", "product", "two_outputs"])
def test_the_manifest_order_is_the_compiled_order(circuit: str) -> None:
    entry = MANIFEST.circuit(circuit)
    names, n_out, n_in = public_wire_names(circuit)
    assert names == list(entry.signals)
    assert (n_out, n_in) == (len(entry.outputs), len(entry.public))


@pytest.mark.parametrize(("circuit", "overrides"), [("open", {"n": 3}), ("wide", {"n": 2})])
def test_array_signals_keep_the_manifest_order(circuit: str, overrides: dict[str, int]) -> None:
    names, _, _ = public_wire_names(circuit, overrides)
    collapsed = [n for i, n in enumerate(expand(names)) if i == 0 or n != expand(names)[i - 1]]
    assert collapsed == list(MANIFEST.circuit(circuit).signals)


@pytest.mark.parametrize("circuit", PRODUCT)
def test_the_solidity_verifier_takes_that_many_signals(circuit: str) -> None:
    source = export_solidity_verifier(load_prover(circuit, PRESET).keys).read_text()
    (length,) = set(re.findall(r"uint\[(\d+)\] calldata _pubSignals", source))
    assert int(length) == len(signal_names(circuit))


@pytest.mark.parametrize("circuit", PRODUCT)
def test_every_product_circuit_has_a_typed_record(circuit: str) -> None:
    values = list(range(len(signal_names(circuit))))
    assert decode_signals(circuit, values).values() == tuple(values)
