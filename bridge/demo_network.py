"""`make demo`: the bridge as a network of processes, faults happening live, then attacks refused.

Act by act, on a devnet (bridge/devnet.py: two anvil chains, 4 validator processes with powers
4, 3, 2, 1, a relayer process):
  1. deposits on the rootchain arrive on the child chain through the validators and the relayer;
     then withdrawals go the other way: child tokens burnt, the child chain's checkpoint signed,
     proven and submitted by the relayer, the exits built from the child's logs and executed on
     the rootchain by someone else, balances checked on both chains (bridge/demo_exits.py; a
     wrong proof and replays are refused);
  2. the relayer is killed with kill -9 while it works, restarted, and resumes without losing or
     repeating an event;
  3. bob (power 3) is killed: 7 of 10 is still more than 2/3, and the bridge keeps going;
  4. alice (power 4) is killed too: 3 of 10 cannot sign, nothing moves, and nothing unsafe is
     done; both come back and the bridge catches up;
  5. hostile proposals to the validators (an inflated deposit, a stale parent) are refused by
     every one of them, each with a machine-readable reason;
  6. checkpoints under attack: signed below the quorum, or by the old set after a rotation, with
     the devnet's own keys: refused by the rules and by the circuit;
  7. equivocation: alice and bob (7 of 10) sign a second header at a number, which the receiver
     accepts first; the relayer proves the canonical one and freezes the receiver before any of
     the forged header's events executes (bridge/demo_equivocation.py); the devnet ends frozen;
  8. proofs and contracts under attack: the in-process demo's attacks (bridge/demo.py: a replayed
     proof, a tampered public input, half the power, the old validator set after a rotation).
Each act checks its outcome and raises DemoFailure if it did not hold; at the end every deposit
must have been executed exactly once, in id order, minting what was deposited.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from eth_abi.abi import decode, encode
from rich.console import Console
from rich.table import Table
from web3 import Web3

from statesync.model import Header, StateSyncEvent
from statesync.proposal import RootBlock, derive_header

from .chain.stack import read_state_synced
from .config import build_proposal_rules, compute_configured_set_hash
from .demo import DemoFailure, run_demo
from .demo_equivocation import EquivocationReport, play_equivocation
from .demo_exits import ExitsReport, play_withdrawals, refuse_checkpoint_attacks
from .devnet import NAMES, Devnet, DevnetOptions, open_devnet
from .relayer.cli import store_identity
from .relayer.process import stop_relayer
from .relayer.settings import load_relayer_config
from .relayer.store import DB_NAME, RelayerStore
from .status import BridgeStatus
from .validator.client import ValidatorClient, ValidatorRefused

CONFIRMATIONS: Final = 2
WAIT_SECONDS: Final = 240.0  # the longest any act waits for the bridge (bounded: the demo never hangs)
QUIET_SECONDS: Final = 12.0  # how long act 4 watches nothing move below the quorum
STATE_SYNC_RESULT: Final = Web3.keccak(text="StateSyncResult(uint256,bool,bytes)")
DEPOSITED: Final = Web3.keccak(text="Deposited(uint256,address,uint256)")
DEPOSIT_WEI: Final = 10**16


@dataclass
class NetworkDemoReport:
    acts: list[tuple[str, float]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds from confirmation depth to execution
    refusals: list[tuple[str, str]] = field(default_factory=list)  # (what, the validators' reasons)
    executed: int = 0
    attacks: list[tuple[str, str]] = field(default_factory=list)  # the in-process act's
    exits: ExitsReport = field(default_factory=ExitsReport)
    equivocation: EquivocationReport | None = None
    explorer: str = ""  # the explorer's URL (served by the devnet's relayer)
    explorer_page: str = ""  # its index as the demo's last act read it


@dataclass
class _Tracker:
    """When each deposit reached the confirmation depth, and when it was executed."""

    devnet: Devnet
    blocks: dict[int, int] = field(default_factory=dict)  # id -> rootchain block
    confirmed_at: dict[int, float] = field(default_factory=dict)
    executed_at: dict[int, float] = field(default_factory=dict)

    def deposit(self, count: int) -> list[int]:
        ids = []
        for _ in range(count):
            event_id, block = self.devnet.deposit(DEPOSIT_WEI)
            self.blocks[event_id] = block
            ids.append(event_id)
        return ids

    def observe(self) -> BridgeStatus:
        status = self.devnet.status()
        now = time.monotonic()
        for event_id, block in self.blocks.items():
            if status.rootchain_head >= block + CONFIRMATIONS:
                self.confirmed_at.setdefault(event_id, now)
            if status.last_executed_id >= event_id:
                self.executed_at.setdefault(event_id, now)
        return status

    def wait_executed(self, last_id: int, timeout: float = WAIT_SECONDS) -> BridgeStatus:
        deadline = time.monotonic() + timeout
        while True:
            status = self.observe()
            if status.last_executed_id >= last_id:
                return status
            relayer = self.devnet.relayer
            if relayer is not None and not relayer.is_running():
                raise DemoFailure(f"the relayer exited:\n{relayer.read_log()[-2000:]}")
            if time.monotonic() > deadline:
                raise DemoFailure(f"only {status.last_executed_id} of {last_id} events executed in {timeout:.0f} s")
            time.sleep(0.25)

    def wait_confirmed(self, event_id: int, timeout: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while event_id not in self.confirmed_at:
            self.observe()
            if time.monotonic() > deadline:
                raise DemoFailure(f"event {event_id} did not reach {CONFIRMATIONS} confirmations in {timeout:.0f} s")
            time.sleep(0.25)

    def latencies(self) -> list[float]:
        return [self.executed_at[i] - self.confirmed_at[i] for i in self.executed_at if i in self.confirmed_at]


@contextlib.contextmanager
def _act(report: NetworkDemoReport, console: Console, title: str) -> Iterator[None]:
    console.print(f"\n[bold cyan]>[/] {title}", highlight=False)
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    report.acts.append((title, seconds))
    console.print(f"  [dim]done in {seconds:.1f} s[/]", highlight=False)


def check_exactly_once_in_order(devnet: Devnet) -> int:
    """Every rootchain event executed once, in id order, successfully, minting its deposit; how many."""
    events = read_state_synced(devnet.root, devnet.deployment.root.sender)
    child = devnet.child.web3
    receiver, token = devnet.deployment.child.receiver.address, devnet.deployment.child.token.address
    results = child.eth.get_logs({"address": receiver, "fromBlock": 0, "topics": [STATE_SYNC_RESULT]})
    executed = [(int.from_bytes(bytes(r["topics"][1]), "big"), bytes(r["topics"][2])[-1] == 1) for r in results]
    if executed != [(e.id, True) for e in events]:
        raise DemoFailure(f"the receiver executed {executed[:10]}..., the rootchain sent ids 1..{len(events)}")
    mints = child.eth.get_logs({"address": token, "fromBlock": 0, "topics": [DEPOSITED]})
    minted = [(int.from_bytes(bytes(m["topics"][1]), "big"), int.from_bytes(bytes(m["data"]), "big")) for m in mints]
    deposited = [(e.id, int(decode(["address", "uint256"], e.data)[1])) for e in events]
    if minted != deposited:
        raise DemoFailure("the child chain's mints are not the rootchain's deposits")
    return len(events)


def _refusals(devnet: Devnet, proposal: Header, parent: Header) -> list[str]:
    """Ask every running validator to sign; the codes they refused with (DemoFailure if one signs)."""
    codes = []
    for name, process in devnet.validators.items():
        try:
            ValidatorClient(process.client.url).sign(proposal, parent)
        except ValidatorRefused as refused:
            codes.append(f"{name}: {refused.code}")
            continue
        raise DemoFailure(f"validator {name} signed a hostile proposal (header {proposal.number})")
    if len(codes) != len(NAMES):
        raise DemoFailure(f"only {len(codes)} of {len(NAMES)} validators were asked")
    return codes


def _hostile_proposals(devnet: Devnet, tracker: _Tracker, report: NetworkDemoReport, console: Console) -> None:
    """With the relayer stopped, a deposit waits on the rootchain; propose lies about it."""
    config = devnet.deployment.config
    relayer_config = load_relayer_config(devnet.relayer_config)
    store = RelayerStore(relayer_config.node.data_dir / DB_NAME, store_identity(relayer_config))
    try:
        status = tracker.observe()
        parent = store.header(status.checkpoint_hash)
    finally:
        store.close()
    if parent is None:
        raise DemoFailure("the relayer's store does not hold the checkpoint it had accepted")
    (event_id,) = tracker.deposit(1)
    tracker.wait_confirmed(event_id)
    (event,) = [e for e in read_state_synced(devnet.root, devnet.deployment.root.sender) if e.id == event_id]
    to, amount = decode(["address", "uint256"], event.data)
    block = devnet.root.web3.eth.get_block(tracker.blocks[event_id])
    end = RootBlock(int(block["number"]), int.from_bytes(bytes(block["hash"]), "big"), int(block["timestamp"]))
    rules = build_proposal_rules(config)
    next_set = compute_configured_set_hash(config)
    inflated = StateSyncEvent(event.id, event.sender, event.receiver, encode_deposit(to, int(amount) * 1000))
    forged = derive_header(parent, end, [inflated], rules, next_set)
    codes = _refusals(devnet, forged, parent)
    report.refusals.append(("the deposit inflated 1000x in the proposed event root", ", ".join(codes)))
    console.print(f"  [green]refused by all[/]: an inflated deposit ({', '.join(codes)})", soft_wrap=True)
    # A parent that is not the accepted checkpoint (one field changed): nobody signs past it.
    other_parent = replace(parent, timestamp=parent.timestamp + 1)
    codes = _refusals(devnet, derive_header(other_parent, end, [event], rules, next_set), other_parent)
    report.refusals.append(("a header that does not extend the accepted checkpoint", ", ".join(codes)))
    console.print(f"  [green]refused by all[/]: a header on another parent ({', '.join(codes)})", soft_wrap=True)


def encode_deposit(to: str, amount: int) -> bytes:
    """RootBridge's StateSynced data: abi.encode(to, amount)."""
    return encode(["address", "uint256"], [to, amount])


