"""The content-hashed build cache: hits when nothing changed, recompiles on any change."""

from __future__ import annotations

from pathlib import Path

import pytest

import prover.build as build
from prover import artifacts, toolchain
from prover.build import compile_circuit, reachable_sources
from statesync.circuits import MainSpec
from statesync.errors import ToolError

OUTER = """pragma circom 2.1.0;
include "inner.circom";
template Outer() { signal input x; signal output y; y <== Square()(x); }
"""
INNER = """pragma circom 2.1.0;
template Square() { signal input in; signal output out; out <== in * in; }
"""


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[MainSpec, list[int]]:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "outer.circom").write_text(OUTER)
    (tmp_path / "src" / "inner.circom").write_text(INNER)
    monkeypatch.setenv("ZKSTATESYNC_BUILD", str(tmp_path / "build"))
    calls: list[int] = []
    real = toolchain.run_circom

    def counting_run_circom(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(build, "run_circom", counting_run_circom)
    return MainSpec("cache-test", "cache-test", "tester", tmp_path / "src" / "outer.circom", "Outer", ()), calls


def test_second_compile_hits_the_cache(sources: tuple[MainSpec, list[int]]) -> None:
    spec, calls = sources
    first = compile_circuit(spec)
    stamp = first.r1cs.stat().st_mtime_ns
    second = compile_circuit(spec)
    assert (first.cached, second.cached) == (False, True)
    assert len(calls) == 1
    assert second.directory == first.directory and second.r1cs.stat().st_mtime_ns == stamp


def test_editing_an_included_file_recompiles(sources: tuple[MainSpec, list[int]]) -> None:
    spec, calls = sources
    first = compile_circuit(spec)
    inner = spec.file.parent / "inner.circom"
    inner.write_text(INNER + "\n// touched\n")
    second = compile_circuit(spec)
    assert not second.cached and second.key != first.key and len(calls) == 2
    assert [name for name, _ in reachable_sources(spec)] == ["outer.circom", "inner.circom"]


def test_flags_and_parameters_are_part_of_the_key(sources: tuple[MainSpec, list[int]]) -> None:
    spec, _ = sources
    assert compile_circuit(spec, opt=1).key != compile_circuit(spec, opt=2).key


def test_an_interrupted_build_is_not_a_cache_hit(sources: tuple[MainSpec, list[int]]) -> None:
    spec, calls = sources
    done = compile_circuit(spec)
    (done.directory / "build.json").unlink()  # as if killed before the build finished
    again = compile_circuit(spec)
    assert not again.cached and len(calls) == 2 and again.r1cs.is_file()


def test_compile_errors_carry_circoms_message(sources: tuple[MainSpec, list[int]]) -> None:
    spec, _ = sources
    spec.file.write_text(OUTER.replace("y <==", "y <== undefinedSignal +"))
    with pytest.raises(ToolError, match="undefinedSignal"):
        compile_circuit(spec)
    assert not list((Path(artifacts.build_root()) / "circuits" / spec.name).glob("*"))


def test_missing_include_is_reported(sources: tuple[MainSpec, list[int]]) -> None:
    spec, _ = sources
    (spec.file.parent / "inner.circom").unlink()
    with pytest.raises(ToolError, match="inner.circom"):
        compile_circuit(spec)
