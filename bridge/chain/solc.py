"""Compile Solidity with the pinned solc-js (npm `solc`) through its standard-JSON interface.

The solcjs CLI cannot pin the EVM version (it defaults to the newest) and mangles output
names, so `js/solc_compile.js` hands a standard-JSON input to solc-js in node. Every source
goes into that input (imports are never read from disk), and the output is cached under
`build/contracts/<sha256 of the input and the compiler version>.json`, so a cache entry can
only be stale if the compiler's own bytes change under the same version.

EVM version: `paris`, the last one without PUSH0, MCOPY or transient storage, so the bytecode
runs on any post-merge chain, Edge-style child chains included. Both test chains (py-evm and
anvil) run Prague rules, which execute it unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from prover.artifacts import build_root
from prover.toolchain import check_pinned_versions, installed_version, run_node
from statesync.errors import ToolError, ZkStateSyncError

EVM_VERSION: Final = "paris"
# Runtime gas matters more than deployment size: the receiver runs once per batch, forever.
OPTIMIZER_RUNS: Final = 10_000

Abi = tuple[Mapping[str, Any], ...]


class CompileError(ZkStateSyncError):
    """solc refused the sources; `errors` holds its formatted messages."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("solc failed:\n" + "\n".join(errors))


class ContractNotFoundError(ZkStateSyncError, KeyError):
    """No compiled contract has that name (or several do, in different sources)."""


@dataclass(frozen=True)
class CompilerSettings:
    evm_version: str = EVM_VERSION
    optimizer_runs: int = OPTIMIZER_RUNS


@dataclass(frozen=True)
class CompiledContract:
    name: str
    source: str
    abi: Abi
    bytecode: bytes
    deployed_bytecode: bytes


@dataclass(frozen=True)
class Build:
    """The contracts of one compilation, the compiler that made them, and its cached output."""

    compiler: str
    contracts: tuple[CompiledContract, ...]
    warnings: tuple[str, ...] = ()
    artefact: Path | None = None  # solc's standard-JSON output under build/contracts/

    def get(self, name: str) -> CompiledContract:
        """The contract called `name` (or `source:name`, when several sources define one)."""
        source, _, contract = name.rpartition(":")
        found = [c for c in self.contracts if c.name == contract and source in ("", c.source)]
        if len(found) != 1:
            names = sorted(f"{c.source}:{c.name}" for c in self.contracts)
            what = "is ambiguous" if found else "is not among"
            raise ContractNotFoundError(f"{name} {what} the compiled contracts {names}")
        return found[0]


def contracts_dir() -> Path:
    """The project's Solidity sources (bridge/contracts: src/, samples/, test/), shipped with the package."""
    return Path(__file__).resolve().parents[1] / "contracts"


def compile_script() -> Path:
    script = Path(__file__).resolve().parent / "js" / "solc_compile.js"
    if not script.is_file():
        raise ToolError(f"{script} is missing")
    return script


def read_sources(directory: Path) -> dict[str, str]:
    """Every .sol file under `directory`, keyed by its path relative to it (how imports name it)."""
    return {p.relative_to(directory).as_posix(): p.read_text() for p in sorted(directory.rglob("*.sol"))}


def build_input(sources: Mapping[str, str], settings: CompilerSettings) -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": {
            "evmVersion": settings.evm_version,
            "optimizer": {"enabled": True, "runs": settings.optimizer_runs},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }


def compute_build_key(standard_input: Mapping[str, Any], solc_version: str) -> str:
    blob = json.dumps({"solc": solc_version, "input": standard_input}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def compile_sources(
    sources: Mapping[str, str],
    *,
    settings: CompilerSettings = CompilerSettings(),
    cache_dir: Path | None = None,
) -> Build:
    """Compile `sources` ({path: text}); cached by content hash under build/contracts/."""
    if not sources:
        raise ValueError("nothing to compile")
    check_pinned_versions()
    standard_input = build_input(sources, settings)
    directory = cache_dir if cache_dir is not None else build_root() / "contracts"
    cached = directory / f"{compute_build_key(standard_input, installed_version('solc'))}.json"
    if cached.is_file():
        return _parse_build(json.loads(cached.read_text()), cached)
    proc = run_node(compile_script(), input_text=json.dumps(standard_input), timeout=600)
    try:
        result = json.loads(proc.stdout)
        output = result["output"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ToolError("solc_compile.js printed no standard-JSON output", stderr=proc.stderr) from exc
    messages = output.get("errors", [])
    errors = [e.get("formattedMessage", str(e)) for e in messages if e.get("severity") == "error"]
    if errors:
        raise CompileError(errors)
    warnings = [e.get("formattedMessage", str(e)) for e in messages if e.get("severity") == "warning"]
    document = {"compiler": result["version"], "contracts": output.get("contracts", {}), "warnings": warnings}
    _write_atomically(cached, json.dumps(document))
    return _parse_build(document, cached)


def compile_directory(directory: Path | None = None, *, settings: CompilerSettings = CompilerSettings()) -> Build:
    """Compile every .sol file under `directory` (default: the project's bridge/contracts)."""
    return compile_sources(read_sources(directory or contracts_dir()), settings=settings)


def _parse_build(document: Mapping[str, Any], artefact: Path | None = None) -> Build:
    contracts = tuple(
        CompiledContract(
            name=name,
            source=source,
            abi=tuple(item["abi"]),
            bytecode=bytes.fromhex(item["evm"]["bytecode"]["object"]),
            deployed_bytecode=bytes.fromhex(item["evm"]["deployedBytecode"]["object"]),
        )
        for source, by_name in sorted(document["contracts"].items())
        for name, item in sorted(by_name.items())
    )
    return Build(str(document["compiler"]), contracts, tuple(document.get("warnings", ())), artefact)


def _write_atomically(path: Path, text: str) -> None:
    # Parallel test runs may compile the same input: each writes a private file, then renames.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
