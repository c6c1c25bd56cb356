"""Phase 2 through prover/js/zkey_fast.js (prover.zkey), checked against snarkjs itself.

* `new` must write byte for byte what `snarkjs groth16 setup` writes, on tiny circuits made for
  the corner cases (zero columns, many terms per column, negative and repeated coefficients,
  blocks of one constraint) and on one of our circuits at the test preset;
* `beacon` must write what `zkey beacon` writes, and `contribute` what `zkey contribute` writes
  once snarkjs's CSPRNG is replaced by a fixed stream in both (contribute + beacon in one pass
  too); `snarkjs zkey verify` must accept our keys and proofs made with them must verify;
* `verify` must accept snarkjs's keys and refuse, as snarkjs does, a key with one flipped byte
  in any section, a key of another circuit and a key made from another ptau.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from prover.build import compile_circuit
from prover.setup import local_ptau, required_power
from prover.toolchain import node_modules, run_circom, run_node, run_snarkjs
from prover.zkey import (
    Beacon,
    ZkeyInputError,
    ZkeyToolError,
    ZkeyVerificationError,
    beacon_zkey,
    contribute_zkey,
    new_zkey,
    verify_zkey,
    zkey_script,
)
from statesync.circuits import load_manifest
from statesync.errors import ToolError

POWER = 8
BEACON = Beacon("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", 10, "final beacon")
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617

CIRCUITS = {
    # outputs and several public inputs, a big constant, an unused (zero-column) input
    "tiny": """pragma circom 2.1.0;
template Tiny() {
    signal input a; signal input b; signal input c; signal input unused;
    signal output d; signal output e;
    signal t;
    t <== a * b + 3 * c;
    d <== t * t - 7 * a + 12345678901234567890123456789;
    e <== (a + b + c) * (a - 2 * b + 5);
}
component main {public [a, unused]} = Tiny();
""",
    # one signal in 40 constraints (several accumulators per column), negative coefficients,
    # a long linear combination, repeated coefficient values
    "wide": f"""pragma circom 2.1.0;
template Wide(N) {{
    signal input x; signal input y; signal input in[N];
    signal output out[N]; signal output s;
    var acc = 0;
    for (var i = 0; i < N; i++) {{
        out[i] <== (x + i * 1234567891011121314151617181920) * (in[i] - y * (i % 3 + 1));
        acc += in[i] * ({R} - i - 1);
    }}
    signal t;
    t <== acc * x;
    s <== t * t + 5;
}}
component main {{public [x, y]}} = Wide(40);
""",
}
INPUTS = {
    "tiny": {"a": "3", "b": "5", "c": "7", "unused": "0"},
    "wide": {"x": "3", "y": "4", "in": [str(i * i + 1) for i in range(40)]},
}


@pytest.fixture(scope="module")
def ptau() -> Path:
    return local_ptau(POWER)[0]


@pytest.fixture(scope="module")
def circuits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> directory with NAME.r1cs and NAME_js/NAME.wasm."""
    out: dict[str, Path] = {}
    for name, source in CIRCUITS.items():
        d = tmp_path_factory.mktemp(name)
        (d / f"{name}.circom").write_text(source)
        run_circom([d / f"{name}.circom", "--r1cs", "--wasm", "--sym", "-o", d, "-l", node_modules()])
        out[name] = d
    return out


def r1cs_of(circuits: dict[str, Path], name: str) -> Path:
    return circuits[name] / f"{name}.r1cs"


def sections(data: bytes) -> list[tuple[int, int, int]]:
    """(id, data start, size) of each section of a snarkjs binary file, in file order."""
    (n,) = struct.unpack_from("<I", data, 8)
    out, pos = [], 12
    for _ in range(n):
        sid, size = struct.unpack_from("<IQ", data, pos)
        out.append((sid, pos + 12, size))
        pos += 12 + size
    assert pos == len(data)
    return out


