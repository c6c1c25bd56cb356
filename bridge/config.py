"""A network's configuration: one TOML file for the validators, the relayer, deploy and the devnet.

    [rootchain]                     # where StateSynced events come from
    chain_id = 31337
    rpc = ["http://127.0.0.1:8545"] # tried in order: the next one when a node fails
    state_sender = "0x..."          # optional until deployed
    confirmations = 12              # blocks on top of a header's last block before it is signed
    max_range = 64                  # rootchain blocks per header
    # max_events = 16               # events per header (default 2^D)
    # rpc_timeout = 10.0            # seconds per JSON-RPC request

    # checkpoint_manager = "0x..."  # the exit direction's ZkCheckpointManager and ZkExitHelper
    # exit_helper = "0x..."

    [child]                         # optional: the chain with the ZkStateReceiver
    chain_id = 1002                 # never the rootchain's: slashing protection is per (chain, number)
    rpc = ["http://127.0.0.1:8546"]
    receiver = "0x..."              # optional until deployed
    # l2_state_sender = "0x..."     # the exit direction's sender; with it, validators sign checkpoints
    # confirmations = 12            # child blocks on top of a checkpoint's last block before it is signed
    # max_range = 64                # child blocks per checkpoint

    [circuits]
    preset = "test"                 # V, D and B come from circuits/circuits.toml

    [genesis]                       # the header the receiver trusts at deployment (optional until then)
    chain_id = 31337
    number = 0
    parent_hash = "0"
    timestamp = 1700000000
    event_root = "..."              # field elements as decimal strings (TOML integers stop at 2^63)
    validator_set_hash = "..."
    next_validator_set_hash = "..."
    block_hash = "0x..."            # 32 bytes, 0x-hex

    [checkpoint_genesis]            # the checkpoint ZkCheckpointManager trusts at deployment (optional)
    chain_id = 1002                 # the child chain's
    number = 0
    parent_hash = "0"
    timestamp = 1700000000
    exit_root = "0x..."             # 32 bytes: the empty keccak exit tree's root
    validator_set_hash = "..."
    next_validator_set_hash = "..."
    block_hash = "0x..."

    [deployment]                    # written by `zkstatesync deploy`: what it deployed, where, when
    root_bridge = "0x..."           # the sample bridge's two ends
    child_token = "0x..."
    verifiers = { header_update = "0x...", state_sync = "0x...", event_inclusion = "0x..." }
    rootchain_block = 12            # the block StateSender was deployed in
    child_block = 7                 # the block ZkStateReceiver was deployed in (its logs start there)
    deployer = "0x..."              # the account that deployed both sides
    deployed_at = "2026-12-01T23:00:00Z"

    [[validators]]                  # the set, in slot order
    name = "alice"
    url = "http://127.0.0.1:9101"
    power = 1
    public_key = ["x", "y"]         # Baby Jubjub, decimal strings
    # possession = { r8 = ["x", "y"], s = "..." }             # the aggregate mode (a preset with Q = 1):
    # checkpoint_possession = { r8 = ["x", "y"], s = "..." }  # the key's proofs of possession for
    #   [rootchain]'s headers and [child]'s checkpoints (`zkstatesync validator-prove-possession`)

A validator process reads a `[validator]` section, from the network file itself or from a small
file of its own that names the network file (`network = "network.toml"`, relative to it):

    [validator]
    network = "network.toml"
    name = "alice"                  # one of [[validators]]
    keystore = "alice.json"         # relative paths are relative to this file
    password_env = "ALICE_PASSWORD" # the variable holding the keystore password
    data_dir = "alice"
    # host = "127.0.0.1"            # default; anything else needs allow_remote = true
    # port = 9101                   # default: the port of this validator's url
    # poll_interval = 2.0           # seconds between rootchain head polls

Every key is checked: unknown keys, wrong types and out-of-range values are a ConfigError naming
the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import tomli_w
from eth_typing import ChecksumAddress
from eth_utils.address import is_checksum_address, to_checksum_address

from statesync.babyjub import Point
from statesync.circuits import ManifestError, load_manifest
from statesync.eddsa import Signature
from statesync.errors import ZkStateSyncError
from statesync.field import R
from statesync.model import (
    AggregateSet,
    AnySet,
    Checkpoint,
    Header,
    SigningPurpose,
    Validator,
    ValidatorSet,
    compute_validator_set_hash,
)
from statesync.proposal import ProposalRules, checkpoint_rules
from statesync.storage import write_atomically

DEFAULT_CONFIRMATIONS: Final = 12
DEFAULT_MAX_RANGE: Final = 64
DEFAULT_RPC_TIMEOUT: Final = 10.0
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_POLL_INTERVAL: Final = 2.0
MAX_UINT64: Final = 2**64 - 1
TOML_INT_MAX: Final = 2**63 - 1  # TOML integers are signed 64-bit: larger values are written as strings

_DECIMAL: Final = re.compile(r"0|[1-9][0-9]{0,77}")
_BLOCK_HASH: Final = re.compile(r"0x[0-9a-fA-F]{64}")
_ADDRESS: Final = re.compile(r"0x[0-9a-fA-F]{40}")
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_NETWORK_SECTIONS: Final = frozenset(
    {"rootchain", "child", "circuits", "genesis", "checkpoint_genesis", "deployment", "validators", "rails"}
)
# Sections other programs read from the same file (`validator` here; the relayer's later).
_OTHER_SECTIONS: Final = frozenset({"validator", "relayer", "devnet"})


class ConfigError(ZkStateSyncError, ValueError):
    """A configuration file is missing, unreadable, or has a bad key (the message names it)."""


@dataclass(frozen=True)
class RootchainConfig:
    chain_id: int
    rpc: tuple[str, ...]
    state_sender: ChecksumAddress | None = None
    confirmations: int = DEFAULT_CONFIRMATIONS
    max_range: int = DEFAULT_MAX_RANGE
    max_events: int | None = None  # None: 2^D, everything the event tree holds
    rpc_timeout: float = DEFAULT_RPC_TIMEOUT
    checkpoint_manager: ChecksumAddress | None = None
    exit_helper: ChecksumAddress | None = None


@dataclass(frozen=True)
class ChildConfig:
    chain_id: int
    rpc: tuple[str, ...]
    receiver: ChecksumAddress | None = None
    rpc_timeout: float = DEFAULT_RPC_TIMEOUT
    l2_state_sender: ChecksumAddress | None = None
    confirmations: int = DEFAULT_CONFIRMATIONS
    max_range: int = DEFAULT_MAX_RANGE


@dataclass(frozen=True)
class CircuitsConfig:
    """The preset, and the parameters the manifest gives it (resolved when the file is read)."""

    preset: str
    validator_slots: int  # V
    depth: int  # D
    batch_size: int  # B
    quorum_mode: int = 0  # Q: 0 a signature per validator, 1 one aggregate signature (PROTOCOL.md section 10)

    @property
    def aggregate(self) -> bool:
        return self.quorum_mode == 1


@dataclass(frozen=True)
class ValidatorEntry:
    name: str
    url: str
    power: int
    public_key: Point
    # The aggregate mode's proofs of possession (statesync.possession): for the rootchain's headers,
    # and for the child chain's checkpoints.
    possession: Signature | None = None
    checkpoint_possession: Signature | None = None


@dataclass(frozen=True)
class DeploymentRecord:
    """What `zkstatesync deploy` put on the chains (the addresses the services use are in
    [rootchain] and [child]; these are the rest, and where to start reading logs)."""

    root_bridge: ChecksumAddress
    child_token: ChecksumAddress
    verifiers: Mapping[str, ChecksumAddress]
    rootchain_block: int
    child_block: int
    deployer: ChecksumAddress
    deployed_at: str


ZERO_ADDRESS: Final = to_checksum_address("0x" + "00" * 20)
DAY: Final = 24 * 3600


@dataclass(frozen=True)
class RailsConfig:
    """`[rails]`: the safety rails fixed at deployment (docs/PROTOCOL.md section 9).

    governance may only recover the receiver after a freeze or an expiry; guardian may only
    pause execution (the receiver's events and ZkExitHelper's exits) for max_pause_duration;
    the zero address (the default) gives the power to nobody. The sample token bridge's
    deposits and payouts are rate-limited by one token bucket each with these parameters.
    """

    governance: ChecksumAddress = ZERO_ADDRESS
    guardian: ChecksumAddress = ZERO_ADDRESS
    trusting_period: int = 14 * DAY
    max_pause_duration: int = DAY
    capacity: int = 10**24
    refill_per_second: int = 10**20
    large_transfer_delay: int = DAY


@dataclass(frozen=True)
class NetworkConfig:
    rootchain: RootchainConfig
    circuits: CircuitsConfig
    validators: tuple[ValidatorEntry, ...]
    child: ChildConfig | None = None
    genesis: Header | None = None
    deployment: DeploymentRecord | None = None
    checkpoint_genesis: Checkpoint | None = None
    rails: RailsConfig = RailsConfig()

    @property
    def is_deployed(self) -> bool:
        """Anything of a deployment is recorded (deploy refuses to go over it unless asked)."""
        child_receiver = self.child.receiver if self.child is not None else None
        return any(x is not None for x in (self.rootchain.state_sender, child_receiver, self.deployment))

    def validator(self, name: str) -> ValidatorEntry:
        for entry in self.validators:
            if entry.name == name:
                return entry
        raise ConfigError(f"no [[validators]] entry is named {name!r}")


@dataclass(frozen=True)
class ValidatorNodeConfig:
    """One validator process: who it is, where its key and data are, where it listens."""

    name: str
    keystore: Path
    password_env: str
    data_dir: Path
    host: str = DEFAULT_HOST
    port: int = 0
    poll_interval: float = DEFAULT_POLL_INTERVAL
    allow_remote: bool = False
    # A relayer file with evidence_only = true: the node then submits equivocation evidence itself.
    evidence: Path | None = None


@dataclass(frozen=True)
class ValidatorConfig:
    network: NetworkConfig
    node: ValidatorNodeConfig
    network_path: Path


# ---------------------------------------------------------------------------------------------
# Derived values


def build_validator_set(config: NetworkConfig) -> ValidatorSet:
    """The configured validators in their slots, padded to the preset's V."""
    validators = tuple(Validator(v.public_key, v.power) for v in config.validators)
    return ValidatorSet(validators, config.circuits.validator_slots)


