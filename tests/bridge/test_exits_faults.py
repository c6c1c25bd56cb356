"""Faults in the exit direction, through the devnet's processes: nothing lost, nothing executed twice.

A child-chain reorganisation below the confirmation depth (anvil_reorg) that takes a withdrawal
away; the relayer killed with kill -9 while it relays a checkpoint; the same exit sent by two
users at once, alone and inside a batchExit. Every loop is bounded in time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from web3.types import RPCEndpoint

from bridge.chain.chains import Chain
from bridge.chain.deploy import call, decode_events, encode_call, to_receipt
from bridge.devnet import Devnet, DevnetOptions, open_devnet
from bridge.exits import PreparedExit
from statesync.exits import compute_exit_root

# Slow (about 2 minutes): `make test-all` runs them; tests/bridge/test_exits_network.py is the default suite's.
from .conftest import ready_exit, wait_for

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

CONFIRMATIONS = 4
AMOUNT = 10**18


def rpc(chain: Chain, method: str, params: Sequence[object]) -> Any:
    response = chain.web3.provider.make_request(RPCEndpoint(method), list(params))
    assert "error" not in response, response
    return response.get("result")


def accepted_numbers(devnet: Devnet) -> list[int]:
    exits = devnet.deployment.root.exits
    assert exits is not None
    topic = devnet.root.web3.keccak(text="CheckpointAccepted(uint256,uint256,bytes32)")
    logs = devnet.root.web3.eth.get_logs(
        {"address": exits.checkpoint_manager.address, "fromBlock": 0, "topics": [topic]}
    )
    return [int.from_bytes(bytes(log["topics"][1]), "big") for log in logs]


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    directory: Path = tmp_path_factory.mktemp("exit-faults") / "devnet"
    with open_devnet(DevnetOptions(directory=directory, deposits=0, confirmations=CONFIRMATIONS)) as running:
        token = running.deployment.child.token
        for _ in range(3):
            running.deposit(AMOUNT)
        users = running.root.accounts[1:4]
        wait_for(
            "the deposits", lambda: True if all(call(running.child, token, "balanceOf", u) for u in users) else None
        )
        yield running


def test_a_withdrawal_reorganised_away_below_the_depth_is_never_paid_and_the_next_one_is(devnet: Devnet) -> None:
    child, token = devnet.child, devnet.deployment.child.token
    user = devnet.root.accounts[1]
    held = call(child, token, "balanceOf", user)
    first_id, block = devnet.withdraw(user, 111)
    # Before it reaches the depth, the block holding it is replaced by an empty one.
    rpc(child, "anvil_reorg", [1, []])
    assert call(child, token, "balanceOf", user) == held  # the burn is gone with its block
    second_id, _ = devnet.withdraw(user, 222)
    assert second_id == first_id  # L2StateSender counts again from the canonical chain
    prepared = wait_for("a checkpoint covering the withdrawal", lambda: ready_exit(devnet.deployment.config, second_id))
    assert prepared.event.data[-32:] == (222).to_bytes(32, "big")
    before = devnet.root.web3.eth.get_balance(user)
    receipt = devnet.execute_exit(second_id)
    assert devnet.root.web3.eth.get_balance(user) - before == 222
    exits = devnet.deployment.root.exits
    assert exits is not None
    [processed] = decode_events(exits.exit_helper, receipt, "ExitProcessed")
    assert processed.args["success"]


def test_a_relayer_killed_while_relaying_a_checkpoint_resumes_and_submits_it_once(devnet: Devnet) -> None:
    user = devnet.root.accounts[2]
    before_numbers = accepted_numbers(devnet)
    exit_id, block = devnet.withdraw(user, 333)
    # Killed as the range reaches the depth: signing or proving is under way, nothing submitted.
    wait_for("the depth", lambda: True if devnet.child.web3.eth.block_number >= block + CONFIRMATIONS else None)
    time.sleep(0.5)
    assert ready_exit(devnet.deployment.config, exit_id) is None, (
        "the checkpoint landed before the relayer could be killed"
    )
    devnet.kill_relayer()
    time.sleep(2.0)
    assert ready_exit(devnet.deployment.config, exit_id) is None
    devnet.start_relayer()
    prepared = wait_for("the checkpoint after the restart", lambda: ready_exit(devnet.deployment.config, exit_id))
    numbers = accepted_numbers(devnet)
    assert numbers == sorted(set(numbers)) and numbers[: len(before_numbers)] == before_numbers
    assert len([n for n in numbers if n >= block]) >= 1
    exits = devnet.deployment.root.exits
    assert exits is not None
    stored = call(devnet.root, exits.checkpoint_manager, "exitRootOf", prepared.checkpoint_number)
    assert int.from_bytes(stored, "big") != compute_exit_root(())
    before = devnet.root.web3.eth.get_balance(user)
    devnet.execute_exit(exit_id)
    assert devnet.root.web3.eth.get_balance(user) - before == 333


def exit_transaction(devnet: Devnet, sender: str, data: bytes) -> str:
    exits = devnet.deployment.root.exits
    assert exits is not None
    tx = {"from": sender, "to": exits.exit_helper.address, "data": "0x" + data.hex(), "gas": hex(1_000_000)}
    result: str = rpc(devnet.root, "eth_sendTransaction", [tx])
    return result


def test_the_same_exit_sent_by_two_users_at_once_pays_once(devnet: Devnet) -> None:
    root = devnet.root
    user = root.accounts[3]
    exits = devnet.deployment.root.exits
    assert exits is not None
    helper = exits.exit_helper
    ids = [devnet.withdraw(user, amount)[0] for amount in (444, 555)]
    prepared = [wait_for("the checkpoint", lambda i=i: ready_exit(devnet.deployment.config, i)) for i in ids]  # type: ignore[misc]
    before = root.web3.eth.get_balance(user)

    def exit_call(item: PreparedExit) -> bytes:
        proof = item.proof
        return encode_call(
            helper.abi, "exit", [item.checkpoint_number, proof.leaf_index, proof.unhashed_leaf, list(proof.siblings)]
        )

    batch = [
        (item.checkpoint_number, item.proof.leaf_index, item.proof.unhashed_leaf, list(item.proof.siblings))
        for item in prepared
    ]
    # Three transactions in flight at once (the rootchain mines every second): two users exit the
    # first id alone, a third sends both ids in one batch.
    hashes = [
        exit_transaction(devnet, root.accounts[5], exit_call(prepared[0])),
        exit_transaction(devnet, root.accounts[6], exit_call(prepared[0])),
        exit_transaction(devnet, root.accounts[7], encode_call(helper.abi, "batchExit", [batch])),
    ]
    receipts = [to_receipt(root.web3.eth.wait_for_transaction_receipt(h, timeout=60)) for h in hashes]  # type: ignore[arg-type]
    processed = [e.args["id"] for r in receipts if r.success for e in decode_events(helper, r, "ExitProcessed")]
    assert sorted(processed) == sorted(ids)  # each id executed exactly once, whoever won the race
    assert root.web3.eth.get_balance(user) - before == 444 + 555
    assert all(call(root, helper, "processedExits", i) for i in ids)
