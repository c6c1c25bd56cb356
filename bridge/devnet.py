"""A whole bridge on this machine: two anvil nodes, the contracts, 4 validators and a relayer.

Everything runs as it would between real chains: the contracts are deployed through
`deploy_network` by a fresh deployer key (signed locally, sent raw), each validator is its own
process with its own encrypted keystore, the relayer is its own process with its own child-chain
account, and they talk JSON-RPC and HTTP on loopback. The devnet then sends deposits through the
sample RootBridge and shows the bridge's state until they are executed, a time limit passes, or
Ctrl-C; every process it started is stopped on the way out (and, on Linux, dies with it anyway).

The directory (default build/devnet) holds the network file, the keystores, each service's data
and log, and devnet.json (the URLs and process ids), so `zkstatesync status` can be pointed at it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Final

import tomli_w
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text
from web3.types import Wei

from prover.prove import load_prover
from prover.setup import export_solidity_verifier
from statesync.errors import ZkStateSyncError
from statesync.storage import write_atomically

from .chain.chains import Chain, chain_url, find_free_port, run_anvil
from .chain.deploy import Deployed, Receipt, call, transact
from .chain.stack import DEPLOYED_CIRCUITS
from .config import (
    ChildConfig,
    ConfigError,
    RailsConfig,
    RootchainConfig,
    circuits_config,
    read_toml,
    save_network_config,
)
from .db import DataDirLock
from .deployment import NetworkDeployment, deploy_network
from .exits import prepare_exit_from_network, send_exit
from .procs import ServiceProcess, kill_service, stop_service
from .relayer.process import RelayerProcess, kill_relayer, spawn_relayer, wait_until_ready
from .status import BridgeStatus, read_bridge_status, render_bridge_status
from .validator.local import LocalNetwork, make_local_network
from .validator.process import ValidatorProcess, spawn_validator
from .validator.process import wait_until_ready as wait_until_validator_ready

MARKER: Final = ".zkstatesync-devnet"
CHILD_CHAIN_ID: Final = 1002
NAMES: Final = ("alice", "bob", "carol", "dave")
POWERS: Final = (4, 3, 2, 1)  # 10 in all: a quorum needs 7, so any one but alice may be down
GOVERNANCE: Final = 8  # anvil account indexes of the rails' roles
GUARDIAN: Final = 9
RELAYER_KEY_ENV: Final = "ZKSTATESYNC_RELAYER_KEY"
RELAYER_ROOT_KEY_ENV: Final = "ZKSTATESYNC_RELAYER_ROOT_KEY"  # the account that submits checkpoints
FUNDING: Final = 10**21  # wei for the deployer and the relayer
REFRESH_SECONDS: Final = 0.5


class DevnetError(ZkStateSyncError):
    """The devnet cannot start or run (its directory, a process that would not start)."""


@dataclass(frozen=True)
class DevnetOptions:
    directory: Path
    preset: str = "test"
    confirmations: int = 4
    block_time: int = 1  # seconds per block on both chains (checkpoints wait for child confirmations too)
    max_range: int = 64
    deposits: int = 20
    deposit_interval: float = 1.0  # seconds between deposits
    until_executed: bool = False  # exit once every deposit was executed on the child chain
    watchers: tuple[str, ...] = ("carol",)  # validators whose node also submits equivocation evidence
    bucket: tuple[int, int] | None = None  # the sample bridge's (capacity, refill per second) in wei; None: defaults
    timeout: float | None = None  # exit after this many seconds (Ctrl-C stops it any time)


@dataclass
class Devnet:
    """The running devnet: chains, deployment, processes. Methods start and stop its services."""

    options: DevnetOptions
    root: Chain  # anvil's unlocked accounts: the depositors
    child: Chain
    network: LocalNetwork
    deployment: NetworkDeployment
    relayer_key: str
    relayer_root_key: str
    relayer_config: Path
    relayer_port: int
    validators: dict[str, ValidatorProcess] = field(default_factory=dict)
    relayer: RelayerProcess | None = None
    watcher_keys: dict[str, str] = field(default_factory=dict)  # validator name -> its watcher's env
    deposits: list[tuple[ChecksumAddress, int]] = field(default_factory=list)

    @property
    def directory(self) -> Path:
        return self.options.directory

    @property
    def relayer_url(self) -> str:
        return f"http://127.0.0.1:{self.relayer_port}"

    def start_validators(self, names: Sequence[str]) -> None:
        """Start them all, then wait for each (they start side by side: each decrypts its keystore)."""
        for name in names:
            me = next(v for v in self.network.validators if v.name == name)
            # Recorded as soon as it exists, so stop_all stops it whatever happens next.
            env = {**me.env, **({watcher_key_env(name): self.watcher_keys[name]} if name in self.watcher_keys else {})}
            self.validators[name] = spawn_validator(me.config_path, me.url, self.directory / f"{name}.log", env)
        self.write_state()
        for name in names:
            wait_until_validator_ready(self.validators[name])

    def kill_validator(self, name: str) -> None:
        """kill -9: what it signed is in its slashing database, nothing else survives."""
        kill_service(self.validators.pop(name))
        self.write_state()

    def start_relayer(self) -> None:
        keys = {RELAYER_KEY_ENV: self.relayer_key, RELAYER_ROOT_KEY_ENV: self.relayer_root_key}
        self.relayer = spawn_relayer(self.relayer_config, self.relayer_port, self.directory / "relayer.log", keys)
        self.write_state()
        wait_until_ready(self.relayer)

    def kill_relayer(self) -> None:
        if self.relayer is not None:
            kill_relayer(self.relayer)
            self.relayer = None
            self.write_state()

    def deposit(self, amount: int) -> tuple[int, int]:
        """A deposit from the next of anvil's accounts 1..9; the new event's id and its block."""
        user = self.root.accounts[1 + len(self.deposits) % 9]
        receipt = transact(self.root, self.bridge_contract, "deposit", user, sender=user, value=amount)
        self.deposits.append((user, amount))
        return len(self.deposits), receipt.block_number

    @property
    def bridge_contract(self) -> Deployed:
        return self.deployment.root.bridge

    def withdraw(self, user: ChecksumAddress, amount: int) -> tuple[int, int]:
        """`user` burns `amount` of its child tokens for the same address on the rootchain (anvil's
        accounts are the same on both chains); the exit's id and its child block."""
        token = self.deployment.child.token
        receipt = transact(self.child, token, "withdraw", user, amount, sender=user)
        sender = self.deployment.child.l2_sender
        if sender is None:
            raise DevnetError("this devnet was deployed without the exit direction")
        return int(call(self.child, sender, "counter")), receipt.block_number

    def execute_exit(self, exit_id: int) -> Receipt:
        """Anyone's exit of `exit_id` (anvil's first rootchain account pays), through `zkstatesync exit`'s path."""
        prepared = prepare_exit_from_network(self.deployment.config, exit_id)
        exits = self.deployment.root.exits
        if exits is None:
            raise DevnetError("this devnet was deployed without the exit direction")
        return send_exit(self.root, exits.exit_helper, prepared)

    def status(self) -> BridgeStatus:
        return read_bridge_status(self.deployment.config, self.relayer_url)

    def write_state(self) -> None:
        """devnet.json: where everything listens and which processes are its own."""
        document = {
            "network": str(self.network.path),
            "relayer_config": str(self.relayer_config),
            "rootchain_rpc": self.deployment.config.rootchain.rpc[0],
            "child_rpc": chain_url(self.child),
            "relayer": {"url": self.relayer_url, "pid": None if self.relayer is None else self.relayer.process.pid},
            "validators": {
                v.name: {
                    "url": v.url,
                    "pid": self.validators[v.name].process.pid if v.name in self.validators else None,
                }
                for v in self.network.validators
            },
        }
        write_atomically(self.directory / "devnet.json", json.dumps(document, indent=1) + "\n")

    def stop_all(self) -> None:
        """The relayer first (it asks the validators), then the validators; each is stopped even if
        stopping another failed (stop_service ends in SIGKILL, so only a stuck kernel can fail it)."""
        services: list[ServiceProcess] = [] if self.relayer is None else [self.relayer]
        services += list(self.validators.values())
        self.relayer = None
        self.validators.clear()
        failures = []
        for service in services:
            try:
                stop_service(service)
            except (OSError, subprocess.SubprocessError) as exc:
                failures.append(f"{service.name} {service.process.pid}: {exc}")
        if failures:
            raise DevnetError("could not stop: " + "; ".join(failures))


