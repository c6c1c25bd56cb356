"""`zkstatesync deploy --config`: both sides deployed to chains given by URL, recorded in the network file.

The chains are two anvil nodes this module starts; the deployer is a fresh key (not one of
anvil's unlocked accounts), so every transaction is signed by the CLI and sent raw, as it would
be to a public testnet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3
from web3.types import Wei

from bridge.chain.chains import Chain, chain_url, run_anvil
from bridge.config import ChildConfig, CircuitsConfig, NetworkConfig, RootchainConfig, load_network_config
from bridge.deployment import DEFAULT_KEY_ENV
from bridge.relayer.settings import load_relayer_config
from bridge.validator.local import make_local_network
from statesync.circuits import load_manifest
from statesync.model import compute_checkpoint_hash, compute_header_hash

pytestmark = pytest.mark.anvil

PRESET = "test"
CHILD_CHAIN_ID = 1002
CONFIRMATIONS = 3


@dataclass(frozen=True)
class Chains:
    root: Chain
    child: Chain


@pytest.fixture(scope="module")
def chains() -> Iterator[Chains]:
    with run_anvil() as root, run_anvil(extra_args=["--chain-id", str(CHILD_CHAIN_ID)]) as child:
        yield Chains(root, child)


def write_network(directory: Path, chains: Chains, *, child_chain_id: int = CHILD_CHAIN_ID) -> Path:
    values = load_manifest().preset(PRESET)
    network = make_local_network(
        directory,
        rootchain=RootchainConfig(
            chain_id=int(chains.root.web3.eth.chain_id), rpc=(chain_url(chains.root),), confirmations=CONFIRMATIONS
        ),
        circuits=CircuitsConfig(PRESET, validator_slots=values["V"], depth=values["D"], batch_size=values["B"]),
        powers=(2, 1),
        child=ChildConfig(chain_id=child_chain_id, rpc=(chain_url(chains.child),)),
        seed=b"deployment tests",
        work_factor=2**10,
    )
    return network.path


def funded_key(chains: Chains, *, fund: bool = True) -> str:
    account = Account.create()
    if fund:
        for chain in (chains.root, chains.child):
            chain.web3.eth.send_transaction(
                {"from": chain.accounts[0], "to": account.address, "value": Wei(10**20), "gas": 21_000}
            )
    return "0x" + bytes(account.key).hex()


def deploy_cli(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != DEFAULT_KEY_ENV}
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", "deploy", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=600,
    )


def code_at(chain: Chain, address: str) -> bytes:
    return bytes(chain.web3.eth.get_code(Web3.to_checksum_address(address)))


def test_deploy_records_the_addresses_genesis_and_blocks_and_they_are_on_the_chains(
    tmp_path: Path, chains: Chains
) -> None:
    path = write_network(tmp_path, chains)
    head_before = int(chains.root.web3.eth.block_number)
    result = deploy_cli("--config", str(path), env={DEFAULT_KEY_ENV: funded_key(chains)})
    assert result.returncode == 0, result.stderr
    config = load_network_config(path)
    assert config.deployment is not None and config.genesis is not None and config.child is not None
    record, genesis = config.deployment, config.genesis
    receiver, sender = config.child.receiver, config.rootchain.state_sender
    assert receiver is not None and sender is not None
    manager, helper, l2_sender = (
        config.rootchain.checkpoint_manager,
        config.rootchain.exit_helper,
        config.child.l2_state_sender,
    )
    assert manager is not None and helper is not None and l2_sender is not None
    verifiers = dict(record.verifiers)
    checkpoint_verifier = verifiers.pop("checkpoint_update")
    for chain, address in [
        (chains.root, sender),
        (chains.root, record.root_bridge),
        (chains.child, receiver),
        (chains.child, record.child_token),
        *((chains.child, a) for a in verifiers.values()),
        (chains.root, checkpoint_verifier),
        (chains.root, manager),
        (chains.root, helper),
        (chains.child, l2_sender),
    ]:
        assert code_at(chain, address), address
    assert sorted(verifiers) == ["event_inclusion", "header_update", "state_sync"]
    # The exit direction's genesis: a child block past its confirmation depth, trusted by the manager.
    checkpoint_genesis = config.checkpoint_genesis
    assert checkpoint_genesis is not None and checkpoint_genesis.chain_id == config.child.chain_id
    child_block = chains.child.web3.eth.get_block(checkpoint_genesis.number)
    assert checkpoint_genesis.block_hash == int.from_bytes(bytes(child_block["hash"]), "big")
    trusted_checkpoint = chains.root.web3.eth.call(
        {"to": manager, "data": Web3.keccak(text="trustedCheckpointHash()")[:4]}
    )
    assert int.from_bytes(trusted_checkpoint, "big") == compute_checkpoint_hash(checkpoint_genesis)
    # The genesis is a rootchain block past the confirmation depth, exactly as the node has it.
    # +2: the two funding blocks mined before deploy reads the head.
    assert max(0, head_before - CONFIRMATIONS) <= genesis.number <= max(0, head_before + 2 - CONFIRMATIONS)
    block = chains.root.web3.eth.get_block(genesis.number)
    assert genesis.block_hash == int.from_bytes(bytes(block["hash"]), "big")
    assert genesis.timestamp == int(block["timestamp"])
    trusted = chains.child.web3.eth.call({"to": receiver, "data": Web3.keccak(text="trustedHeaderHash()")[:4]})
    assert int.from_bytes(trusted, "big") == compute_header_hash(genesis)
    # Where the services start reading: the blocks StateSender and the receiver were deployed in.
    for chain, address, number in [
        (chains.root, sender, record.rootchain_block),
        (chains.child, receiver, record.child_block),
    ]:
        assert chain.web3.eth.get_code(address, block_identifier=number)
        assert not chain.web3.eth.get_code(address, block_identifier=number - 1)
    assert str(Web3.to_checksum_address(record.deployer)) in result.stdout
    # A relayer configured from this file starts reading the receiver's logs at its deployment.
    relayer = tmp_path / "relayer.toml"
    relayer.write_text(f'[relayer]\nnetwork = "{path.name}"\ndata_dir = "r"\nprivate_key_env = "K"\n')
    assert load_relayer_config(relayer).node.receiver_from_block == record.child_block


def test_a_recorded_deployment_is_not_deployed_over_unless_asked(tmp_path: Path, chains: Chains) -> None:
    path = write_network(tmp_path, chains)
    key = funded_key(chains)
    assert deploy_cli("--config", str(path), env={DEFAULT_KEY_ENV: key}).returncode == 0
    recorded = path.read_bytes()
    again = deploy_cli("--config", str(path), env={DEFAULT_KEY_ENV: key})
    assert again.returncode == 1
    assert "already records a deployment" in again.stderr and "--redeploy" in again.stderr
    assert "Traceback" not in again.stderr
    assert path.read_bytes() == recorded
    replaced = deploy_cli("--config", str(path), "--redeploy", env={DEFAULT_KEY_ENV: key})
    assert replaced.returncode == 0, replaced.stderr
    before = load_network_config_from_bytes(tmp_path, recorded)
    after = load_network_config(path)
    assert after.child is not None and before.child is not None
    assert after.child.receiver != before.child.receiver


def load_network_config_from_bytes(directory: Path, data: bytes) -> NetworkConfig:
    copy = directory / "before.toml"
    copy.write_bytes(data)
    return load_network_config(copy)


def test_a_node_of_another_chain_is_refused_before_any_transaction(tmp_path: Path, chains: Chains) -> None:
    path = write_network(tmp_path, chains, child_chain_id=CHILD_CHAIN_ID + 1)
    key = funded_key(chains)
    written = path.read_bytes()
    result = deploy_cli("--config", str(path), env={DEFAULT_KEY_ENV: key})
    assert result.returncode == 1
    assert f"serves chain {CHILD_CHAIN_ID}, but the network file says {CHILD_CHAIN_ID + 1}" in result.stderr
    deployer = Account.from_key(key).address
    assert chains.root.web3.eth.get_transaction_count(deployer) == 0
    assert path.read_bytes() == written


def test_an_unfunded_or_missing_deployer_key_is_refused_in_one_line(tmp_path: Path, chains: Chains) -> None:
    path = write_network(tmp_path, chains)
    missing = deploy_cli("--config", str(path), env={})
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].startswith(f"error: no deployer key: set ${DEFAULT_KEY_ENV}")
    unfunded = deploy_cli("--config", str(path), env={DEFAULT_KEY_ENV: funded_key(chains, fund=False)})
    assert unfunded.returncode == 1 and "has no ether on the rootchain" in unfunded.stderr
    bad = deploy_cli("--config", str(path), "--key-env", "MY_KEY", env={"MY_KEY": "0x1234"})
    assert bad.returncode == 1 and "$MY_KEY is not a private key" in bad.stderr
    assert load_network_config(path).deployment is None


def test_the_deployer_key_can_come_from_an_ethereum_keystore(tmp_path: Path, chains: Chains) -> None:
    path = write_network(tmp_path, chains)
    key = funded_key(chains)
    keystore = tmp_path / "deployer.json"
    keystore.write_text(Web3.to_json(Account.encrypt(key, "correct horse", kdf="scrypt", iterations=2**10)))  # type: ignore[arg-type]
    wrong = deploy_cli(
        "--config", str(path), "--keystore", str(keystore), "--password-env", "PW", env={"PW": "wrong horse"}
    )
    assert wrong.returncode == 1 and "cannot decrypt the deployer keystore" in wrong.stderr
    right = deploy_cli(
        "--config", str(path), "--keystore", str(keystore), "--password-env", "PW", env={"PW": "correct horse"}
    )
    assert right.returncode == 0, right.stderr
    record = load_network_config(path).deployment
    assert record is not None and record.deployer == Account.from_key(key).address


@pytest.mark.parametrize("content", ["{}", "not json", '{"crypto": 1, "version": 3}'])
def test_a_file_that_is_no_keystore_is_refused_in_one_line(tmp_path: Path, chains: Chains, content: str) -> None:
    path = write_network(tmp_path, chains)
    keystore = tmp_path / "deployer.json"
    keystore.write_text(content)
    result = deploy_cli("--config", str(path), "--keystore", str(keystore), "--password-env", "PW", env={"PW": "x"})
    assert result.returncode == 1 and "cannot decrypt the deployer keystore" in result.stderr
    assert "Traceback" not in result.stderr


def test_options_that_would_do_nothing_are_refused() -> None:
    alone = deploy_cli("--chain", "pyevm", "--redeploy", env={})
    assert alone.returncode == 1 and "go with --config" in alone.stderr
    mixed = deploy_cli("--config", "network.toml", "--preset", "default", env={})
    assert mixed.returncode == 1 and "with --config the file names both" in mixed.stderr
