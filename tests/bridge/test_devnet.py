"""`zkstatesync devnet`: the whole bridge as processes on loopback, watched through `zkstatesync status`.

One devnet runs as a user would start it (a child process of the test); the test reads the
bridge's state with `zkstatesync status --json`, checks on the child chain itself that every
deposit was executed once, in order, and minted what was deposited, then presses Ctrl-C
(SIGINT) and checks that every process the devnet started is gone.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import decode
from web3 import Web3

from bridge.config import load_network_config

pytestmark = pytest.mark.anvil

DEPOSITS = 6
DEADLINE = 300.0  # seconds for the devnet to start and execute every deposit
STATE_SYNC_RESULT = Web3.keccak(text="StateSyncResult(uint256,bool,bytes)")
STATE_SYNCED = Web3.keccak(text="StateSynced(uint256,address,address,bytes)")
DEPOSITED = Web3.keccak(text="Deposited(uint256,address,uint256)")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bridge.cli", *args]


def read_status(network: Path, relayer: Path) -> dict[str, Any] | None:
    result = subprocess.run(
        cli("status", "--config", str(network), "--relayer", str(relayer), "--json"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        return None  # not deployed yet: the network file has no addresses
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# The aggregate quorum mode's run adds the setups of its four circuits (a few minutes): make test-all.
@pytest.mark.parametrize("preset", ["test", pytest.param("aggregate_test", marks=pytest.mark.slow)])
def test_the_devnet_relays_every_deposit_once_and_ctrl_c_stops_all_its_processes(tmp_path: Path, preset: str) -> None:
    directory = tmp_path / "devnet"
    argv = cli("devnet", "--dir", str(directory), "--preset", preset, "--deposits", str(DEPOSITS), "--interval", "0.2")
    devnet = subprocess.Popen(
        [*argv, "--confirmations", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        network, relayer = directory / "network.toml", directory / "relayer.toml"
        deadline = time.monotonic() + DEADLINE
        status: dict[str, Any] | None = None
        while time.monotonic() < deadline and devnet.poll() is None:
            if (directory / "devnet.json").exists():
                status = read_status(network, relayer)
                if status is not None and status["last_executed_id"] >= DEPOSITS:
                    break
            time.sleep(1.0)
        assert devnet.poll() is None, devnet.communicate()[0][-4000:]
        assert status is not None and status["last_executed_id"] == DEPOSITS == status["sent"], status
        assert status["has_quorum"] and status["power_up"] == status["power_total"] == 10
        assert [v["up"] for v in status["validators"]] == [True] * 4
        assert status["relayer"]["up"] and status["pending"] == 0
        signed = sum(v["power"] for v in status["validators"] if v["last_signed"] is not None)
        assert 3 * signed > 2 * status["power_total"]  # a quorum signed (the relayer stops asking at one)

        # On the child chain itself: ids 1..DEPOSITS executed once each, in order, and the mints add up.
        config = load_network_config(network)
        state = json.loads((directory / "devnet.json").read_text())
        child = Web3(Web3.HTTPProvider(state["child_rpc"]))
        assert config.child is not None and config.child.receiver is not None and config.deployment is not None
        assert config.rootchain.state_sender is not None
        results = child.eth.get_logs({"address": config.child.receiver, "fromBlock": 0, "topics": [STATE_SYNC_RESULT]})
        executed = [(int.from_bytes(bytes(log["topics"][1]), "big"), bytes(log["topics"][2])[-1]) for log in results]
        assert executed == [(i, 1) for i in range(1, DEPOSITS + 1)]
        mints = child.eth.get_logs({"address": config.deployment.child_token, "fromBlock": 0, "topics": [DEPOSITED]})
        minted = [
            (int.from_bytes(bytes(log["topics"][1]), "big"), int.from_bytes(bytes(log["data"]), "big")) for log in mints
        ]
        root = Web3(Web3.HTTPProvider(state["rootchain_rpc"]))
        synced = root.eth.get_logs({"address": config.rootchain.state_sender, "fromBlock": 0, "topics": [STATE_SYNCED]})
        deposited = [
            (
                int.from_bytes(bytes(log["topics"][1]), "big"),
                int(decode(["bytes"], bytes(log["data"]))[0][32:].hex(), 16),
            )
            for log in synced
        ]
        assert minted == deposited and len(minted) == DEPOSITS
        # The quorum mode the preset names is the one that signed: one aggregate per header, or signatures.
        store = sqlite3.connect(f"file:{directory / 'relayer' / 'relayer.sqlite'}?mode=ro", uri=True)
        try:
            aggregates, signatures = (
                store.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("aggregates", "signatures")
            )
        finally:
            store.close()
        assert (aggregates > 0, signatures > 0) == ((True, False) if preset == "aggregate_test" else (False, True))

        pids = [state["relayer"]["pid"], *(v["pid"] for v in state["validators"].values())]
        assert all(isinstance(p, int) and is_alive(p) for p in pids)
        devnet.send_signal(signal.SIGINT)
        output, _ = devnet.communicate(timeout=90)
        assert devnet.returncode == 0, output[-4000:]
        assert "stopping (SIGINT)" in output and "Traceback" not in output
        assert not any(is_alive(p) for p in pids)
        with pytest.raises(Exception):  # noqa: B017 - any connection error: the child chain's anvil is gone
            Web3(Web3.HTTPProvider(state["child_rpc"], request_kwargs={"timeout": 2})).eth.block_number  # noqa: B018
    finally:
        if devnet.poll() is None:
            devnet.kill()
            devnet.wait(timeout=30)
