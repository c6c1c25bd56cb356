"""The aggregate quorum mode (docs/PROTOCOL.md section 10): constraints per validator, setup size,
a StateSync proof at V = 1,024, and the two signing rounds in Python.

constraints  HeaderUpdate and StateSync at --O2 for each aggregate preset, beside the per-validator
             mode's default preset; the marginal cost (V=1024 - V=256) / 768, and the setup power
             each needs (2^k > constraints + public signals + 1)
prove        StateSync at aggregate1024 (D = 16, B = 8) with the default warm backend: the witness
             and the proof of the sample header, median of PROOFS after one warm-up, verified
signing      the two rounds (nonces, then partial signatures and their aggregation, each partial
             checked) for 64 signers, run in one Python process: the signers' and the
             aggregator's computation, without the network between them
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from prover.build import compile_circuit
from prover.prove import load_prover
from prover.samples import build_sample_chain, build_sample_inputs
from prover.setup import required_power
from statesync.aggregate import aggregate_partials, generate_nonce, open_session, sign_partial
from statesync.circuits import load_manifest
from statesync.eddsa import verify_poseidon
from statesync.model import SigningPurpose, compute_signing_message

PRESETS: Final = ("aggregate64", "aggregate256", "aggregate1024")
PROVE_PRESET: Final = "aggregate1024"
PROOFS: Final = 2
SIGNERS: Final = 64
GOALS: Final = {"per_validator": 150, "header_update_power": 18, "state_sync_prove_s": 20.0, "signing_s": 2.0}


def _constraints() -> dict[str, Any]:
    manifest = load_manifest()
    rows: list[dict[str, Any]] = []
    for preset in ("default", *PRESETS):
        for circuit in ("header_update", "state_sync"):
            started = time.perf_counter()
            compiled = compile_circuit(manifest.spec(circuit, preset), opt=2)
            rows.append(
                {
                    "circuit": circuit,
                    "preset": preset,
                    "V": manifest.preset(preset)["V"],
                    "Q": manifest.preset(preset)["Q"],
                    "constraints": compiled.non_linear_constraints,
                    "power": required_power(compiled),
                    "compile_s": round(time.perf_counter() - started, 1),
                }
            )
    size = {(r["circuit"], r["preset"]): r for r in rows}
    big, small = size[("header_update", "aggregate1024")], size[("header_update", "aggregate256")]
    per_validator = (big["constraints"] - small["constraints"]) / (big["V"] - small["V"])
    return {
        "rows": rows,
        "per_validator": round(per_validator, 1),
        "per_validator_met": per_validator <= GOALS["per_validator"],
        "header_update_1024_power": big["power"],
        "header_update_1024_power_met": big["power"] <= GOALS["header_update_power"],
    }


def _prove() -> dict[str, Any]:
    prover = load_prover("state_sync", PROVE_PRESET)  # the first run makes the 2^18 keys
    inputs = build_sample_inputs("state_sync", PROVE_PRESET)
    with tempfile.TemporaryDirectory(prefix="zkss-bench-") as scratch:
        first = prover.prove(inputs, Path(scratch) / "warm-up")
        runs = [prover.prove(inputs, Path(scratch) / f"p{i}").seconds for i in range(PROOFS)]
    prove_s = statistics.median(r["prove"] for r in runs)
    return {
        "preset": PROVE_PRESET,
        "constraints": prover.circuit.non_linear_constraints,
        "power": prover.keys.ptau.power,
        "witness_s": round(statistics.median(r["witness"] for r in runs), 2),
        "prove_s": round(prove_s, 2),
        "first_prove_s": round(first.seconds["prove"], 2),
        "goal_s": GOALS["state_sync_prove_s"],
        "met": prove_s <= GOALS["state_sync_prove_s"],
    }


def _signing() -> dict[str, Any]:
    chain = build_sample_chain("aggregate64")
    committee, header = chain.committee, chain.header
    message = compute_signing_message(header)
    trusted = committee.aggregate_set(header.chain_id, int(SigningPurpose.HEADER))
    started = time.perf_counter()
    nonces = {i: generate_nonce() for i in range(SIGNERS)}
    commitments = {i: nonces[i].commitment for i in range(SIGNERS)}
    round_one = time.perf_counter()
    # Each signer recomputes the session (sign_partial does), as does the aggregator.
    partials = {i: sign_partial(committee.private_keys[i], nonces[i], message, trusted, commitments) for i in nonces}
    session = open_session(message, trusted, commitments)
    signature = aggregate_partials(session, partials)
    finished = time.perf_counter()
    if not verify_poseidon(session.aggregate_key, message, signature):
        raise RuntimeError("the aggregate signature does not verify")
    return {
        "signers": SIGNERS,
        "round_one_s": round(round_one - started, 3),
        "round_two_and_aggregation_s": round(finished - round_one, 3),
        "total_s": round(finished - started, 3),
        "over_http": False,
    }


def run() -> dict[str, Any]:
    return {"constraints": _constraints(), "signing": _signing(), "prove": _prove(), "goals": GOALS}
