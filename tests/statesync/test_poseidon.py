from __future__ import annotations

import dataclasses
import functools
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prover.toolchain import node_modules
from statesync import poseidon as poseidon_module
from statesync.errors import ArityError, FieldError, ToolError
from statesync.field import R
from statesync.poseidon import (
    BACKENDS,
    MAX_INPUTS,
    available_backends,
    generate_constants,
    optimize_constants,
    poseidon,
    poseidon_galois,
    poseidon_reference,
)
from tests.statesync.conftest import VECTORS, Requests, circomlibjs_answers

WIDTHS = range(2, MAX_INPUTS + 2)
# circomlibjs ships the constants twice: the JSON its optimizer reads, the module it hashes with.
CONSTANT_FILES = ("poseidon_constants.json", "poseidon_constants.js")


def _circomlibjs_file(name: str) -> Path:
    return node_modules() / "circomlibjs" / "src" / name


def _load_constants(name: str) -> dict[str, list[object]]:
    text = _circomlibjs_file(name).read_text()
    # poseidon_constants.js is the JSON object behind `export default`.
    return json.loads(text.removeprefix("export default").strip().rstrip(";"))  # type: ignore[no-any-return]


def _ints(values: object) -> object:
    if isinstance(values, list):
        return [_ints(v) for v in values]
    return int(str(values), 16)


@pytest.fixture(scope="module")
def circomlibjs_constants() -> dict[str, dict[str, list[object]]]:
    return {name: _load_constants(name) for name in (*CONSTANT_FILES, "poseidon_constants_opt.json")}


@pytest.mark.parametrize("source", CONSTANT_FILES)
def test_generated_constants_equal_circomlibjs(
    circomlibjs_constants: dict[str, dict[str, list[object]]], source: str
) -> None:
    theirs = circomlibjs_constants[source]
    for t in WIDTHS:
        ours = generate_constants(t)
        assert list(ours.round_constants) == _ints(theirs["C"][t - 2]), f"round constants t={t}"
        assert [list(row) for row in ours.mds] == _ints(theirs["M"][t - 2]), f"MDS t={t}"


def test_optimized_constants_equal_circomlibjs(
    circomlibjs_constants: dict[str, dict[str, list[object]]],
) -> None:
    theirs = circomlibjs_constants["poseidon_constants_opt.json"]
    for t in WIDTHS:
        ours = optimize_constants(t)
        assert list(ours.c) == _ints(theirs["C"][t - 2]), f"C t={t}"
        assert list(ours.s) == _ints(theirs["S"][t - 2]), f"S t={t}"
        assert [list(row) for row in ours.m] == _ints(theirs["M"][t - 2]), f"M t={t}"
        assert [list(row) for row in ours.p] == _ints(theirs["P"][t - 2]), f"P t={t}"


@functools.cache
def vectors() -> list[list[int]]:
    rng = random.Random("poseidon crosscheck")
    edges = [0, 1, R - 1]
    result = [[rng.choice(edges) for _ in range(n)] for n in range(1, MAX_INPUTS + 1)]
    while len(result) < VECTORS + MAX_INPUTS:
        arity = len(result) % MAX_INPUTS + 1
        # Mostly full-size elements, some small ones.
        result.append([rng.choice([rng.randrange(R), rng.randrange(2**64)]) for _ in range(arity)])
    return result


# The first vectors also go through circomlibjs's two JavaScript implementations.
TWICE = MAX_INPUTS
IMPLEMENTATIONS = ("wasm", "reference", "opt")


def circomlibjs_requests() -> Requests:
    return [
        {"op": "poseidon", "inputs": [str(x) for x in vector], "impl": impl}
        for impl in IMPLEMENTATIONS
        for vector in (vectors() if impl == "wasm" else vectors()[:TWICE])
    ]


def _expected() -> list[int]:
    return [int(h) for h in circomlibjs_answers(sys.modules[__name__])[: len(vectors())]]


def test_matches_circomlibjs_on_random_vectors() -> None:
    for vector, digest in zip(vectors(), _expected(), strict=True):
        assert poseidon(vector) == digest, f"arity {len(vector)}: {vector}"
        assert poseidon_reference(vector) == digest, f"arity {len(vector)}: {vector}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_integer_backend_matches_circomlibjs(backend: str) -> None:
    if backend not in available_backends():
        pytest.skip(f"{backend} is not installed (an optional accelerator)")
    for vector, digest in zip(vectors(), _expected(), strict=True):
        hashed = poseidon(vector, backend=backend)
        assert hashed == digest, f"arity {len(vector)}: {vector}"
        assert type(hashed) is int


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ToolError, match="backend 'numpy' is unavailable"):
        poseidon([1, 2], backend="numpy")