def compute_configured_set_hash(config: NetworkConfig) -> int:
    return compute_validator_set_hash(build_validator_set(config))


def circuits_config(preset: str) -> CircuitsConfig:
    """A preset's parameters from the manifest (ManifestError for an unknown preset)."""
    values = load_manifest().preset(preset)
    return CircuitsConfig(
        preset,
        validator_slots=values["V"],
        depth=values["D"],
        batch_size=values["B"],
        quorum_mode=values.get("Q", 0),
    )


def build_signing_set(config: NetworkConfig, purpose: SigningPurpose) -> AnySet:
    """The set the circuits and the model take for `purpose`: the plain set, or in the aggregate mode
    the set with its keys' proofs of possession for that purpose's chain (checked: PossessionError)."""
    validator_set = build_validator_set(config)
    if not config.circuits.aggregate:
        return validator_set
    if purpose is SigningPurpose.HEADER:
        chain_id, proofs = config.rootchain.chain_id, tuple(v.possession for v in config.validators)
    else:
        if config.child is None:
            raise ConfigError("the network has no [child] chain, so no checkpoints")
        chain_id, proofs = config.child.chain_id, tuple(v.checkpoint_possession for v in config.validators)
    return AggregateSet(validator_set, chain_id, int(purpose), proofs)


