"""The fast local powers of tau (prover/js/ptau_fast.js through prover.ptau).

The generated file must be exactly what `snarkjs powersoftau prepare phase2` makes of the same
ceremony, `powersoftau verify` must accept it (and refuse it once a Lagrange point is touched),
and a circuit must go through the whole Groth16 pipeline with it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from pathlib import Path

import pytest

from prover.ptau import (
    LOCAL_DEV,
    PUBLIC_CEREMONY,
    PtauError,
    PtauFormatError,
    PtauHashMismatchError,
    PtauPowerError,
    PtauSetup,
    PtauVerificationError,
    check_ptau_hash,
    describe_local_ptau,
    describe_public_ptau,
    generate_local_ptau,
    ptau_blake2b,
    ptau_script,
    read_ptau_header,
    verify_ptau,
)
from prover.toolchain import run_circom, run_node, run_snarkjs
from statesync.errors import ToolError

POWER = 6

TINY = """pragma circom 2.1.0;
template Tiny() { signal input a; signal input b; signal output c; c <== a * b + 3; }
component main {public [a]} = Tiny();
"""


def sections_of(data: bytes) -> dict[int, bytes]:
    """Section id -> section bytes of a snarkjs binary file (ids are unique in a ptau)."""
    assert data[:4] == b"ptau"
    (n_sections,) = struct.unpack_from("<I", data, 8)
    out: dict[int, bytes] = {}
    pos = 12
    for _ in range(n_sections):
        sid, size = struct.unpack_from("<IQ", data, pos)
        out[sid] = data[pos + 12 : pos + 12 + size]
        pos += 12 + size
    assert pos == len(data)
    return out


def section_offset(data: bytes, wanted: int) -> int:
    (n_sections,) = struct.unpack_from("<I", data, 8)
    pos = 12
    for _ in range(n_sections):
        sid, size = struct.unpack_from("<IQ", data, pos)
        if sid == wanted:
            return pos + 12
        pos += 12 + size
    raise KeyError(wanted)


def assert_same_as_snarkjs_prepare(ours: Path, unprepared: Path, directory: Path) -> None:
    snark = directory / f"snarkjs_{ours.name}"
    run_snarkjs(["powersoftau", "prepare", "phase2", unprepared, snark])
    a, b = ours.read_bytes(), snark.read_bytes()
    if a != b:
        sa, sb = sections_of(a), sections_of(b)
        assert list(sa) == list(sb), "section lists differ"
        differing = [sid for sid in sa if sa[sid] != sb[sid]]
        pytest.fail(f"sections {differing} differ from snarkjs prepare phase2")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("ptau")
    out, unprepared = d / "local.ptau", d / "local_unprepared.ptau"
    assert generate_local_ptau(POWER, out, unprepared=unprepared) == out
    return out, unprepared


def test_file_is_byte_for_byte_what_snarkjs_prepare_phase2_writes(local: tuple[Path, Path], tmp_path: Path) -> None:
    out, unprepared = local
    assert_same_as_snarkjs_prepare(out, unprepared, tmp_path)
    # the unprepared file is the same ceremony with sections 1..7 only
    sa, su = sections_of(out.read_bytes()), sections_of(unprepared.read_bytes())
    assert list(su) == [1, 2, 3, 4, 5, 6, 7]
    assert all(su[sid] == sa[sid] for sid in su)


@pytest.mark.parametrize(
    ("power", "knobs"),
    [
        (5, ["--chunk", "7", "--window-g1", "5", "--window-g2", "13", "--threads", "3"]),
        (3, ["--chunk", "1", "--window-g1", "3", "--window-g2", "4", "--threads", "2"]),
    ],
)
def test_small_chunks_odd_windows_and_other_thread_counts_match_snarkjs_too(
    tmp_path: Path, power: int, knobs: list[str]
) -> None:
    # Exercise job boundaries inside every section and Lagrange block (down to one point per
    # job), windows whose tables are tiny or larger than the scalar's top window, and uneven
    # splits of the tables between workers.
    out, unprepared = tmp_path / "odd.ptau", tmp_path / "odd_unprepared.ptau"
    args: list[str | Path] = [str(power), out, "--unprepared", unprepared, "--quiet"]
    run_node(ptau_script(), [*args, "--name", "odd knobs", *knobs])
    assert_same_as_snarkjs_prepare(out, unprepared, tmp_path)
    verify_ptau(out)


def test_snarkjs_powersoftau_verify_accepts_it(local: tuple[Path, Path]) -> None:
    verify_ptau(local[0])


def test_header_and_setup_record(local: tuple[Path, Path]) -> None:
    out, unprepared = local
    header = read_ptau_header(out)
    assert (header.power, header.ceremony_power, header.prepared) == (POWER, POWER, True)
    assert header.sections == (1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15)
    assert not read_ptau_header(unprepared).prepared
    with pytest.raises(PtauVerificationError, match="phase-2"):
        verify_ptau(unprepared)  # no snarkjs run: groth16 setup could not use it
    setup = describe_local_ptau(out)
    assert (setup.kind, setup.power, setup.is_local_dev) == (LOCAL_DEV, POWER, True)
    assert setup.blake2b == hashlib.blake2b(out.read_bytes(), digest_size=64).hexdigest()
    assert PtauSetup.from_dict(json.loads(json.dumps(setup.to_dict()))) == setup
    with pytest.raises(PtauError):
        PtauSetup(kind="trusted", power=6, blake2b=setup.blake2b, source="x")  # type: ignore[arg-type]
    with pytest.raises(PtauError):
        PtauSetup.from_dict({**setup.to_dict(), "blake2b": "00"})


def test_each_run_draws_fresh_toxic_waste(local: tuple[Path, Path], tmp_path: Path) -> None:
    again = generate_local_ptau(POWER, tmp_path / "again.ptau")
    a, b = sections_of(local[0].read_bytes()), sections_of(again.read_bytes())
    assert a[1] == b[1] and a[2][:64] == b[2][:64]  # same header, tau^0 * G1 is the generator
    assert a[2][64:128] != b[2][64:128]  # tau * G1 differs


def test_groth16_pipeline_with_the_local_ptau(local: tuple[Path, Path], tmp_path: Path) -> None:
    ptau = local[0]
    build = tmp_path / "build"
    build.mkdir()  # circom2 does not create its output directory
    (tmp_path / "tiny.circom").write_text(TINY)
    run_circom([tmp_path / "tiny.circom", "--r1cs", "--wasm", "--sym", "-o", build])
    r1cs, wasm = build / "tiny.r1cs", build / "tiny_js" / "tiny.wasm"
    z0, z1, z2 = (tmp_path / f"tiny_{i}.zkey" for i in range(3))
    run_snarkjs(["groth16", "setup", r1cs, ptau, z0])
    run_snarkjs(["zkey", "contribute", z0, z1, "--name=test", "-e=some entropy"])
    beacon = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    run_snarkjs(["zkey", "beacon", z1, z2, beacon, "10", "-n=final beacon"])
    run_snarkjs(["zkey", "verify", r1cs, ptau, z2])
    vk = tmp_path / "vk.json"
    run_snarkjs(["zkey", "export", "verificationkey", z2, vk])
    (tmp_path / "input.json").write_text(json.dumps({"a": "5", "b": "7"}))
    wtns, proof, public = tmp_path / "w.wtns", tmp_path / "proof.json", tmp_path / "public.json"
    run_snarkjs(["wtns", "calculate", wasm, tmp_path / "input.json", wtns])
    run_snarkjs(["groth16", "prove", z2, wtns, proof, public])
    assert json.loads(public.read_text()) == ["38", "5"]  # outputs first, then public inputs
    run_snarkjs(["groth16", "verify", vk, public, proof])
    public.write_text(json.dumps(["38", "6"]))
    with pytest.raises(ToolError):
        run_snarkjs(["groth16", "verify", vk, public, proof])


@pytest.mark.parametrize("section", [12, 13, 14, 15])
def test_a_tampered_lagrange_byte_is_refused(local: tuple[Path, Path], tmp_path: Path, section: int) -> None:
    _tamper_and_expect_refusal(local[0], tmp_path, section)


def _tamper_and_expect_refusal(ptau: Path, tmp_path: Path, section: int) -> None:
    data = bytearray(ptau.read_bytes())
    size = 128 if section == 13 else 64
    # a byte of the x coordinate of the 3rd point of the 2^POWER block
    pos = section_offset(bytes(data), section) + (2**POWER - 1 + 2) * size + 5
    data[pos] ^= 0x01
    bad = tmp_path / f"tampered_{section}.ptau"
    bad.write_bytes(bytes(data))
    with pytest.raises(PtauVerificationError) as info:
        verify_ptau(bad)
    assert "Phase2" in info.value.output or "not match" in info.value.output


def test_swapped_lagrange_points_are_refused(local: tuple[Path, Path], tmp_path: Path) -> None:
    # Valid curve points in the wrong places: only the Lagrange check can see it.
    data = bytearray(local[0].read_bytes())
    start = section_offset(bytes(data), 12) + (2**POWER - 1) * 64
    p0, p1 = bytes(data[start : start + 64]), bytes(data[start + 64 : start + 128])
    data[start : start + 64], data[start + 64 : start + 128] = p1, p0
    bad = tmp_path / "swapped.ptau"
    bad.write_bytes(bytes(data))
    with pytest.raises(PtauVerificationError):
        verify_ptau(bad)


@pytest.mark.parametrize("power", [0, 28, 29, -1, True, 6.0, "6"])
def test_bad_power_raises(tmp_path: Path, power: object) -> None:
    with pytest.raises(PtauPowerError):
        generate_local_ptau(power, tmp_path / "x.ptau")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["0"], "power must be in 1..27"),
        (["29"], "power must be in 1..27"),
        (["28"], "not supported"),
        (["abc"], "power must be an integer"),
        (["-3"], "power must be an integer"),
        (["6", "--window-g1", "2"], "--window-g1 must be in"),
        (["6", "--bogus"], "unknown option"),
        (["6", "--name", "é"], "--name"),
    ],
)
def test_node_script_rejects_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "x.ptau"
    with pytest.raises(ToolError) as info:
        run_node(ptau_script(), [args[0], out, *args[1:]])
    assert "exit code 2" in str(info.value)
    assert message in info.value.stderr
    assert list(tmp_path.iterdir()) == []


def test_node_script_needs_two_arguments() -> None:
    with pytest.raises(ToolError) as info:
        run_node(ptau_script(), ["6"])
    assert "expected 2 arguments" in info.value.stderr


def test_missing_output_directory(tmp_path: Path) -> None:
    with pytest.raises(PtauError, match="does not exist"):
        generate_local_ptau(4, tmp_path / "nope" / "x.ptau")


def test_check_ptau_hash(local: tuple[Path, Path], tmp_path: Path) -> None:
    out = local[0]
    digest = hashlib.blake2b(out.read_bytes(), digest_size=64).hexdigest()
    assert ptau_blake2b(out) == digest
    check_ptau_hash(out, digest)
    # snarkjs / Hermez print the hash as 16 groups of 8 hex digits over 4 lines
    grouped = "\n".join(" ".join(digest[i + j : i + j + 8] for j in range(0, 32, 8)) for i in range(0, 128, 32))
    check_ptau_hash(out, grouped.upper())
    wrong = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    with pytest.raises(PtauHashMismatchError):
        check_ptau_hash(out, wrong)
    with pytest.raises(PtauError, match="128 hex"):
        check_ptau_hash(out, "abcd")
    setup = describe_public_ptau(out, digest, source="pretend-hermez.ptau")
    assert (setup.kind, setup.power, setup.source) == (
        PUBLIC_CEREMONY,
        POWER,
        "pretend-hermez.ptau",
    )
    with pytest.raises(PtauHashMismatchError):
        describe_public_ptau(out, wrong)
    not_ptau = tmp_path / "not.ptau"
    not_ptau.write_bytes(b"zkey" + bytes(60))
    with pytest.raises(PtauFormatError):
        read_ptau_header(not_ptau)
    truncated = tmp_path / "truncated.ptau"
    shutil.copyfile(out, truncated)
    with truncated.open("r+b") as fh:
        fh.truncate(out.stat().st_size - 1)
    with pytest.raises(PtauFormatError):
        read_ptau_header(truncated)


@pytest.mark.slow
def test_power_10_matches_snarkjs_and_verifies(tmp_path: Path) -> None:
    out, unprepared = tmp_path / "p10.ptau", tmp_path / "p10_unprepared.ptau"
    generate_local_ptau(10, out, unprepared=unprepared, name="slow test")
    assert_same_as_snarkjs_prepare(out, unprepared, tmp_path)
    verify_ptau(out)
