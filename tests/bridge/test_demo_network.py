"""`make demo`'s network demo at the test preset, end to end (slow: about three minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from bridge.demo_network import run_network_demo

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_the_network_demo_recovers_from_every_fault_and_refuses_every_attack(tmp_path: Path) -> None:
    report = run_network_demo("test", Console(quiet=True), tmp_path / "demo", serve=False)
    # The explorer after the last act: every deposit executed, and the receiver frozen by the equivocation.
    assert report.explorer.startswith("http://127.0.0.1:") and ">FROZEN<" in report.explorer_page
    assert report.explorer_page.count('data-state="executed"') >= 12
    assert report.executed == 12  # 4 + 3 + 2 + 2 + 1 deposits, each checked on the chains exactly once
    reasons = dict(report.refusals)
    assert reasons["the deposit inflated 1000x in the proposed event root"].count("event_root_mismatch") == 4
    assert reasons["a header that does not extend the accepted checkpoint"].count("unknown_parent") == 4
    assert len(report.attacks) == 5
    assert len(report.latencies) == 12
    # The exit direction: three withdrawals paid exactly (checked on both chains inside the demo),
    # and each attack on exits and checkpoints refused, for the reason expected.
    exits = report.exits
    assert len(exits.withdrawn) == 3 and all(wei > 0 for _, wei in exits.withdrawn)
    refused = dict(exits.refusals)
    assert "InvalidProof" in refused["an exit with a wrong proof"]
    assert "processed already" in refused["an exit replayed (zkstatesync exit)"]
    assert "AlreadyProcessed" in refused["an exit replayed (sent raw)"]
    assert "not final" in refused["a checkpoint signed by 3 of 10 (the checkpoint rules)"]
    assert "QuorumRule" in refused["proving it anyway (the circuit's quorum)"]
    assert "FinalUnder" in refused["a checkpoint by the old set after a rotation (the circuit)"]
    # Equivocation: the forged header was accepted first and frozen before its deposit ran.
    freeze = report.equivocation
    assert freeze is not None and freeze.refused == "ZkStateReceiver__Frozen"
    assert freeze.executed_before == freeze.executed_after == 12  # the 13th deposit is the one forged
    assert freeze.canonical_hash not in (0, freeze.forged_hash) and freeze.flagged
