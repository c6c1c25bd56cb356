"""The chain backends (py-evm, anvil), the pinned Solidity build and the deploy helpers."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest
from eth_utils.crypto import keccak
from web3 import Web3

from bridge.chain.chains import ANVIL_ENV, Chain, anvil_executable, open_chain, run_anvil
from bridge.chain.deploy import (
    Deployed,
    TransactionReverted,
    call,
    decode_events,
    deploy,
    transact,
)
from bridge.chain.solc import (
    CompiledContract,
    CompileError,
    CompilerSettings,
    ContractNotFoundError,
    compile_sources,
)
from bridge.testing import OpenVerifier, prove_open
from statesync.errors import ToolError
from statesync.field import R

PROBE = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

contract Probe {
    error Custom(uint256 code, address who);
    event Ping(uint256 indexed a, string indexed tag, bytes payload);

    uint256 public stored;

    function set(uint256 x) external { stored = x; }
    function custom() external pure { revert Custom(7, address(0xbeef)); }
    function message() external pure { revert("nope"); }
    function divide(uint256 x) external pure returns (uint256) { return 10 / x; }
    function burn() external pure { assembly { invalid() } }
    function pair(uint256 a) external view returns (uint256, address) { return (a + 1, msg.sender); }
    function ping(uint256 a, string calldata tag, bytes calldata payload) external { emit Ping(a, tag, payload); }
}
"""


@pytest.fixture(scope="module")
def probe_contract() -> CompiledContract:
    return compile_sources({"Probe.sol": PROBE}).get("Probe")


@pytest.fixture(scope="module")
def probe(chain: Chain, probe_contract: CompiledContract) -> Deployed:
    return deploy(chain, probe_contract)


# ---------------------------------------------------------------------------------------------
# Both backends, one interface


def test_transactions_and_calls_round_trip(chain: Chain, probe: Deployed) -> None:
    receipt = transact(chain, probe, "set", 5, gas=100_000)
    assert receipt.success and 21_000 < receipt.gas_used < 100_000
    assert call(chain, probe, "stored") == 5
    assert call(chain, probe, "pair", 1, sender=chain.accounts[3]) == (2, chain.accounts[3])
    assert probe.receipt.contract_address == probe.address


@pytest.mark.parametrize(
    ("function", "args", "name", "decoded"),
    [
        ("custom", (), "Custom", (7, Web3.to_checksum_address("0x" + "00" * 18 + "be" + "ef"))),
        ("message", (), "Error", ("nope",)),
        ("divide", (0,), "Panic", (0x12,)),
        ("burn", (), None, ()),
    ],
)
def test_reverts_are_decoded_alike_on_both_chains(
    chain: Chain, probe: Deployed, function: str, args: tuple[int, ...], name: str | None, decoded: tuple[object, ...]
) -> None:
    with pytest.raises(TransactionReverted) as sent:
        transact(chain, probe, function, *args, gas=100_000)
    assert (sent.value.reason.name, sent.value.reason.args) == (name, decoded)
    assert sent.value.receipt is not None and not sent.value.receipt.success
    if name is None:  # INVALID consumes all the gas given
        assert sent.value.receipt.gas_used == 100_000
    with pytest.raises(TransactionReverted) as called:
        call(chain, probe, function, *args)
    assert called.value.reason == sent.value.reason and called.value.receipt is None


def test_events_are_decoded_with_indexed_values(chain: Chain, probe: Deployed) -> None:
    receipt = transact(chain, probe, "ping", 3, "tag", b"payload")
    (event,) = decode_events(probe, receipt)
    # An indexed string is stored as its keccak: the topic is all there is.
    assert event == type(event)("Ping", probe.address, {"a": 3, "tag": keccak(text="tag"), "payload": b"payload"})
    assert decode_events(probe, receipt, "Other") == ()


def test_snapshots_bring_the_state_back(chain: Chain, probe: Deployed) -> None:
    transact(chain, probe, "set", 1)
    snapshot = chain.snapshot()
    transact(chain, probe, "set", 2)
    chain.revert_to(snapshot)
    assert call(chain, probe, "stored") == 1
    again = chain.snapshot()
    transact(chain, probe, "set", 3)
    chain.revert_to(again)
    assert call(chain, probe, "stored") == 1


