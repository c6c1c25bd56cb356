"""The relayer's `[relayer]` section, read from the network file or from a small file that names it.

    [relayer]
    network = "network.toml"          # optional: the network file (relative to this one)
    data_dir = "relayer"              # its database and proofs (relative paths: to this file)
    private_key_env = "RELAYER_KEY"   # the variable holding the child-chain account's key (0x-hex)
    # root_private_key_env = "RELAYER_ROOT_KEY"  # the rootchain account that submits checkpoints: with
    #                                 # it, and the network's exit direction configured, the relayer
    #                                 # relays child-chain checkpoints too
    # checkpoints_from_block = 0      # where CheckpointAccepted logs start ([deployment] rootchain_block)
    # host = "127.0.0.1"              # /metrics and /status; loopback only
    # port = 9301                     # default: no HTTP endpoint
    # poll_interval = 2.0             # seconds between looks at the chains when there is nothing to do
    # sign_timeout = 10.0             # seconds per validator request
    # sign_deadline = 60.0            # seconds per signing round
    # sign_attempts = 3               # requests per validator and round
    # prove_timeout = 600.0           # seconds per proof attempt before it is stopped
    # prove_attempts = 3
    # prove_backend = "fast"          # the warm prover's engine, fast or snarkjs; default $ZKSTATESYNC_PROVER_BACKEND
    # prove_workers = 0               # > 0: a long header's batches are proven ahead, in parallel, on an
    #                                 # embedded Dask LocalCluster of this many workers
    # prove_scheduler = "tcp://HOST:8786"  # or on an existing Dask cluster
    # receipt_timeout = 120.0         # seconds to wait for a transaction's receipt
    # max_backoff = 60.0              # the longest pause after consecutive errors
    # receiver_from_block = 0         # the child block HeaderAccepted logs start at ([deployment] child_block)
    # log_chunk = 5000                # blocks per eth_getLogs
    # keep_proofs = 100               # proof directories of finished batches kept (the newest)
    # [relayer.keys]                  # ceremony keys directories, by circuit (default: local keys)
    # state_sync = "keys/state_sync"

The network must name the child chain's receiver, the rootchain's StateSender and the genesis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from prover.warm import Backend, check_backend
from statesync.errors import ZkStateSyncError

from ..chain.stack import VERIFIER_CIRCUITS
from ..config import (
    ChildConfig,
    ConfigError,
    NetworkConfig,
    is_loopback_host,
    load_network_config,
    parse_network_config,
    read_toml,
)

DEFAULT_HOST: Final = "127.0.0.1"
_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FLOATS: Final = {
    "poll_interval": (2.0, 0.01, 3600.0),
    "sign_timeout": (10.0, 0.1, 600.0),
    "sign_deadline": (60.0, 0.1, 3600.0),
    "prove_timeout": (600.0, 1.0, 86400.0),
    "receipt_timeout": (120.0, 0.1, 3600.0),
    "max_backoff": (60.0, 0.1, 3600.0),
}
_INTS: Final = {
    "sign_attempts": (3, 1, 100),
    "prove_attempts": (3, 1, 100),
    "receiver_from_block": (0, 0, 2**64 - 1),
    "log_chunk": (5000, 1, 1_000_000),
    "keep_proofs": (100, 0, 1_000_000),
    "checkpoints_from_block": (0, 0, 2**64 - 1),
    "prove_workers": (0, 0, 256),
}
_KNOWN: Final = frozenset(
    {
        "network",
        "data_dir",
        "private_key_env",
        "root_private_key_env",
        "host",
        "port",
        "keys",
        "evidence_only",
        "prove_backend",
        "prove_scheduler",
        *_FLOATS,
        *_INTS,
    }
)
KEYED_CIRCUITS: Final = (*VERIFIER_CIRCUITS, "checkpoint_update")


@dataclass(frozen=True)
class RelayerNodeConfig:
    data_dir: Path
    private_key_env: str
    host: str = DEFAULT_HOST
    port: int | None = None
    poll_interval: float = 2.0
    sign_timeout: float = 10.0
    sign_deadline: float = 60.0
    sign_attempts: int = 3
    prove_timeout: float = 600.0
    prove_attempts: int = 3
    receipt_timeout: float = 120.0
    max_backoff: float = 60.0
    receiver_from_block: int = 0
    log_chunk: int = 5000
    keep_proofs: int = 100
    keys: Mapping[str, Path] = field(default_factory=dict)
    root_private_key_env: str | None = None
    checkpoints_from_block: int = 0
    # Only the equivocation duty (docs/PROTOCOL.md section 9): submit evidence, relay nothing else.
    evidence_only: bool = False
    prove_backend: Backend | None = None
    prove_workers: int = 0
    prove_scheduler: str | None = None

    @property
    def farms_proofs(self) -> bool:
        return self.prove_workers > 0 or self.prove_scheduler is not None


@dataclass(frozen=True)
class RelayerConfig:
    network: NetworkConfig
    node: RelayerNodeConfig
    network_path: Path

    @property
    def child(self) -> ChildConfig:
        if self.network.child is None:  # load_relayer_config refuses such a network
            raise ConfigError(f"{self.network_path}: no [child] section")
        return self.network.child


def load_relayer_config(path: Path) -> RelayerConfig:
    path = Path(path)
    document = read_toml(path)
    source = str(path)
    section = document.get("relayer")
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: missing [relayer] section")
    network_ref = section.get("network")
    if network_ref is None:
        network_path = path
        network = parse_network_config(document, source=source)
    else:
        unknown = sorted(set(document) - {"relayer"})
        if unknown:
            raise ConfigError(f"{source}: top level: unknown key {', '.join(map(repr, unknown))}")
        network_path = path.parent / _string(network_ref, "[relayer] network", source)
        network = load_network_config(network_path)
    node = parse_relayer_section(section, base=path.parent, source=source)
    if "receiver_from_block" not in section and network.deployment is not None:
        # Nothing of the receiver's precedes the block it was deployed in.
        node = replace(node, receiver_from_block=network.deployment.child_block)
    if "checkpoints_from_block" not in section and network.deployment is not None:
        node = replace(node, checkpoints_from_block=network.deployment.rootchain_block)
    _check_network(network, str(network_path))
    return RelayerConfig(network=network, node=node, network_path=network_path)


def parse_relayer_section(section: Mapping[str, Any], *, base: Path, source: str) -> RelayerNodeConfig:
    where = "[relayer]"
    unknown = sorted(set(section) - _KNOWN)
    if unknown:
        raise ConfigError(f"{source}: {where} unknown key {', '.join(map(repr, unknown))}")
    if "data_dir" not in section or "private_key_env" not in section:
        missing = [k for k in ("data_dir", "private_key_env") if k not in section]
        raise ConfigError(f"{source}: {where} is missing key {', '.join(map(repr, missing))}")
    env = _string(section["private_key_env"], f"{where} private_key_env", source)
    if not _ENV_NAME.fullmatch(env):
        raise ConfigError(f"{source}: {where} private_key_env must be an environment variable name, got {env!r}")
    root_env = section.get("root_private_key_env")
    if root_env is not None and not _ENV_NAME.fullmatch(_string(root_env, f"{where} root_private_key_env", source)):
        raise ConfigError(f"{source}: {where} root_private_key_env must be an environment variable name")
    host = _string(section.get("host", DEFAULT_HOST), f"{where} host", source)
    if not is_loopback_host(host):
        raise ConfigError(f"{source}: {where} host {host!r} is not a loopback address (/status has no authentication)")
    port = None if "port" not in section else _int(section["port"], f"{where} port", source, 1, 65535)
    evidence_only = section.get("evidence_only", False)
    if not isinstance(evidence_only, bool):
        raise ConfigError(f"{source}: {where} evidence_only must be true or false, got {evidence_only!r}")
    if evidence_only and root_env is not None:
        raise ConfigError(f"{source}: {where} evidence_only relays no checkpoints: drop root_private_key_env")

    def seconds(name: str) -> float:
        default, low, high = _FLOATS[name]
        return _float(section.get(name, default), f"{where} {name}", source, low, high)

    def count(name: str) -> int:
        default, low, high = _INTS[name]
        return _int(section.get(name, default), f"{where} {name}", source, low, high)

    keys_table = section.get("keys", {})
    if not isinstance(keys_table, dict):
        raise ConfigError(f"{source}: [relayer.keys] must be a table")
    keys: dict[str, Path] = {}
    for circuit, directory in keys_table.items():
        if circuit not in KEYED_CIRCUITS:
            raise ConfigError(f"{source}: [relayer.keys] {circuit!r} is not one of {', '.join(KEYED_CIRCUITS)}")
        keys[circuit] = base / _string(directory, f"[relayer.keys] {circuit}", source)
    backend: Backend | None = None
    if "prove_backend" in section:
        try:
            backend = check_backend(_string(section["prove_backend"], f"{where} prove_backend", source))
        except ZkStateSyncError as exc:
            raise ConfigError(f"{source}: {where} prove_backend: {exc}") from exc
    scheduler = None
    if "prove_scheduler" in section:
        scheduler = _string(section["prove_scheduler"], f"{where} prove_scheduler", source)
        if not scheduler.startswith(("tcp://", "tls://")):
            raise ConfigError(
                f"{source}: {where} prove_scheduler must be a tcp:// or tls:// address, got {scheduler!r}"
            )
        if count("prove_workers"):
            raise ConfigError(f"{source}: {where} give prove_workers or prove_scheduler, not both")
    return RelayerNodeConfig(
        data_dir=base / _string(section["data_dir"], f"{where} data_dir", source),
        private_key_env=env,
        host=host,
        port=port,
        poll_interval=seconds("poll_interval"),
        sign_timeout=seconds("sign_timeout"),
        sign_deadline=seconds("sign_deadline"),
        sign_attempts=count("sign_attempts"),
        prove_timeout=seconds("prove_timeout"),
        prove_attempts=count("prove_attempts"),
        receipt_timeout=seconds("receipt_timeout"),
        max_backoff=seconds("max_backoff"),
        receiver_from_block=count("receiver_from_block"),
        log_chunk=count("log_chunk"),
        keep_proofs=count("keep_proofs"),
        keys=keys,
        root_private_key_env=root_env,
        checkpoints_from_block=count("checkpoints_from_block"),
        evidence_only=evidence_only,
        prove_backend=backend,
        prove_workers=count("prove_workers"),
        prove_scheduler=scheduler,
    )


def _check_network(network: NetworkConfig, source: str) -> None:
    if network.child is None or network.child.receiver is None:
        raise ConfigError(f"{source}: [child] receiver is not set; the relayer submits proofs to it")
    if network.rootchain.state_sender is None:
        raise ConfigError(f"{source}: [rootchain] state_sender is not set; the relayer reads its events")
    if network.genesis is None:
        raise ConfigError(f"{source}: [genesis] is not set; the relayer needs the receiver's first checkpoint")


def _string(value: object, name: str, source: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{source}: {name} must be a non-empty string, got {value!r}")
    return value


def _int(value: object, name: str, source: str, low: int, high: int) -> int:
    if isinstance(value, str) and re.fullmatch(r"0|[1-9][0-9]{0,19}", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{source}: {name} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _float(value: object, name: str, source: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= float(value) <= high:
        raise ConfigError(f"{source}: {name} must be a number of seconds in [{low}, {high}], got {value!r}")
    return float(value)