def build_proposal_rules(config: NetworkConfig) -> ProposalRules:
    root, depth = config.rootchain, config.circuits.depth
    max_events = root.max_events if root.max_events is not None else 2**depth
    return ProposalRules(confirmations=root.confirmations, max_range=root.max_range, max_events=max_events, depth=depth)


def build_checkpoint_rules(config: NetworkConfig) -> ProposalRules:
    """The child chain's rules for checkpoints (its own confirmations and range; the exit tree's depth)."""
    if config.child is None:
        raise ConfigError("the network has no [child] chain, so no checkpoints")
    return checkpoint_rules(config.child.confirmations, config.child.max_range)


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# Reading


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text: {exc}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def load_network_config(path: Path) -> NetworkConfig:
    return parse_network_config(read_toml(path), source=str(path))


def parse_network_config(document: Mapping[str, Any], *, source: str = "the configuration") -> NetworkConfig:
    """The network sections of a parsed TOML document; ConfigError names the first bad key."""
    _reject_unknown(document, _NETWORK_SECTIONS | _OTHER_SECTIONS, "", source)
    circuits = _parse_circuits(_table(document, "circuits", source), source)
    rootchain = _parse_rootchain(_table(document, "rootchain", source), circuits, source)
    child = _parse_child(_table(document, "child", source), source) if "child" in document else None
    genesis = _parse_genesis(_table(document, "genesis", source), source) if "genesis" in document else None
    if genesis is not None and genesis.chain_id != rootchain.chain_id:
        raise ConfigError(
            f"{source}: [genesis] chain_id {genesis.chain_id} is not [rootchain] chain_id {rootchain.chain_id}"
        )
    if child is not None and child.chain_id == rootchain.chain_id:
        raise ConfigError(
            f"{source}: [child] chain_id equals [rootchain] chain_id {rootchain.chain_id}; the two chains must differ"
        )
    checkpoint_genesis = (
        _parse_checkpoint_genesis(_table(document, "checkpoint_genesis", source), source)
        if "checkpoint_genesis" in document
        else None
    )
    if checkpoint_genesis is not None and (child is None or checkpoint_genesis.chain_id != child.chain_id):
        raise ConfigError(f"{source}: [checkpoint_genesis] chain_id {checkpoint_genesis.chain_id} is not [child]'s")
    validators = _parse_validators(document.get("validators"), circuits, source)
    deployment = _parse_deployment(_table(document, "deployment", source), source) if "deployment" in document else None
    rails = _parse_rails(_table(document, "rails", source), source) if "rails" in document else RailsConfig()
    config = NetworkConfig(
        rootchain=rootchain,
        circuits=circuits,
        validators=validators,
        child=child,
        genesis=genesis,
        deployment=deployment,
        checkpoint_genesis=checkpoint_genesis,
        rails=rails,
    )
    try:
        build_validator_set(config)
    except ZkStateSyncError as exc:
        raise ConfigError(f"{source}: [[validators]] do not form a validator set: {exc}") from exc
    if circuits.aggregate:
        _check_possession(config, source)
    return config


