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
http         the same two rounds as the bridge runs them: 64 validator processes on loopback (one
             anvil with a StateSender), the relayer's AggregateCollector asking them over HTTP for
             a chain of HTTP_HEADERS new headers; each header's time from the first nonce request
             to the checked aggregate (round one includes every validator's checks against its
             node and its slashing record)
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from web3.types import RPCEndpoint

from bridge.chain.chains import Chain, chain_url, run_anvil
from bridge.chain.deploy import Deployed, deploy, transact
from bridge.chain.solc import compile_directory
from bridge.config import (
    DEFAULT_POLL_INTERVAL,
    RootchainConfig,
    build_aggregate_sets,
    build_proposal_rules,
    circuits_config,
    compute_configured_set_hash,
)
from bridge.relayer.aggregating import ROUND_ONE_GRACE, AggregateCollector
from bridge.relayer.signing import ValidatorEndpoint
from bridge.rootchain import RootchainReader
from bridge.rpc import FailoverRpc
from bridge.validator.local import make_local_network
from bridge.validator.process import spawn_validator, stop_validator, wait_until_ready
from prover.build import compile_circuit
from prover.prove import load_prover
from prover.samples import build_sample_chain, build_sample_inputs
from prover.setup import required_power
from statesync.aggregate import aggregate_partials, generate_nonce, open_session, sign_partial
from statesync.circuits import load_manifest
from statesync.eddsa import verify_poseidon
from statesync.model import SigningPurpose, StateSyncEvent, compute_signing_message
from statesync.proposal import RootBlock, derive_header, state_sync_events

PRESETS: Final = ("aggregate64", "aggregate256", "aggregate1024")
PROVE_PRESET: Final = "aggregate1024"
PROOFS: Final = 2
SIGNERS: Final = 64
HTTP_HEADERS: Final = 5
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


def _signing_over_http() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="zkss-bench-") as scratch, run_anvil() as root:
        directory = Path(scratch)
        sender = deploy(root, compile_directory().get("StateSender"))
        head = int(root.web3.eth.block_number)
        network = make_local_network(
            directory,
            rootchain=RootchainConfig(
                chain_id=int(root.web3.eth.chain_id),
                rpc=(chain_url(root),),
                state_sender=sender.address,
                confirmations=1,
                max_range=64,
            ),
            circuits=circuits_config("aggregate64"),
            genesis_block=_root_block(root, head),
            powers=[1] * SIGNERS,
            seed=b"bench aggregate signing",
            work_factor=2**10,
            poll_interval=DEFAULT_POLL_INTERVAL,  # a node's default: 64 nodes polling twice a second load anvil
        )
        config, genesis = network.config, network.config.genesis
        if genesis is None:
            raise RuntimeError("the local network has no genesis")
        rules, set_hash = build_proposal_rules(config), compute_configured_set_hash(config)
        started = time.perf_counter()
        processes = [
            spawn_validator(v.config_path, v.url, directory / f"{v.name}.log", v.env) for v in network.validators
        ]
        try:
            for process in processes:
                wait_until_ready(process, timeout=300.0)
            start_s = time.perf_counter() - started
            endpoints = [
                ValidatorEndpoint(slot, v.name, v.url, 1, v.public_key) for slot, v in enumerate(network.validators)
            ]
            sets = build_aggregate_sets(config)
            # The relayer's collector (round one waits ROUND_ONE_GRACE past a quorum), and one that waits
            # for all 64, alternating header by header.
            collectors = {
                grace_name: AggregateCollector(
                    endpoints,
                    sets,
                    request_timeout=30.0,
                    deadline=60.0,
                    attempts=2,
                    stopping=threading.Event(),
                    grace=grace,
                )
                for grace_name, grace in (("quorum", ROUND_ONE_GRACE), ("all", 60.0))
            }
            parent = genesis
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in collectors}
            for index in range(2 * HTTP_HEADERS):
                transact(root, sender, "syncState", root.accounts[1], b"bench")
                root.web3.provider.make_request(RPCEndpoint("anvil_mine"), [hex(2)])
                end = _root_block(root, int(root.web3.eth.block_number) - 1)
                events = _events_between(root, sender, parent.number, end.number)
                header = derive_header(parent, end, events, rules, set_hash)
                name = ("quorum", "all")[index % 2]
                began = time.perf_counter()
                signed = collectors[name].collect(header, parent)
                seconds = time.perf_counter() - began
                if signed.sessions != 1:
                    raise RuntimeError(f"header {header.number}: {signed.sessions} sessions")
                runs[name].append(
                    {
                        "s": round(seconds, 3),
                        "round_one_s": round(signed.round_one_s, 3),
                        "round_two_s": round(signed.round_two_s, 3),
                        "signers": len(signed.signers),
                    }
                )
                parent = header
        finally:
            for process in processes:
                stop_validator(process)
    # The first header of each warms the relayer's own code paths: left out of the medians.
    summary = {
        name: {
            "runs": rows,
            "median_s": round(statistics.median(r["s"] for r in rows[1:]), 3),
            "median_signers": statistics.median(r["signers"] for r in rows[1:]),
        }
        for name, rows in runs.items()
    }
    median = summary["quorum"]["median_s"]
    return {
        "validators": SIGNERS,
        "headers": HTTP_HEADERS,
        **summary,
        "median_s": median,
        "processes_start_s": round(start_s, 1),
        "goal_s": GOALS["signing_s"],
        "met": median <= GOALS["signing_s"],
    }


def _root_block(root: Chain, number: int) -> RootBlock:
    block = root.web3.eth.get_block(number)
    return RootBlock(number, int.from_bytes(bytes(block["hash"]), "big"), int(block["timestamp"]))


def _events_between(root: Chain, sender: Deployed, after: int, last: int) -> Sequence[StateSyncEvent]:
    logs = RootchainReader(
        FailoverRpc("rootchain", (chain_url(root),), int(root.web3.eth.chain_id), 10.0), sender.address
    )
    return state_sync_events([p.event for p in logs.read_range(after, last).events])


def run() -> dict[str, Any]:
    return {
        "constraints": _constraints(),
        "signing": _signing(),
        "http": _signing_over_http(),
        "prove": _prove(),
        "goals": GOALS,
    }
