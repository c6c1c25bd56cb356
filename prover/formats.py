"""Readers and writers for circom/snarkjs binary files: .r1cs, .wtns and .sym.

The circuit tester checks constraints in Python (so one tampered signal can be re-checked
in microseconds) and reads signals by name, so these formats are parsed here rather than
through snarkjs. Layouts follow iden3's binfileutils: a 4-byte magic, a u32 version, a u32
section count, then (u32 type, u64 size, payload) sections; integers are little-endian.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from statesync.errors import ZkStateSyncError
from statesync.field import R
from statesync.storage import write_atomically


class FormatError(ZkStateSyncError, ValueError):
    """A circom/snarkjs binary file is truncated, has the wrong magic, or the wrong prime."""


LinearCombination = tuple[tuple[int, int], ...]  # ((wire, coefficient), ...)


@dataclass(frozen=True)
class Constraint:
    a: LinearCombination
    b: LinearCombination
    c: LinearCombination


@dataclass(frozen=True)
class R1cs:
    prime: int
    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    n_labels: int
    constraints: tuple[Constraint, ...]

    @property
    def n_public(self) -> int:
        return self.n_pub_out + self.n_pub_in


def _read_sections(data: bytes, magic: bytes, path: Path) -> dict[int, memoryview]:
    if len(data) < 12 or data[:4] != magic:
        raise FormatError(f"{path}: not a {magic.decode()} file")
    n_sections = struct.unpack_from("<I", data, 8)[0]
    sections: dict[int, memoryview] = {}
    pos = 12
    view = memoryview(data)
    for _ in range(n_sections):
        if pos + 12 > len(data):
            raise FormatError(f"{path}: truncated section header")
        kind, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if pos + size > len(data):
            raise FormatError(f"{path}: section {kind} is truncated")
        sections[kind] = view[pos : pos + size]
        pos += size
    return sections


def _read_field_prime(section: memoryview, path: Path) -> tuple[int, int]:
    n8 = struct.unpack_from("<I", section, 0)[0]
    prime = int.from_bytes(section[4 : 4 + n8], "little")
    if prime != R:
        raise FormatError(f"{path}: field prime {prime} is not BN254's scalar field")
    return n8, prime


@dataclass(frozen=True)
class R1csHeader:
    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    n_constraints: int

    @property
    def n_public(self) -> int:
        return self.n_pub_out + self.n_pub_in


def read_r1cs_header(path: Path) -> R1csHeader:
    """The sizes of an r1cs without parsing its constraints (cheap for large circuits)."""
    with Path(path).open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"r1cs":
            raise FormatError(f"{path}: not a r1cs file")
        for _ in range(struct.unpack_from("<I", head, 8)[0]):
            kind, size = struct.unpack("<IQ", f.read(12))
            if kind != 1:
                f.seek(size, 1)
                continue
            section = memoryview(f.read(size))
            n8, _ = _read_field_prime(section, path)
            n_wires, n_pub_out, n_pub_in, n_prv_in = struct.unpack_from("<IIII", section, 4 + n8)
            (n_constraints,) = struct.unpack_from("<I", section, 4 + n8 + 24)
            return R1csHeader(n_wires, n_pub_out, n_pub_in, n_prv_in, n_constraints)
    raise FormatError(f"{path}: no header section")


def read_r1cs(path: Path) -> R1cs:
    data = Path(path).read_bytes()
    sections = _read_sections(data, b"r1cs", path)
    if 1 not in sections or 2 not in sections:
        raise FormatError(f"{path}: missing header or constraint section")
    header = sections[1]
    n8, prime = _read_field_prime(header, path)
    off = 4 + n8
    n_wires, n_pub_out, n_pub_in, n_prv_in = struct.unpack_from("<IIII", header, off)
    n_labels, n_constraints = struct.unpack_from("<QI", header, off + 16)
    body = sections[2]
    pos = 0

    def read_lc() -> LinearCombination:
        nonlocal pos
        (n_terms,) = struct.unpack_from("<I", body, pos)
        pos += 4
        terms = []
        for _ in range(n_terms):
            (wire,) = struct.unpack_from("<I", body, pos)
            coeff = int.from_bytes(body[pos + 4 : pos + 4 + n8], "little")
            pos += 4 + n8
            terms.append((wire, coeff))
        return tuple(terms)

    constraints = []
    for _ in range(n_constraints):
        a = read_lc()
        b = read_lc()
        c = read_lc()
        constraints.append(Constraint(a, b, c))
    return R1cs(prime, n_wires, n_pub_out, n_pub_in, n_prv_in, n_labels, tuple(constraints))


def read_wtns(path: Path) -> list[int]:
    data = Path(path).read_bytes()
    sections = _read_sections(data, b"wtns", path)
    if 1 not in sections or 2 not in sections:
        raise FormatError(f"{path}: missing header or witness section")
    n8, _ = _read_field_prime(sections[1], path)
    (n_witness,) = struct.unpack_from("<I", sections[1], 4 + n8)
    values = sections[2]
    if len(values) != n_witness * n8:
        raise FormatError(f"{path}: witness section holds {len(values)} bytes, expected {n_witness * n8}")
    return [int.from_bytes(values[i * n8 : (i + 1) * n8], "little") for i in range(n_witness)]


def write_wtns(path: Path, witness: Sequence[int]) -> None:
    """Write a witness in snarkjs's format (atomically), e.g. to hand a tampered one to snarkjs."""
    n8 = 32
    header = struct.pack("<I", n8) + R.to_bytes(n8, "little") + struct.pack("<I", len(witness))
    values = b"".join((w % R).to_bytes(n8, "little") for w in witness)
    out = b"wtns" + struct.pack("<II", 2, 2)
    out += struct.pack("<IQ", 1, len(header)) + header
    out += struct.pack("<IQ", 2, len(values)) + values
    write_atomically(path, out)


def read_sym(path: Path) -> dict[str, int]:
    """Map each signal name (e.g. 'main.out[0]') to its witness index; -1 if optimised away."""
    names: dict[str, int] = {}
    for line_no, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line:
            continue
        parts = line.split(",", 3)
        if len(parts) != 4:
            raise FormatError(f"{path}:{line_no}: expected 'label,witness,component,name'")
        names[parts[3]] = int(parts[1])
    return names
