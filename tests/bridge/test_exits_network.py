"""Both directions through the running bridge: a deposit in, a withdrawal out, on two anvil chains.

The devnet's processes (4 validators, the relayer) relay the deposit as headers and the
withdrawal as a child-chain checkpoint; the exit is then built from the child chain's logs, as
`zkstatesync exit` builds it, and executed by someone other than the user. Balances are read on
both chains; a replayed exit and an exit with a wrong proof are refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from bridge.chain.deploy import TransactionReverted, call, decode_events, transact
from bridge.devnet import Devnet, DevnetOptions, open_devnet
from bridge.exits import ExitError, ExitNotReady, PreparedExit, prepare_exit_from_network, send_exit
from statesync.exits import compute_exit_root_from_proof

pytestmark = pytest.mark.anvil

DEADLINE = 240.0
AMOUNT = 10**18
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = DEADLINE) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout} s")


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    directory: Path = tmp_path_factory.mktemp("exits") / "devnet"
    with open_devnet(DevnetOptions(directory=directory, deposits=0, confirmations=2)) as running:
        yield running


def test_a_deposit_comes_in_and_a_withdrawal_goes_out(devnet: Devnet) -> None:
    root, child = devnet.root, devnet.child
    token, bridge = devnet.deployment.child.token, devnet.deployment.root.bridge
    user = root.accounts[1]
    devnet.deposit(AMOUNT)
    wait_for("the deposit", lambda: True if call(child, token, "balanceOf", user) == AMOUNT else None)

    exit_id, exit_block = devnet.withdraw(user, AMOUNT // 4)
    assert call(child, token, "balanceOf", user) == AMOUNT - AMOUNT // 4
    config = devnet.deployment.config

    def ready() -> PreparedExit | None:
        try:
            return prepare_exit_from_network(config, exit_id)
        except ExitNotReady:
            return None

    prepared = wait_for("a checkpoint covering the withdrawal", ready)
    assert prepared.event.id == exit_id and prepared.checkpoint_number >= exit_block
    exits = devnet.deployment.root.exits
    assert exits is not None
    stored = call(root, exits.checkpoint_manager, "exitRootOf", prepared.checkpoint_number)
    assert compute_exit_root_from_proof(prepared.proof) == stored

    # A wrong proof is refused by the contract (the tool never sends one: sent raw here).
    siblings = list(prepared.proof.siblings)
    siblings[3] = bytes(32)
    with pytest.raises(TransactionReverted) as caught:
        transact(
            root,
            exits.exit_helper,
            "exit",
            prepared.checkpoint_number,
            prepared.proof.leaf_index,
            prepared.proof.unhashed_leaf,
            siblings,
        )
    assert caught.value.reason.name == "ZkExitHelper__InvalidProof"

    before = root.web3.eth.get_balance(user)
    locked = root.web3.eth.get_balance(bridge.address)
    receipt = devnet.execute_exit(exit_id)  # anvil's account 0 pays: the user's balance moves by the amount alone
    [processed] = decode_events(exits.exit_helper, receipt, "ExitProcessed")
    assert processed.args["id"] == exit_id and processed.args["success"]
    assert root.web3.eth.get_balance(user) - before == AMOUNT // 4
    assert locked - root.web3.eth.get_balance(bridge.address) == AMOUNT // 4

    with pytest.raises(ExitError, match="processed already"):
        send_exit(root, exits.exit_helper, prepared)
    with pytest.raises(TransactionReverted) as replayed:
        transact(
            root,
            exits.exit_helper,
            "exit",
            prepared.checkpoint_number,
            prepared.proof.leaf_index,
            prepared.proof.unhashed_leaf,
            list(prepared.proof.siblings),
        )
    assert replayed.value.reason.name == "ZkExitHelper__AlreadyProcessed"
    with pytest.raises(ExitError, match="has no exit"):
        prepare_exit_from_network(config, exit_id + 1)