def lock_directory(directory: Path) -> DataDirLock:
    """One devnet per directory: the lock sits beside it, since the directory itself is wiped."""
    directory = Path(directory).resolve()
    return DataDirLock(directory.parent, f".{directory.name}.lock", "devnet", DevnetError)


def prepare_directory(directory: Path) -> None:
    """An empty directory, or one an earlier devnet made (wiped: its chains are gone)."""
    directory = Path(directory)
    if directory.exists():
        if any(directory.iterdir()) and not (directory / MARKER).exists():
            raise DevnetError(f"{directory} is not empty and no devnet made it: give --dir a new or empty directory")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("made by zkstatesync devnet; wiped by the next one\n")


def fund(chain: Chain, address: ChecksumAddress, amount: int = FUNDING) -> None:
    """Ether from the node's first unlocked account (anvil's), for gas."""
    tx = chain.web3.eth.send_transaction(
        {"from": chain.accounts[0], "to": address, "value": Wei(amount), "gas": 21_000}
    )
    chain.web3.eth.wait_for_transaction_receipt(tx, timeout=60)  # the rootchain mines on a timer


def write_relayer_config(directory: Path, network_file: str, port: int) -> Path:
    section = {
        "network": network_file,
        "data_dir": "relayer",
        "private_key_env": RELAYER_KEY_ENV,
        "root_private_key_env": RELAYER_ROOT_KEY_ENV,
        "port": port,
        "poll_interval": 0.5,
        "sign_timeout": 5.0,
        "sign_deadline": 30.0,
        "receipt_timeout": 60.0,
        "max_backoff": 5.0,
    }
    path = directory / "relayer.toml"
    write_atomically(path, tomli_w.dumps({"relayer": section}))
    return path


