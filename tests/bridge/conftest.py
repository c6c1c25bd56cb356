"""Chains and contracts for the Solidity tests: every contract test runs on py-evm and on anvil.

The chain is module-scoped (anvil starts in ~0.1 s, py-evm in ~0.3 s); `rig` deploys the
StateSync contracts once per chain, and each test starts from a snapshot taken after that
deployment, so tests see a fresh deployment without paying for one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import pytest
from eth_abi.abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from web3 import Web3

from bridge.chain import stack
from bridge.chain.chains import Chain, ChainKind, open_chain
from bridge.chain.deploy import Deployed, deploy
from bridge.chain.solc import Build, CompiledContract, compile_directory
from bridge.chain.stack import ReceiverRails
from bridge.config import NetworkConfig
from bridge.exits import ExitNotReady, PreparedExit, prepare_exit_from_network
from bridge.testing import (
    OpenVerifier,
    ProofArgument,
    Prove,
    build_open_verifier,
    compile_open_verifier,
    open_prover,
    proof_argument,
)
from statesync.model import (
    Header,
    StateSyncEvent,
    build_event_tree,
    compute_batch_commitment,
    compute_header_hash,
)

RECEIVER_GAS = stack.DEFAULT_RECEIVER_GAS
BATCH_SIZE = 4  # the receiver under test (the circuits' test preset has B = 2, default B = 8)
DEPTH = 4
GENESIS = Header(
    chain_id=7,
    number=10,
    parent_hash=0,
    timestamp=1_700_000_000,
    event_root=build_event_tree([], DEPTH).root,
    validator_set_hash=123,
    next_validator_set_hash=123,
)
EVENT_TYPE = "(uint256,address,address,bytes)"

CHAINS = [pytest.param("pyevm", id="pyevm"), pytest.param("anvil", id="anvil", marks=pytest.mark.anvil)]


@pytest.fixture(scope="session")
def build() -> Build:
    return compile_directory()


@pytest.fixture(scope="session")
def open_verifiers() -> dict[int, OpenVerifier]:
    # Header update, state sync, event inclusion, checkpoint update: 4, 6, 3 and 5 public signals.
    return {n: build_open_verifier(n) for n in (4, 6, 3, 5)}


@pytest.fixture(scope="session")
def verifier_contracts(open_verifiers: Mapping[int, OpenVerifier]) -> dict[int, CompiledContract]:
    return {n: compile_open_verifier(v) for n, v in open_verifiers.items()}


@pytest.fixture(scope="session")
def prover() -> Iterator[Prove]:
    with open_prover() as prove:
        yield prove


@pytest.fixture(scope="module", params=CHAINS)
def chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    kind: ChainKind = request.param
    with open_chain(kind) as opened:
        yield opened


@dataclass(frozen=True)
class Rig:
    chain: Chain
    build: Build
    prover: Prove
    open_verifiers: Mapping[int, OpenVerifier]
    verifiers: Mapping[int, Deployed]
    receiver: Deployed
    noop: Deployed
    reverting: Deployed
    token: Deployed
    sender: Deployed
    harness: Deployed
    root_bridge: ChecksumAddress


def deploy_receiver(
    chain: Chain,
    verifiers: Mapping[int, Deployed],
    *,
    batch_size: int = BATCH_SIZE,
    genesis_hash: int | None = None,
    genesis_number: int = GENESIS.number,
    last_executed_id: int = 0,
    receiver_gas: int = RECEIVER_GAS,
    rails: ReceiverRails = ReceiverRails(),
) -> Deployed:
    """ZkStateReceiver over the Open(N) verifiers (keyed by their public-signal counts), with raw
    constructor arguments: these tests are of the contract's own checks, not stack.deploy_receiver's."""
    return deploy(
        chain,
        compile_directory().get("ZkStateReceiver"),
        verifiers[4].address,
        verifiers[6].address,
        verifiers[3].address,
        compute_header_hash(GENESIS) if genesis_hash is None else genesis_hash,
        genesis_number,
        last_executed_id,
        batch_size,
        receiver_gas,
        rails.argument(),
    )


@pytest.fixture(scope="module")
def rig_at_deployment(
    chain: Chain,
    build: Build,
    open_verifiers: Mapping[int, OpenVerifier],
    verifier_contracts: Mapping[int, CompiledContract],
    prover: Prove,
) -> Rig:
    verifiers = {n: deploy(chain, c) for n, c in verifier_contracts.items()}
    receiver = deploy_receiver(chain, verifiers)
    root_bridge = chain.accounts[5]
    return Rig(
        chain=chain,
        build=build,
        prover=prover,
        open_verifiers=open_verifiers,
        verifiers=verifiers,
        receiver=receiver,
        noop=deploy(chain, build.get("NoopReceiver")),
        reverting=deploy(chain, build.get("RevertingReceiver")),
        # Deposit-only (no L2StateSender): the exit tests deploy their own token with withdrawals.
        token=stack.deploy_child_token(chain, receiver.address, root_bridge),
        sender=deploy(chain, build.get("StateSender")),
        harness=deploy(chain, build.get("StateSyncBatchHarness")),
        root_bridge=root_bridge,
    )


@pytest.fixture(scope="module")
def snapshots(rig_at_deployment: Rig) -> list[str]:
    # Anything deployed after this snapshot is gone after the first test: deploy into Rig.
    return [rig_at_deployment.chain.snapshot()]


class OnChain(Protocol):
    @property
    def chain(self) -> Chain: ...


D = TypeVar("D", bound=OnChain)


def rewind_after(deployment: D, snapshots: list[str]) -> Iterator[D]:
    """Yield `deployment`, then take its chain (and clock) back to snapshots[0]: the body of every
    per-test fixture over a module-scoped deployment."""
    yield deployment
    deployment.chain.revert_to(snapshots[0])
    snapshots[0] = deployment.chain.snapshot()  # a snapshot is used up by reverting to it


@pytest.fixture
def rig(rig_at_deployment: Rig, snapshots: list[str]) -> Iterator[Rig]:
    """The deployment, fresh: the chain goes back to the snapshot after the test."""
    yield from rewind_after(rig_at_deployment, snapshots)


# ---------------------------------------------------------------------------------------------
# Protocol values for the tests, computed by the Python reference


def address_int(address: str) -> int:
    return int(address, 16)


def event_argument(event: StateSyncEvent) -> tuple[int, ChecksumAddress, ChecksumAddress, bytes]:
    """A model event as the contracts' StateSync struct."""
    sender, receiver = (Web3.to_checksum_address(a.to_bytes(20, "big")) for a in (event.sender, event.receiver))
    return (event.id, sender, receiver, event.data)