def assert_same_file(ours: Path, theirs: Path) -> None:
    a, b = ours.read_bytes(), theirs.read_bytes()
    if a != b:
        sa, sb = sections(a), sections(b)
        assert [s[0] for s in sa] == [s[0] for s in sb], "section lists differ"
        differing = [x[0] for x, y in zip(sa, sb, strict=True) if a[x[1] : x[1] + x[2]] != b[y[1] : y[1] + y[2]]]
        pytest.fail(f"sections {differing} differ from snarkjs's")


# ---------------------------------------------------------------------------------------- setup


@pytest.mark.parametrize("name", sorted(CIRCUITS))
def test_new_is_byte_for_byte_snarkjs_groth16_setup(
    circuits: dict[str, Path], ptau: Path, tmp_path: Path, name: str
) -> None:
    ours, theirs = tmp_path / "ours.zkey", tmp_path / "theirs.zkey"
    step = new_zkey(r1cs_of(circuits, name), ptau, ours)
    run_snarkjs(["groth16", "setup", r1cs_of(circuits, name), ptau, theirs])
    assert_same_file(ours, theirs)
    assert step.tool == "zkey_fast" and step.circuit_hash is not None and len(step.circuit_hash) == 128
    section10 = next(s for s in sections(ours.read_bytes()) if s[0] == 10)
    assert ours.read_bytes()[section10[1] : section10[1] + 64].hex() == step.circuit_hash


@pytest.mark.parametrize("knobs", [["--chunk", "1", "--threads", "3"], ["--chunk", "5", "--threads", "1"]])
def test_new_with_tiny_blocks_and_other_thread_counts(
    circuits: dict[str, Path], ptau: Path, tmp_path: Path, knobs: list[str]
) -> None:
    # blocks of one constraint: every column is summed across blocks
    r1cs = r1cs_of(circuits, "wide")
    ours, theirs = tmp_path / "ours.zkey", tmp_path / "theirs.zkey"
    run_node(zkey_script(), ["new", r1cs, ptau, ours, "--quiet", *knobs])
    run_snarkjs(["groth16", "setup", r1cs, ptau, theirs])
    assert_same_file(ours, theirs)


def test_new_on_the_smallest_ptau_that_fits(circuits: dict[str, Path], tmp_path: Path) -> None:
    # the circuit's domain is the ptau's whole size (tiny: 2^3 with 6 constraints + 3 public)
    small = local_ptau(3)[0]
    ours, theirs = tmp_path / "ours.zkey", tmp_path / "theirs.zkey"
    new_zkey(r1cs_of(circuits, "tiny"), small, ours)
    run_snarkjs(["groth16", "setup", r1cs_of(circuits, "tiny"), small, theirs])
    assert_same_file(ours, theirs)
    with pytest.raises(ZkeyToolError, match="too big"):
        new_zkey(r1cs_of(circuits, "wide"), small, tmp_path / "too_big.zkey")
    assert not (tmp_path / "too_big.zkey").exists()


def test_new_on_event_inclusion_at_the_test_preset(tmp_path: Path) -> None:
    circuit = compile_circuit(load_manifest().spec("event_inclusion", "test"))
    pot = local_ptau(required_power(circuit))[0]
    ours, theirs = tmp_path / "ours.zkey", tmp_path / "theirs.zkey"
    new_zkey(circuit.r1cs, pot, ours)
    run_snarkjs(["groth16", "setup", circuit.r1cs, pot, theirs])
    assert_same_file(ours, theirs)


# --------------------------------------------------------------------------- contribute, beacon

