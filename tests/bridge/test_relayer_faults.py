"""Long fault tests of the relayer (slow; `pytest -m slow tests/bridge/test_relayer_faults.py`).

Each test opens its own bridge (two anvil nodes, four validator processes, the relayer as a
subprocess; tests/bridge/test_relayer.py's rig) and ends with the same check: every event the
rootchain holds now was executed on the child chain exactly once, in id order, and minted what
was deposited. Faults: ten kill -9 over ZKSTATESYNC_FAULT_EVENTS events (default 200), rootchain
reorganisations below the confirmation depth (anvil_reorg), a 30 s outage of the child chain's
only RPC node, two relayers racing, and quiet windows that end in empty headers. Every wait is
bounded; the figures (events per minute, latencies) are printed (run with -s to see them).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import pytest

from bridge.chain.deploy import call, encode_call
from bridge.config import save_network_config
from bridge.relayer.store import BatchStatus, TxStatus
from tests.bridge.test_relayer import (
    WAIT_SECONDS,
    Bridge,
    endpoint_of,
    metric,
    open_bridge,
    rpc,
    wait_for,
    wait_until_settled,
)

pytestmark = [pytest.mark.slow, pytest.mark.anvil]

FAULT_EVENTS = int(os.environ.get("ZKSTATESYNC_FAULT_EVENTS", "200"))
FAULT_SEED = int(os.environ.get("ZKSTATESYNC_FAULT_SEED", "20261201"))
KILLS = 10
OUTAGE_SECONDS = 30.0
KILL_PHASES = ("tx.sent", "prove.start", "relay.signed", "prove.done", "relay.executed", "relay.propose", "tx.sent")
SECONDS_PER_EVENT = 30.0  # the kill test's bound: generous for B = 2 proofs beside other builds


def executed_batches(bridge: Bridge, *names: str) -> list[tuple[int, int]]:
    """(first id, count) of every batch the named relayers executed with their own transactions."""
    found = []
    for name in names:
        store = bridge.open_store(name)
        try:
            wait_until_settled(store)
            found += [(b.key.first_id, b.key.event_count) for b in store.find_batches([BatchStatus.EXECUTED])]
            executed_txs = len(store.transactions(statuses=[TxStatus.SUCCEEDED]))
            assert executed_txs == len(store.find_batches([BatchStatus.EXECUTED]))
        finally:
            store.close()
    return found


def check_batches_partition(batches: list[tuple[int, int]], total: int) -> None:
    """Each event id 1..total in exactly one executed batch (header-only batches carry none)."""
    ids = sorted(i for first, count in batches for i in range(first, first + count))
    assert ids == list(range(1, total + 1))


def count_events(bridge: Bridge, name: str, event: str) -> int:
    return sum(e.get("event") == event for e in bridge.relayers[name].log_events())


def kill_at_phase(bridge: Bridge, phase: str, timeout: float = 30.0) -> str:
    """kill -9 the relayer the moment its log shows the next `phase` event (or after `timeout`)."""
    seen = count_events(bridge, "relayer", phase)
    deadline = time.monotonic() + timeout
    while count_events(bridge, "relayer", phase) == seen and time.monotonic() < deadline:
        time.sleep(0.01)
    last = str(bridge.relayers["relayer"].log_events()[-1].get("event"))
    assert bridge.kill_relayer("relayer") == -9
    return last


def test_ten_kills_over_many_events_lose_nothing_and_repeat_nothing(tmp_path: Path) -> None:
    rng = random.Random(FAULT_SEED)
    total = FAULT_EVENTS
    assert total >= 50, "ten kills, each in its own stretch of work, need ZKSTATESYNC_FAULT_EVENTS >= 50"
    # One kill in each tenth of the run (the last events excepted: every kill must find work to interrupt).
    kill_at = [1 + int((k + rng.random()) * (total - 10) / KILLS) for k in range(KILLS)]
    deadline = time.monotonic() + total * SECONDS_PER_EVENT
    with open_bridge(tmp_path) as bridge:
        bridge.start_relayer("relayer")
        started = time.monotonic()
        kills: list[dict[str, object]] = []
        latency: dict[int, float] = {}
        while (executed := bridge.last_executed_id()) < total:
            sent = bridge.sent()
            if sent < total and sent - executed < 24:
                bridge.deposit([rng.randint(1, 10**18) for _ in range(min(8, total - sent))])
                bridge.confirm()
            if len(kills) < KILLS and executed >= kill_at[len(kills)]:
                # Each kill lands at another point of a step: signed, proving, proven, sent, executed...
                phase = KILL_PHASES[len(kills) % len(KILL_PHASES)]
                last = kill_at_phase(bridge, phase)
                kills.append({"executed": bridge.last_executed_id(), "phase": phase, "last_logged": last})
                bridge.start_relayer("relayer")
            relayer = bridge.relayers["relayer"]
            assert relayer.process.poll() is None, relayer.read_log()[-4000:]
            assert time.monotonic() < deadline, f"{executed} of {total} executed\n{relayer.read_log()[-4000:]}"
            for i in range(1, executed + 1):
                if i in bridge.confirmed_at and i not in latency:
                    latency[i] = time.monotonic() - bridge.confirmed_at[i]
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        bridge.check_exactly_once_in_order()
        check_batches_partition(executed_batches(bridge, "relayer"), total)
        assert len(kills) == KILLS
        values = sorted(latency.values())
        figures = {
            "events": total,
            "kills": kills,
            "reconciled_transactions": count_events(bridge, "relayer", "reconcile.transaction"),
            "proofs_adopted": count_events(bridge, "relayer", "reconcile.proof_adopted"),
            "proofs_reused": count_events(bridge, "relayer", "prove.reused"),
            "minutes": round(elapsed / 60, 2),
            "events_per_minute": round(total / (elapsed / 60), 1),
            "latency_median_s": round(values[len(values) // 2], 1) if values else None,
            "latency_max_s": round(values[-1], 1) if values else None,
        }
        print("\nkill test figures:", json.dumps(figures))


def deposit_transaction(bridge: Bridge, account: int, amount: int) -> dict[str, str]:
    """A RootBridge.deposit as a transaction request (for anvil_reorg to include in the new blocks)."""
    user = bridge.root.accounts[account]
    data = encode_call(bridge.root_stack.bridge.abi, "deposit", [user])
    # anvil_reorg does not estimate gas (its default runs out in StateSender): give it explicitly.
    return {
        "from": user,
        "to": bridge.root_stack.bridge.address,
        "value": hex(amount),
        "data": "0x" + data.hex(),
        "gas": hex(300_000),
    }


def test_rootchain_reorganisations_below_the_confirmation_depth_relay_only_the_canonical_chain(
    tmp_path: Path,
) -> None:
    with open_bridge(tmp_path, confirmations=4) as bridge:
        relayer = bridge.start_relayer("relayer")
        bridge.deposit([1, 2])
        bridge.mine(1)
        time.sleep(2.0)  # the relayer has seen them, unconfirmed, and must not relay them yet
        assert bridge.last_executed_id() == 0
        # The two deposits are reorganised away; the new chain holds one other deposit instead.
        rpc(bridge.root, "anvil_reorg", [3, [[deposit_transaction(bridge, 9, 7), 1]]])
        assert bridge.sent() == 1
        bridge.deposit([3])
        bridge.confirm()
        bridge.wait_for_executed(2)
        bridge.check_exactly_once_in_order()  # 7 wei to account 9, then 3: what the chain holds now
        # A reorganisation of the blocks above a confirmed range does not disturb a header in flight.
        bridge.deposit([4, 5])
        bridge.mine(5)
        rpc(bridge.root, "anvil_reorg", [2, []])
        bridge.mine(1)
        bridge.wait_for_executed(4)
        bridge.check_exactly_once_in_order()
        check_batches_partition(executed_batches(bridge, "relayer"), 4)
        assert relayer.process.poll() is None


class Proxy:
    """A TCP forwarder on loopback to `port` that can be cut (every connection closed, the port shut)."""

    def __init__(self, port: int) -> None:
        self.target = port
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        probe = socket.create_server(("127.0.0.1", 0))
        self.port = int(probe.getsockname()[1])
        probe.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Proxy:
        self.resume()
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.cut()

    def resume(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: the same port again
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # close() alone does not wake a thread blocked in accept() (Linux keeps accepting): shutdown does.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                return  # cut
            with self._lock:
                self._connections |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def relayer_network_through(bridge: Bridge, proxy: Proxy) -> Iterator[str]:
    """A copy of the network file whose child chain is reached through the proxy only (no failover)."""
    config = bridge.network.config
    assert config.child is not None
    name = "relayer-network.toml"
    save_network_config(bridge.directory / name, replace(config, child=replace(config.child, rpc=(proxy.url,))))
    yield name


def test_a_30_second_outage_of_the_child_chains_only_rpc_node_is_waited_out(tmp_path: Path) -> None:
    with open_bridge(tmp_path) as bridge:
        port = urlsplit(endpoint_of(bridge.child)).port
        assert port is not None
        with Proxy(port) as proxy, relayer_network_through(bridge, proxy) as network:
            relayer = bridge.start_relayer("relayer", network=network)
            bridge.deposit([1, 2])
            bridge.confirm()
            bridge.wait_for_executed(2)
            proofs_started = sum(e.get("event") == "prove.start" for e in relayer.log_events())
            bridge.deposit([3, 4, 5])
            bridge.confirm()
            # Cut while the next proof runs: the relayer finds the node gone when it comes to send.
            wait_for(lambda: sum(e.get("event") == "prove.start" for e in relayer.log_events()) > proofs_started, 120)
            errors_before = metric(relayer, "zkstatesync_relayer_rpc_errors_total")
            proxy.cut()
            cut_at = time.monotonic()
            while time.monotonic() - cut_at < OUTAGE_SECONDS:
                assert relayer.process.poll() is None, relayer.read_log()[-4000:]
                assert bridge.last_executed_id() == 2  # read directly, not through the proxy
                time.sleep(0.5)
            errors_during = metric(relayer, "zkstatesync_relayer_rpc_errors_total") - errors_before
            proxy.resume()
            resumed_at = time.monotonic()
            bridge.wait_for_executed(5)
            recovered = time.monotonic() - resumed_at
            bridge.check_exactly_once_in_order()
            check_batches_partition(executed_batches(bridge, "relayer"), 5)
            assert errors_during > 0
            print("\noutage figures:", json.dumps({"rpc_errors": errors_during, "recovered_s": round(recovered, 1)}))


def test_two_relayers_at_once_execute_every_event_once(tmp_path: Path) -> None:
    with open_bridge(tmp_path) as bridge:
        first, second = bridge.start_relayer("first"), bridge.start_relayer("second")
        for _ in range(3):
            bridge.deposit([1, 2, 3, 4, 5])
            bridge.confirm()
            time.sleep(3.0)
        bridge.wait_for_executed(15)
        bridge.check_exactly_once_in_order()
        # Each event ran in exactly one transaction of one of the two: the losers reconciled.
        check_batches_partition(executed_batches(bridge, "first", "second"), 15)
        races = metric(first, "zkstatesync_relayer_races_lost_total") + metric(
            second, "zkstatesync_relayer_races_lost_total"
        )
        print("\ntwo relayers:", json.dumps({"races_lost": races}))
        assert first.process.poll() is None and second.process.poll() is None


def test_quiet_windows_end_in_empty_headers_and_later_events_still_arrive(tmp_path: Path) -> None:
    with open_bridge(tmp_path, max_range=8) as bridge:
        relayer = bridge.start_relayer("relayer")
        genesis = bridge.network.config.genesis
        assert genesis is not None
        bridge.mine(20)  # two quiet windows of 8 blocks, confirmed: two empty headers
        receiver = bridge.child_stack.receiver
        wait_for(lambda: int(call(bridge.child, receiver, "lastNumber")) >= genesis.number + 16, WAIT_SECONDS)
        assert bridge.last_executed_id() == 0
        bridge.deposit([1, 2, 3])
        bridge.confirm()
        bridge.wait_for_executed(3)
        bridge.check_exactly_once_in_order()
        assert metric(relayer, "zkstatesync_relayer_proofs_total", circuit="header_update") >= 2