def watcher_key_env(name: str) -> str:
    return f"ZKSTATESYNC_{name.upper()}_WATCHER_KEY"


def add_watcher(directory: Path, validator_config: Path, name: str, network_file: str) -> None:
    """`<name>-watcher.toml` (an evidence-only relayer) and the validator's `evidence` naming it."""
    section = {
        "network": network_file,
        "data_dir": f"{name}-watcher",
        "private_key_env": watcher_key_env(name),
        "evidence_only": True,
        "poll_interval": 0.5,
        "sign_timeout": 5.0,
        "sign_deadline": 30.0,
        "receipt_timeout": 60.0,
        "max_backoff": 5.0,
    }
    watcher = directory / f"{name}-watcher.toml"
    write_atomically(watcher, tomli_w.dumps({"relayer": section}))
    document = read_toml(validator_config)
    document["validator"]["evidence"] = watcher.name
    write_atomically(validator_config, tomli_w.dumps(document))


def verifier_sources(preset: str, progress: Callable[[str], None]) -> dict[str, Path]:
    """The generated verifiers of the local keys (made on first use: the relayer proves with them)."""
    return {c: export_solidity_verifier(load_prover(c, preset, progress).keys) for c in DEPLOYED_CIRCUITS}


@contextlib.contextmanager
def open_devnet(options: DevnetOptions, progress: Callable[[str], None] = lambda _line: None) -> Iterator[Devnet]:
    """Chains up, contracts deployed, validators and relayer running; all stopped on exit."""
    if not 0 <= options.confirmations <= 1000 or not 1 <= options.block_time <= 60:
        raise ConfigError("--confirmations must be in 0..1000 and --block-time in 1..60 seconds")
    sources = verifier_sources(options.preset, progress)
    lock = lock_directory(options.directory)
    try:
        with _open_locked(options, sources, progress) as devnet:
            yield devnet
    finally:
        lock.release()


@contextlib.contextmanager
def _open_locked(options: DevnetOptions, sources: dict[str, Path], progress: Callable[[str], None]) -> Iterator[Devnet]:
    prepare_directory(options.directory)
    directory = options.directory
    progress("starting two anvil nodes")
    with (
        run_anvil(extra_args=["--block-time", str(options.block_time)]) as root,
        run_anvil(extra_args=["--chain-id", str(CHILD_CHAIN_ID), "--block-time", str(options.block_time)]) as child,
    ):
        circuits = circuits_config(options.preset)
        network = make_local_network(
            directory,
            rootchain=RootchainConfig(
                chain_id=int(root.web3.eth.chain_id),
                rpc=(chain_url(root),),
                confirmations=options.confirmations,
                max_range=options.max_range,
            ),
            circuits=circuits,
            powers=POWERS,
            names=NAMES,
            child=ChildConfig(
                chain_id=CHILD_CHAIN_ID,
                rpc=(chain_url(child),),
                confirmations=options.confirmations,
                max_range=options.max_range,
            ),
        )
        # The rails' two roles are anvil's last two accounts (the same addresses on both chains), so
        # `cast send` or web3 can play governance and guardian; docs/PROTOCOL.md section 9.
        rails = RailsConfig(governance=root.accounts[GOVERNANCE], guardian=root.accounts[GUARDIAN])
        if options.bucket is not None:
            rails = replace(rails, capacity=options.bucket[0], refill_per_second=options.bucket[1])
        network = replace(network, config=replace(network.config, rails=rails))
        save_network_config(network.path, network.config)
        # Fresh keys, never anvil's well-known ones: the deployer signs on both chains, as it would on a testnet.
        deployer: LocalAccount = Account.create()
        fund(root, deployer.address)
        fund(child, deployer.address)
        progress(f"deploying as {deployer.address}")
        deployment = deploy_network(network.path, deployer, sources, progress=progress)
        relayer_account: LocalAccount = Account.create()
        fund(child, relayer_account.address)
        relayer_root_account: LocalAccount = Account.create()
        fund(root, relayer_root_account.address)
        watcher_keys = {}
        for name in options.watchers:
            me = next(v for v in network.validators if v.name == name)
            add_watcher(directory, me.config_path, name, network.path.name)
            watcher: LocalAccount = Account.create()
            fund(child, watcher.address)
            watcher_keys[name] = "0x" + bytes(watcher.key).hex()
        port = find_free_port()
        devnet = Devnet(
            options=options,
            root=root,
            child=child,
            network=replace(network, config=deployment.config),
            deployment=deployment,
            relayer_key="0x" + bytes(relayer_account.key).hex(),
            relayer_root_key="0x" + bytes(relayer_root_account.key).hex(),
            relayer_config=write_relayer_config(directory, network.path.name, port),
            relayer_port=port,
            watcher_keys=watcher_keys,
        )
        try:
            progress(f"starting validators {', '.join(NAMES)} (powers {', '.join(map(str, POWERS))})")
            devnet.start_validators(NAMES)
            progress("starting the relayer")
            devnet.start_relayer()
            yield devnet
        finally:
            devnet.stop_all()