def event_hash(event: StateSyncEvent) -> bytes:
    """keccak256(abi.encode(event)), what failedStateSyncs stores."""
    return keccak(abi_encode([EVENT_TYPE], [event_argument(event)]))


def next_header(parent: Header, events: Sequence[StateSyncEvent], *, number: int | None = None) -> Header:
    return Header(
        chain_id=parent.chain_id,
        number=parent.number + 1 if number is None else number,
        parent_hash=compute_header_hash(parent),
        timestamp=parent.timestamp + 2,
        event_root=build_event_tree(events, DEPTH).root,
        validator_set_hash=parent.next_validator_set_hash,
        next_validator_set_hash=parent.next_validator_set_hash,
    )


def header_signals(trusted: int, header: Header) -> list[int]:
    return [compute_header_hash(header), header.number, header.event_root, trusted]


def sync_signals(
    trusted: int, header: Header, events: Sequence[StateSyncEvent], batch_size: int = BATCH_SIZE
) -> list[int]:
    batch = compute_batch_commitment(header.event_root, events, batch_size)
    return [*header_signals(trusted, header), batch.gamma, batch.commitment]


def inclusion_signals(event_root: int, events: Sequence[StateSyncEvent], batch_size: int = BATCH_SIZE) -> list[int]:
    batch = compute_batch_commitment(event_root, events, batch_size)
    return [event_root, batch.gamma, batch.commitment]


def prove(rig: Rig, *signals: Sequence[int]) -> list[ProofArgument]:
    """Real Groth16 proofs (snarkjs) of Open(N) for each signal vector; N = its length."""
    by_size: dict[int, list[int]] = {}
    for i, vector in enumerate(signals):
        by_size.setdefault(len(vector), []).append(i)
    proofs: dict[int, ProofArgument] = {}
    for size, indices in by_size.items():
        calldata = rig.prover(rig.open_verifiers[size], [signals[i] for i in indices])
        proofs.update({i: proof_argument(cd) for i, cd in zip(indices, calldata, strict=True)})
    return [proofs[i] for i in range(len(signals))]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bridge.cli ARGS` in a child process, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "bridge.cli", *args], capture_output=True, text=True)


# ---------------------------------------------------------------------------------------------
# Waiting on processes (the exit-direction tests): bounded, never a sleep that hopes

T = TypeVar("T")
WAIT_SECONDS = 240.0


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = WAIT_SECONDS, pause: float = 0.25) -> T:
    """probe()'s first value that is not None, polled until `timeout`; AssertionError naming `what` after it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(pause)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def ready_exit(network: NetworkConfig, exit_id: int) -> PreparedExit | None:
    """The exit prepared as `zkstatesync exit` prepares it, or None while no checkpoint covers it."""
    try:
        return prepare_exit_from_network(network, exit_id)
    except ExitNotReady:
        return None