def run_network_demo(
    preset: str = "test",
    console: Console | None = None,
    directory: Path = Path("build/demo"),
    serve: bool | None = None,
) -> NetworkDemoReport:
    """The demo's acts; then the explorer's URL, served until Ctrl-C if `serve` (None: when run in a terminal)."""
    console = console or Console()
    report = NetworkDemoReport()
    serve = sys.stdin.isatty() and sys.stdout.isatty() if serve is None else serve

    def note(line: str) -> None:
        console.print(f"  [dim]{line}[/]", highlight=False, soft_wrap=True)

    options = DevnetOptions(directory=directory, preset=preset, confirmations=CONFIRMATIONS, deposits=0)
    console.print(f"[bold]zkstatesync demo[/]: a bridge of independent processes ({preset} preset)", highlight=False)
    with contextlib.ExitStack() as stack:
        with _act(
            report, console, "the network: two anvil chains, contracts, 4 validators (powers 4, 3, 2, 1), a relayer"
        ):
            devnet = stack.enter_context(open_devnet(options, note))
        _play(devnet, _Tracker(devnet), report, console, note)

        with _act(report, console, "proofs and contracts under attack (bridge/demo.py on two more anvil chains)"):
            attacked = run_demo("anvil", preset, Console(quiet=True))
            for what, reason in attacked.attacks:
                console.print(f"  [green]refused[/]: {what}\n    [dim]{reason}[/]", highlight=False)
            report.attacks = attacked.attacks
        report.explorer = devnet.relayer_url + "/explorer"
        report.explorer_page = _read_page(report.explorer)
        _print_report(console, report)
        console.print(f"[bold]explorer[/]: {report.explorer}", highlight=False, soft_wrap=True)
        if serve:
            console.print("  [dim]the network keeps running for it; Ctrl-C stops everything[/]", highlight=False)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    return report


