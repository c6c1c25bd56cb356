"""Helpers shared by the verifier's tests and benchmark (after prover/testing.py).

A tiny snarkjs fixture (circuit, 2^8 ceremony, proof) built in a caller-given directory,
and points on the G2 twist outside the order-r subgroup. Never imported by the verifier.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from prover.toolchain import project_root, run_circom, run_snarkjs

from .bn254 import G2Point, Q
from .bn254.curve import B2
from .bn254.fields import Fp2, fp2_add, fp2_mul, fp2_sqr

# Three public signals (the output z, then the inputs x and y) and one private witness w,
# with a circomlib include so the fixture exercises `-l node_modules` like real circuits.
TINY_CIRCUIT = """pragma circom 2.1.0;
include "circomlib/circuits/comparators.circom";

template Tiny() {
    signal input x;
    signal input y;
    signal input w;
    signal output z;
    signal t <== w * w;
    z <== t * x + y;
    // w != 0, so the circuit uses a gadget from circomlib.
    signal wIsZero <== IsZero()(w);
    wIsZero === 0;
}

component main {public [x, y]} = Tiny();
"""

TINY_INPUT = {"x": "3", "y": "11", "w": "7"}


@dataclass(frozen=True)
class SnarkjsFixture:
    directory: Path
    verification_key: Path
    proof: Path
    public: Path


def build_fixture(directory: Path, *, power: int = 8) -> SnarkjsFixture:
    """Compile the tiny circuit, run a 2^power ceremony and prove TINY_INPUT with snarkjs."""
    d = Path(directory)
    build = d / "build"
    build.mkdir(parents=True, exist_ok=True)  # circom2 does not create its output directory
    (d / "tiny.circom").write_text(TINY_CIRCUIT)
    (d / "input.json").write_text(json.dumps(TINY_INPUT))
    node_modules = project_root() / "node_modules"
    run_circom([d / "tiny.circom", "--r1cs", "--wasm", "--sym", "-l", node_modules, "-o", build])
    run_snarkjs(["powersoftau", "new", "bn128", str(power), d / "pot0.ptau"])
    run_snarkjs(["powersoftau", "contribute", d / "pot0.ptau", d / "pot1.ptau", "--name=bench", "-e=tau"])
    run_snarkjs(["powersoftau", "prepare", "phase2", d / "pot1.ptau", d / "pot.ptau"])
    run_snarkjs(["groth16", "setup", build / "tiny.r1cs", d / "pot.ptau", d / "tiny0.zkey"])
    run_snarkjs(["zkey", "contribute", d / "tiny0.zkey", d / "tiny.zkey", "--name=bench", "-e=delta"])
    vk, proof, public = d / "verification_key.json", d / "proof.json", d / "public.json"
    run_snarkjs(["zkey", "export", "verificationkey", d / "tiny.zkey", vk])
    wasm = build / "tiny_js" / "tiny.wasm"
    run_snarkjs(["groth16", "fullprove", d / "input.json", wasm, d / "tiny.zkey", proof, public])
    return SnarkjsFixture(d, vk, proof, public)


def sqrt_fp(a: int) -> int | None:
    s = pow(a, (Q + 1) // 4, Q)  # q = 3 mod 4
    return s if s * s % Q == a % Q else None


def sqrt_fp2(a: Fp2) -> Fp2 | None:
    # sqrt(a0 + a1 u): the norm a0^2 + a1^2 is a square n^2, and x0^2 = (a0 +- n) / 2.
    a0, a1 = a
    n = sqrt_fp((a0 * a0 + a1 * a1) % Q)
    if n is None:
        return None
    half = pow(2, -1, Q)
    for c in ((a0 + n) * half % Q, (a0 - n) * half % Q):
        x0 = sqrt_fp(c)
        if x0 is None:
            continue
        candidate = (x0, a1 * pow(2 * x0, -1, Q) % Q) if x0 else (0, sqrt_fp(-a0 % Q) or 0)
        if fp2_sqr(candidate) == (a0 % Q, a1 % Q):
            return candidate
    return None


def random_twist_point(rng: random.Random) -> G2Point:
    """A point on the twist E'(Fp2), not multiplied by the cofactor: almost never in G2."""
    while True:
        x = (rng.randrange(Q), rng.randrange(Q))
        y = sqrt_fp2(fp2_add(fp2_mul(fp2_sqr(x), x), B2))
        if y is not None:
            return (x, y)