def build_aggregate_sets(config: NetworkConfig) -> dict[SigningPurpose, AggregateSet]:
    """The aggregate mode's sets by purpose (the checkpoints' when there is a [child]), their proofs checked."""
    purposes = [SigningPurpose.HEADER] + ([SigningPurpose.CHECKPOINT] if config.child is not None else [])
    sets: dict[SigningPurpose, AggregateSet] = {}
    for purpose in purposes:
        signing_set = build_signing_set(config, purpose)
        if not isinstance(signing_set, AggregateSet):
            raise ConfigError(f"preset {config.circuits.preset!r} is not in the aggregate quorum mode")
        sets[purpose] = signing_set
    return sets


def _check_possession(config: NetworkConfig, source: str) -> None:
    """The aggregate mode adds keys plainly: a set without every key's proof is never formed (a rogue key)."""
    purposes = [("possession", SigningPurpose.HEADER)]
    if config.child is not None:
        purposes.append(("checkpoint_possession", SigningPurpose.CHECKPOINT))
    for key, purpose in purposes:
        for entry in config.validators:
            if getattr(entry, key) is None:
                raise ConfigError(
                    f"{source}: preset {config.circuits.preset!r} is in the aggregate quorum mode (Q = 1): "
                    f"validator {entry.name!r} needs {key} (`zkstatesync validator-prove-possession`)"
                )
        try:
            build_signing_set(config, purpose)
        except ZkStateSyncError as exc:
            raise ConfigError(f"{source}: [[validators]] {key}: {exc}") from exc


def load_validator_config(path: Path) -> ValidatorConfig:
    """A validator's `[validator]` section and the network it names (or shares a file with)."""
    path = Path(path)
    document = read_toml(path)
    source = str(path)
    section = _table(document, "validator", source)
    where = "[validator]"
    base = path.parent
    network_ref = section.get("network")
    if network_ref is None:
        network_path = path
        network = parse_network_config(document, source=source)
    else:
        _reject_unknown(document, frozenset({"validator"}), "", source)
        network_path = base / _string(network_ref, f"{where} network", source)
        network = load_network_config(network_path)
    allowed = {
        "network",
        "name",
        "keystore",
        "password_env",
        "data_dir",
        "host",
        "port",
        "poll_interval",
        "allow_remote",
        "evidence",
    }
    _reject_unknown(section, allowed, where, source)
    name = _string(_required(section, "name", where, source), f"{where} name", source)
    entry = network.validator(name)
    password_env = _string(_required(section, "password_env", where, source), f"{where} password_env", source)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", password_env):
        raise ConfigError(f"{source}: {where} password_env must be an environment variable name, got {password_env!r}")
    host = _string(section.get("host", DEFAULT_HOST), f"{where} host", source)
    allow_remote = _bool(section.get("allow_remote", False), f"{where} allow_remote", source)
    if not is_loopback_host(host) and not allow_remote:
        raise ConfigError(
            f"{source}: {where} host {host!r} is not a loopback address; the signing API has no authentication, "
            "so listening elsewhere needs allow_remote = true (behind a proxy that authenticates)"
        )
    port_value = section.get("port")
    port = urlsplit(entry.url).port if port_value is None else _int(port_value, f"{where} port", source, 1, 65535)
    if port is None:
        raise ConfigError(f"{source}: {where} has no port and validator {name!r}'s url {entry.url!r} names none")
    node = ValidatorNodeConfig(
        name=name,
        keystore=base / _string(_required(section, "keystore", where, source), f"{where} keystore", source),
        password_env=password_env,
        data_dir=base / _string(_required(section, "data_dir", where, source), f"{where} data_dir", source),
        host=host,
        port=port,
        poll_interval=_float(
            section.get("poll_interval", DEFAULT_POLL_INTERVAL), f"{where} poll_interval", source, 0.05, 3600.0
        ),
        allow_remote=allow_remote,
        evidence=None
        if "evidence" not in section
        else base / _string(section["evidence"], f"{where} evidence", source),
    )
    return ValidatorConfig(network=network, node=node, network_path=network_path)