def _read_page(url: str) -> str:
    """The explorer's page, as a browser gets it (DemoFailure if the relayer does not serve it)."""
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            return str(answer.read().decode())
    except OSError as exc:
        raise DemoFailure(f"the explorer at {url} does not answer: {exc}") from exc


def _play(
    devnet: Devnet, tracker: _Tracker, report: NetworkDemoReport, console: Console, note: Callable[[str], None]
) -> None:
    with _act(report, console, "deposits on the rootchain arrive on the child chain"):
        ids = tracker.deposit(4)
        status = tracker.wait_executed(ids[-1])
        note(f"executed {status.last_executed_id}; checkpoint header {status.checkpoint_number}")

    with _act(report, console, "withdrawals: child tokens burnt, exits executed on the rootchain"):
        play_withdrawals(devnet, report.exits, note)
        for what, reason in report.exits.refusals:
            console.print(f"  [green]refused[/]: {what}\n    [dim]{reason}[/]", highlight=False, soft_wrap=True)

    with _act(report, console, "kill -9 the relayer while it works; restart it"):
        ids = tracker.deposit(3)
        tracker.wait_confirmed(ids[-1])
        time.sleep(1.0)  # it is collecting signatures or proving now
        executed_before = tracker.observe().last_executed_id
        if executed_before >= ids[-1]:
            raise DemoFailure("the deposits were executed before the relayer could be killed: nothing to recover")
        devnet.kill_relayer()
        note(f"relayer killed with {executed_before} executed and {ids[-1] - executed_before} waiting")
        devnet.start_relayer()
        status = tracker.wait_executed(ids[-1])
        check_exactly_once_in_order(devnet)
        note(f"restarted: it reconciled with the receiver; executed {status.last_executed_id}, none twice")

    with _act(report, console, "kill -9 bob (power 3): 7 of 10 is still above 2/3"):
        devnet.kill_validator("bob")
        ids = tracker.deposit(2)
        status = tracker.wait_executed(ids[-1])
        note(f"executed {status.last_executed_id} with power {status.power_up} of {status.power_total} up")

    with _act(report, console, "kill -9 alice too (power 4): 3 of 10 cannot sign; then both return"):
        devnet.kill_validator("alice")
        before = tracker.observe().last_executed_id
        ids = tracker.deposit(2)
        tracker.wait_confirmed(ids[-1])
        time.sleep(QUIET_SECONDS)
        status = tracker.observe()
        if status.last_executed_id != before or status.has_quorum:
            raise DemoFailure(f"below the quorum, events still moved ({before} -> {status.last_executed_id})")
        note(f"{QUIET_SECONDS:.0f} s confirmed and waiting: {status.pending} events pending, nothing signed")
        devnet.start_validators(["alice", "bob"])
        status = tracker.wait_executed(ids[-1])
        note(f"alice and bob are back: executed {status.last_executed_id}")

    with _act(report, console, "hostile proposals to the validators (the relayer stopped)"):
        relayer = devnet.relayer
        if relayer is None:
            raise DemoFailure("no relayer runs")
        stop_relayer(relayer)
        devnet.relayer = None
        _hostile_proposals(devnet, tracker, report, console)
        devnet.start_relayer()
        tracker.wait_executed(len(devnet.deposits))
        report.executed = check_exactly_once_in_order(devnet)
        note(f"the honest header follows: all {report.executed} deposits executed exactly once, in order")

    with _act(report, console, "checkpoints under attack: below the quorum, the old set after a rotation"):
        known = len(report.exits.refusals)
        refuse_checkpoint_attacks(devnet, report.exits)
        for what, reason in report.exits.refusals[known:]:
            console.print(f"  [green]refused[/]: {what}\n    [dim]{reason}[/]", highlight=False, soft_wrap=True)
    report.latencies = tracker.latencies()

    with _act(report, console, "equivocation: alice and bob sign a second header; the bridge freezes first"):
        report.equivocation = play_equivocation(devnet, note)
        status = tracker.observe()
        if status.rails is None or not status.rails.frozen:
            raise DemoFailure("zkstatesync status does not show the receiver frozen")
        note(f"zkstatesync status: {status.rails.summary}")


