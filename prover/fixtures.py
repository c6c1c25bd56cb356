"""A reference proof made by snarkjs alone, for the verifiers' tests and benchmark.

Tiny() (circuits/test/tiny.circom) is compiled by the one build pipeline; its keys come from
snarkjs's own ceremony commands (powersoftau new / contribute / prepare phase2, groth16
setup, zkey contribute), not from this project's fast setup, so a verifier tested on them is
tested against snarkjs itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from statesync.circuits import load_manifest

from .build import compile_circuit
from .toolchain import run_snarkjs

TINY_INPUT = {"x": "3", "y": "11", "w": "7"}


@dataclass(frozen=True)
class SnarkjsFixture:
    directory: Path
    verification_key: Path
    proof: Path
    public: Path


def build_fixture(directory: Path, *, power: int = 8) -> SnarkjsFixture:
    """Run a 2^power snarkjs ceremony for Tiny() in `directory` and prove TINY_INPUT with snarkjs."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    compiled = compile_circuit(load_manifest().spec("tiny", "test"))
    (d / "input.json").write_text(json.dumps(TINY_INPUT))
    run_snarkjs(["powersoftau", "new", "bn128", str(power), d / "pot0.ptau"])
    run_snarkjs(["powersoftau", "contribute", d / "pot0.ptau", d / "pot1.ptau", "--name=bench", "-e=tau"])
    run_snarkjs(["powersoftau", "prepare", "phase2", d / "pot1.ptau", d / "pot.ptau"])
    run_snarkjs(["groth16", "setup", compiled.r1cs, d / "pot.ptau", d / "tiny0.zkey"])
    run_snarkjs(["zkey", "contribute", d / "tiny0.zkey", d / "tiny.zkey", "--name=bench", "-e=delta"])
    vk, proof, public = d / "verification_key.json", d / "proof.json", d / "public.json"
    run_snarkjs(["zkey", "export", "verificationkey", d / "tiny.zkey", vk])
    run_snarkjs(["groth16", "fullprove", d / "input.json", compiled.wasm, d / "tiny.zkey", proof, public])
    return SnarkjsFixture(d, vk, proof, public)
