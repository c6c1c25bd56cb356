"""`make bench`: every benchmark, into bench/results.json and a table. Never a timed test.

python -m bench                       # everything, presets test and default
python -m bench --presets test        # the pipeline at the test preset only
python -m bench --only crypto verifier
python -m bench --only gas --chain anvil  # gas on anvil instead of py-evm
python -m bench --only exits --chain anvil  # the exit direction's gas alone, with rate limits and pause (~1 min)
python -m bench --only rails  # ZkStateReceiver's rails: freeze, recover, pause, execution after a pause (~1 min)
python -m bench --only zkey --zkey-presets test default  # phase 2 at the default size too (~15 min)
python -m bench --only network --network-events 100  # the devnet: latency, throughput, memory
python -m bench --only prover --presets test  # the proving backends side by side, and the Dask farm
python -m bench --only aggregate  # the aggregate quorum: cost per validator, V = 1,024, 64 nodes signing (~15 min)

Beside results.json, bench/charts/ gets PNG charts (bench/charts.py) of every section that has results.

Sections left out by --only keep their previous results in results.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bridge.chain.chains import CHAIN_KINDS, parse_chain_kind
from statesync.storage import write_atomically

from . import (
    bench_aggregate,
    bench_crypto,
    bench_gas,
    bench_network,
    bench_pipeline,
    bench_prover,
    bench_ptau,
    bench_verifier,
    bench_zkey,
    charts,
)

RESULTS = Path(__file__).resolve().parent / "results.json"
SECTIONS = (
    "crypto",
    "verifier",
    "ptau",
    "zkey",
    "pipeline",
    "prover",
    "aggregate",
    "gas",
    "exits",
    "rails",
    "network",
)


def _flat_table(title: str, rows: dict[str, Any]) -> Table:
    table = Table("measure", "value", title=title)
    for key, value in rows.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict | list) else str(value))
    return table


def _gas_tables(gas: dict[str, Any]) -> list[Table]:
    on = f"{gas['chain']}, {gas['preset']} preset"
    verifiers = Table("circuit", "public signals", "gas", "207.5k + 6.8k/signal", title=f"verifyProof ({on})")
    for row in gas["verifiers"]:
        verifiers.add_row(row["circuit"], str(row["public_signals"]), f"{row['gas']:,}", f"{row['rule_of_thumb']:,}")
    update = gas["header_update"]
    header = Table("submitHeader", "gas", "goal", title="header update: verification and storage")
    header.add_row("first after deployment (counters from zero)", f"{update['first_gas']:,}", "")
    header.add_row("every later one", f"{update['gas']:,}", f"<= {update['goal']:,} " + _verdict(update["met"]))
    if "header_chain" in gas:
        chained = gas["header_chain"]
        header.add_row(
            f"HeaderChain verifier: {chained['headers']} headers in one proof",
            f"{chained['gas']:,}",
            f"{chained['per_header']:,} per header",
        )
    goal = gas["per_event_goal"]
    batches = Table(
        "B",
        "gas",
        "receivers' own",
        "without receivers",
        "per event",
        "per event w/o receivers",
        "Edge per event",
        title=f"syncState to NoopReceiver (Open(N) verifiers; NoopReceiver runs {gas['noop_receiver_gas']} gas a call)",
    )
    for row in gas["batches"]:
        per_event = f"{row['per_event']:,}"
        if row["batch_size"] == goal["batch_size"]:
            per_event += f" (goal <= {goal['goal']:,} {_verdict(goal['met'])})"
        batches.add_row(
            str(row["batch_size"]),
            f"{row['gas']:,}",
            f"{row['receivers_gas']:,}",
            f"{row['gas_without_receivers']:,}",
            per_event,
            f"{row['per_event_without_receivers']:,}",
            f"~{row['edge_per_event']:,}",
        )
    return [verifiers, header, batches]


def _exits_table(exits: dict[str, Any]) -> Table:
    table = Table(
        "exit direction (depth 16, NoopL2Receiver, 32 bytes of data)",
        "gas",
        "goal",
        "Edge",
        title=f"ZkCheckpointManager and ZkExitHelper ({exits['chain']}; Open(5) verifier)",
    )
    checkpoint, single, batch, stored = (
        exits["checkpoint"],
        exits["exit"],
        exits["batch_exit"],
        exits["stored_checkpoints"],
    )
    table.add_row("submit, first after deployment", f"{checkpoint['first_gas']:,}", "", "")
    for generated in checkpoint["generated_verifier"]:
        table.add_row(
            f"submit, generated verifier, real proof, V = {generated['validators']}", f"{generated['gas']:,}", "", ""
        )
    table.add_row(
        "submit, every later one",
        f"{checkpoint['gas']:,}",
        f"<= {checkpoint['goal']:,} {_verdict(checkpoint['met'])}",
        f"~{checkpoint['edge_4_validators']:,} (4 validators), "
        f"~{checkpoint['edge_16_validators_11_signing']:,} (16, 11 signing)",
    )
    table.add_row(
        f"exit, median of {len(single['gas'])} consecutive ids",
        f"{single['median']:,}",
        f"<= {single['goal']:,} {_verdict(single['met'])}",
        f"{single['edge']:,} ({single['edge_proxied']:,} proxied)",
    )
    table.add_row("exit, first id of a bitmap word (fresh slot)", f"{single['first_in_bitmap_word']:,}", "", "")
    table.add_row("exit calldata, bytes", f"{single['calldata_bytes']:,}", "", f"{single['edge_calldata_bytes']:,}")
    table.add_row(
        f"batchExit of {batch['size']}, per exit",
        f"{batch['per_exit']:,} ({batch['gas']:,} in all)",
        f"<= {batch['goal']:,} {_verdict(batch['met'])}",
        f"{batch['edge_per_exit']:,}",
    )
    table.add_row("exit, 1 checkpoint stored", f"{stored['with_1']:,}", "", "")
    table.add_row(
        "exit, 1,024 stored (oldest / newest)",
        f"{stored['with_1024_oldest']:,} / {stored['with_1024_newest']:,}",
        "flat",
        f"+{stored['edge_extra']:,}",
    )
    return table


def _limits_table(limits: dict[str, Any]) -> Table:
    table = Table(
        "rate limits and pause (a fresh recipient each time)",
        "ChildToken deposit (child chain)",
        "RootBridge withdrawal (rootchain)",
        title=f"TokenBucketQueue and ZkExitHelper.pause ({limits['chain']}; callbacks sent directly)",
    )
    deposit, withdrawal = limits["child_token_deposit"], limits["root_bridge_withdrawal"]
    for key, label in (
        ("at_once", "delivered at once"),
        ("queued", "queued (the bucket is empty)"),
        ("queued_large", "above capacity: the large lane"),
        ("release_per_item", "releaseQueued, per item"),
        ("release_large_alone", "releaseQueued(1): a ripe large transfer"),
    ):
        table.add_row(label, f"{deposit[key]:,}", f"{withdrawal[key]:,}")
    table.add_row(
        "refused payment made claimable / claim",
        "",
        f"{withdrawal['at_once_to_a_refusing_payee']:,} / {withdrawal['claim']:,}",
    )
    pause = limits["pause"]
    table.add_row("ZkExitHelper.pause (first / renewal)", "", f"{pause['first']:,} / {pause['renewal']:,}")
    return table


def _rails_table(rails: dict[str, Any], gas: dict[str, Any] | None) -> Table:
    # submitHeader with the rails in place is the gas section's figure: quoted, not measured again.
    goal, update = rails["header_update_goal"], ""
    if gas is not None:
        measured = gas["header_update"]["gas"]
        update = f"{measured:,} ({_verdict(measured <= goal)}); "
    table = Table(
        "ZkStateReceiver entry point",
        "gas",
        "what it did",
        title=f"the receiver's safety rails ({rails['chain']}, {rails['preset']} preset, generated verifiers)",
        caption=f"submitHeader with the rails: {update}goal <= {goal:,}, "
        f"the issue's bound <= {rails['header_update_bound']:,} (gas section)",
    )
    batch = rails["batch_size"]
    for key, label, did in (
        ("freeze_with_header", "freezeWithHeader (HeaderUpdate evidence)", "Frozen"),
        ("freeze_with_state_sync", "freezeWithStateSync (StateSync evidence)", "Frozen, its batch not run"),
        ("recover_after_freeze", "recover, by governance, after a freeze", "Recovered"),
        ("recover_after_expiry", "recover, by governance, after an expiry", "Recovered"),
        ("pause_first", "pause, by the guardian: first", "Paused"),
        ("pause_renewal", "pause, by the guardian: renewal", "Paused"),
        ("sync_state_paused", "syncState while paused", f"header accepted, batch of {batch} skipped"),
        ("execute_state_sync_after_pause", "executeStateSync after the pause", f"that batch of {batch} run"),
        ("sync_state_unpaused", "syncState unpaused, for comparison", f"header and batch of {batch} at once"),
    ):
        table.add_row(label, f"{rails[key]:,}", did)
    return table


def _zkey_table(zkey: dict[str, Any]) -> Table:
    table = Table("preset", "step", "snarkjs s", "zkey_fast s", "wall ratio", "CPU ratio", title="phase 2 (state_sync)")
    for preset, entry in zkey.items():
        if not isinstance(entry, dict) or "speedup" not in entry:
            continue
        for step, ratio in entry["speedup"].items():
            ours = entry["zkey_fast"].get(step) or entry["zkey_fast"]["total (as prover.setup runs it)"]
            theirs = entry["snarkjs"].get(step) or entry["snarkjs"]["total"]
            table.add_row(
                f"{preset} ({entry['constraints']:,})",
                step,
                str(theirs["seconds"]),
                str(ours["seconds"]),
                f"{ratio['wall']}x",
                f"{ratio['cpu']}x",
            )
    return table


def _network_table(network: dict[str, Any]) -> Table:
    table = Table("measure", "value", "goal", title=f"the bridge as processes ({network['preset']} preset)")
    latency, load, memory = network["latency"], network["load"], network["memory_mb"]
    table.add_row(
        f"latency, single deposits ({latency['samples']}), confirmation to execution",
        f"median {latency['median_s']} s, p95 {latency['p95_s']} s",
        f"median <= {latency['goal_median_s']} s {_verdict(latency['met'])}",
    )
    table.add_row(
        f"throughput, {load['events']} deposits at once",
        f"{load['events_per_minute']} events/min ({load['minutes']} min)",
        f">= {load['goal_events_per_minute']} {_verdict(load['met'])}",
    )
    table.add_row("latency under that load", f"median {load['latency_median_s']} s, p95 {load['latency_p95_s']} s", "")
    for name, start in memory["start"].items():
        table.add_row(
            f"RSS of {name}",
            f"{start} MB -> {memory['end'][name]} MB ({memory['growth'][name]:+} MB)",
            f"<= +{memory['goal_growth_mb']} MB",
        )
    table.add_row("memory growth", "", _verdict(memory["met"]))
    return table


def _prover_tables(prover: dict[str, Any]) -> list[Table]:
    backends = Table(
        "circuit",
        "constraints",
        "snarkjs CLI s",
        "warm snarkjs s",
        "warm fast s",
        "fast vs CLI",
        "peak RSS MB (CLI / snarkjs / fast)",
        title=f"prove seconds, witness excluded (median; the same key and witness; {prover['cpus']} cores)",
    )
    for row in prover["backends"]:
        backends.add_row(
            f"{row['circuit']} ({row['preset']})",
            f"{row['constraints']:,}",
            str(row["snarkjs_cli"]["seconds"]),
            str(row["snarkjs"]["seconds"]),
            str(row["fast"]["seconds"]),
            f"{row['speedup_fast_vs_snarkjs_cli']}x",
            f"{row['snarkjs_cli']['peak_rss_mb']} / {row['snarkjs']['peak_rss_mb']} / {row['fast']['peak_rss_mb']}",
        )
    goal = prover.get("goal")
    if goal:
        backends.caption = (
            f"state_sync at the default preset: {goal['fast_s']} s, goal <= {goal['goal_s']} s "
            f"{_verdict(goal['met'])}; peak memory no more than snarkjs's {_verdict(goal['memory_met'])}"
        )
    farm = prover["farm"]
    farmed = Table("measure", "value", title=f"the Dask farm ({farm['circuit']}, {farm['preset']} preset)")
    farmed.add_row(
        f"{farm['proofs']} proofs on {farm['workers']} independent warm provers",
        f"{farm['independent_s']} s ({farm['independent_per_minute']} a minute)",
    )
    farmed.add_row(
        f"the same on a LocalCluster of {farm['workers']} workers",
        f"{farm['farm_s']} s ({farm['farm_per_minute']} a minute)",
    )
    farmed.add_row(
        "farm throughput / independent", f"{farm['farm_throughput_ratio']} (goal >= 0.9 {_verdict(farm['met'])})"
    )
    return [backends, farmed]


def _aggregate_tables(aggregate: dict[str, Any]) -> list[Table]:
    sizes = aggregate["constraints"]
    table = Table("circuit", "preset", "V", "quorum mode", "constraints", "setup", title="quorum modes at --O2")
    for row in sizes["rows"]:
        mode = "aggregate" if row["Q"] == 1 else "per validator"
        table.add_row(
            row["circuit"], row["preset"], str(row["V"]), mode, f"{row['constraints']:,}", f"2^{row['power']}"
        )
    goals = aggregate["goals"]
    table.caption = (
        f"per validator (V=1024 - V=256) / 768: {sizes['per_validator']} "
        f"(goal <= {goals['per_validator']} {_verdict(sizes['per_validator_met'])}); HeaderUpdate at V = 1,024 "
        f"in 2^{sizes['header_update_1024_power']} ({_verdict(sizes['header_update_1024_power_met'])})"
    )
    prove, signing = aggregate["prove"], aggregate["signing"]
    figures = Table("measure", "value", "goal", title="the aggregate mode's proof and signing")
    figures.add_row(
        f"StateSync at {prove['preset']} ({prove['constraints']:,} constraints, 2^{prove['power']}): prove",
        f"{prove['prove_s']} s (witness {prove['witness_s']} s)",
        f"<= {prove['goal_s']} s {_verdict(prove['met'])}",
    )
    figures.add_row(
        f"two signing rounds, {signing['signers']} signers in one Python process (no HTTP)",
        f"{signing['total_s']} s (round one {signing['round_one_s']} s)",
        "",
    )
    http = aggregate["http"]
    figures.add_row(
        f"two signing rounds over HTTP, {http['validators']} validator processes on loopback, the relayer's "
        f"collector (round one ends 0.25 s past a quorum; median {http['quorum']['median_signers']} signers)",
        f"{http['quorum']['median_s']} s",
        f"<= {http['goal_s']} s {_verdict(http['met'])}",
    )
    figures.add_row(
        f"the same, waiting for all {http['validators']} in round one",
        f"{http['all']['median_s']} s",
        "",
    )
    return [table, figures]


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _previous_results() -> dict[str, Any]:
    # Sections left out by --only keep their last results: a `--only gas` run must not drop
    # the pipeline's, which take the best part of an hour to make again.
    try:
        previous = json.loads(RESULTS.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return previous if isinstance(previous, dict) else {}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--presets", nargs="+", default=["test", "default"])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument(
        "--zkey-presets", nargs="+", default=["test"], help="state_sync sizes for the snarkjs vs zkey_fast phase 2"
    )
    parser.add_argument("--chain", choices=CHAIN_KINDS, default="pyevm", help="where the gas section runs")
    parser.add_argument("--network-preset", default="default", help="the devnet's preset for the network section")
    parser.add_argument("--network-events", type=int, default=500, help="deposits of the network section's load")
    args = parser.parse_args()
    console = Console(width=150)
    results = _previous_results()
    results["machine"] = {
        "python": platform.python_version(),
        "processor": platform.machine(),
        "cpus": __import__("os").cpu_count(),
    }
    results["started"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if "crypto" in args.only:
        console.print("[bold]crypto[/] (Poseidon, EdDSA, Merkle)")
        results["crypto"] = bench_crypto.run()
        console.print(_flat_table("reference cryptography", results["crypto"]))
    if "verifier" in args.only:
        console.print("[bold]verifier[/] (Python Groth16 vs snarkjs CLI)")
        results["verifier"] = bench_verifier.run()
        console.print(_flat_table("Groth16 verification", results["verifier"]))
    if "ptau" in args.only:
        console.print("[bold]ptau[/] (local powers of tau vs snarkjs's ceremony)")
        results["ptau"] = bench_ptau.run()
        console.print(_flat_table("powers of tau", results["ptau"]))
    if "zkey" in args.only:
        console.print("[bold]zkey[/] (phase 2: snarkjs vs zkey_fast, state_sync)")
        results["zkey"] = bench_zkey.run(args.zkey_presets)
        console.print(_zkey_table(results["zkey"]))
    if "pipeline" in args.only:
        console.print(f"[bold]pipeline[/] (presets {', '.join(args.presets)}; first runs make the keys)")
        rows = bench_pipeline.run(args.presets)
        results["pipeline"] = rows
        table = Table(
            "circuit",
            "preset",
            "constraints",
            "2^k",
            "compile s",
            "ptau s",
            "phase 2 s",
            "witness s",
            "prove s",
            "prove RSS MB",
            title="proving pipeline",
        )
        for row in rows:
            phase2 = sum(row["phase2_seconds"].values())
            table.add_row(
                row["circuit"],
                row["preset"],
                str(row["non_linear_constraints"]),
                str(row["power"]),
                str(row["compile_s"]),
                str(row["ptau_seconds"]),
                f"{phase2:.1f}",
                str(row["witness_s"]),
                str(row["prove_s"]),
                str(row["prove_peak_rss_mb"]),
            )
        console.print(table)
    if "prover" in args.only:
        console.print(f"[bold]prover[/] (backends side by side at {', '.join(args.presets)}; the Dask farm)")
        results["prover"] = bench_prover.run(args.presets)
        for table in _prover_tables(results["prover"]):
            console.print(table)
    if "aggregate" in args.only:
        console.print("[bold]aggregate[/] (the aggregate quorum mode: sizes, V = 1,024 proof, signing)")
        results["aggregate"] = bench_aggregate.run()
        for table in _aggregate_tables(results["aggregate"]):
            console.print(table)
    if "gas" in args.only:
        console.print(f"[bold]gas[/] (verifiers, header update and batches on {args.chain})")
        results["gas"] = bench_gas.run(parse_chain_kind(args.chain))
        for table in _gas_tables(results["gas"]):
            console.print(table)
    if "exits" in args.only:
        console.print(f"[bold]exits[/] (checkpoint submission and exits on {args.chain})")
        results["exits"] = bench_gas.run_exits(parse_chain_kind(args.chain))
        console.print(_exits_table(results["exits"]))
        console.print(_limits_table(results["exits"]["limits"]))
    if "rails" in args.only:
        console.print(f"[bold]rails[/] (ZkStateReceiver's freeze, recovery and pause on {args.chain})")
        results["rails"] = bench_gas.run_rails(parse_chain_kind(args.chain))
        console.print(_rails_table(results["rails"], results.get("gas")))
    if "network" in args.only:
        console.print(
            f"[bold]network[/] (devnet at {args.network_preset}: latency, {args.network_events} events, memory)"
        )
        results["network"] = bench_network.run(args.network_preset, args.network_events)
        console.print(_network_table(results["network"]))
    write_atomically(RESULTS, json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {RESULTS}")
    for chart in charts.write_charts(results):
        console.print(f"wrote {chart}")


if __name__ == "__main__":
    main()