def test_circomlibjs_implementations_agree_with_each_other() -> None:
    answers = [int(h) for h in circomlibjs_answers(sys.modules[__name__])]
    wasm = answers[:TWICE]
    assert answers[len(vectors()) :] == wasm * 2


def test_galois_implementation_agrees() -> None:
    # Slow (galois computes with Python objects): one vector per arity.
    rng = random.Random("galois")
    for arity in range(1, MAX_INPUTS + 1):
        vector = [rng.randrange(R) for _ in range(arity)]
        assert poseidon_galois(vector) == poseidon(vector)


@pytest.fixture
def mutated_round_constant(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Width 3 with one round constant changed, on a copy; the real constants stay intact."""
    original = generate_constants(3)
    constants = list(original.round_constants)
    constants[100] = (constants[100] + 1) % R
    mutated = dataclasses.replace(original, round_constants=tuple(constants))
    real_generate = poseidon_module.generate_constants

    def generate(width: int) -> poseidon_module.PoseidonConstants:
        return mutated if width == 3 else real_generate(width)

    monkeypatch.setattr(poseidon_module, "generate_constants", generate)
    # The fast path caches its derived constants; rebuild them from the mutated copy, then
    # from the real constants again after the test.
    poseidon_module.optimize_constants.cache_clear()
    poseidon_module._schedule.cache_clear()
    yield
    poseidon_module.optimize_constants.cache_clear()
    poseidon_module._schedule.cache_clear()


@pytest.mark.usefixtures("mutated_round_constant")
def test_crosscheck_catches_one_wrong_round_constant() -> None:
    vector = next(v for v in vectors() if len(v) == 2)
    expected = _expected()[vectors().index(vector)]
    # The test's copy differs in one constant; the cached original is unchanged.
    patched = poseidon_module.generate_constants(3).round_constants
    assert patched[100] != generate_constants(3).round_constants[100]
    assert patched[:100] == generate_constants(3).round_constants[:100]
    assert poseidon_reference(vector) != expected
    assert poseidon(vector) != expected


def test_mutation_left_the_real_constants_alone() -> None:
    vector = next(v for v in vectors() if len(v) == 2)
    expected = _expected()[vectors().index(vector)]
    assert poseidon(vector) == poseidon_reference(vector) == expected


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=R - 1), min_size=1, max_size=MAX_INPUTS))
def test_fast_path_equals_textbook_permutation(inputs: list[int]) -> None:
    expected = poseidon_reference(inputs)
    for backend in available_backends():
        assert poseidon(inputs, backend=backend) == expected


@pytest.mark.parametrize("inputs", [[], [0] * (MAX_INPUTS + 1)])
def test_rejects_unsupported_arity(inputs: list[int]) -> None:
    for hash_function in (poseidon, poseidon_reference, poseidon_galois):
        with pytest.raises(ArityError, match=f"1 to 16 inputs .*got {len(inputs)}"):
            hash_function(inputs)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([1, R], "Poseidon input 1 must be < r"),
        ([R + 1], "Poseidon input 0 must be < r"),
        ([-1, 2], "Poseidon input 0 must be non-negative"),
        ([1, "2"], "Poseidon input 1 must be an int"),
        ([1.0], "Poseidon input 0 must be an int"),
    ],
)
def test_rejects_non_field_inputs(inputs: list[object], message: str) -> None:
    with pytest.raises(FieldError, match=message):
        poseidon(inputs)  # type: ignore[arg-type]


@pytest.mark.parametrize("inputs", ["12", b"12", 12, None])
def test_rejects_non_sequences(inputs: object) -> None:
    with pytest.raises(FieldError, match="sequence of field elements"):
        poseidon(inputs)  # type: ignore[arg-type]


@pytest.mark.parametrize("width", [0, 1, MAX_INPUTS + 2])
def test_constants_exist_only_for_supported_widths(width: int) -> None:
    with pytest.raises(ArityError, match="width must be 2..17"):
        generate_constants(width)
