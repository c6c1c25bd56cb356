"""The validator node signs child-chain checkpoints (docs/PROTOCOL.md section 8) by the rules of headers.

One module-wide scenario on two anvil nodes: a child chain with L2StateSender and two exits, a
rootchain with a ZkCheckpointManager, and one validator process; refusals first, then the honest
checkpoint, a conflict at its number, and a header beside it (slashing protection is per chain).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bridge.chain.chains import Chain, chain_url, run_anvil
from bridge.chain.deploy import Deployed, deploy, transact
from bridge.chain.solc import compile_directory
from bridge.config import (
    ChildConfig,
    CircuitsConfig,
    RootchainConfig,
    build_checkpoint_rules,
    compute_configured_set_hash,
    save_network_config,
)
from bridge.deployment import derive_checkpoint_genesis
from bridge.validator.client import ValidatorRefused
from bridge.validator.local import LocalNetwork, make_local_network
from bridge.validator.process import ValidatorProcess, spawn_validator, stop_validator, wait_until_ready
from statesync.circuits import load_manifest
from statesync.eddsa import verify_poseidon
from statesync.exits import ExitEvent
from statesync.model import Checkpoint, SigningPurpose, compute_checkpoint_hash, compute_signing_message
from statesync.proposal import ProposalRules, RootBlock, derive_checkpoint

PRESET = "test"
CONFIRMATIONS = 4
CHILD_CHAIN_ID = 1002
ROOT_BRIDGE = 0xB41D6E


def block_of(chain: Chain, number: int) -> RootBlock:
    block = chain.web3.eth.get_block(number)
    return RootBlock(number, int.from_bytes(bytes(block["hash"]), "big"), int(block["timestamp"]))


@dataclass
class Scene:
    child: Chain
    network: LocalNetwork
    process: ValidatorProcess
    rules: ProposalRules
    set_hash: int
    exits: list[tuple[ExitEvent, int]]

    @property
    def genesis(self) -> Checkpoint:
        assert self.network.config.checkpoint_genesis is not None
        return self.network.config.checkpoint_genesis

    def derive(self, end: int, exits: list[ExitEvent] | None = None) -> Checkpoint:
        chosen = [e for e, b in self.exits if self.genesis.number < b <= end] if exits is None else exits
        return derive_checkpoint(self.genesis, block_of(self.child, end), chosen, self.rules, self.set_hash)

    def refused(self, proposal: Checkpoint, parent: Checkpoint) -> ValidatorRefused:
        with pytest.raises(ValidatorRefused) as caught:
            self.process.client.sign(proposal, parent)
        return caught.value


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    directory: Path = tmp_path_factory.mktemp("checkpoints")
    values = load_manifest().preset(PRESET)
    circuits = CircuitsConfig(PRESET, validator_slots=values["V"], depth=values["D"], batch_size=values["B"])
    with run_anvil() as root, run_anvil(extra_args=["--chain-id", str(CHILD_CHAIN_ID)]) as child:
        build = compile_directory()
        state_sender = deploy(root, build.get("StateSender"))
        l2_sender: Deployed = deploy(child, build.get("L2StateSender"))
        genesis_block = block_of(child, int(child.web3.eth.block_number))
        network = make_local_network(
            directory,
            rootchain=RootchainConfig(
                chain_id=int(root.web3.eth.chain_id),
                rpc=(chain_url(root),),
                state_sender=state_sender.address,
                confirmations=CONFIRMATIONS,
            ),
            circuits=circuits,
            genesis_block=block_of(root, int(root.web3.eth.block_number)),
            powers=[2, 1],
            seed=b"checkpoint validator tests",
            work_factor=2**10,
        )
        set_hash = compute_configured_set_hash(network.config)
        genesis = derive_checkpoint_genesis(genesis_block, CHILD_CHAIN_ID, set_hash)
        # The manager's verifier needs only code for the constructor: the validator reads the trusted hash.
        manager = deploy(
            root,
            build.get("ZkCheckpointManager"),
            state_sender.address,
            compute_checkpoint_hash(genesis),
            genesis.number,
        )
        config = replace(
            network.config,
            rootchain=replace(network.config.rootchain, checkpoint_manager=manager.address),
            child=ChildConfig(
                chain_id=CHILD_CHAIN_ID,
                rpc=(chain_url(child),),
                l2_state_sender=l2_sender.address,
                confirmations=CONFIRMATIONS,
            ),
            checkpoint_genesis=genesis,
        )
        save_network_config(network.path, config)
        network = replace(network, config=config)
        exits = []
        receiver = child.web3.to_checksum_address(ROOT_BRIDGE.to_bytes(20, "big"))
        for index, data in enumerate((b"withdraw 1", b"withdraw 2")):
            receipt = transact(child, l2_sender, "syncState", receiver, data)
            exits.append((ExitEvent(index + 1, int(child.accounts[0], 16), ROOT_BRIDGE, data), receipt.block_number))
        child.web3.provider.make_request("anvil_mine", [hex(10)])  # type: ignore[arg-type]
        me = network.validators[0]
        process = spawn_validator(me.config_path, me.url, directory / "log", me.env)
        try:
            wait_until_ready(process)
            yield Scene(child, network, process, build_checkpoint_rules(config), set_hash, exits)
        finally:
            stop_validator(process)


def test_a_checkpoint_the_child_chain_does_not_show_is_refused(scene: Scene) -> None:
    end = scene.exits[-1][1] + 1
    honest = scene.derive(end)
    head = int(scene.child.web3.eth.block_number)
    cases = {
        "event_root_mismatch": scene.derive(end, [e for e, _ in scene.exits[:1]]),
        "block_hash_mismatch": replace(honest, block_hash=honest.block_hash ^ 1),
        "insufficient_confirmations": scene.derive(head - CONFIRMATIONS + 1),
        "wrong_chain": replace(honest, chain_id=CHILD_CHAIN_ID + 1),
    }
    for code, proposal in cases.items():
        parent = replace(scene.genesis, chain_id=proposal.chain_id)
        if code == "wrong_chain":
            proposal = replace(proposal, parent_hash=compute_checkpoint_hash(parent))
        assert scene.refused(proposal, parent).code == code, code
    assert scene.process.client.status()["checkpoints"]["last_signed"] is None


def test_an_honest_checkpoint_is_signed_for_its_own_purpose(scene: Scene) -> None:
    checkpoint = scene.derive(scene.exits[-1][1] + 1)
    response = scene.process.client.sign(checkpoint, scene.genesis)
    key = scene.network.validators[0].public_key
    assert response.header_hash == compute_checkpoint_hash(checkpoint)
    assert verify_poseidon(key, compute_signing_message(checkpoint), response.signature)
    assert not verify_poseidon(key, compute_signing_message(checkpoint, SigningPurpose.HEADER), response.signature)
    # Asked again: the same signature (deterministic EdDSA, nothing new revealed).
    assert scene.process.client.sign(checkpoint, scene.genesis).signature == response.signature
    status = scene.process.client.status()["checkpoints"]
    assert status["last_signed"] == {"number": str(checkpoint.number), "hash": str(response.header_hash)}


def test_a_conflicting_checkpoint_at_a_signed_number_is_refused(scene: Scene) -> None:
    signed = scene.derive(scene.exits[-1][1] + 1)
    # Honest on the node but a different checkpoint at the same number: a rotation the validator
    # did not configure gives another hash, and slashing protection answers before anything else.
    conflicting = replace(signed, timestamp=signed.timestamp + 1)
    assert scene.refused(conflicting, scene.genesis).code == "already_signed_other"
