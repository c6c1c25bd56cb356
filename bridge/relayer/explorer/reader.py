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
        self._failure: tuple[float, str] | None = None  # (when, why) the last read failed
        self._rotation: dict[int, bool] = {}

    def snapshot(self) -> Snapshot:
        """The current snapshot (read anew once `ttl` passed); ExplorerUnavailable if a chain is silent
        (remembered for `ttl` too, so requests do not queue up behind a chain's timeouts)."""
        with self._lock:
            now = time.monotonic()
            if self._failure is not None and now - self._failure[0] <= self.ttl:
                raise ExplorerUnavailable(self._failure[1])
            if self._snapshot is None or now - self._snapshot.read_at > self.ttl:
                try:
                    self._snapshot = self._read()
                    self._failure = None
                except ZkStateSyncError as exc:
                    self._failure = (time.monotonic(), f"the chains could not be read: {exc}")
                    raise ExplorerUnavailable(self._failure[1]) from exc
            return self._snapshot

    def receipt(self, chain: str, tx_hash: str) -> dict[str, Any] | None:
        """A transaction's receipt, asked of its chain directly (not behind a snapshot being read)."""
        logs = self.root if chain == ROOTCHAIN else self.child
        try:
            answer = logs.receipt(tx_hash)
        except ZkStateSyncError as exc:
            raise ExplorerUnavailable(f"the {chain} could not be read: {exc}") from exc
        return None if answer is None else dict(answer)

    def _read(self) -> Snapshot:
        network = self.sources.network
        receiver = self.receiver
        if receiver is None:  # pragma: no cover - the constructor refused a network without one
            raise ExplorerUnavailable("no receiver")
        # The store first, the chains after: what the store says happened is then in the logs read
        # next, so a message never shows a step done that its chain does not have yet.
        store = self.store.report(STORE_ROWS)
        journal = ((), ()) if self.journal is None else self.journal.report(STORE_ROWS)
        relayer_status = self.relayer_status()
        with ThreadPoolExecutor(max_workers=max(1, len(network.validators))) as pool:
            asked = [pool.submit(read_validator_state, v.name, v.power, v.url) for v in network.validators]
            root_head, child_head = self.root.head(), self.child.head()
            root_from, child_from = self.sources.root_from_block, self.sources.child_from_block

            def on_root(target: Attached | None, *names: str) -> tuple[SeenEvent, ...]:
                return _events(self.root, target, names, root_from, root_head)

            def on_child(target: Attached | None, *names: str) -> tuple[SeenEvent, ...]:
                return _events(self.child, target, names, child_from, child_head)

            def flag(target: Attached | None, getter: str, rpc: FailoverRpc, block: int) -> bool:
                if target is None:
                    return False
                return read_uint_getter(rpc, target.address, getter, block, target.contract.name) != 0

            receiver_events = on_child(receiver, "HeaderAccepted", "StateSyncResult", "Frozen", "Recovered")
            headers = tuple(e for e in receiver_events if e.name == "HeaderAccepted")
            partial = Facts(
                root_head=root_head,
                child_head=child_head,
                root_confirmations=network.rootchain.confirmations,
                child_confirmations=0 if network.child is None else network.child.confirmations,
                powers=tuple((v.name, v.power) for v in network.validators),
                times={},
                state_synced=on_root(self.state_sender, "StateSynced"),
                headers_accepted=headers,
                results=tuple(e for e in receiver_events if e.name == "StateSyncResult"),
                deposits_queue=on_child(self.child_token, "TransferQueued", "TransferReleased"),
                freezes=tuple(e for e in receiver_events if e.name == "Frozen"),
                recoveries=tuple(e for e in receiver_events if e.name == "Recovered"),
                frozen=flag(receiver, "frozen", self.child.rpc, child_head),
                expired=flag(receiver, "expired", self.child.rpc, child_head),
                paused=flag(receiver, "paused", self.child.rpc, child_head),
                exits_paused=flag(self.exit_helper, "paused", self.root.rpc, root_head),
                store=store,
                rotations=self._rotations(headers),
                genesis_number=0 if network.genesis is None else network.genesis.number,
                checkpoint_genesis_number=0
                if network.checkpoint_genesis is None
                else network.checkpoint_genesis.number,
                exits=on_child(self.l2_sender, "L2StateSynced"),
                checkpoints_accepted=on_root(self.manager, "CheckpointAccepted"),
                exits_processed=on_root(self.exit_helper, "ExitProcessed"),
                withdrawals_queue=on_root(self.root_bridge, "TransferQueued", "TransferReleased"),
                checkpoints=journal[0],
                checkpoint_transactions=journal[1],
                revert_abis=self.revert_abis,
            )
            times = self._times(partial)
            validators = tuple(future.result() for future in asked)
        return Snapshot(replace(partial, times=times), validators, relayer_status, time.monotonic())

    def _rotations(self, headers: tuple[SeenEvent, ...]) -> dict[int, bool]:
        """Whether each accepted header the store holds names another next set (remembered: a
        header's fields never change, and rebuilding one costs a Poseidon hash)."""
        for entry in headers[-STORE_ROWS:]:
            header_hash = int(entry.args["headerHash"])
            if header_hash not in self._rotation:
                header = self.store.header(header_hash)
                if header is not None:
                    self._rotation[header_hash] = header.next_validator_set_hash != header.validator_set_hash
        return dict(self._rotation)

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
    return tuple(sorted(logs.events(target, names, first, last), key=lambda e: (e.block, e.log_index)))
