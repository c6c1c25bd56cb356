"""Powers of tau for the Groth16 setup: a fast local generator, snarkjs's verifier, public hashes.

Two kinds of setup exist and every key records which one it came from (`PtauSetup`):

* ``"local-dev"``: `generate_local_ptau` runs ``prover/js/ptau_fast.js``, a single-party ceremony
  whose toxic waste lives only inside that one node process (drawn from the OS CSPRNG, never
  logged or written). It writes the phase-2-ready file that ``snarkjs powersoftau prepare phase2``
  would write, in seconds instead of tens of minutes. Anyone who could read that process's memory
  could forge proofs: it is for development and tests only.
* ``"public ceremony"``: an existing multi-party file (e.g. the Hermez/Polygon
  ``powersOfTau28_hez_final_NN.ptau``), accepted only if its blake2b-512 hash matches the published
  one (`check_ptau_hash`).

`verify_ptau` runs ``snarkjs powersoftau verify`` (contribution chain, pairings, Lagrange sections).
"""

from __future__ import annotations

import hashlib
import re
import struct
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, get_args

from prover.toolchain import check_pinned_versions, js_script, run_node, run_snarkjs
from statesync.errors import ToolError, ZkStateSyncError

SetupKind = Literal["local-dev", "public ceremony"]
LOCAL_DEV: Final[SetupKind] = "local-dev"
PUBLIC_CEREMONY: Final[SetupKind] = "public ceremony"

#: Powers ptau_fast.js accepts (snarkjs goes to 28, whose 2^29 block needs a coset extension).
MIN_LOCAL_POWER: Final = 1
MAX_LOCAL_POWER: Final = 27
#: Powers a ptau file may carry at all (snarkjs's limit: 2^28 roots of unity in BN254's Fr).
MAX_PTAU_POWER: Final = 28

# BN254 base field modulus, as the ptau header stores it.
_BN254_Q: Final = 21888242871839275222246405745257275088696311157297823662689037894645226208583
_PHASE2_SECTIONS: Final = frozenset({12, 13, 14, 15})
_HASH_HEX_LEN: Final = 128  # blake2b-512
_HEX_RE: Final = re.compile(r"[0-9a-f]{128}")


class PtauError(ZkStateSyncError):
    """A powers-of-tau file is unusable: wrong parameters, format, hash or contents."""


class PtauPowerError(PtauError, ValueError):
    """The requested power is outside the supported range."""


class PtauFormatError(PtauError, ValueError):
    """The file is not a BN254 .ptau file snarkjs could read (magic, header, section sizes)."""


class PtauHashMismatchError(PtauError):
    """The file's blake2b-512 hash differs from the expected (published) one."""


class PtauVerificationError(PtauError):
    """``snarkjs powersoftau verify`` rejected the file; ``output`` holds what it printed."""

    def __init__(self, message: str, output: str = "") -> None:
        self.output = output
        super().__init__(message)


@dataclass(frozen=True)
class PtauHeader:
    """What a .ptau file's binary header says about it."""

    power: int
    ceremony_power: int
    sections: tuple[int, ...]

    @property
    def prepared(self) -> bool:
        """True when sections 12..15 (phase-2 Lagrange points) are present."""
        return _PHASE2_SECTIONS.issubset(self.sections)


