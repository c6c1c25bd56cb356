"""Proofs on a Dask cluster of two local workers: a catch-up in order, a killed worker, shipped keys."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from prover.farm import FarmError, KeyFile, ProofFarm, describe_key_files, find_key_files, store_key_files
from prover.inputs import build_header_update_inputs
from prover.prove import Prover, load_prover
from prover.samples import build_sample_chain, build_sample_inputs
from prover.witness import CircuitInputs
from statesync.model import Header, compute_header_hash
from verifier.groth16 import load_proof, verify_proof
from verifier.keys import CircuitKey, load_circuit_key
from verifier.light_client import apply_header_proof, initial_state
from verifier.signals import HeaderSignals, decode_signals

PRESET = "test"
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # distributed's port and memory notes


@pytest.fixture(scope="module")
def header_update() -> Prover:
    return load_prover("header_update", PRESET)


@pytest.fixture(scope="module")
def key(header_update: Prover) -> CircuitKey:
    return load_circuit_key(header_update.keys.verification_key, "header_update", PRESET)


@pytest.fixture(scope="module")
def farm() -> Iterator[ProofFarm]:
    with ProofFarm(workers=2) as farm:
        yield farm


def build_catch_up(count: int) -> tuple[Header, list[tuple[Header, CircuitInputs]]]:
    """`count` linked headers after the sample checkpoint, each signed by the whole sample committee."""
    chain = build_sample_chain(PRESET)
    parent = chain.checkpoint
    headers: list[tuple[Header, CircuitInputs]] = []
    for _ in range(count):
        header = replace(
            chain.header,
            number=parent.number + 1,
            parent_hash=compute_header_hash(parent),
            timestamp=parent.timestamp + 12,
        )
        inputs = build_header_update_inputs(
            trusted=parent, commit=chain.committee.sign(header), validator_set=chain.committee.validator_set
        )
        headers.append((header, inputs))
        parent = header
    return chain.checkpoint, headers


def test_a_catch_up_proven_on_two_workers_is_applied_in_order(
    farm: ProofFarm, header_update: Prover, key: CircuitKey, tmp_path: Path
) -> None:
    genesis, headers = build_catch_up(4)
    jobs = [(inputs, tmp_path / f"header-{h.number}") for h, inputs in headers]
    results = farm.prove_all(header_update, jobs)
    assert [r.directory for r in results] == [d for _, d in jobs]
    state = initial_state(genesis, now=genesis.timestamp)
    for (header, _), result in zip(headers, results, strict=True):
        signals = decode_signals("header_update", result.public_signals)
        assert isinstance(signals, HeaderSignals) and signals.number == header.number
        state = apply_header_proof(state, key, load_proof(result.proof_path), signals, header, now=header.timestamp)
    assert state.checkpoint == headers[-1][0]
    assert len(set(farm.worker_pids().values())) == 2


def test_a_worker_killed_mid_proof_costs_a_retry_not_a_result(
    farm: ProofFarm, header_update: Prover, key: CircuitKey, tmp_path: Path
) -> None:
    _, headers = build_catch_up(4)
    before = farm.worker_pids()
    futures = [farm.submit(header_update, inputs) for _, inputs in headers]
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        busy = [address for address, keys in farm.client.processing().items() if keys]
        if len(busy) == 2:
            time.sleep(0.5)  # well inside a proof (seconds at the test preset on one thread)
            victim = busy[0]
        else:
            time.sleep(0.05)
    assert victim is not None, "both workers should be proving"
    os.kill(before[victim], signal.SIGKILL)
    answers = [f.result(timeout=300) for f in futures]
    for (_, _), answer in zip(headers, answers, strict=True):
        public = [int(v) for v in json.loads(answer.public)]
        proof_path = tmp_path / f"{len(list(tmp_path.iterdir()))}.json"
        proof_path.write_text(answer.proof)
        assert verify_proof(key.key, load_proof(proof_path), public)
    assert before[victim] not in farm.worker_pids().values()  # the Nanny started a new worker


def test_shipped_key_files_are_checked_and_kept_by_content(header_update: Prover, tmp_path: Path) -> None:
    files = describe_key_files(header_update)
    moved = replace(files, zkey=KeyFile(str(tmp_path / "gone.zkey"), files.zkey.sha256))
    os.environ["ZKSTATESYNC_BUILD"] = str(tmp_path / "worker-build")
    try:
        assert find_key_files(moved) is None  # neither at the client's path nor in this machine's cache
        good = {
            "circuit.zkey": Path(files.zkey.path).read_bytes(),
            "main.wasm": Path(files.wasm.path).read_bytes(),
            "witness_calculator.js": Path(files.witness_js.path).read_bytes(),
        }
        with pytest.raises(FarmError, match="shipped circuit.zkey .* does not have sha256"):
            store_key_files(moved, {**good, "circuit.zkey": good["circuit.zkey"][:-1] + b"\x00"})
        assert not (tmp_path / "worker-build" / "farm" / moved.digest).exists()
        wasm, zkey = store_key_files(moved, good)
        assert zkey.read_bytes() == good["circuit.zkey"] and (wasm.parent / "witness_calculator.js").is_file()
        assert find_key_files(moved) == (wasm, zkey)
    finally:
        del os.environ["ZKSTATESYNC_BUILD"]


def test_workers_without_the_files_get_them_shipped(header_update: Prover, key: CircuitKey, tmp_path: Path) -> None:
    # Workers that do not share the client's filesystem (ship_keys): the farm ships the key files
    # once, and the worker keeps them under its own build root by content.
    worker_build = tmp_path / "worker-build"
    with ProofFarm(workers=1, worker_env={"ZKSTATESYNC_BUILD": str(worker_build)}, ship_keys=True) as farm:
        files = describe_key_files(header_update)
        answer = farm.submit(header_update, build_sample_inputs("header_update", PRESET)).result(timeout=300)
    stored = worker_build / "farm" / files.digest
    assert (stored / "complete").is_file()
    assert (stored / "circuit.zkey").read_bytes() == header_update.keys.zkey.read_bytes()
    proof_path = tmp_path / "proof.json"
    proof_path.write_text(answer.proof)
    public = [int(v) for v in json.loads(answer.public)]
    assert verify_proof(key.key, load_proof(proof_path), public)