# snarkjs's CSPRNG (misc.getRandomBytes -> crypto.randomFillSync) replaced by a fixed stream, in
# the one process that runs both snarkjs's contribute and ours.
HARNESS = """
const crypto = require("crypto");
crypto.randomFillSync = (a) => { for (let i = 0; i < a.length; i++) a[i] = (i * 31 + 7) & 255; return a; };
const path = require("path");
const [zkeyFast, input, outSnark, outFast, beaconHash] = process.argv.slice(2);
(async () => {
    const snarkSrc = path.join(path.dirname(require.resolve("snarkjs")), "..", "src");
    const Z = require(zkeyFast);
    const contribute = (await import(path.join(snarkSrc, "zkey_contribute.js"))).default;
    const beacon = (await import(path.join(snarkSrc, "zkey_beacon.js"))).default;
    const env = await Z.makeEnv({ threads: 2 }, () => {});
    const ours = [{ type: 0, name: "fixed", rng: () => env.M.misc.getRandomRng("fixed entropy") }];
    if (beaconHash) {
        await contribute(input, outSnark + ".mid", "fixed", "fixed entropy");
        await beacon(outSnark + ".mid", outSnark, "final beacon", beaconHash, 10);
        const bh = env.M.misc.hex2ByteArray(beaconHash);
        ours.push({ type: 1, name: "final beacon", beaconHash: bh, numIterationsExp: 10,
                    rng: () => env.M.misc.rngFromBeaconParams(bh, 10) });
    } else {
        await contribute(input, outSnark, "fixed", "fixed entropy");
    }
    await Z.applyContribution(env, input, outFast, ours, []);
    await env.close();
    process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="module")
def initial(circuits: dict[str, Path], ptau: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("initial")
    out = {name: d / f"{name}_0000.zkey" for name in CIRCUITS}
    for name, path in out.items():
        run_snarkjs(["groth16", "setup", r1cs_of(circuits, name), ptau, path])
    return out


@pytest.mark.parametrize("with_beacon", [False, True])
def test_contribute_is_snarkjs_contribute_given_the_same_randomness(
    initial: dict[str, Path], tmp_path: Path, with_beacon: bool
) -> None:
    script = tmp_path / "harness.js"
    script.write_text(HARNESS)
    ours, theirs = tmp_path / "ours.zkey", tmp_path / "theirs.zkey"
    args: list[str | Path] = [zkey_script(), initial["wide"], theirs, ours, BEACON.hash_hex if with_beacon else ""]
    run_node(script, args)
    assert_same_file(ours, theirs)


def test_beacon_is_byte_for_byte_snarkjs_beacon(initial: dict[str, Path], tmp_path: Path) -> None:
    z1 = tmp_path / "z1.zkey"
    run_snarkjs(["zkey", "contribute", initial["tiny"], z1, "--name=first", "-e=entropy"])
    ours, theirs = tmp_path / "ours.zkey", tmp_path / "theirs.zkey"
    step = beacon_zkey(z1, ours, BEACON)
    run_snarkjs(["zkey", "beacon", z1, theirs, BEACON.hash_hex, "10", f"-n={BEACON.name}"])
    assert_same_file(ours, theirs)
    assert [c.kind for c in step.added] == ["beacon"] and step.added[0].name == BEACON.name


@pytest.fixture(scope="module")
def final(initial: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Our full chain for each circuit: our setup's initial key, contribution + beacon in one pass."""
    d = tmp_path_factory.mktemp("final")
    out = {}
    for name, z0 in initial.items():
        out[name] = d / f"{name}_final.zkey"
        step = contribute_zkey(z0, out[name], name="ours", entropy="some entropy", beacon=BEACON)
        assert [(c.kind, c.name) for c in step.added] == [("contribution", "ours"), ("beacon", BEACON.name)]
    return out


@pytest.mark.parametrize("name", sorted(CIRCUITS))
def test_snarkjs_accepts_our_keys_and_their_proofs_verify(
    circuits: dict[str, Path], ptau: Path, final: dict[str, Path], tmp_path: Path, name: str
) -> None:
    key = final[name]
    run_snarkjs(["zkey", "verify", r1cs_of(circuits, name), ptau, key])
    verify_zkey(r1cs_of(circuits, name), ptau, key)
    vk, wtns = tmp_path / "vk.json", tmp_path / "w.wtns"
    proof, public = tmp_path / "proof.json", tmp_path / "public.json"
    (tmp_path / "input.json").write_text(json.dumps(INPUTS[name]))
    run_snarkjs(["zkey", "export", "verificationkey", key, vk])
    run_snarkjs(["wtns", "calculate", circuits[name] / f"{name}_js" / f"{name}.wasm", tmp_path / "input.json", wtns])
    run_snarkjs(["groth16", "prove", key, wtns, proof, public])
    run_snarkjs(["groth16", "verify", vk, public, proof])
    signals = json.loads(public.read_text())
    signals[-1] = str(int(signals[-1]) + 1)
    public.write_text(json.dumps(signals))
    with pytest.raises(ToolError):
        run_snarkjs(["groth16", "verify", vk, public, proof])