def _parse_circuits(table: Mapping[str, Any], source: str) -> CircuitsConfig:
    _reject_unknown(table, {"preset"}, "[circuits]", source)
    preset = _string(_required(table, "preset", "[circuits]", source), "[circuits] preset", source)
    try:
        values = load_manifest().preset(preset)
    except ManifestError as exc:
        raise ConfigError(f"{source}: [circuits] preset: {exc}") from exc
    missing = [k for k in ("V", "D", "B") if k not in values]
    if missing:
        raise ConfigError(f"{source}: [circuits] preset {preset!r} does not set {', '.join(missing)}")
    return circuits_config(preset)


def _parse_rootchain(table: Mapping[str, Any], circuits: CircuitsConfig, source: str) -> RootchainConfig:
    where = "[rootchain]"
    allowed = {
        "chain_id",
        "rpc",
        "state_sender",
        "confirmations",
        "max_range",
        "max_events",
        "rpc_timeout",
        "checkpoint_manager",
        "exit_helper",
    }
    _reject_unknown(table, allowed, where, source)
    max_events_value = table.get("max_events")
    return RootchainConfig(
        chain_id=_chain_id(_required(table, "chain_id", where, source), f"{where} chain_id", source),
        rpc=_urls(_required(table, "rpc", where, source), f"{where} rpc", source),
        state_sender=_optional_address(table.get("state_sender"), f"{where} state_sender", source),
        confirmations=_int(
            table.get("confirmations", DEFAULT_CONFIRMATIONS), f"{where} confirmations", source, 0, 1_000_000
        ),
        max_range=_int(table.get("max_range", DEFAULT_MAX_RANGE), f"{where} max_range", source, 1, 1_000_000),
        max_events=None
        if max_events_value is None
        else _int(max_events_value, f"{where} max_events", source, 1, 2**circuits.depth),
        rpc_timeout=_float(table.get("rpc_timeout", DEFAULT_RPC_TIMEOUT), f"{where} rpc_timeout", source, 0.1, 600.0),
        checkpoint_manager=_optional_address(table.get("checkpoint_manager"), f"{where} checkpoint_manager", source),
        exit_helper=_optional_address(table.get("exit_helper"), f"{where} exit_helper", source),
    )


def _parse_child(table: Mapping[str, Any], source: str) -> ChildConfig:
    where = "[child]"
    allowed = {"chain_id", "rpc", "receiver", "rpc_timeout", "l2_state_sender", "confirmations", "max_range"}
    _reject_unknown(table, allowed, where, source)
    return ChildConfig(
        chain_id=_chain_id(_required(table, "chain_id", where, source), f"{where} chain_id", source),
        rpc=_urls(_required(table, "rpc", where, source), f"{where} rpc", source),
        receiver=_optional_address(table.get("receiver"), f"{where} receiver", source),
        rpc_timeout=_float(table.get("rpc_timeout", DEFAULT_RPC_TIMEOUT), f"{where} rpc_timeout", source, 0.1, 600.0),
        l2_state_sender=_optional_address(table.get("l2_state_sender"), f"{where} l2_state_sender", source),
        confirmations=_int(
            table.get("confirmations", DEFAULT_CONFIRMATIONS), f"{where} confirmations", source, 0, 1_000_000
        ),
        max_range=_int(table.get("max_range", DEFAULT_MAX_RANGE), f"{where} max_range", source, 1, 1_000_000),
    )


_RAIL_PERIODS: Final = ("trusting_period", "max_pause_duration", "large_transfer_delay")
_RAIL_AMOUNTS: Final = ("capacity", "refill_per_second")
MAX_RAIL_PERIOD: Final = 365 * DAY
MAX_RAIL_AMOUNT: Final = 2**192 - 1


def _parse_rails(table: Mapping[str, Any], source: str) -> RailsConfig:
    where = "[rails]"
    _reject_unknown(table, {"governance", "guardian", *_RAIL_PERIODS, *_RAIL_AMOUNTS}, where, source)
    defaults = RailsConfig()
    values: dict[str, Any] = {}
    for name in ("governance", "guardian"):
        values[name] = _optional_address(table.get(name), f"{where} {name}", source) or ZERO_ADDRESS
    for name in _RAIL_PERIODS:
        values[name] = _int(table.get(name, getattr(defaults, name)), f"{where} {name}", source, 1, MAX_RAIL_PERIOD)
    for name in _RAIL_AMOUNTS:
        values[name] = _int(table.get(name, getattr(defaults, name)), f"{where} {name}", source, 1, MAX_RAIL_AMOUNT)
    if values["refill_per_second"] > values["capacity"]:
        raise ConfigError(f"{source}: {where} refill_per_second exceeds capacity (the bucket refills at most full)")
    return RailsConfig(**values)


