"""The bridge as a network (bridge/devnet.py): latency, sustained throughput and memory of its processes.

Three phases on one devnet (two anvil nodes, 4 validator processes, the relayer process):
  warm-up   a few deposits, so every process has loaded what it needs (keys, the compiled
            contracts, a first proof) before its memory is taken as the start-up figure;
  latency   single deposits a few seconds apart: from the deposit's block reaching the
            confirmation depth to its execution on the child chain (median, p95);
  load      `events` deposits sent at once (many per rootchain block): events executed per
            minute from the first one's confirmation to the last one's execution; then the
            resident memory of every long-running process again (growth past start-up).
The relayer's proofs run in worker processes it starts per proof; they are not long-running,
and bench_pipeline reports a proof's peak memory.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from eth_typing import HexStr
from web3.types import Wei

from bridge.chain.deploy import encode_call
from bridge.devnet import Devnet, DevnetOptions, open_devnet

CONFIRMATIONS: Final = 4
LATENCY_SAMPLES: Final = 12
LATENCY_GAP_SECONDS: Final = 4.0
DEPOSIT_WEI: Final = 10**15
WAIT_SECONDS: Final = 3600.0


def rss_mb(pid: int) -> float:
    """Resident set size of a live process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def memory(devnet: Devnet) -> dict[str, float]:
    processes = {name: p.process.pid for name, p in devnet.validators.items()}
    if devnet.relayer is not None:
        processes["relayer"] = devnet.relayer.process.pid
    return {name: rss_mb(pid) for name, pid in processes.items()}


def send_deposits(devnet: Devnet, count: int) -> list[int]:
    """`count` deposits sent without waiting for each receipt (from anvil's accounts 1..9); their blocks."""
    web3 = devnet.root.web3
    bridge = devnet.bridge_contract
    hashes = []
    for _ in range(count):
        user = devnet.root.accounts[1 + len(devnet.deposits) % 9]
        data = HexStr("0x" + encode_call(bridge.abi, "deposit", [user]).hex())
        hashes.append(
            web3.eth.send_transaction(
                {"from": user, "to": bridge.address, "value": Wei(DEPOSIT_WEI), "data": data, "gas": 300_000}
            )
        )
        devnet.deposits.append((user, DEPOSIT_WEI))
    blocks = [int(web3.eth.wait_for_transaction_receipt(h, timeout=300)["blockNumber"]) for h in hashes]
    return blocks


def wait_for(devnet: Devnet, last_id: int, confirmed_block: dict[int, int]) -> dict[int, tuple[float, float]]:
    """Poll until event last_id is executed; per event id, when it was confirmed and when executed."""
    seen: dict[int, list[float]] = {}
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status = devnet.status()
        now = time.monotonic()
        for event_id, block in confirmed_block.items():
            entry = seen.setdefault(event_id, [0.0, 0.0])
            if not entry[0] and status.rootchain_head >= block + CONFIRMATIONS:
                entry[0] = now
            if not entry[1] and status.last_executed_id >= event_id:
                entry[1] = now
                if not entry[0]:  # confirmed and executed between two polls
                    entry[0] = now
        if status.last_executed_id >= last_id:
            return {i: (c, e) for i, (c, e) in seen.items()}
        if devnet.relayer is None or not devnet.relayer.is_running():
            raise RuntimeError("the relayer is not running")
        if now > deadline:
            raise RuntimeError(f"only {status.last_executed_id} of {last_id} executed in {WAIT_SECONDS} s")
        time.sleep(0.2)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(preset: str, events: int) -> dict[str, Any]:
    if events < 1:
        raise ValueError("the load phase needs at least one event")
    with tempfile.TemporaryDirectory(prefix="zkstatesync-bench-") as scratch:
        options = DevnetOptions(Path(scratch) / "devnet", preset=preset, confirmations=CONFIRMATIONS, deposits=0)
        with open_devnet(options) as devnet:
            blocks = send_deposits(devnet, 3)
            wait_for(devnet, len(devnet.deposits), {i + 1: b for i, b in enumerate(blocks)})
            start_memory = memory(devnet)

            latencies = []
            for _ in range(LATENCY_SAMPLES):
                (block,) = send_deposits(devnet, 1)
                event_id = len(devnet.deposits)
                times = wait_for(devnet, event_id, {event_id: block})
                confirmed, executed = times[event_id]
                latencies.append(executed - confirmed)
                time.sleep(LATENCY_GAP_SECONDS)

            first = len(devnet.deposits) + 1
            blocks = send_deposits(devnet, events)
            times = wait_for(devnet, len(devnet.deposits), {first + i: b for i, b in enumerate(blocks)})
            started = min(c for c, _ in times.values())
            finished = max(e for _, e in times.values())
            end_memory = memory(devnet)
            load_latencies = [e - c for c, e in times.values()]
    growth = {name: round(end_memory[name] - start_memory[name], 1) for name in start_memory}
    minutes = (finished - started) / 60
    return {
        "preset": preset,
        "confirmations": CONFIRMATIONS,
        "latency": {
            "samples": len(latencies),
            "median_s": round(statistics.median(latencies), 2),
            "p95_s": round(percentile(latencies, 0.95), 2),
            "seconds": [round(x, 3) for x in latencies],
            "goal_median_s": 15.0,
            "met": statistics.median(latencies) <= 15.0,
        },
        "load": {
            "events": events,
            "minutes": round(minutes, 2),
            "events_per_minute": round(events / minutes, 1),
            "goal_events_per_minute": 200,
            "met": events / minutes >= 200,
            "latency_median_s": round(statistics.median(load_latencies), 1),
            "latency_p95_s": round(percentile(load_latencies, 0.95), 1),
            "latency_seconds": [round(x, 3) for x in load_latencies],
        },
        "memory_mb": {
            "start": start_memory,
            "end": end_memory,
            "growth": growth,
            "goal_growth_mb": 50,
            "met": all(g <= 50 for g in growth.values()),
        },
    }
