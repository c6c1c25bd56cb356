"""Benchmark of the Python Groth16 verifier against `snarkjs groth16 verify`.

`run()` builds the tiny snarkjs fixture of prover.fixtures in a temporary directory (~10 s
at 2^8), then reports the median time of a full verification and of its parts.

    .venv/bin/python -m bench.bench_verifier
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from prover.fixtures import build_fixture
from prover.toolchain import run_snarkjs
from verifier.bn254 import (
    R,
    compute_lines,
    final_exponentiation,
    g1_linear_combination,
    g1_neg,
    is_in_g2,
    miller_loop,
)
from verifier.groth16 import (
    load_proof,
    load_public_inputs,
    load_verifying_key,
    prepare_verifying_key,
    verify_proof,
)


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(repeats: int = 21) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="bench-verifier-") as tmp:
        fixture = build_fixture(Path(tmp))
        vk = load_verifying_key(fixture.verification_key)
        proof = load_proof(fixture.proof)
        public = load_public_inputs(fixture.public)

        start = time.perf_counter()
        pvk = prepare_verifying_key(vk)
        prepare_s = time.perf_counter() - start
        if not verify_proof(pvk, proof, public):
            raise RuntimeError("the benchmark's honest proof does not verify")

        # The parts of one verification, each timed alone.
        if proof.a is None or proof.b is None:
            raise RuntimeError("the benchmark's proof has a point at infinity")
        b_point, a_neg = proof.b, g1_neg(proof.a)
        terms = list(zip(vk.ic[1:], public, strict=True))
        vk_x = g1_linear_combination(vk.ic[0], terms)
        b_lines = compute_lines(b_point)
        triples = [(a_neg, b_lines), (vk_x, pvk.gamma_lines), (proof.c, pvk.delta_lines)]
        f = miller_loop(triples)

        # The fixture's inputs are small; real ones (hashes, roots) are full 254-bit scalars.
        rng = random.Random(1)
        full_terms = [(p, rng.randrange(R)) for p in vk.ic[1:]]

        result: dict[str, float | int] = {
            "public_inputs": len(public),
            "repeats": repeats,
            "prepare_key_s": prepare_s,
            "verify_median_s": _median_seconds(lambda: verify_proof(pvk, proof, public), repeats),
            "load_proof_median_s": _median_seconds(lambda: load_proof(fixture.proof), repeats),
            "g2_subgroup_check_median_s": _median_seconds(lambda: is_in_g2(b_point), repeats),
            "vk_x_median_s": _median_seconds(lambda: g1_linear_combination(vk.ic[0], terms), repeats),
            "vk_x_254bit_inputs_median_s": _median_seconds(
                lambda: g1_linear_combination(vk.ic[0], full_terms), repeats
            ),
            "b_lines_median_s": _median_seconds(lambda: compute_lines(b_point), repeats),
            "miller_loop_3_pairs_median_s": _median_seconds(lambda: miller_loop(triples), repeats),
            "final_exponentiation_median_s": _median_seconds(lambda: final_exponentiation(f), repeats),
        }
        cli = [fixture.verification_key, fixture.public, fixture.proof]
        result["snarkjs_cli_verify_median_s"] = _median_seconds(lambda: run_snarkjs(["groth16", "verify", *cli]), 5)
        return result


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