@dataclass
class _Watch:
    """The watch loop's state: the last lines of news, when the next deposit is due, what was seen."""

    started: float
    next_deposit: float
    last_executed: int = -1
    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines = [*self.lines[-5:], time.strftime("%H:%M:%S ") + line]


def run_devnet(options: DevnetOptions, console: Console) -> int:
    """Start the devnet, send the deposits, show progress; 0 when it ended as asked (or by Ctrl-C)."""
    stop_requested = {"signal": ""}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop_requested["signal"]:
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for anything, clean up now
        stop_requested["signal"] = signal.Signals(signum).name

    def note(line: str) -> None:
        console.print(f"[dim]-[/] {line}", highlight=False, soft_wrap=True)

    # Until it runs, Ctrl-C interrupts the start-up (key setup can take minutes) and the context
    # managers stop what was started; once it runs, Ctrl-C asks the watch loop to stop in order.
    with open_devnet(options, note) as devnet:
        note(f"running in {options.directory}; `zkstatesync status --config {devnet.network.path}` shows it too")
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            return _watch(devnet, options, console, stop_requested)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _watch(devnet: Devnet, options: DevnetOptions, console: Console, stop: dict[str, str]) -> int:
    now = time.monotonic()
    state = _Watch(started=now, next_deposit=now)
    live = Live(console=console, auto_refresh=False) if console.is_terminal else None
    with live if live is not None else contextlib.nullcontext():
        while not stop["signal"]:
            try:
                finished = _tick(devnet, options, console, live, state)
            except ZkStateSyncError:
                if stop["signal"]:
                    break  # the stop request came in the middle of a step: not an error
                raise
            if finished is not None:
                return finished
            time.sleep(REFRESH_SECONDS)
    console.print(f"stopping ({stop['signal']}): relayer, validators, chains", highlight=False)
    return 0


def _tick(devnet: Devnet, options: DevnetOptions, console: Console, live: Live | None, state: _Watch) -> int | None:
    """One look at the bridge (and a deposit when one is due); an exit code once the run is over."""
    now = time.monotonic()
    if len(devnet.deposits) < options.deposits and now >= state.next_deposit:
        amount = 10**15 * (1 + len(devnet.deposits) % 7)
        event_id, _block = devnet.deposit(amount)
        state.add(f"deposit {event_id}: {amount} wei")
        state.next_deposit = now + options.deposit_interval
    status = devnet.status()
    if status.last_executed_id != state.last_executed:
        state.last_executed = status.last_executed_id
        line = (
            f"executed {status.last_executed_id} of {status.sent} sent "
            f"(checkpoint: header {status.checkpoint_number}, head {status.rootchain_head})"
        )
        state.add(line)
        if live is None:
            console.print(line, highlight=False)
    if live is not None:
        live.update(Group(render_bridge_status(status, "zkstatesync devnet"), Text("\n".join(state.lines))))
        live.refresh()
    done = len(devnet.deposits) >= options.deposits and status.last_executed_id >= options.deposits
    if options.until_executed and done:
        console.print(f"all {options.deposits} deposits executed on the child chain", highlight=False)
        return 0
    if options.timeout is not None and now - state.started > options.timeout:
        console.print(f"[red]time limit of {options.timeout} s reached[/]", highlight=False)
        return 1 if options.until_executed else 0
    if devnet.relayer is not None and not devnet.relayer.is_running():
        raise DevnetError(f"the relayer exited:\n{devnet.relayer.read_log()[-2000:]}")
    return None