@pytest.mark.anvil
def test_both_chains_charge_the_same_gas(probe_contract: CompiledContract) -> None:
    used = {}
    for kind in ("pyevm", "anvil"):
        with open_chain(kind) as chain:
            deployed = deploy(chain, probe_contract)
            used[kind] = (
                deployed.receipt.gas_used,
                transact(chain, deployed, "set", 12345).gas_used,
                transact(chain, deployed, "ping", 3, "tag", b"\x00\x01" * 40).gas_used,
            )
    assert used["pyevm"] == used["anvil"]


def test_open_proofs_verify_for_their_signals_only(open_verifiers: dict[int, OpenVerifier], chain: Chain) -> None:
    # The stand-in circuits of the contract tests are genuine: a proof is bound to its signals.
    from bridge.testing import compile_open_verifier

    verifier = deploy(chain, compile_open_verifier(open_verifiers[3]))
    (proof,) = prove_open(open_verifiers[3], [[1, 2, R - 1]])
    words = (proof.a, proof.b, proof.c)
    assert call(chain, verifier, "verifyProof", *words, [1, 2, R - 1], gas=1_000_000) is True
    assert call(chain, verifier, "verifyProof", *words, [1, 2, R - 2], gas=1_000_000) is False
    assert call(chain, verifier, "verifyProof", *words, [1 + R, 2, R - 1], gas=1_000_000) is False
    with pytest.raises(ValueError):
        prove_open(open_verifiers[3], [[1, 2, R]])


# ---------------------------------------------------------------------------------------------
# anvil's process


def _port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.anvil
def test_anvil_answers_inside_the_context_and_is_gone_after() -> None:
    with run_anvil() as chain:
        port = urlparse(str(chain.web3.provider.endpoint_uri)).port  # type: ignore[attr-defined]
        assert port is not None and _port_is_open(port)
        assert chain.kind == "anvil" and len(chain.accounts) == 10
        assert chain.web3.eth.chain_id == 31337
    assert not _port_is_open(port)


def test_a_missing_anvil_is_a_clear_tool_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ToolError, match="cannot start anvil"), run_anvil(tmp_path / "anvil"):
        pass
    monkeypatch.setenv(ANVIL_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ToolError, match=ANVIL_ENV):
        anvil_executable()


def test_an_anvil_that_dies_at_start_is_a_tool_error_with_its_stderr(tmp_path: Path) -> None:
    broken = tmp_path / "anvil"
    broken.write_text("#!/bin/sh\necho 'cannot bind' >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(ToolError, match="exited with code 3") as caught, run_anvil(broken):
        pass
    assert "cannot bind" in caught.value.stderr


# ---------------------------------------------------------------------------------------------
# The Solidity build


def test_builds_are_cached_by_content(tmp_path: Path) -> None:
    source = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract K { uint256 public k; }\n"
    first = compile_sources({"K.sol": source}, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1
    assert compile_sources({"K.sol": source}, cache_dir=tmp_path) == first
    assert len(list(tmp_path.glob("*.json"))) == 1
    changed = compile_sources({"K.sol": source + "// a comment changes the metadata hash\n"}, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 2
    assert changed.get("K").abi == first.get("K").abi and changed.get("K").bytecode != first.get("K").bytecode
    assert first.compiler.startswith("0.8.37") and first.warnings == ()


def test_the_evm_version_is_pinned() -> None:
    # tstore exists from Cancun on: refused under the pinned paris, accepted when asked for.
    source = {"T.sol": "pragma solidity ^0.8.24; contract T { function f() external { assembly { tstore(0, 1) } } }"}
    with pytest.raises(CompileError, match="tstore"):
        compile_sources(source)
    assert compile_sources(source, settings=CompilerSettings(evm_version="cancun")).get("T").bytecode


def test_compile_errors_and_unknown_contracts_are_reported() -> None:
    with pytest.raises(CompileError) as caught:
        compile_sources({"Bad.sol": "pragma solidity ^0.8.24; contract Bad { function }"})
    assert any("ParserError" in e for e in caught.value.errors)
    twice = "pragma solidity ^0.8.24; contract C {}"
    build = compile_sources({"A.sol": twice, "B.sol": twice})
    with pytest.raises(ContractNotFoundError, match="ambiguous"):
        build.get("C")
    assert build.get("B.sol:C").source == "B.sol"
    with pytest.raises(ContractNotFoundError, match="is not among"):
        build.get("D")
