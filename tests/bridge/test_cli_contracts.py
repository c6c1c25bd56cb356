"""`zkstatesync solidity` and `zkstatesync deploy` (make solidity, make deploy) at the test preset."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.chain.stack import DEPLOYED_CIRCUITS as VERIFIER_CIRCUITS
from prover.prove import load_prover
from prover.setup import export_solidity_verifier

from .conftest import run_cli

PRESET = "test"
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
DEPLOYED = (
    "StateSender",
    "RootBridge",
    *(f"{c} verifier" for c in VERIFIER_CIRCUITS),
    "ZkStateReceiver",
    "ChildToken",
    "ZkCheckpointManager",
    "ZkExitHelper",
    "L2StateSender",
)


def test_solidity_exports_the_verifiers_and_compiles_every_contract() -> None:
    result = run_cli("solidity", "--preset", PRESET)
    assert result.returncode == 0, result.stderr
    for circuit in VERIFIER_CIRCUITS:
        assert f"source:   {export_solidity_verifier(load_prover(circuit, PRESET).keys)}" in result.stdout
    assert "ZkStateReceiver.sol:ZkStateReceiver" in result.stdout
    compiled = [Path(line.split("compiled: ", 1)[1]) for line in result.stdout.splitlines() if "compiled: " in line]
    assert len(compiled) == len(VERIFIER_CIRCUITS) + 1  # each verifier alone, then the project's contracts
    assert all(path.is_file() for path in compiled)


@pytest.mark.parametrize("chain", ["pyevm", pytest.param("anvil", marks=pytest.mark.anvil)])
def test_deploy_prints_the_address_and_gas_of_every_contract(chain: str) -> None:
    result = run_cli("deploy", "--chain", chain, "--preset", PRESET)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in DEPLOYED:
        (line,) = [line for line in lines if f" {name} " in line]
        assert ADDRESS.search(line) and re.search(r"gas +[\d,]+$", line), line


def test_deploy_refuses_an_unknown_chain_in_one_line() -> None:
    result = run_cli("deploy", "--chain", "mainnet", "--preset", PRESET)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: unknown chain 'mainnet'; choose one of pyevm, anvil"]
    assert result.stdout == ""
