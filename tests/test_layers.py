"""The packages import one way (docs/ARCHITECTURE.md): statesync <- prover, verifier <- bridge.

prover and verifier are siblings that never import each other; statesync imports nothing of
ours; nothing imports bridge but bridge itself (and the tests and benchmarks above it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Which of our packages each package may import (besides itself).
ALLOWED: dict[str, frozenset[str]] = {
    "statesync": frozenset(),
    "prover": frozenset({"statesync"}),
    "verifier": frozenset({"statesync"}),
    "bridge": frozenset({"statesync", "prover", "verifier"}),
}


def imported_packages(source: str, filename: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in a module, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def find_violations(root: Path) -> list[str]:
    bad = []
    for package, allowed in ALLOWED.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, top in imported_packages(path.read_text(), str(path)):
                if top in ALLOWED and top != package and top not in allowed:
                    bad.append(f"{path.relative_to(root)}:{line}: {package} imports {top}")
    return bad


def test_no_import_runs_up_or_sideways() -> None:
    assert find_violations(ROOT) == []


@pytest.mark.parametrize(
    ("package", "line", "message"),
    [
        ("prover", "from verifier.groth16 import verify_proof", "prover imports verifier"),
        ("verifier", "import bridge.cli", "verifier imports bridge"),
        ("statesync", "from prover.build import compile_circuit", "statesync imports prover"),
    ],
)
def test_an_added_upward_import_is_named(tmp_path: Path, package: str, line: str, message: str) -> None:
    for name in ALLOWED:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / package / "bad.py").write_text(f"def later() -> None:\n    {line}\n")
    assert find_violations(tmp_path) == [f"{package}/bad.py:2: {message}"]
