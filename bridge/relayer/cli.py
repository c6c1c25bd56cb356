"""Running the relayer: `run_relayer(config_path)` and the typer command `relay_command` around it.

`relay_command` is `zkstatesync relay --config FILE`; `python -m bridge.relayer run --config FILE`
runs the same (the tests start the relayer that way), and `python -m bridge.relayer status --config
FILE` prints a running relayer's /status.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType

import typer
from eth_account import Account
from eth_account.signers.local import LocalAccount

from statesync.model import compute_header_hash

from ..config import ConfigError, compute_configured_set_hash
from ..logs import configure_logging, report_failures
from .explorer.api import ExplorerApp
from .explorer.reader import ExplorerReader, Sources
from .metrics import RelayerMetrics, StatusServer
from .service import Relayer
from .settings import RelayerConfig, load_relayer_config
from .store import DB_NAME, RelayerStore, StoreIdentity, lock_data_dir

log = logging.getLogger("zkstatesync.relayer")


def read_account(config: RelayerConfig, name: str | None = None) -> LocalAccount:
    """The child-chain account (or the one in `name`) from the environment variable the config names."""
    name = name or config.node.private_key_env
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"the relayer's key is read from ${name}, which is not set (or empty)")
    try:
        account: LocalAccount = Account.from_key(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"${name} is not a 32-byte hex private key") from exc
    return account


def store_identity(config: RelayerConfig) -> StoreIdentity:
    genesis = config.network.genesis
    receiver = config.child.receiver
    if genesis is None or receiver is None:
        raise ConfigError(f"{config.network_path}: [genesis] and [child] receiver are needed")
    return StoreIdentity(
        rootchain_chain_id=config.network.rootchain.chain_id,
        child_chain_id=config.child.chain_id,
        receiver=receiver,
        genesis_hash=compute_header_hash(genesis),
    )


def run_relayer(config_path: Path) -> None:
    """Run the relayer until SIGTERM/SIGINT. Raises ZkStateSyncError (or OSError) if it cannot start."""
    configure_logging()
    config = load_relayer_config(config_path)
    account = read_account(config)
    node = config.node
    root_account = None if node.root_private_key_env is None else read_account(config, node.root_private_key_env)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("relayer.stopping", extra={"fields": {"signal": signal.Signals(signum).name}})
        stopping.set()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    lock = lock_data_dir(node.data_dir)
    try:
        store = RelayerStore(node.data_dir / DB_NAME, store_identity(config))
        try:
            metrics = RelayerMetrics()
            relayer = Relayer(
                config, account=account, store=store, metrics=metrics, stopping=stopping, root_account=root_account
            )
            server = None
            if node.port is not None:
                server = StatusServer(node.host, node.port, metrics, relayer.status, build_explorer(config, relayer))
                server.start()
            log.info(
                "relayer.starting",
                extra={
                    "fields": {
                        "account": account.address,
                        "receiver": config.child.receiver,
                        "state_sender": config.network.rootchain.state_sender,
                        "validators": len(config.network.validators),
                        "validator_set_hash": str(compute_configured_set_hash(config.network)),
                        "preset": config.network.circuits.preset,
                        "data_dir": str(node.data_dir),
                        "http": None if server is None else f"http://{node.host}:{server.port}",
                    }
                },
            )
            try:
                relayer.run()
            finally:
                if server is not None:
                    server.stop()
            log.info("relayer.stopped", extra={"fields": {}})
        finally:
            store.close()
    finally:
        lock.release()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def build_explorer(config: RelayerConfig, relayer: Relayer) -> ExplorerApp:
    """The explorer over this relayer's network, store and checkpoint journal."""
    network, node = config.network, config.node
    root_from = node.checkpoints_from_block if network.deployment is None else network.deployment.rootchain_block
    sources = Sources(network, root_from, node.receiver_from_block, node.log_chunk)
    journal = None if relayer.checkpoints is None else relayer.checkpoints.journal
    return ExplorerApp(ExplorerReader(sources, relayer.store, journal, relayer.status))


_reporting = report_failures("relayer.failed")


@_reporting
def relay_command(
    config: Path = typer.Option(..., "--config", help="the relayer's TOML ([relayer], and the network or its path)"),
) -> None:
    """Relay StateSync events: propose headers, collect signatures, prove, and submit to the receiver."""
    run_relayer(config)


@_reporting
def relay_status_command(
    config: Path = typer.Option(..., "--config", help="the relayer's TOML"),
) -> None:
    """Print a running relayer's /status (its view of the chains, its store's rows per status) as JSON."""
    node = load_relayer_config(config).node
    if node.port is None:
        raise ConfigError(f"{config}: [relayer] port is not set, so the relayer serves no /status")
    connection = http.client.HTTPConnection(node.host, node.port, timeout=10.0)
    try:
        connection.request("GET", "/status")
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise ConfigError(f"no relayer answers on http://{node.host}:{node.port}: {exc}") from exc
    finally:
        connection.close()
    print(json.dumps(json.loads(body), indent=1))


app = typer.Typer(
    help="The zkstatesync relayer.", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False
)
app.command("run")(relay_command)
app.command("status")(relay_status_command)
