"""The warm prover: every product circuit proven and checked twice, restarts, deadlines and bad input."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from prover.prove import Prover, load_prover
from prover.samples import build_sample_inputs
from prover.toolchain import run_snarkjs
from prover.warm import BACKENDS, Backend, ProverTimeout, WarmProver, check_backend
from prover.witness import WitnessError
from statesync.errors import ZkStateSyncError
from verifier.groth16 import load_proof, verify_proof
from verifier.keys import load_circuit_key

PRESET = "test"
PRODUCT = ("header_update", "event_inclusion", "state_sync", "header_chain", "checkpoint_update")


@pytest.fixture(scope="module")
def state_sync() -> Prover:
    return load_prover("state_sync", PRESET)


def check_both_verifiers(prover: Prover, directory: Path) -> tuple[int, ...]:
    key = load_circuit_key(prover.keys.verification_key, prover.circuit.spec.circuit, PRESET)
    public = tuple(int(v) for v in json.loads((directory / "public.json").read_text()))
    assert verify_proof(key.key, load_proof(directory / "proof.json"), public)
    run_snarkjs(
        ["groth16", "verify", prover.keys.verification_key, directory / "public.json", directory / "proof.json"]
    )
    return public


@pytest.mark.parametrize("circuit", PRODUCT)
def test_each_backend_proves_each_circuit_and_both_verifiers_accept(circuit: str, tmp_path: Path) -> None:
    prover = load_prover(circuit, PRESET)
    inputs = build_sample_inputs(circuit, PRESET)
    publics: list[tuple[int, ...]] = []
    for backend in (*BACKENDS, *BACKENDS):
        result = prover.prove(inputs, tmp_path / f"{backend}-{len(publics)}", backend=backend)
        publics.append(check_both_verifiers(prover, result.directory))
        proof = json.loads(result.proof_path.read_text())
        assert proof["protocol"] == "groth16" and proof["curve"] == "bn128"
    assert len(set(publics)) == 1  # the same statement, whichever engine proved it


@pytest.mark.slow
def test_both_backends_prove_state_sync_at_the_default_preset(tmp_path: Path) -> None:
    # The size the speed goal is set at (2^17): the engine's windows and jobs differ from the test preset's.
    prover = load_prover("state_sync", "default")
    inputs = build_sample_inputs("state_sync", "default")
    key = load_circuit_key(prover.keys.verification_key, prover.circuit.spec.circuit, "default")
    publics = set()
    for backend in BACKENDS:
        result = prover.prove(inputs, tmp_path / backend, backend=backend)
        public = tuple(int(v) for v in json.loads(result.public_path.read_text()))
        assert verify_proof(key.key, load_proof(result.proof_path), public)
        run_snarkjs(["groth16", "verify", prover.keys.verification_key, result.public_path, result.proof_path])
        publics.add(public)
    assert len(publics) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_proofs_of_one_witness_differ(state_sync: Prover, backend: Backend, tmp_path: Path) -> None:
    inputs = build_sample_inputs("state_sync", PRESET)
    first = state_sync.prove(inputs, tmp_path / "a", backend=backend)
    second = state_sync.prove(inputs, tmp_path / "b", backend=backend)
    # r and s come from the OS CSPRNG for each proof: equal proofs would leak the witness's blinding.
    a, b = first.proof_json(), second.proof_json()
    assert a["pi_a"] != b["pi_a"] and a["pi_b"] != b["pi_b"] and a["pi_c"] != b["pi_c"]
    assert first.public_signals == second.public_signals


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_prover_killed_mid_proof_is_restarted_and_the_job_retried(
    state_sync: Prover, backend: Backend, tmp_path: Path
) -> None:
    inputs = build_sample_inputs("state_sync", PRESET)
    with WarmProver.for_keys(state_sync.circuit, state_sync.keys, backend=backend) as warm:
        warm.start()
        first_pid = warm.pid
        assert first_pid is not None

        def kill_soon() -> None:
            time.sleep(0.05)
            os.killpg(first_pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_soon)
        killer.start()
        (tmp_path / "out").mkdir()
        warm.prove_into(inputs, tmp_path / "out")
        killer.join()
        assert warm.restarts == 1 and warm.pid not in (None, first_pid)
        check_both_verifiers(state_sync, tmp_path / "out")


def test_a_proof_past_its_deadline_stops_the_process_and_the_next_one_works(state_sync: Prover, tmp_path: Path) -> None:
    inputs = build_sample_inputs("state_sync", PRESET)
    (tmp_path / "out").mkdir()
    with WarmProver.for_keys(state_sync.circuit, state_sync.keys, backend="snarkjs") as warm:
        warm.start()
        pid = warm.pid
        with pytest.raises(ProverTimeout, match="ran past its deadline"):
            warm.prove_into(inputs, tmp_path / "out", timeout=0.01)
        assert warm.pid is None and pid is not None
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)  # the whole group is gone
        warm.prove_into(inputs, tmp_path / "out", timeout=120)
        check_both_verifiers(state_sync, tmp_path / "out")


@pytest.mark.parametrize("backend", BACKENDS)
def test_inputs_that_do_not_fit_or_fail_an_assert_are_a_witness_error(
    state_sync: Prover, backend: Backend, tmp_path: Path
) -> None:
    inputs = dict(build_sample_inputs("state_sync", PRESET))
    warm = WarmProver.for_keys(state_sync.circuit, state_sync.keys, backend=backend)
    with warm:
        with pytest.raises(WitnessError, match="do not fit") as unfit:
            warm.prove_into({**inputs, "noSuchSignal": 1}, tmp_path)
        assert not unfit.value.is_constraint_failure
        signed = list(inputs["signed"])  # type: ignore[arg-type]
        with pytest.raises(WitnessError, match="assert failed in template") as failed:
            warm.prove_into({**inputs, "signed": [0] * len(signed)}, tmp_path)
        assert failed.value.is_constraint_failure
        pid = warm.pid
        warm.prove_into(inputs, tmp_path)  # the same process goes on
        assert warm.pid == pid and warm.restarts == 0
    assert not (tmp_path / "proof.json.tmp").exists()


def test_each_failure_names_its_own_template_after_an_earlier_one(state_sync: Prover, tmp_path: Path) -> None:
    # circom's calculator keeps every failed assert's text: a reused instance named the old template.
    inputs = dict(build_sample_inputs("state_sync", PRESET))
    trusted = inputs["trustedHeaderHash"]
    assert isinstance(trusted, int)
    wrong_link = {**inputs, "trustedHeaderHash": trusted + 1}
    signed = list(inputs["signed"])  # type: ignore[arg-type]
    with WarmProver.for_keys(state_sync.circuit, state_sync.keys) as fresh, pytest.raises(WitnessError) as alone:
        fresh.prove_into(wrong_link, tmp_path)
    with WarmProver.for_keys(state_sync.circuit, state_sync.keys) as warm:
        with pytest.raises(WitnessError) as first:
            warm.prove_into({**inputs, "signed": [0] * len(signed)}, tmp_path)
        with pytest.raises(WitnessError) as second:
            warm.prove_into(wrong_link, tmp_path)
    assert first.value.template != alone.value.template
    assert (second.value.template, second.value.line) == (alone.value.template, alone.value.line)


def test_an_unknown_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ZkStateSyncError, match="unknown prover backend 'rapidsnark'"):
        check_backend("rapidsnark")
    monkeypatch.setenv("ZKSTATESYNC_PROVER_BACKEND", "gnark")
    with pytest.raises(ZkStateSyncError, match="choose one of fast, snarkjs"):
        WarmProver("x", Path("main.wasm"), Path("circuit.zkey"))
    monkeypatch.delenv("ZKSTATESYNC_PROVER_BACKEND")
    assert WarmProver("x", Path("main.wasm"), Path("circuit.zkey")).backend == "fast"