_GENESIS_UINT64: Final = ("chain_id", "number", "timestamp")
_GENESIS_FIELDS: Final = ("parent_hash", "event_root", "validator_set_hash", "next_validator_set_hash")


def _parse_genesis(table: Mapping[str, Any], source: str) -> Header:
    where = "[genesis]"
    _reject_unknown(table, {*_GENESIS_UINT64, *_GENESIS_FIELDS, "block_hash"}, where, source)
    values: dict[str, int] = {}
    for name in _GENESIS_UINT64:
        values[name] = _int(_required(table, name, where, source), f"{where} {name}", source, 0, MAX_UINT64)
    for name in _GENESIS_FIELDS:
        values[name] = _int(_required(table, name, where, source), f"{where} {name}", source, 0, R - 1)
    block_hash = table.get("block_hash", "0x" + "00" * 32)
    if not isinstance(block_hash, str) or not _BLOCK_HASH.fullmatch(block_hash):
        raise ConfigError(f"{source}: {where} block_hash must be 32 bytes as 0x-hex, got {block_hash!r}")
    return Header(**values, block_hash=int(block_hash, 16))


_CHECKPOINT_FIELDS: Final = ("parent_hash", "validator_set_hash", "next_validator_set_hash")


def _bytes32(value: object, name: str, source: str) -> int:
    if not isinstance(value, str) or not _BLOCK_HASH.fullmatch(value):
        raise ConfigError(f"{source}: {name} must be 32 bytes as 0x-hex, got {value!r}")
    return int(value, 16)


def _parse_checkpoint_genesis(table: Mapping[str, Any], source: str) -> Checkpoint:
    where = "[checkpoint_genesis]"
    _reject_unknown(table, {*_GENESIS_UINT64, *_CHECKPOINT_FIELDS, "exit_root", "block_hash"}, where, source)
    values: dict[str, int] = {}
    for name in _GENESIS_UINT64:
        values[name] = _int(_required(table, name, where, source), f"{where} {name}", source, 0, MAX_UINT64)
    for name in _CHECKPOINT_FIELDS:
        values[name] = _int(_required(table, name, where, source), f"{where} {name}", source, 0, R - 1)
    exit_root = _bytes32(_required(table, "exit_root", where, source), f"{where} exit_root", source)
    block_hash = _bytes32(table.get("block_hash", "0x" + "00" * 32), f"{where} block_hash", source)
    return Checkpoint(**values, exit_root=exit_root, block_hash=block_hash)


_DEPLOYMENT_KEYS: Final = frozenset(
    {"root_bridge", "child_token", "verifiers", "rootchain_block", "child_block", "deployer", "deployed_at"}
)


def _parse_deployment(table: Mapping[str, Any], source: str) -> DeploymentRecord:
    where = "[deployment]"
    _reject_unknown(table, _DEPLOYMENT_KEYS, where, source)

    def address(key: str, value: object) -> ChecksumAddress:
        parsed = _optional_address(value, f"{where} {key}", source)
        if parsed is None:
            raise ConfigError(f"{source}: {where} is missing key {key!r}")
        return parsed

    verifiers = _required(table, "verifiers", where, source)
    if not isinstance(verifiers, dict) or not verifiers:
        raise ConfigError(f"{source}: {where} verifiers must be a table of circuit = address")
    return DeploymentRecord(
        root_bridge=address("root_bridge", table.get("root_bridge")),
        child_token=address("child_token", table.get("child_token")),
        verifiers={str(k): address(f"verifiers.{k}", v) for k, v in verifiers.items()},
        rootchain_block=_int(
            _required(table, "rootchain_block", where, source), f"{where} rootchain_block", source, 0, MAX_UINT64
        ),
        child_block=_int(_required(table, "child_block", where, source), f"{where} child_block", source, 0, MAX_UINT64),
        deployer=address("deployer", table.get("deployer")),
        deployed_at=_string(_required(table, "deployed_at", where, source), f"{where} deployed_at", source),
    )


