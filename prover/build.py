"""Compile circuits into a content-hashed build cache.

The cache key covers everything that can change the output: the generated main, every
circom source reachable through includes (by content), the circom version and the flags.
So nothing recompiles when nothing changed, and any change recompiles. A build directory
is filled under a temporary name and renamed into place, and counts as complete only when
its build.json exists, so an interrupted compile is never mistaken for a cached one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from statesync.circuits import MainSpec
from statesync.errors import ToolError, ZkStateSyncError
from statesync.resources import circuits_dir

from .artifacts import Kind, artifact_path, staged_directory
from .toolchain import circom_version, node_modules, run_circom

_INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"\s*;', re.MULTILINE)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_LINE_COMMENT = re.compile(r"//[^\n]*")


class BuildRequestError(ZkStateSyncError, ValueError):
    """A compile was asked for with settings circom does not have (such as --O3)."""


@dataclass(frozen=True)
class CompiledCircuit:
    spec: MainSpec
    directory: Path
    key: str
    cached: bool
    opt: int

    @property
    def r1cs(self) -> Path:
        return self.directory / "main.r1cs"

    @property
    def sym(self) -> Path:
        return self.directory / "main.sym"

    @property
    def wasm(self) -> Path:
        return self.directory / "main_js" / "main.wasm"

    @property
    def witness_script(self) -> Path:
        return self.directory / "main_js" / "generate_witness.js"

    @property
    def info(self) -> dict[str, object]:
        return dict(json.loads((self.directory / "build.json").read_text()))

    @property
    def constraints(self) -> int:
        return int(str(self.info["constraints"]))

    @property
    def non_linear_constraints(self) -> int:
        return int(str(self.info["non_linear_constraints"]))


def library_paths(spec: MainSpec) -> list[Path]:
    # The template's own folder first, so mains include it by bare name; circomlib via node_modules.
    return [spec.file.parent.resolve(), circuits_dir() / "lib", node_modules()]


def _strip_comments(source: str) -> str:
    return _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", source))


def _resolve_include(name: str, including_dir: Path, libs: Sequence[Path]) -> Path | None:
    for base in (including_dir, *libs):
        candidate = base / name
        if candidate.is_file():
            return candidate.resolve()
    return None


def reachable_sources(spec: MainSpec) -> list[tuple[str, Path]]:
    """(include string, resolved path) of every source reachable from the main, in DFS order.

    Resolution follows circom's: the including file's folder first, then each -l path.
    """
    libs = library_paths(spec)
    seen: set[Path] = set()
    order: list[tuple[str, Path]] = []

    def visit(text: str, directory: Path) -> None:
        for name in _INCLUDE.findall(_strip_comments(text)):
            path = _resolve_include(name, directory, libs)
            if path is None:
                raise ToolError(f"include {name!r} not found from {directory} or {', '.join(map(str, libs))}")
            if path in seen:
                continue
            seen.add(path)
            order.append((name, path))
            visit(path.read_text(), path.parent)

    visit(spec.render_main(), spec.file.parent)
    return order


def compute_build_key(spec: MainSpec, opt: int) -> str:
    digest = hashlib.sha256()
    digest.update(f"circom {circom_version()}\nflags --r1cs --wasm --sym --O{opt}\n".encode())
    digest.update(spec.render_main().encode())
    for name, path in reachable_sources(spec):
        digest.update(f"\0{name}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def compile_circuit(spec: MainSpec, *, opt: int = 2, force: bool = False) -> CompiledCircuit:
    """Compile spec (cached by content hash); opt is circom's --O level (0, 1 or 2)."""
    if opt not in (0, 1, 2):
        raise BuildRequestError(f"circom optimisation level must be 0, 1 or 2, not {opt}")
    if not spec.file.is_file():
        raise ToolError(f"circuit source {spec.file} does not exist")
    key = compute_build_key(spec, opt)
    directory = artifact_path(Kind.CIRCUIT, spec.name, f"O{opt}-{key[:16]}")
    if (directory / "build.json").is_file() and not force:
        return CompiledCircuit(spec, directory, key, cached=True, opt=opt)

    with staged_directory(directory, "build.json") as staging:
        (staging / "main.circom").write_text(spec.render_main())
        argv: list[str | os.PathLike[str]] = [
            staging / "main.circom",
            "--r1cs",
            "--wasm",
            "--sym",
            f"--O{opt}",
            "-o",
            staging,
        ]
        for lib in library_paths(spec):
            argv += ["-l", lib]
        started = time.perf_counter()
        result = run_circom(argv)
        seconds = time.perf_counter() - started
        info = {
            "name": spec.name,
            "circuit": spec.circuit,
            "preset": spec.preset,
            "template": spec.template,
            "params": list(spec.params),
            "outputs": list(spec.outputs),
            "public": list(spec.public),
            "key": key,
            "opt": opt,
            "circom": circom_version(),
            **_count_constraints(result.stdout),
            "compile_seconds": round(seconds, 3),
            "sources": [name for name, _ in reachable_sources(spec)],
        }
        (staging / "build.json").write_text(json.dumps(info, indent=2) + "\n")
    return CompiledCircuit(spec, directory, key, cached=False, opt=opt)


def _count_constraints(stdout: str) -> dict[str, int]:
    # circom prints "non-linear constraints: N" and "linear constraints: M"; the r1cs holds both.
    counts = {k: int(v) for k, v in re.findall(r"(non-linear|linear) constraints: (\d+)", stdout)}
    if "non-linear" not in counts:
        raise ToolError(f"cannot read the constraint count from circom's output:\n{stdout}")
    linear = counts.get("linear", 0)
    return {
        "constraints": counts["non-linear"] + linear,
        "non_linear_constraints": counts["non-linear"],
        "linear_constraints": linear,
    }
