"""One snapshot of everything the explorer shows, read from the chains and the relayer's store.

Nothing here is a second copy of the bridge: every snapshot reads the contracts' logs and state
afresh (a message another relayer carried is there, from the chains) and the store's rows as
they are now. A snapshot lives `ttl` seconds, so a page and the requests right after it (its
links, a dashboard's poll) do not read the chains again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Final

from eth_typing import ChecksumAddress

from statesync.errors import ZkStateSyncError

from ...chain.deploy import Attached
from ...chain.solc import Build, compile_directory
from ...config import NetworkConfig
from ...receiver import read_uint_getter
from ...rpc import FailoverRpc
from ...status import ValidatorState, read_validator_state
from ..checkpoints import CheckpointJournal
from ..store import RelayerStore
from .chainlogs import ChainLogs, SeenEvent
from .journeys import CHILD, ROOTCHAIN, Facts

STORE_ROWS: Final = 500  # the newest proposals, batches and checkpoints of the store a snapshot reads
DEFAULT_TTL: Final = 1.0


class ExplorerUnavailable(ZkStateSyncError):
    """A chain did not answer (the page says so with a 503)."""


@dataclass(frozen=True)
class Snapshot:
    facts: Facts
    validators: tuple[ValidatorState, ...]
    bridge: dict[str, Any]  # the relayer's own view (lag, conflict, queued value, last error)
    read_at: float


@dataclass(frozen=True)
class Sources:
    """Where each contract is, and the first block its logs can be in."""

    network: NetworkConfig
    root_from_block: int
    child_from_block: int
    log_chunk: int


class ExplorerReader:
    def __init__(
        self,
        sources: Sources,
        store: RelayerStore,
        journal: CheckpointJournal | None,
        relayer_status: Callable[[], dict[str, Any]],
        ttl: float = DEFAULT_TTL,
    ) -> None:
        network = sources.network
        child = network.child
        if child is None or child.receiver is None or network.rootchain.state_sender is None:
            raise ExplorerUnavailable("the network records no deployment: there is nothing to explore")
        self.sources = sources
        self.store = store
        self.journal = journal
        self.relayer_status = relayer_status
        self.ttl = ttl
        root = network.rootchain
        self.root = ChainLogs(
            ROOTCHAIN,
            FailoverRpc("rootchain", root.rpc, root.chain_id, root.rpc_timeout),
            sources.log_chunk,
            root.confirmations,
        )
        self.child = ChainLogs(
            CHILD,
            FailoverRpc("child", child.rpc, child.chain_id, child.rpc_timeout),
            sources.log_chunk,
            child.confirmations,
        )
        build = compile_directory()
        self.revert_abis = tuple(contract.abi for contract in build.contracts)
        record = network.deployment
        self.state_sender = _attach(build, "StateSender", root.state_sender)
        self.receiver = _attach(build, "ZkStateReceiver", child.receiver)
        self.l2_sender = _attach(build, "L2StateSender", child.l2_state_sender)
        self.manager = _attach(build, "ZkCheckpointManager", root.checkpoint_manager)
        self.exit_helper = _attach(build, "ZkExitHelper", root.exit_helper)
        self.child_token = _attach(build, "ChildToken", None if record is None else record.child_token)
        self.root_bridge = _attach(build, "RootBridge", None if record is None else record.root_bridge)
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        """The current snapshot (read anew once `ttl` passed); ExplorerUnavailable if a chain is silent."""
        with self._lock:
            if self._snapshot is None or time.monotonic() - self._snapshot.read_at > self.ttl:
                try:
                    self._snapshot = self._read()
                except ZkStateSyncError as exc:
                    raise ExplorerUnavailable(f"the chains could not be read: {exc}") from exc
            return self._snapshot

    def receipt(self, chain: str, tx_hash: str) -> dict[str, Any] | None:
        logs = self.root if chain == ROOTCHAIN else self.child
        with self._lock:
            try:
                answer = logs.receipt(tx_hash)
            except ZkStateSyncError as exc:
                raise ExplorerUnavailable(f"the {chain} could not be read: {exc}") from exc
        return None if answer is None else dict(answer)

    def _read(self) -> Snapshot:
        network, root_from, child_from = (
            self.sources.network,
            self.sources.root_from_block,
            self.sources.child_from_block,
        )
        with ThreadPoolExecutor(max_workers=max(1, len(network.validators))) as pool:
            asked = [pool.submit(read_validator_state, v.name, v.power, v.url) for v in network.validators]
            root_head, child_head = self.root.head(), self.child.head()

            def root_events(target: Attached | None, *names: str) -> tuple[SeenEvent, ...]:
                return _events(self.root, target, names, root_from, root_head)

            def child_events(target: Attached | None, *names: str) -> tuple[SeenEvent, ...]:
                return _events(self.child, target, names, child_from, child_head)

            receiver = self.receiver
            if receiver is None:  # pragma: no cover - the constructor refused a network without one
                raise ExplorerUnavailable("no receiver")
            frozen = read_uint_getter(self.child.rpc, receiver.address, "frozen", child_head, "ZkStateReceiver")
            paused = read_uint_getter(self.child.rpc, receiver.address, "paused", child_head, "ZkStateReceiver")
            journal = ((), ()) if self.journal is None else self.journal.report(STORE_ROWS)
            store = self.store.report(STORE_ROWS)
            headers = child_events(receiver, "HeaderAccepted")
            partial = Facts(
                root_head=root_head,
                child_head=child_head,
                root_confirmations=network.rootchain.confirmations,
                child_confirmations=0 if network.child is None else network.child.confirmations,
                powers=tuple((v.name, v.power) for v in network.validators),
                times={},
                state_synced=root_events(self.state_sender, "StateSynced"),
                headers_accepted=headers,
                results=child_events(receiver, "StateSyncResult"),
                deposits_queue=child_events(self.child_token, "TransferQueued", "TransferReleased"),
                freezes=child_events(receiver, "Frozen"),
                frozen=frozen != 0,
                paused=paused != 0,
                store=store,
                rotations=self._rotations(headers),
                exits=child_events(self.l2_sender, "L2StateSynced"),
                checkpoints_accepted=root_events(self.manager, "CheckpointAccepted"),
                exits_processed=root_events(self.exit_helper, "ExitProcessed"),
                withdrawals_queue=root_events(self.root_bridge, "TransferQueued", "TransferReleased"),
                checkpoints=journal[0],
                checkpoint_transactions=journal[1],
                revert_abis=self.revert_abis,
            )
            times = self._times(partial)
            validators = tuple(future.result() for future in asked)
        facts = replace(partial, times=times)
        return Snapshot(facts, validators, self.relayer_status(), time.monotonic())

    def _rotations(self, headers: tuple[SeenEvent, ...]) -> dict[int, bool]:
        rotations = {}
        for entry in headers[-STORE_ROWS:]:
            header_hash = int(entry.args["headerHash"])
            header = self.store.header(header_hash)
            if header is not None:
                rotations[header_hash] = header.next_validator_set_hash != header.validator_set_hash
        return rotations

    def _times(self, facts: Facts) -> dict[tuple[str, int], int]:
        """The timestamps of every block a journey or a header names."""
        wanted: set[tuple[str, int]] = set()
        for sent, confirmations, head in (
            (facts.state_synced, facts.root_confirmations, facts.root_head),
            (facts.exits, facts.child_confirmations, facts.child_head),
        ):
            for event in sent[-STORE_ROWS:]:
                wanted.add((event.chain, event.block))
                if event.block + confirmations <= head:
                    wanted.add((event.chain, event.block + confirmations))
        for group in (
            facts.headers_accepted,
            facts.results,
            facts.deposits_queue,
            facts.checkpoints_accepted,
            facts.exits_processed,
            facts.withdrawals_queue,
        ):
            wanted.update((event.chain, event.block) for event in group[-STORE_ROWS:])
        heads = {ROOTCHAIN: facts.root_head, CHILD: facts.child_head}
        logs = {ROOTCHAIN: self.root, CHILD: self.child}
        return {(chain, block): logs[chain].block_time(block, heads[chain]) for chain, block in sorted(wanted)}


def _attach(build: Build, name: str, address: ChecksumAddress | None) -> Attached | None:
    return None if address is None else Attached(build.get(name), address)


def _events(
    logs: ChainLogs, target: Attached | None, names: tuple[str, ...], first: int, last: int
) -> tuple[SeenEvent, ...]:
    if target is None or last < first:
        return ()
    found = [event for name in names for event in logs.events(target, name, first, last)]
    return tuple(sorted(found, key=lambda e: (e.block, e.log_index)))