def _parse_validators(value: object, circuits: CircuitsConfig, source: str) -> tuple[ValidatorEntry, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{source}: [[validators]] must list at least one validator")
    if len(value) > circuits.validator_slots:
        raise ConfigError(
            f"{source}: {len(value)} [[validators]] do not fit preset {circuits.preset!r}'s "
            f"{circuits.validator_slots} slots"
        )
    entries: list[ValidatorEntry] = []
    for index, item in enumerate(value):
        where = f"[[validators]] #{index} "
        if not isinstance(item, dict):
            raise ConfigError(f"{source}: {where}must be a table")
        _reject_unknown(
            item, {"name", "url", "power", "public_key", "possession", "checkpoint_possession"}, where.strip(), source
        )
        name = _string(_required(item, "name", where.strip(), source), f"{where}name", source)
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"{source}: {where}name {name!r} must be 1-64 of A-Z a-z 0-9 _ . - (not starting with _.-)"
            )
        key = _required(item, "public_key", where.strip(), source)
        if not isinstance(key, list) or len(key) != 2:
            raise ConfigError(f"{source}: {where}public_key must be [x, y]")
        public_key = (
            _int(key[0], f"{where}public_key x", source, 0, R - 1),
            _int(key[1], f"{where}public_key y", source, 0, R - 1),
        )
        power = _int(_required(item, "power", where.strip(), source), f"{where}power", source, 1, MAX_UINT64)
        try:
            Validator(public_key, power)
        except ZkStateSyncError as exc:
            raise ConfigError(f"{source}: {where}({name!r}): {exc}") from exc
        url = _url(_required(item, "url", where.strip(), source), f"{where}url", source)
        possession = {
            key: None if key not in item else _signature(item[key], f"{where}{key}", source)
            for key in ("possession", "checkpoint_possession")
        }
        entries.append(ValidatorEntry(name=name, url=url, power=power, public_key=public_key, **possession))
    for attribute in ("name", "url", "public_key"):
        seen = [getattr(e, attribute) for e in entries]
        duplicates = sorted({str(v) for v in seen if seen.count(v) > 1})
        if duplicates:
            raise ConfigError(f"{source}: [[validators]] share a {attribute}: {', '.join(duplicates)}")
    return tuple(entries)


# --- typed values ------------------------------------------------------------------------------


def _signature(value: object, name: str, source: str) -> Signature:
    """An EdDSA signature as { r8 = ["x", "y"], s = "..." } (decimal strings)."""
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {name} must be a table {{ r8 = [x, y], s = ... }}")
    _reject_unknown(value, {"r8", "s"}, name, source)
    r8 = _required(value, "r8", name, source)
    if not isinstance(r8, list) or len(r8) != 2:
        raise ConfigError(f"{source}: {name} r8 must be [x, y]")
    return Signature(
        r8=(_int(r8[0], f"{name} r8 x", source, 0, R - 1), _int(r8[1], f"{name} r8 y", source, 0, R - 1)),
        s=_int(_required(value, "s", name, source), f"{name} s", source, 0, 2**256 - 1),
    )


def encode_signature_toml(signature: Signature) -> dict[str, Any]:
    return {"r8": [str(signature.r8[0]), str(signature.r8[1])], "s": str(signature.s)}


def _table(document: Mapping[str, Any], name: str, source: str) -> Mapping[str, Any]:
    value = document.get(name)
    if value is None:
        raise ConfigError(f"{source}: missing [{name}] section")
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    return value


def _required(table: Mapping[str, Any], key: str, where: str, source: str) -> Any:
    if key not in table:
        raise ConfigError(f"{source}: {where} is missing key {key!r}")
    return table[key]


