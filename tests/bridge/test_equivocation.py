"""Equivocation in the devnet (issue 16's end-to-end test): alice and bob sign a second header at a
number, it lands first, and the bridge freezes before any of its events executes: answered once
by the relayer, once by a validator node's own evidence watcher with no relayer running.

The devnet runs as processes on two anvil chains (4 validators, one relayer); the attack is
bridge/demo_equivocation.py's, the act `make demo` plays. What is checked here is read from the
chains and the services: the receiver's Frozen log names the forged header and the canonical one
that the relayer proved, the forged deposit never executes, nothing executes afterwards, and
the validators and `zkstatesync status` report the conflict.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from bridge.chain.deploy import TransactionReverted, call, transact
from bridge.demo_equivocation import play_equivocation
from bridge.devnet import GOVERNANCE, Devnet, DevnetOptions, open_devnet
from bridge.validator.client import ValidatorClient
from statesync.model import compute_header_hash

from .conftest import wait_for

pytestmark = pytest.mark.anvil


@pytest.fixture
def devnet(tmp_path: Path) -> Iterator[Devnet]:
    """No watchers: only the relayer can answer."""
    with open_devnet(DevnetOptions(directory=tmp_path / "devnet", deposits=0, confirmations=2, watchers=())) as running:
        yield running


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[Devnet]:
    """The devnet's default: carol's node runs an evidence watcher."""
    with open_devnet(DevnetOptions(directory=tmp_path / "devnet", deposits=0, confirmations=2)) as running:
        yield running


def test_a_conflicting_header_accepted_first_freezes_the_bridge_before_its_events_run(devnet: Devnet) -> None:
    child, receiver = devnet.child, devnet.deployment.child.receiver
    token = devnet.deployment.child.token
    devnet.deposit(10**16)
    wait_for("the first deposit", lambda: True if call(child, receiver, "lastExecutedId") == 1 else None)
    supply = call(child, token, "totalSupply")

    report = play_equivocation(devnet)
    assert report.reporter == Account.from_key(devnet.relayer_key).address

    assert call(child, receiver, "frozen") is True
    assert call(child, receiver, "trustedHeaderHash") == report.forged_hash  # accepted, never executed
    assert report.canonical_hash not in (0, report.forged_hash)
    assert report.refused == "ZkStateReceiver__Frozen"
    assert report.executed_before == report.executed_after == 1 == call(child, receiver, "lastExecutedId")
    assert call(child, token, "totalSupply") == supply  # the 1000x deposit minted nothing
    assert report.flagged  # the validators that signed the canonical header saw the other one accepted
    with pytest.raises(TransactionReverted) as caught:
        transact(child, receiver, "recover", report.canonical_hash, report.number, 1, sender=child.accounts[0])
    assert caught.value.reason.name == "ZkStateReceiver__Unauthorized"
    # Governance (the devnet's anvil account 8) could name the canonical header as a new genesis.
    governance = child.accounts[GOVERNANCE]
    assert call(child, receiver, "governance") == governance
    call(child, receiver, "recover", report.canonical_hash, report.number, 1, sender=governance)  # no revert

    network = devnet.deployment.config
    status = subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge.cli",
            "status",
            "--config",
            str(devnet.network.path),
            "--relayer",
            str(devnet.relayer_config),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    assert document["rails"]["frozen"] is True and document["checkpoint_hash"] == str(report.forged_hash)
    assert network.genesis is not None and compute_header_hash(network.genesis) != report.forged_hash
    relayer = wait_for(
        "the relayer reporting the freeze",
        lambda: _relayer_frozen(devnet),
    )
    assert relayer["frozen"] is True and relayer["conflict"]["number"] == report.number
    assert relayer["queued_value"] == {"deposits": "0", "withdrawals": "0"}
    metrics = _get(devnet, "/metrics").decode()
    for line in (
        "zkstatesync_relayer_receiver_frozen 1.0",
        "zkstatesync_relayer_receiver_paused 0.0",
        "zkstatesync_relayer_evidence_submitted_total 1.0",
        "zkstatesync_relayer_queued_deposits_wei 0.0",
    ):
        assert line in metrics.splitlines(), line

    # The explorer: the real deposit under the forged header waits, frozen; the forged header is marked.
    deposit = json.loads(_get(devnet, "/api/v1/messages/statesync/2"))["message"]
    assert deposit["state"] == "frozen" and "governance recovers" in deposit["detail"]
    headers = json.loads(_get(devnet, f"/api/v1/headers/{report.number}"))["headers"]
    assert [h["status"] for h in headers if h["hash"] == str(report.forged_hash)] == ["conflicting"]
    assert json.loads(_get(devnet, "/api/v1/bridge"))["frozen"] is True
    page = _get(devnet, "/explorer").decode()
    assert 'id="message-statesync-2"' in page and 'data-state="frozen"' in page and ">FROZEN<" in page


def _get(devnet: Devnet, path: str) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", devnet.relayer_port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().read()
    finally:
        connection.close()


def _relayer_frozen(devnet: Devnet) -> dict[str, Any] | None:
    try:
        document = json.loads(_get(devnet, "/status"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and document.get("frozen") is True else None


@pytest.mark.slow  # a second devnet (85 s); the default suite keeps the relayer's path, make test-all both
def test_a_validator_node_submits_the_evidence_itself_with_no_relayer_running(watched: Devnet) -> None:
    child, receiver = watched.child, watched.deployment.child.receiver
    watched.deposit(10**16)
    wait_for("the first deposit", lambda: True if call(child, receiver, "lastExecutedId") == 1 else None)

    report = play_equivocation(watched, restart_relayer=False)

    assert watched.relayer is None
    assert report.reporter == Account.from_key(watched.watcher_keys["carol"]).address
    assert report.refused == "ZkStateReceiver__Frozen" and report.executed_after == 1
    carol = ValidatorClient(watched.validators["carol"].client.url).status()
    assert carol["evidence_watcher"]["frozen"] is True
    assert carol["evidence_watcher"]["conflict"]["number"] == report.number
