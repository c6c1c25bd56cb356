"""The demo's whole flow at the test preset, on both chains: deposits arrive, attacks fail."""

from __future__ import annotations

import pytest
from rich.console import Console

from bridge.demo import run_demo


@pytest.mark.parametrize(
    "chain", [pytest.param("pyevm", marks=pytest.mark.slow), pytest.param("anvil", marks=pytest.mark.anvil)]
)
def test_demo_syncs_state_and_refuses_every_attack(chain: str) -> None:
    report = run_demo(chain, "test", Console(quiet=True))  # type: ignore[arg-type]
    assert [what for what, _, _ in report.gas] == ["header 1", "header 2", "header 3"]
    attacks = dict(report.attacks)
    # The header is known, so the relay goes to executeStateSync, whose batch must start at the next id.
    assert "UnexpectedId" in attacks["replaying an executed StateSync proof"]
    assert "InvalidProof" in attacks["a proof with a tampered public input (headerHash + 1)"]
    assert "QuorumRule" in attacks["proving that header anyway (the circuit's quorum check)"]
    assert "FinalUnder" in attacks["a header from the old validator set after rotation"]  # the link step
    assert len(attacks) == 5
