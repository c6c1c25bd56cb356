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
from statesync.eddsa import derive_public_key
from statesync.model import Header, build_event_tree
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


def derive_genesis(block: RootBlock, chain_id: int, validator_set_hash: int, depth: int) -> Header:
    """The first checkpoint at a rootchain block: no events, the set signing itself next."""
    return Header(
        chain_id=chain_id,
        number=block.number,
        parent_hash=0,
        timestamp=block.timestamp,
        event_root=build_event_tree((), depth).root,
        validator_set_hash=validator_set_hash,
        next_validator_set_hash=validator_set_hash,
        block_hash=block.hash,
    )


def make_local_network(
    directory: Path,
    *,
    rootchain: RootchainConfig,
    circuits: CircuitsConfig,
    genesis_block: RootBlock,
    powers: Sequence[int],
    child: ChildConfig | None = None,
    seed: bytes | None = None,
    work_factor: int = DEFAULT_WORK_FACTOR,
) -> LocalNetwork:
    """Keys (sha256(seed, i) with a seed, for reproducible tests; else random), keystores and configs."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    keys = [
        hashlib.sha256(seed + i.to_bytes(4, "big")).digest() if seed is not None else os.urandom(32)
        for i in range(len(powers))
    ]
    names = [f"validator{i}" for i in range(len(powers))]
    urls = [f"http://127.0.0.1:{find_free_port()}" for _ in powers]
    entries = tuple(
        ValidatorEntry(name=n, url=u, power=p, public_key=derive_public_key(k))
        for n, u, p, k in zip(names, urls, powers, keys, strict=True)
    )
    config = NetworkConfig(rootchain=rootchain, circuits=circuits, validators=entries, child=child)
    genesis = derive_genesis(genesis_block, rootchain.chain_id, compute_configured_set_hash(config), circuits.depth)
    config = replace(config, genesis=genesis)
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
            "poll_interval": 0.5,
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