def test_separate_contribution_then_beacon_verify_too(
    circuits: dict[str, Path], ptau: Path, initial: dict[str, Path], tmp_path: Path
) -> None:
    z1, z2 = tmp_path / "z1.zkey", tmp_path / "z2.zkey"
    contribute_zkey(initial["tiny"], z1, name="alone")
    beacon_zkey(z1, z2, BEACON)
    for key in (z1, z2):
        run_snarkjs(["zkey", "verify", r1cs_of(circuits, "tiny"), ptau, key])
        verify_zkey(r1cs_of(circuits, "tiny"), ptau, key)


# ---------------------------------------------------------------------------------- verification


@pytest.fixture(scope="module")
def snarkjs_final(initial: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """snarkjs's own chain on the tiny circuit: setup, contribute, beacon."""
    d = tmp_path_factory.mktemp("snarkjs_chain")
    z1, z2 = d / "z1.zkey", d / "z2.zkey"
    run_snarkjs(["zkey", "contribute", initial["tiny"], z1, "--name=snarkjs", "-e=entropy"])
    run_snarkjs(["zkey", "beacon", z1, z2, BEACON.hash_hex, "10", "-n=final beacon"])
    return z2


def test_verify_accepts_snarkjs_keys(circuits: dict[str, Path], ptau: Path, snarkjs_final: Path) -> None:
    step = verify_zkey(r1cs_of(circuits, "tiny"), ptau, snarkjs_final)
    assert step.tool == "zkey_fast" and step.circuit_hash is not None
    verify_zkey(r1cs_of(circuits, "tiny"), ptau, snarkjs_final, tool="snarkjs")


def both_refuse(r1cs: Path, ptau: Path, key: Path) -> None:
    with pytest.raises(ZkeyVerificationError):
        verify_zkey(r1cs, ptau, key)
    with pytest.raises(ZkeyVerificationError):
        verify_zkey(r1cs, ptau, key, tool="snarkjs")


@pytest.mark.parametrize("section", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
def test_a_flipped_byte_in_any_section_is_refused_by_both(
    circuits: dict[str, Path], ptau: Path, snarkjs_final: Path, tmp_path: Path, section: int
) -> None:
    data = bytearray(snarkjs_final.read_bytes())
    sid, start, size = next(s for s in sections(bytes(data)) if s[0] == section)
    # the middle of the section; in section 10 (circuit hash, count, contributions), the middle of
    # the first contribution's deltaAfter (see the next test for the bytes no check covers)
    data[start + (64 + 4 + 32 if section == 10 else size // 2)] ^= 0x10
    bad = tmp_path / f"flipped_{section}.zkey"
    bad.write_bytes(bytes(data))
    both_refuse(r1cs_of(circuits, "tiny"), ptau, bad)


def test_contribution_metadata_is_covered_by_no_check_in_either(
    circuits: dict[str, Path], ptau: Path, snarkjs_final: Path, tmp_path: Path
) -> None:
    # snarkjs hashes a contribution as its points and transcript only: the type word (unless it
    # becomes 1, a beacon) and the name are not checked by snarkjs, nor therefore by us.
    data = bytearray(snarkjs_final.read_bytes())
    _, start, _ = next(s for s in sections(bytes(data)) if s[0] == 10)
    first = start + 64 + 4
    type_word = first + 3 * 64 + 128 + 64
    assert data[type_word : type_word + 4] == b"\0\0\0\0"
    name_char = type_word + 4 + 4 + 2  # param 1 (name), its length, then the name
    assert data[name_char : name_char + 7] == b"snarkjs"
    for pos in (type_word + 3, name_char):
        changed = bytearray(data)
        changed[pos] ^= 0x10
        key = tmp_path / f"metadata_{pos}.zkey"
        key.write_bytes(bytes(changed))
        verify_zkey(r1cs_of(circuits, "tiny"), ptau, key)
        verify_zkey(r1cs_of(circuits, "tiny"), ptau, key, tool="snarkjs")


def test_a_key_of_another_circuit_is_refused_by_both(
    circuits: dict[str, Path], ptau: Path, final: dict[str, Path]
) -> None:
    both_refuse(r1cs_of(circuits, "tiny"), ptau, final["wide"])


def test_a_ptau_too_small_for_the_circuit_is_refused_by_both(circuits: dict[str, Path], final: dict[str, Path]) -> None:
    both_refuse(r1cs_of(circuits, "wide"), local_ptau(3)[0], final["wide"])


def test_a_key_made_from_another_ptau_is_refused_by_both(circuits: dict[str, Path], ptau: Path, tmp_path: Path) -> None:
    from prover.ptau import generate_local_ptau

    other = generate_local_ptau(POWER, tmp_path / "other.ptau")
    z0, z1 = tmp_path / "z0.zkey", tmp_path / "z1.zkey"
    new_zkey(r1cs_of(circuits, "tiny"), other, z0)
    contribute_zkey(z0, z1, beacon=BEACON)
    verify_zkey(r1cs_of(circuits, "tiny"), other, z1)
    both_refuse(r1cs_of(circuits, "tiny"), ptau, z1)


# ----------------------------------------------------------------------------------------- API


def test_bad_arguments_are_refused_before_anything_runs(circuits: dict[str, Path], ptau: Path, tmp_path: Path) -> None:
    r1cs = r1cs_of(circuits, "tiny")
    with pytest.raises(ZkeyInputError, match="does not exist"):
        new_zkey(tmp_path / "missing.r1cs", ptau, tmp_path / "x.zkey")
    with pytest.raises(ZkeyInputError, match="output directory"):
        new_zkey(r1cs, ptau, tmp_path / "no" / "x.zkey")
    with pytest.raises(ZkeyInputError, match="differ"):
        new_zkey(r1cs, ptau, ptau)
    with pytest.raises(ZkeyInputError, match="tool"):
        new_zkey(r1cs, ptau, tmp_path / "x.zkey", tool="bellman")  # type: ignore[arg-type]
    for bad in ("", "0x", "abc", "zz", "00" * 256):
        with pytest.raises(ZkeyInputError):
            Beacon(bad)
    for exp in (9, 64, True):
        with pytest.raises(ZkeyInputError):
            Beacon("00", exp)
    with pytest.raises(ZkeyInputError, match="name"):
        contribute_zkey(ptau, tmp_path / "x.zkey", name="é")
    with pytest.raises(ZkeyInputError, match="entropy"):
        contribute_zkey(ptau, tmp_path / "x.zkey", entropy="")


def test_a_file_that_is_not_a_zkey_is_a_tool_error(ptau: Path, tmp_path: Path) -> None:
    with pytest.raises(ZkeyToolError):
        contribute_zkey(ptau, tmp_path / "x.zkey")
    assert not (tmp_path / "x.zkey").exists()


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    for args in (["bogus"], ["new", "a"], ["beacon", "a", "b", "xyz", "10"], ["verify", "a", "b", "c", "--chunk=0"]):
        with pytest.raises(ToolError, match="exit code 2"):
            run_node(zkey_script(), args)


# ---------------------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_default_state_sync_setup_matches_snarkjs_and_both_verifiers_agree(tmp_path: Path) -> None:
    circuit = compile_circuit(load_manifest().spec("state_sync", "default"))
    pot = local_ptau(required_power(circuit))[0]
    ours, theirs, final_key = tmp_path / "ours.zkey", tmp_path / "theirs.zkey", tmp_path / "final.zkey"
    new_zkey(circuit.r1cs, pot, ours)
    run_snarkjs(["groth16", "setup", circuit.r1cs, pot, theirs])
    assert_same_file(ours, theirs)
    contribute_zkey(ours, final_key, beacon=BEACON)
    verify_zkey(circuit.r1cs, pot, final_key)
    verify_zkey(circuit.r1cs, pot, final_key, tool="snarkjs")