@dataclass(frozen=True)
class PtauSetup:
    """Which powers of tau a key was made from; recorded in every key's metadata.

    ``blake2b`` is the blake2b-512 hash (lowercase hex) of the whole .ptau file, the form snarkjs
    and the Hermez ceremony publish; ``source`` says where the file came from.
    """

    kind: SetupKind
    power: int
    blake2b: str
    source: str

    def __post_init__(self) -> None:
        if self.kind not in get_args(SetupKind):
            raise PtauError(f"unknown setup kind {self.kind!r} (expected one of {get_args(SetupKind)})")
        if isinstance(self.power, bool) or not isinstance(self.power, int):
            raise PtauPowerError(f"power must be an int, got {self.power!r}")
        if not 1 <= self.power <= MAX_PTAU_POWER:
            raise PtauPowerError(f"power must be in 1..{MAX_PTAU_POWER}, got {self.power}")
        if not isinstance(self.blake2b, str) or _HEX_RE.fullmatch(self.blake2b) is None:
            raise PtauError(f"blake2b must be 128 lowercase hex characters, got {self.blake2b!r}")
        if not isinstance(self.source, str) or not self.source:
            raise PtauError("source must be a non-empty string")

    @property
    def is_local_dev(self) -> bool:
        return self.kind == LOCAL_DEV

    def to_dict(self) -> dict[str, str | int]:
        return {
            "kind": self.kind,
            "power": self.power,
            "blake2b": self.blake2b,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> PtauSetup:
        """Inverse of `to_dict`; raises PtauError on missing or malformed fields."""
        missing = {"kind", "power", "blake2b", "source"} - set(data)
        if missing:
            raise PtauError(f"ptau setup record lacks {sorted(missing)}")
        kind = data["kind"]
        power = data["power"]
        digest = data["blake2b"]
        source = data["source"]
        if not isinstance(kind, str) or kind not in get_args(SetupKind):
            raise PtauError(f"unknown setup kind {kind!r}")
        if isinstance(power, bool) or not isinstance(power, int):
            raise PtauPowerError(f"power must be an int, got {power!r}")
        if not isinstance(digest, str) or not isinstance(source, str):
            raise PtauError("blake2b and source must be strings")
        return cls(kind=_as_kind(kind), power=power, blake2b=digest, source=source)


def _as_kind(kind: str) -> SetupKind:
    if kind == LOCAL_DEV:
        return LOCAL_DEV
    if kind == PUBLIC_CEREMONY:
        return PUBLIC_CEREMONY
    raise PtauError(f"unknown setup kind {kind!r}")


def ptau_script() -> Path:
    """The node generator, ``prover/js/ptau_fast.js`` of this checkout."""
    script = js_script("ptau_fast.js")
    if not script.is_file():
        raise ToolError(f"{script} is missing")
    return script


def _check_local_power(power: int) -> None:
    if isinstance(power, bool) or not isinstance(power, int):
        raise PtauPowerError(f"power must be an int, got {power!r}")
    if not MIN_LOCAL_POWER <= power <= MAX_LOCAL_POWER:
        raise PtauPowerError(f"power must be in {MIN_LOCAL_POWER}..{MAX_LOCAL_POWER} for a local setup, got {power}")


def generate_local_ptau(
    power: int,
    out: Path,
    *,
    name: str | None = None,
    unprepared: Path | None = None,
    timeout: float | None = None,
) -> Path:
    """Write a phase-2-ready local-dev ptau for circuits up to 2^power constraints; return its path.

    The file is written atomically (a temporary file in the same directory, then a rename), so
    ``out`` is either absent or complete. ``unprepared`` optionally receives the same ceremony
    without sections 12..15 (the input ``snarkjs powersoftau prepare phase2`` takes).
    Takes ~12 s at 2^16 and ~1 min at 2^18 on two cores.
    """
    _check_local_power(power)
    out = Path(out)
    if not out.parent.is_dir():
        raise PtauError(f"output directory {out.parent} does not exist")
    if out.is_dir():
        raise PtauError(f"{out} is a directory")
    args: list[str] = [str(power), str(out), "--quiet"]
    if name is not None:
        if not name or len(name) > 64 or not name.isascii() or not name.isprintable():
            raise PtauError("name must be 1..64 printable ASCII characters")
        args += ["--name", name]
    if unprepared is not None:
        args += ["--unprepared", str(unprepared)]
    check_pinned_versions()  # ptau_fast.js builds on snarkjs 0.7.6's own key and format helpers
    run_node(ptau_script(), args, timeout=timeout)
    if not out.is_file():
        raise ToolError(f"ptau_fast.js reported success but {out} is missing")
    return out


def read_ptau_header(path: Path) -> PtauHeader:
    """Parse a .ptau file's section table and header (section 1); checks sizes and the curve."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"ptau":
                raise PtauFormatError(f"{path} is not a .ptau file (bad magic)")
            version, n_sections = struct.unpack("<II", head[4:])
            if version != 1:
                raise PtauFormatError(f"{path}: unsupported ptau version {version}")
            sections: list[int] = []
            header_data = b""
            pos = 12
            for _ in range(n_sections):
                fh.seek(pos)
                raw = fh.read(12)
                if len(raw) < 12:
                    raise PtauFormatError(f"{path} is truncated (section table)")
                sid, ssize = struct.unpack("<IQ", raw)
                if pos + 12 + ssize > size:
                    raise PtauFormatError(f"{path} is truncated (section {sid})")
                if sid == 1:
                    header_data = fh.read(min(ssize, 64))
                sections.append(sid)
                pos += 12 + ssize
    except OSError as exc:
        raise PtauError(f"cannot read {path}: {exc}") from exc
    if pos != size:
        raise PtauFormatError(f"{path}: {size - pos} bytes after the last section")
    if sections.count(1) != 1 or len(header_data) != 44:
        raise PtauFormatError(f"{path}: missing or malformed header section")
    n8 = struct.unpack_from("<I", header_data, 0)[0]
    q = int.from_bytes(header_data[4:36], "little")
    power, ceremony_power = struct.unpack_from("<II", header_data, 36)
    if n8 != 32 or q != _BN254_Q:
        raise PtauFormatError(f"{path} is not a BN254 ptau")
    if not 1 <= power <= MAX_PTAU_POWER or not power <= ceremony_power <= MAX_PTAU_POWER:
        raise PtauFormatError(f"{path}: implausible power {power} (ceremony {ceremony_power})")
    return PtauHeader(power=power, ceremony_power=ceremony_power, sections=tuple(sections))


def verify_ptau(path: Path, *, require_prepared: bool = True, timeout: float | None = None) -> None:
    """Run ``snarkjs powersoftau verify``; raise PtauVerificationError unless it accepts the file.

    snarkjs accepts files without the phase-2 sections (with a warning); ``require_prepared``
    (default) rejects them too, since ``groth16 setup`` needs those sections.
    """
    path = Path(path)
    header = read_ptau_header(path)
    if require_prepared and not header.prepared:
        raise PtauVerificationError(
            f"{path} has no phase-2 sections (12..15); run `snarkjs powersoftau prepare phase2`"
        )
    check_pinned_versions()  # a missing toolchain is a ToolError, not a verdict on the file
    try:
        run_snarkjs(["powersoftau", "verify", str(path)], timeout=timeout)
    except ToolError as exc:
        if exc.__cause__ is not None and not isinstance(exc.__cause__, subprocess.CalledProcessError):
            raise  # timed out or could not start: no verdict
        raise PtauVerificationError(f"snarkjs powersoftau verify rejected {path}", exc.stderr) from exc


def ptau_blake2b(path: Path) -> str:
    """blake2b-512 of the whole file, lowercase hex (what snarkjs and Hermez publish)."""
    digest = hashlib.blake2b(digest_size=64)
    try:
        with Path(path).open("rb") as fh:
            while block := fh.read(1 << 22):
                digest.update(block)
    except OSError as exc:
        raise PtauError(f"cannot read {path}: {exc}") from exc
    return digest.hexdigest()


def normalize_blake2b_hex(expected: str) -> str:
    """Accept the published forms (plain hex, or snarkjs's 8-character groups over 4 lines)."""
    cleaned = re.sub(r"[\s:]", "", expected).lower()
    if cleaned.startswith("0x"):
        cleaned = cleaned[2:]
    if len(cleaned) != _HASH_HEX_LEN or _HEX_RE.fullmatch(cleaned) is None:
        raise PtauError(f"expected hash must be {_HASH_HEX_LEN} hex characters (blake2b-512), got {expected!r}")
    return cleaned


def check_ptau_hash(path: Path, expected_blake2b_hex: str) -> None:
    """Raise PtauHashMismatchError unless the file's blake2b-512 equals the published hash."""
    expected = normalize_blake2b_hex(expected_blake2b_hex)
    actual = ptau_blake2b(path)
    if actual != expected:
        raise PtauHashMismatchError(f"{path}: blake2b-512 is {actual}, expected {expected} (wrong or corrupted file)")


def describe_local_ptau(path: Path) -> PtauSetup:
    """The setup record of a file made by `generate_local_ptau`."""
    header = read_ptau_header(path)
    return PtauSetup(
        kind=LOCAL_DEV,
        power=header.power,
        blake2b=ptau_blake2b(path),
        source="prover/js/ptau_fast.js (single party, development only)",
    )


def describe_public_ptau(path: Path, expected_blake2b_hex: str, source: str | None = None) -> PtauSetup:
    """The setup record of a public ceremony file, after checking its published hash."""
    path = Path(path)
    check_ptau_hash(path, expected_blake2b_hex)
    header = read_ptau_header(path)
    return PtauSetup(
        kind=PUBLIC_CEREMONY,
        power=header.power,
        blake2b=normalize_blake2b_hex(expected_blake2b_hex),
        source=source or path.name,
    )
