"""Running a validator: `run_validator(config_path)` and the typer commands around it.

`validator_command` is `zkstatesync validator --config FILE`; the others manage a validator's
key and slashing-protection data. `python -m bridge.validator` runs them all as one small app
(`run`, `keygen`, `prove-possession`, `export-slashing`, `import-slashing`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import typer

from statesync.eddsa import derive_public_key
from statesync.model import SigningPurpose
from statesync.possession import prove_possession
from statesync.storage import write_atomically

from ..config import (
    ConfigError,
    NetworkConfig,
    ValidatorConfig,
    build_aggregate_sets,
    build_checkpoint_rules,
    build_proposal_rules,
    compute_configured_set_hash,
    encode_signature_toml,
    load_validator_config,
)
from ..keystore import DEFAULT_WORK_FACTOR, generate_keystore, load_keystore, read_keystore_public_key
from ..logs import configure_logging, report_failures
from ..receiver import CheckpointManager, ReceiverReader
from ..relayer.watch import EvidenceWatcher
from ..rootchain import L2_STATE_SYNCED, RootchainReader
from ..rpc import FailoverRpc, RpcError
from .checks import CheckContext, fixed_next_set
from .metrics import ValidatorMetrics
from .server import serve
from .service import CheckpointDuty, Identity, ValidatorService
from .slashing import DB_NAME, SlashingDB, lock_data_dir, parse_interchange_text

log = logging.getLogger("zkstatesync.validator")


def read_password(config: ValidatorConfig) -> str:
    name = config.node.password_env
    password = os.environ.get(name)
    if not password:
        raise ConfigError(f"the keystore password is read from ${name}, which is not set (or empty)")
    return password


def build_service(config: ValidatorConfig, private_key: bytes, db: SlashingDB) -> ValidatorService:
    """The service for a loaded config and key (the public key was checked against the config)."""
    network, node = config.network, config.node
    state_sender = network.rootchain.state_sender
    if state_sender is None:
        raise ConfigError(f"{config.network_path}: [rootchain] state_sender is not set; a validator needs it")
    if network.genesis is None:
        raise ConfigError(f"{config.network_path}: [genesis] is not set; a validator needs the first checkpoint")
    metrics = ValidatorMetrics()
    holder: list[ValidatorService] = []

    def on_error(error: RpcError) -> None:
        # The readers exist before the service they report to.
        if holder:
            holder[0].note_rpc_error(error)

    root = network.rootchain
    root_rpc = FailoverRpc("rootchain", root.rpc, root.chain_id, root.rpc_timeout, on_error=on_error)
    receiver = None
    child = network.child
    if child is not None and child.receiver is not None:
        child_rpc = FailoverRpc("child", child.rpc, child.chain_id, child.rpc_timeout, on_error=on_error)
        receiver = ReceiverReader(child_rpc, child.receiver)
    entry = network.validator(node.name)
    service = ValidatorService(
        identity=Identity(node.name, private_key, entry.public_key),
        chain_id=root.chain_id,
        rules=build_proposal_rules(network),
        next_set=fixed_next_set(compute_configured_set_hash(network)),
        genesis=network.genesis,
        db=db,
        rootchain=RootchainReader(root_rpc, state_sender),
        receiver=receiver,
        metrics=metrics,
        checkpoints=build_checkpoint_duty(network, root_rpc, on_error),
        aggregate_sets=build_aggregate_sets(network) if network.circuits.aggregate else None,
    )
    holder.append(service)
    return service


def build_checkpoint_duty(
    network: NetworkConfig, root_rpc: FailoverRpc, on_error: Callable[[RpcError], None]
) -> CheckpointDuty | None:
    """The exit direction, when the network has a child L2StateSender and a checkpoint genesis."""
    child, genesis = network.child, network.checkpoint_genesis
    if child is None or child.l2_state_sender is None or genesis is None:
        return None
    child_rpc = FailoverRpc("child", child.rpc, child.chain_id, child.rpc_timeout, on_error=on_error)
    manager = network.rootchain.checkpoint_manager
    trusted = None if manager is None else CheckpointManager(root_rpc, manager).trusted_checkpoint_hash
    return CheckpointDuty(
        context=CheckContext(
            chain_id=child.chain_id,
            rules=build_checkpoint_rules(network),
            next_set=fixed_next_set(compute_configured_set_hash(network)),
        ),
        genesis=genesis,
        source=RootchainReader(child_rpc, child.l2_state_sender, kind=L2_STATE_SYNCED),
        trusted=trusted,
    )


def run_validator(config_path: Path) -> None:
    """Run one validator until SIGTERM/SIGINT. Raises ZkStateSyncError (or OSError) if it cannot start."""
    configure_logging()
    config = load_validator_config(config_path)
    node = config.node
    entry = config.network.validator(node.name)
    private_key = load_keystore(node.keystore, read_password(config))
    if derive_public_key(private_key) != entry.public_key:
        raise ConfigError(
            f"keystore {node.keystore} holds another key than validator {node.name!r}'s public_key in "
            f"{config.network_path}"
        )
    lock = lock_data_dir(node.data_dir)
    try:
        db = SlashingDB(node.data_dir / DB_NAME, entry.public_key)
        try:
            service = build_service(config, private_key, db)
            service.self_test()
            watcher = None if node.evidence is None else EvidenceWatcher(node.evidence)
            log.info(
                "validator.starting",
                extra={
                    "fields": {
                        "name": node.name,
                        "public_key": [str(c) for c in entry.public_key],
                        "rootchain_chain_id": config.network.rootchain.chain_id,
                        "receiver": None if service.receiver is None else service.receiver.receiver,
                        "data_dir": str(node.data_dir),
                    }
                },
            )
            if watcher is not None:
                watcher.start()
                service.watcher_status = watcher.relayer.status
            try:
                asyncio.run(serve(service, node.host, node.port, node.poll_interval))
            finally:
                if watcher is not None:
                    watcher.stop()
            log.info("validator.stopped", extra={"fields": {"name": node.name}})
        finally:
            db.close()
    finally:
        lock.release()


# ---------------------------------------------------------------------------------------------
# typer commands


_reporting = report_failures("validator.failed")


@_reporting
def validator_command(
    config: Path = typer.Option(
        ..., "--config", help="the validator's TOML ([validator], and the network or its path)"
    ),
) -> None:
    """Run one validator: check proposed headers against its own nodes and sign them (HTTP API on loopback)."""
    run_validator(config)


@_reporting
def keygen_command(
    keystore: Path = typer.Option(..., "--keystore", help="the keystore file to create (never overwritten)"),
    password_env: str = typer.Option(..., "--password-env", help="the environment variable holding the password"),
    work_factor: int = typer.Option(DEFAULT_WORK_FACTOR, help="scrypt n (a power of two)"),
) -> None:
    """Make a validator key (Baby Jubjub EdDSA) in an encrypted keystore; print its public key."""
    password = os.environ.get(password_env)
    if not password:
        raise ConfigError(f"${password_env} is not set (or empty)")
    public_key = generate_keystore(keystore, password, work_factor=work_factor)
    print(json.dumps({"keystore": str(keystore), "public_key": [str(public_key[0]), str(public_key[1])]}))


@_reporting
def prove_possession_command(
    keystore: Path = typer.Option(..., "--keystore", help="the validator's keystore"),
    password_env: str = typer.Option(..., "--password-env", help="the environment variable holding the password"),
    chain_id: int = typer.Option(..., "--chain-id", help="the rootchain's chain id (headers)"),
    child_chain_id: int | None = typer.Option(None, "--child-chain-id", help="the child chain's (checkpoints)"),
) -> None:
    """Print the key's proofs of possession, the [[validators]] entry's `possession` (and
    `checkpoint_possession`) for a preset in the aggregate quorum mode (docs/PROTOCOL.md section 10)."""
    password = os.environ.get(password_env)
    if not password:
        raise ConfigError(f"${password_env} is not set (or empty)")
    for name, value in (("--chain-id", chain_id), ("--child-chain-id", child_chain_id)):
        if value is not None and not 0 <= value < 2**64:
            raise ConfigError(f"{name} must be in [0, 2^64), got {value}")
    private_key = load_keystore(keystore, password)
    public_key = derive_public_key(private_key)
    document = {
        "public_key": [str(public_key[0]), str(public_key[1])],
        "possession": encode_signature_toml(prove_possession(private_key, chain_id, SigningPurpose.HEADER)),
    }
    if child_chain_id is not None:
        proof = prove_possession(private_key, child_chain_id, SigningPurpose.CHECKPOINT)
        document["checkpoint_possession"] = encode_signature_toml(proof)
    print(json.dumps(document))


def _open_db(config_path: Path) -> tuple[ValidatorConfig, SlashingDB]:
    config = load_validator_config(config_path)
    entry = config.network.validator(config.node.name)
    if read_keystore_public_key(config.node.keystore) != entry.public_key:
        raise ConfigError(f"keystore {config.node.keystore} is not validator {config.node.name!r}'s key")
    return config, SlashingDB(config.node.data_dir / DB_NAME, entry.public_key)


@_reporting
def export_slashing_command(
    config: Path = typer.Option(..., "--config", help="the validator's TOML"),
    out: Path = typer.Option(..., "--out", help="where to write the interchange JSON"),
) -> None:
    """Export the slashing-protection records (EIP-3076-like JSON); safe while the validator runs."""
    _, db = _open_db(config)
    try:
        document = db.export_interchange()
    finally:
        db.close()
    write_atomically(out, json.dumps(document, indent=1) + "\n")
    print(json.dumps({"exported": len(document["data"][0]["signed_headers"]), "out": str(out)}))


@_reporting
def import_slashing_command(
    config: Path = typer.Option(..., "--config", help="the validator's TOML"),
    file: Path = typer.Option(..., "--file", help="an interchange JSON to merge"),
) -> None:
    """Merge slashing-protection records (refusing any conflict); the validator must be stopped."""
    validator_config = load_validator_config(config)
    lock = lock_data_dir(validator_config.node.data_dir)
    try:
        _, db = _open_db(config)
        try:
            summary = db.import_interchange(parse_interchange_text(Path(file).read_bytes()))
        finally:
            db.close()
    finally:
        lock.release()
    print(
        json.dumps(
            {"imported": summary.imported, "already_present": summary.already_present, "other_keys": summary.other_keys}
        )
    )


app = typer.Typer(
    help="One zkstatesync validator.", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False
)
app.command("run")(validator_command)
app.command("keygen")(keygen_command)
app.command("prove-possession")(prove_possession_command)
app.command("export-slashing")(export_slashing_command)
app.command("import-slashing")(import_slashing_command)
