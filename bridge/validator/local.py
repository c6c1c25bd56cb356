"""A network of validators on this machine: keys, keystores and config files (tests, and the devnet later).

`make_local_network` writes, into one directory, a network.toml (the rootchain, the optional
child chain, the preset, the genesis derived from a rootchain block, every validator on a free
loopback port) and, per validator, its keystore and a small `<name>.toml` naming the network
file. Passwords are delivered by environment variable, as in production.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import tomli_w

from statesync.babyjub import Point
from statesync.eddsa import Signature, derive_public_key
from statesync.model import SigningPurpose
from statesync.possession import prove_possession
from statesync.proposal import RootBlock
from statesync.storage import write_atomically

from ..chain.chains import find_free_port
from ..config import (
    ChildConfig,
    CircuitsConfig,
    NetworkConfig,
    RootchainConfig,
    ValidatorEntry,
    compute_configured_set_hash,
    save_network_config,
)
from ..deployment import derive_genesis
from ..keystore import DEFAULT_WORK_FACTOR, write_keystore

NETWORK_FILE: Final = "network.toml"


@dataclass(frozen=True)
class LocalValidator:
    name: str
    private_key: bytes = field(repr=False)
    public_key: Point
    config_path: Path
    data_dir: Path
    url: str
    password_env: str
    password: str = field(repr=False)

    @property
    def env(self) -> dict[str, str]:
        return {self.password_env: self.password}


@dataclass(frozen=True)
class LocalNetwork:
    config: NetworkConfig
    path: Path
    validators: tuple[LocalValidator, ...]


def _possession(key: bytes, rootchain: RootchainConfig, child: ChildConfig | None) -> dict[str, Signature | None]:
    """A key's proofs of possession for the aggregate mode, as each validator makes its own."""
    return {
        "possession": prove_possession(key, rootchain.chain_id, SigningPurpose.HEADER),
        "checkpoint_possession": None
        if child is None
        else prove_possession(key, child.chain_id, SigningPurpose.CHECKPOINT),
    }


def make_local_network(
    directory: Path,
    *,
    rootchain: RootchainConfig,
    circuits: CircuitsConfig,
    genesis_block: RootBlock | None = None,
    powers: Sequence[int],
    names: Sequence[str] | None = None,
    child: ChildConfig | None = None,
    seed: bytes | None = None,
    work_factor: int = DEFAULT_WORK_FACTOR,
    poll_interval: float = 0.5,
) -> LocalNetwork:
    """Keys (sha256(seed, i) with a seed, for reproducible tests; else random), keystores and configs.

    `names` default to validator0, validator1, ..."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    keys = [
        hashlib.sha256(seed + i.to_bytes(4, "big")).digest() if seed is not None else os.urandom(32)
        for i in range(len(powers))
    ]
    names = list(names) if names is not None else [f"validator{i}" for i in range(len(powers))]
    if len(names) != len(powers):
        raise ValueError(f"{len(names)} names for {len(powers)} validators")
    urls = [f"http://127.0.0.1:{find_free_port()}" for _ in powers]
    entries = tuple(
        ValidatorEntry(name=n, url=u, power=p, public_key=derive_public_key(k), **_possession(k, rootchain, child))
        if circuits.aggregate
        else ValidatorEntry(name=n, url=u, power=p, public_key=derive_public_key(k))
        for n, u, p, k in zip(names, urls, powers, keys, strict=True)
    )
    config = NetworkConfig(rootchain=rootchain, circuits=circuits, validators=entries, child=child)
    if genesis_block is not None:  # else `zkstatesync deploy` derives it, at deployment
        set_hash = compute_configured_set_hash(config)
        config = replace(config, genesis=derive_genesis(genesis_block, rootchain.chain_id, set_hash, circuits.depth))
    network_path = directory / NETWORK_FILE
    save_network_config(network_path, config)
    validators = []
    for name, url, key in zip(names, urls, keys, strict=True):
        password = secrets.token_hex(16)
        keystore = directory / f"{name}.keystore.json"
        write_keystore(keystore, key, password, work_factor=work_factor)
        password_env = f"ZKSTATESYNC_{name.upper()}_PASSWORD"
        node = {
            "network": NETWORK_FILE,
            "name": name,
            "keystore": keystore.name,
            "password_env": password_env,
            "data_dir": name,
            "poll_interval": poll_interval,
        }
        config_path = directory / f"{name}.toml"
        write_atomically(config_path, tomli_w.dumps({"validator": node}))
        validators.append(
            LocalValidator(
                name=name,
                private_key=key,
                public_key=derive_public_key(key),
                config_path=config_path,
                data_dir=directory / name,
                url=url,
                password_env=password_env,
                password=password,
            )
        )
    return LocalNetwork(config=config, path=network_path, validators=tuple(validators))