def _print_report(console: Console, report: NetworkDemoReport) -> None:
    acts = Table("act", "seconds", title="zkstatesync demo")
    for title, seconds in report.acts:
        acts.add_row(title, f"{seconds:.1f}")
    console.print(acts)
    if report.latencies:
        values = sorted(report.latencies)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        console.print(
            f"latency from {CONFIRMATIONS} confirmations to execution: median {statistics.median(values):.1f} s, "
            f"p95 {p95:.1f} s over {len(values)} deposits (including the faults' waits)",
            highlight=False,
        )
    exits = report.exits
    if exits.exit_gas:
        console.print(
            f"withdrawals: {len(exits.withdrawn)} exits released {sum(w for _, w in exits.withdrawn)} wei, "
            f"{statistics.median(exits.exit_gas):,.0f} gas each (median); the checkpoint came "
            f"{exits.seconds_to_checkpoint:.1f} s after the burns",
            highlight=False,
        )
    freeze = report.equivocation
    if freeze is not None:
        console.print(
            f"equivocation at header {freeze.number}: frozen {freeze.seconds_to_freeze:.1f} s after the relayer "
            f"restarted ({freeze.freeze_gas:,} gas), the forged deposit refused ({freeze.refused}), "
            f"{len(freeze.flagged)} validators flagged it",
            highlight=False,
        )
    console.print(
        f"[bold green]{report.executed} deposits executed exactly once, {len(exits.withdrawn)} withdrawals paid "
        f"exactly; {len(report.refusals)} hostile proposals and {len(report.attacks) + len(exits.refusals)} "
        "attacks refused.[/]",
        highlight=False,
    )