def _reject_unknown(table: Mapping[str, Any], allowed: Collection[str], where: str, source: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        place = f"{where} " if where else "top level: "
        raise ConfigError(f"{source}: {place}unknown key {', '.join(map(repr, unknown))}")


def _string(value: object, name: str, source: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{source}: {name} must be a non-empty string, got {value!r}")
    return value


def _bool(value: object, name: str, source: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: {name} must be true or false, got {value!r}")
    return value


def _int(value: object, name: str, source: str, low: int, high: int) -> int:
    """An integer from a TOML integer or a canonical decimal string (for values past 2^63)."""
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise ConfigError(f"{source}: {name} must be an integer or a decimal string, got {value!r}")
    if not low <= number <= high:
        raise ConfigError(f"{source}: {name} must be in [{low}, {high}], got {number}")
    return number


def _float(value: object, name: str, source: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{source}: {name} must be a number of seconds, got {value!r}")
    if not low <= float(value) <= high:
        raise ConfigError(f"{source}: {name} must be in [{low}, {high}], got {value}")
    return float(value)


def _chain_id(value: object, name: str, source: str) -> int:
    return _int(value, name, source, 1, MAX_UINT64)


def _url(value: object, name: str, source: str) -> str:
    text = _string(value, name, source)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{source}: {name} must be an http(s) URL with a host, got {text!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise ConfigError(f"{source}: {name} has a bad port: {text!r}") from exc
    return text


def _urls(value: object, name: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{source}: {name} must be a non-empty list of URLs")
    return tuple(_url(v, f"{name}[{i}]", source) for i, v in enumerate(value))


def _optional_address(value: object, name: str, source: str) -> ChecksumAddress | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise ConfigError(f"{source}: {name} must be a 0x-hex address of 20 bytes, got {value!r}")
    mixed_case = value[2:] != value[2:].lower() and value[2:] != value[2:].upper()
    if mixed_case and not is_checksum_address(value):
        raise ConfigError(f"{source}: {name} {value} has a wrong EIP-55 checksum")
    return to_checksum_address(value)


# ---------------------------------------------------------------------------------------------
# Writing


def render_network_config(config: NetworkConfig) -> str:
    """The network sections as TOML that parse_network_config reads back to `config`."""
    root = config.rootchain
    rootchain: dict[str, Any] = {
        "chain_id": _toml_int(root.chain_id),
        "rpc": list(root.rpc),
        "confirmations": root.confirmations,
        "max_range": root.max_range,
        "rpc_timeout": root.rpc_timeout,
    }
    if root.state_sender is not None:
        rootchain["state_sender"] = root.state_sender
    if root.max_events is not None:
        rootchain["max_events"] = root.max_events
    for name in ("checkpoint_manager", "exit_helper"):
        if getattr(root, name) is not None:
            rootchain[name] = getattr(root, name)
    document: dict[str, Any] = {"rootchain": rootchain}
    if config.child is not None:
        child: dict[str, Any] = {
            "chain_id": _toml_int(config.child.chain_id),
            "rpc": list(config.child.rpc),
            "rpc_timeout": config.child.rpc_timeout,
            "confirmations": config.child.confirmations,
            "max_range": config.child.max_range,
        }
        for name in ("receiver", "l2_state_sender"):
            if getattr(config.child, name) is not None:
                child[name] = getattr(config.child, name)
        document["child"] = child
    document["circuits"] = {"preset": config.circuits.preset}
    if config.genesis is not None:
        genesis = config.genesis
        document["genesis"] = {
            **{name: _toml_int(getattr(genesis, name)) for name in _GENESIS_UINT64},
            **{name: str(getattr(genesis, name)) for name in _GENESIS_FIELDS},
            "block_hash": "0x" + genesis.block_hash.to_bytes(32, "big").hex(),
        }
    if config.checkpoint_genesis is not None:
        checkpoint = config.checkpoint_genesis
        document["checkpoint_genesis"] = {
            **{name: _toml_int(getattr(checkpoint, name)) for name in _GENESIS_UINT64},
            **{name: str(getattr(checkpoint, name)) for name in _CHECKPOINT_FIELDS},
            "exit_root": "0x" + checkpoint.exit_root.to_bytes(32, "big").hex(),
            "block_hash": "0x" + checkpoint.block_hash.to_bytes(32, "big").hex(),
        }
    if config.deployment is not None:
        record = config.deployment
        document["deployment"] = {
            "root_bridge": record.root_bridge,
            "child_token": record.child_token,
            "verifiers": dict(record.verifiers),
            "rootchain_block": _toml_int(record.rootchain_block),
            "child_block": _toml_int(record.child_block),
            "deployer": record.deployer,
            "deployed_at": record.deployed_at,
        }
    rails = config.rails
    if rails != RailsConfig():
        document["rails"] = {
            "governance": rails.governance,
            "guardian": rails.guardian,
            **{name: _toml_int(getattr(rails, name)) for name in (*_RAIL_PERIODS, *_RAIL_AMOUNTS)},
        }
    document["validators"] = [_render_validator(v) for v in config.validators]
    return tomli_w.dumps(document)


def _render_validator(entry: ValidatorEntry) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "name": entry.name,
        "url": entry.url,
        "power": _toml_int(entry.power),
        "public_key": [str(entry.public_key[0]), str(entry.public_key[1])],
    }
    for key in ("possession", "checkpoint_possession"):
        proof = getattr(entry, key)
        if proof is not None:
            rendered[key] = encode_signature_toml(proof)
    return rendered


def save_network_config(path: Path, config: NetworkConfig) -> None:
    """Write the network file atomically (deploy records addresses and the genesis this way).

    Other programs' sections already in the file (`[validator]`, ...) are kept as they are;
    comments are not (TOML writers do not keep them).
    """
    text = render_network_config(config)
    path = Path(path)
    if path.exists():
        kept = {k: v for k, v in read_toml(path).items() if k in _OTHER_SECTIONS}
        if kept:
            text += "\n" + tomli_w.dumps(kept)
    parse_network_config(tomllib.loads(text), source=str(path))  # never write what cannot be read back
    write_atomically(path, text)


def _toml_int(value: int) -> int | str:
    return value if value <= TOML_INT_MAX else str(value)
