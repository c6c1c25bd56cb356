"""Groth16 phase 2 (snarkjs's .zkey format): initial key, contributions, beacon, verification.

Each step runs either ``prover/js/zkey_fast.js`` (the default) or snarkjs itself:

* `new_zkey`: ``groth16 setup``. zkey_fast writes byte for byte the file snarkjs writes from the
  same r1cs and ptau (the initial key is deterministic), several times faster.
* `contribute_zkey`: one contribution with fresh entropy (snarkjs mixes 64 bytes from the OS
  CSPRNG into it), optionally followed at once by a random beacon (`Beacon`): the file is then
  exactly what ``zkey contribute`` followed by ``zkey beacon`` would write, without the pass that
  writes the intermediate key. `beacon_zkey` applies a beacon alone.
* `verify_zkey`: ``zkey verify`` against the r1cs and the ptau. zkey_fast recomputes the initial
  key (in memory, with its own setup) and runs snarkjs's own ``phase2verifyFromInit`` on it, so
  it checks exactly what snarkjs checks.

Entropy travels to node on stdin, never on the command line. Every function returns a `ZkeyStep`
saying which tool ran, how long it took, and the circuit and contribution hashes it reported.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from statesync.errors import ToolError, ZkStateSyncError

from .toolchain import check_pinned_versions, js_script, run_node, run_snarkjs

Tool = Literal["zkey_fast", "snarkjs"]
TOOLS: Final[tuple[Tool, ...]] = ("zkey_fast", "snarkjs")
ContributionKind = Literal["contribution", "beacon"]

#: snarkjs's bounds for a beacon: 1..255 bytes of hash, 2^10..2^63 sha256 iterations.
MIN_BEACON_EXP: Final = 10
MAX_BEACON_EXP: Final = 63
MAX_NAME: Final = 64
_EXIT_INVALID: Final = 3  # zkey_fast.js verify: the key was checked and is not valid
_HEX_BYTES = re.compile(r"(?:[0-9a-fA-F]{2})+")


class ZkeyError(ZkStateSyncError):
    """A phase-2 step failed (bad input, a tool's failure, or a key that does not verify)."""


class ZkeyInputError(ZkeyError, ValueError):
    """An argument is unusable: missing file, bad name, beacon or tool."""


class ZkeyToolError(ZkeyError):
    """zkey_fast.js or snarkjs ran and failed; ``output`` holds what it printed."""

    def __init__(self, message: str, output: str = "") -> None:
        self.output = output
        tail = "\n" + "\n".join("    " + line for line in output.strip().splitlines()[-40:]) if output.strip() else ""
        super().__init__(message + tail)


class ZkeyVerificationError(ZkeyError):
    """The key was checked against the r1cs and the ptau and is not valid; ``output`` says why."""

    def __init__(self, message: str, output: str = "") -> None:
        self.output = output
        super().__init__(message)


@dataclass(frozen=True)
class Beacon:
    """A random beacon: its public value (hex, 1..255 bytes) and 2^iterations_exp sha256 rounds."""

    hash_hex: str
    iterations_exp: int = 10
    name: str = "final beacon"

    def __post_init__(self) -> None:
        value = self.hash_hex[2:] if self.hash_hex.startswith("0x") else self.hash_hex
        if _HEX_BYTES.fullmatch(value) is None or len(value) // 2 > 255:
            raise ZkeyInputError(f"beacon hash must be 1..255 bytes of hex, got {self.hash_hex!r}")
        if isinstance(self.iterations_exp, bool) or not isinstance(self.iterations_exp, int):
            raise ZkeyInputError(f"iterations_exp must be an int, got {self.iterations_exp!r}")
        if not MIN_BEACON_EXP <= self.iterations_exp <= MAX_BEACON_EXP:
            raise ZkeyInputError(
                f"iterations_exp must be in {MIN_BEACON_EXP}..{MAX_BEACON_EXP}, got {self.iterations_exp}"
            )
        _check_name(self.name)


@dataclass(frozen=True)
class Contribution:
    """One contribution a step added: its kind, name and snarkjs contribution hash (hex)."""

    kind: ContributionKind
    name: str
    hash: str


@dataclass(frozen=True)
class ZkeyStep:
    """What one phase-2 step did: the tool, wall seconds, and what the tool reported."""

    tool: Tool
    seconds: float
    circuit_hash: str | None = None
    added: tuple[Contribution, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "tool": self.tool,
            "seconds": self.seconds,
            "circuit_hash": self.circuit_hash,
            "added": [{"kind": c.kind, "name": c.name, "hash": c.hash} for c in self.added],
        }


def zkey_script() -> Path:
    """``prover/js/zkey_fast.js`` of this checkout."""
    script = js_script("zkey_fast.js")
    if not script.is_file():
        raise ToolError(f"{script} is missing")
    return script


def _check_name(name: str) -> None:
    if not isinstance(name, str) or len(name) > MAX_NAME or not name.isascii() or not name.isprintable():
        raise ZkeyInputError(f"name must be at most {MAX_NAME} printable ASCII characters, got {name!r}")


def _check_tool(tool: str) -> None:
    if tool not in TOOLS:
        raise ZkeyInputError(f"tool must be one of {TOOLS}, got {tool!r}")


def _existing(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ZkeyInputError(f"{what} {path} does not exist")
    return path


def _output(path: Path, *inputs: Path) -> Path:
    path = Path(path)
    if not path.parent.is_dir():
        raise ZkeyInputError(f"output directory {path.parent} does not exist")
    if path.is_dir():
        raise ZkeyInputError(f"{path} is a directory")
    if any(path.resolve() == Path(i).resolve() for i in inputs):
        raise ZkeyInputError(f"output {path} must differ from the inputs")
    return path


def _threads(threads: int | None) -> list[str]:
    if threads is None:
        return []
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 64:
        raise ZkeyInputError(f"threads must be an int in 1..64, got {threads!r}")
    return ["--threads", str(threads)]


def _failure(exc: ToolError) -> subprocess.CalledProcessError | None:
    """The tool's non-zero exit behind a ToolError (None: it timed out or could not start)."""
    cause = exc.__cause__
    return cause if isinstance(cause, subprocess.CalledProcessError) else None


def _run_fast(args: list[str], what: str, *, input_text: str | None = None, timeout: float | None) -> dict[str, object]:
    check_pinned_versions()  # zkey_fast.js builds on snarkjs 0.7.6's own functions and formats
    try:
        proc = run_node(zkey_script(), [*args, "--quiet"], input_text=input_text, timeout=timeout)
    except ToolError as exc:
        if _failure(exc) is None:
            raise
        raise ZkeyToolError(f"zkey_fast.js {what} failed", exc.stderr) from exc
    return _result(proc.stdout, what)


def _result(stdout: str, what: str) -> dict[str, object]:
    """The JSON line zkey_fast.js prints last."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    try:
        result = json.loads(lines[-1]) if lines else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        raise ZkeyToolError(f"zkey_fast.js {what} printed no result", stdout)
    return result


def _run_snarkjs(args: list[str | os.PathLike[str]], what: str, *, timeout: float | None) -> None:
    try:
        run_snarkjs(args, timeout=timeout)
    except ToolError as exc:
        if _failure(exc) is None:
            raise
        raise ZkeyToolError(f"snarkjs {what} failed", exc.stderr) from exc


def _added(result: dict[str, object]) -> tuple[Contribution, ...]:
    raw = result.get("added", [])
    out: list[Contribution] = []
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict):
                kind: ContributionKind = "beacon" if item.get("type") == "beacon" else "contribution"
                out.append(Contribution(kind, str(item.get("name", "")), str(item.get("hash", ""))))
    return tuple(out)


def _circuit_hash(result: dict[str, object]) -> str | None:
    value = result.get("circuitHash")
    return value if isinstance(value, str) else None


def new_zkey(
    r1cs: Path,
    ptau: Path,
    out: Path,
    *,
    tool: Tool = "zkey_fast",
    threads: int | None = None,
    timeout: float | None = None,
) -> ZkeyStep:
    """Write the initial (uncontributed) zkey of r1cs on the prepared ptau: ``groth16 setup``."""
    _check_tool(tool)
    r1cs, ptau = _existing(r1cs, "r1cs"), _existing(ptau, "ptau")
    out = _output(out, r1cs, ptau)
    started = time.perf_counter()
    if tool == "zkey_fast":
        result = _run_fast(["new", str(r1cs), str(ptau), str(out), *_threads(threads)], "new", timeout=timeout)
        circuit_hash = _circuit_hash(result)
    else:
        _run_snarkjs(["groth16", "setup", r1cs, ptau, out], "groth16 setup", timeout=timeout)
        circuit_hash = None
    if not out.is_file():
        raise ZkeyToolError(f"{tool} reported success but {out} is missing")
    return ZkeyStep(tool, round(time.perf_counter() - started, 3), circuit_hash)


def contribute_zkey(
    src: Path,
    dst: Path,
    *,
    name: str = "zkstatesync local",
    entropy: str | None = None,
    beacon: Beacon | None = None,
    tool: Tool = "zkey_fast",
    threads: int | None = None,
    timeout: float | None = None,
) -> ZkeyStep:
    """One contribution to src, written to dst; with ``beacon``, the beacon is applied after it.

    ``entropy`` (any text) is mixed with 64 bytes from the OS CSPRNG, as snarkjs does; by
    default it is itself drawn from the CSPRNG. It is passed to node on stdin (zkey_fast) or as
    snarkjs's ``-e=`` argument (tool="snarkjs").
    """
    _check_tool(tool)
    _check_name(name)
    src = _existing(src, "zkey")
    dst = _output(dst, src)
    if entropy is not None and (not isinstance(entropy, str) or not entropy):
        raise ZkeyInputError("entropy must be a non-empty string")
    started = time.perf_counter()
    if tool == "zkey_fast":
        args = ["contribute", str(src), str(dst), "--name", name, *_threads(threads)]
        if entropy is not None:
            args.append("--entropy-stdin")
        if beacon is not None:
            args += ["--beacon-hash", beacon.hash_hex, "--beacon-exp", str(beacon.iterations_exp)]
            args += ["--beacon-name", beacon.name]
        result = _run_fast(args, "contribute", input_text=entropy, timeout=timeout)
        step = ZkeyStep(tool, 0.0, _circuit_hash(result), _added(result))
    else:
        ent = entropy if entropy is not None else os.urandom(32).hex()

        def snarkjs_contribute(target: Path) -> None:
            args: list[str | os.PathLike[str]] = ["zkey", "contribute", src, target, f"--name={name}", f"-e={ent}"]
            _run_snarkjs(args, "zkey contribute", timeout=timeout)

        if beacon is None:
            snarkjs_contribute(dst)
        else:
            with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
                mid = Path(tmp) / "contributed.zkey"
                snarkjs_contribute(mid)
                _snarkjs_beacon(mid, dst, beacon, timeout)
        step = ZkeyStep(tool, 0.0)
    if not dst.is_file():
        raise ZkeyToolError(f"{tool} reported success but {dst} is missing")
    return ZkeyStep(step.tool, round(time.perf_counter() - started, 3), step.circuit_hash, step.added)


def _snarkjs_beacon(src: Path, dst: Path, beacon: Beacon, timeout: float | None) -> None:
    args: list[str | os.PathLike[str]] = ["zkey", "beacon", src, dst, beacon.hash_hex, str(beacon.iterations_exp)]
    _run_snarkjs([*args, f"-n={beacon.name}"], "zkey beacon", timeout=timeout)


def beacon_zkey(
    src: Path,
    dst: Path,
    beacon: Beacon,
    *,
    tool: Tool = "zkey_fast",
    threads: int | None = None,
    timeout: float | None = None,
) -> ZkeyStep:
    """Apply a random beacon to src, written to dst (fully determined by the beacon: reproducible)."""
    _check_tool(tool)
    if not isinstance(beacon, Beacon):
        raise ZkeyInputError(f"beacon must be a Beacon, got {beacon!r}")
    src = _existing(src, "zkey")
    dst = _output(dst, src)
    started = time.perf_counter()
    if tool == "zkey_fast":
        args = ["beacon", str(src), str(dst), beacon.hash_hex, str(beacon.iterations_exp), "--name", beacon.name]
        result = _run_fast([*args, *_threads(threads)], "beacon", timeout=timeout)
        circuit_hash, added = _circuit_hash(result), _added(result)
    else:
        _snarkjs_beacon(src, dst, beacon, timeout)
        circuit_hash, added = None, ()
    if not dst.is_file():
        raise ZkeyToolError(f"{tool} reported success but {dst} is missing")
    return ZkeyStep(tool, round(time.perf_counter() - started, 3), circuit_hash, added)


def verify_zkey(
    r1cs: Path,
    ptau: Path,
    zkey: Path,
    *,
    tool: Tool = "zkey_fast",
    threads: int | None = None,
    timeout: float | None = None,
) -> ZkeyStep:
    """``zkey verify``: raise ZkeyVerificationError unless zkey is a valid key of r1cs on ptau.

    Both tools run snarkjs's checks; zkey_fast recomputes the initial key with its own setup
    (byte-identical to snarkjs's) instead of snarkjs's much slower one.
    """
    _check_tool(tool)
    r1cs, ptau = _existing(r1cs, "r1cs"), _existing(ptau, "ptau")
    zkey = _existing(zkey, "zkey")
    started = time.perf_counter()
    circuit_hash: str | None = None
    if tool == "zkey_fast":
        check_pinned_versions()
        args = ["verify", str(r1cs), str(ptau), str(zkey), "--quiet", *_threads(threads)]
        try:
            proc = run_node(zkey_script(), args, timeout=timeout)
        except ToolError as exc:
            failure = _failure(exc)
            if failure is None:
                raise
            if failure.returncode == _EXIT_INVALID:
                reasons = [line.removeprefix("zkey_fast verify: ") for line in exc.stderr.splitlines() if line.strip()]
                why = f": {reasons[0].strip()}" if reasons else ""
                raise ZkeyVerificationError(f"{zkey} is not a valid key of {r1cs} on {ptau}{why}", exc.stderr) from exc
            raise ZkeyToolError("zkey_fast.js verify failed", exc.stderr) from exc
        result = _result(proc.stdout, "verify")
        if result.get("valid") is not True:
            raise ZkeyVerificationError(f"{zkey}: zkey_fast.js verify did not report a valid key", proc.stdout)
        circuit_hash = _circuit_hash(result)
    else:
        try:
            run_snarkjs(["zkey", "verify", r1cs, ptau, zkey], timeout=timeout)
        except ToolError as exc:
            if _failure(exc) is None:
                raise
            raise ZkeyVerificationError(f"snarkjs zkey verify rejected {zkey}", exc.stderr) from exc
    return ZkeyStep(tool, round(time.perf_counter() - started, 3), circuit_hash)
