"""Both directions through the running bridge: a deposit in, a withdrawal out, on two anvil chains.

The devnet's processes (4 validators, the relayer) relay the deposit as headers and the
withdrawal as a child-chain checkpoint; the exit is then built from the child chain's logs, as
`zkstatesync exit` builds it, and executed by someone other than the user. Balances are read on
both chains; a replayed exit and an exit with a wrong proof are refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from bridge.chain.deploy import TransactionReverted, call, decode_events, transact
from bridge.devnet import Devnet, DevnetOptions, fund, open_devnet
from bridge.exits import ExitError, prepare_exit_from_network, send_exit
from statesync.exits import compute_exit_root_from_proof

from .conftest import ready_exit, wait_for

pytestmark = pytest.mark.anvil

AMOUNT = 10**18


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

    prepared = wait_for("a checkpoint covering the withdrawal", lambda: ready_exit(config, exit_id))
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


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`zkstatesync ARGS` in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_a_user_exits_with_the_cli_and_status_shows_the_exit_direction(devnet: Devnet) -> None:
    root, child = devnet.root, devnet.child
    user = root.accounts[2]
    devnet.deposit(AMOUNT)
    token = devnet.deployment.child.token
    wait_for("the deposit", lambda: True if call(child, token, "balanceOf", user) == AMOUNT else None)
    exit_id, _ = devnet.withdraw(user, 12345)
    network = str(devnet.network.path)
    config = devnet.deployment.config

    not_yet = cli("exit", "--config", network, "--id", str(exit_id), "--dry-run")
    if not_yet.returncode != 0:  # the checkpoint may already be there on a fast machine
        assert not_yet.stderr.startswith("error: no checkpoint covers child block"), not_yet.stderr
    prepared = wait_for("a checkpoint covering the withdrawal", lambda: ready_exit(config, exit_id))
    dry = cli("exit", "--config", network, "--id", str(exit_id), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    described = json.loads(dry.stdout)
    assert described["checkpoint_number"] == prepared.checkpoint_number and len(described["proof"]) == 16
    assert described["unhashed_leaf"] == "0x" + prepared.proof.unhashed_leaf.hex()

    payer: LocalAccount = Account.create()
    fund(root, payer.address)
    key = {"PAYER_KEY": "0x" + bytes(payer.key).hex()}
    before = root.web3.eth.get_balance(user)
    sent = cli("exit", "--config", network, "--id", str(exit_id), "--key-env", "PAYER_KEY", env=key)
    assert sent.returncode == 0, sent.stderr
    assert f"exit {exit_id} (checkpoint {prepared.checkpoint_number}" in sent.stdout and "executed" in sent.stdout
    assert root.web3.eth.get_balance(user) - before == 12345
    again = cli("exit", "--config", network, "--id", str(exit_id), "--key-env", "PAYER_KEY", env=key)
    assert (again.returncode, again.stderr.strip()) == (1, f"error: exit {exit_id} was processed already")
    unknown = cli("exit", "--config", network, "--id", "999")
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "error: the child chain's L2StateSender has no exit 999")
    no_key = cli("exit", "--config", network, "--id", str(exit_id), "--key-env", "NO_SUCH_VARIABLE")
    assert no_key.returncode == 1 and no_key.stderr.startswith("error: ") and "Traceback" not in no_key.stderr

    status = cli("status", "--config", network, "--json")
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)["exits"]
    assert shown["sent"] == exit_id and shown["checkpoint_number"] >= prepared.checkpoint_number
    manager = devnet.deployment.root.exits
    assert manager is not None
    # The relayer may have moved on since (an empty checkpoint every max_range child blocks).
    if call(root, manager.checkpoint_manager, "lastNumber") == shown["checkpoint_number"]:
        assert shown["checkpoint_hash"] == str(call(root, manager.checkpoint_manager, "trustedCheckpointHash"))
    assert shown["lag_blocks"] >= 0
