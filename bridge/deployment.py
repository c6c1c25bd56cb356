"""Deploying a network's contracts to chains given by URL, and recording what was deployed.

`deploy_network` reads the network file, connects to both chains as the deployer, checks that
each node serves the configured chain id, derives the genesis checkpoint from a confirmed
rootchain block, deploys the rootchain side (StateSender, the sample RootBridge) and the child
side (the three generated verifiers, ZkStateReceiver, the sample ChildToken), and writes the
addresses, the genesis and the blocks back into the network file in one atomic replace. A file
that already records a deployment is refused unless the caller asks for a new one: services
configured from it would otherwise silently follow other contracts.

The deployer's key comes from an environment variable or an Ethereum keystore (its password from
an environment variable), never from a command-line flag, where `ps` and shell history see it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from eth_account import Account
from eth_account.signers.local import LocalAccount

from statesync.errors import ZkStateSyncError
from statesync.exits import compute_exit_root
from statesync.model import Checkpoint, Header, build_event_tree
from statesync.proposal import RootBlock

from .chain.chains import Chain, connect_chain
from .chain.deploy import Deployed, deploy
from .chain.stack import (
    EXIT_CIRCUIT,
    ChildStack,
    ExitPath,
    RateLimit,
    ReceiverRails,
    RootStack,
    compile_generated_verifier,
    deploy_bridge,
)
from .config import (
    ConfigError,
    DeploymentRecord,
    NetworkConfig,
    compute_configured_set_hash,
    load_network_config,
    save_network_config,
)
from .rpc import redact_text

DEFAULT_KEY_ENV: Final = "ZKSTATESYNC_DEPLOYER_KEY"


class DeploymentRefused(ZkStateSyncError):
    """The deployment cannot go ahead (already recorded, wrong chain, no funds): the message says why."""


@dataclass(frozen=True)
class NetworkDeployment:
    config: NetworkConfig
    root: RootStack
    child: ChildStack
    genesis_block: RootBlock
    checkpoint_verifier: Deployed | None = None  # the exit direction's, on the rootchain


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


def _deploy_exit_verifier(
    root: Chain,
    child: Chain,
    config: NetworkConfig,
    verifier_sources: Mapping[str, Path],
    progress: Callable[[str], None],
) -> tuple[ExitPath, Deployed] | None:
    """The exit direction, when a CheckpointUpdate verifier is among the sources: that verifier on the
    rootchain, and the checkpoint genesis at the child block `confirmations` below the child's head."""
    source = verifier_sources.get(EXIT_CIRCUIT)
    child_config = config.child
    if source is None or child_config is None:
        return None
    verifier = deploy(root, compile_generated_verifier(EXIT_CIRCUIT, source))
    head = int(child.web3.eth.block_number)
    block = read_root_block(child, max(0, head - child_config.confirmations))
    genesis = derive_checkpoint_genesis(block, child_config.chain_id, compute_configured_set_hash(config))
    progress(f"checkpoint genesis: child block {block.number} (head {head})")
    return ExitPath(checkpoint_verifier=verifier.address, genesis=genesis), verifier


def derive_checkpoint_genesis(block: RootBlock, chain_id: int, validator_set_hash: int) -> Checkpoint:
    """The first checkpoint at a child-chain block: no exits (the empty exit tree), the set signing itself next."""
    return Checkpoint(
        chain_id=chain_id,
        number=block.number,
        parent_hash=0,
        timestamp=block.timestamp,
        exit_root=compute_exit_root(()),
        validator_set_hash=validator_set_hash,
        next_validator_set_hash=validator_set_hash,
        block_hash=block.hash,
    )


def load_deployer_account(
    *, key_env: str | None = None, keystore: Path | None = None, password_env: str | None = None
) -> LocalAccount:
    """The deployer: an Ethereum keystore (password from `password_env`) or a 0x-hex key in `key_env`."""
    if keystore is not None:
        if password_env is None:
            raise ConfigError("a deployer keystore needs --password-env (the variable holding its password)")
        password = os.environ.get(password_env)
        if not password:
            raise ConfigError(f"${password_env} is not set (or empty)")
        try:
            text = Path(keystore).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read the deployer keystore {keystore}: {exc.strerror or exc}") from exc
        try:
            key = Account.decrypt(text, password)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a wrong password, or no keystore
            raise ConfigError(f"cannot decrypt the deployer keystore {keystore}: {exc}") from exc
        account: LocalAccount = Account.from_key(key)
        return account
    name = key_env or DEFAULT_KEY_ENV
    value = os.environ.get(name)
    if not value:
        raise ConfigError(
            f"no deployer key: set ${name} to a 0x-hex private key, or give --keystore and --password-env"
        )
    try:
        account = Account.from_key(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"${name} is not a private key (0x-hex, 32 bytes)") from exc
    return account


def describe_recorded_deployment(config: NetworkConfig) -> str:
    parts = []
    if config.rootchain.state_sender is not None:
        parts.append(f"StateSender {config.rootchain.state_sender}")
    if config.child is not None and config.child.receiver is not None:
        parts.append(f"ZkStateReceiver {config.child.receiver}")
    if config.deployment is not None:
        parts.append(f"deployed at {config.deployment.deployed_at}")
    return ", ".join(parts)


def refuse_recorded_deployment(config: NetworkConfig, config_path: Path) -> None:
    """DeploymentRefused if the file records a deployment: its services would follow the old contracts."""
    if config.is_deployed:
        raise DeploymentRefused(
            f"{config_path} already records a deployment ({describe_recorded_deployment(config)}); "
            "deploying again would leave its services on the old contracts: pass --redeploy to replace it"
        )


def _check_chain(chain: Chain, chain_id: int, side: str, deployer: str) -> None:
    served = int(chain.web3.eth.chain_id)
    if served != chain_id:
        raise DeploymentRefused(f"the {side} node serves chain {served}, but the network file says {chain_id}")
    if int(chain.web3.eth.get_balance(chain.accounts[0])) == 0:
        raise DeploymentRefused(f"the deployer {deployer} has no ether on the {side} (chain {chain_id}) to pay gas")
    # RootBridge's address is predicted from the deployer's nonce: a transaction of its still
    # pending would shift every nonce and leave the two sides naming the wrong contracts.
    pending = int(chain.web3.eth.get_transaction_count(chain.accounts[0], "pending"))
    if pending != int(chain.web3.eth.get_transaction_count(chain.accounts[0], "latest")):
        raise DeploymentRefused(f"the deployer {deployer} has a transaction pending on the {side}: wait for it")


def read_root_block(chain: Chain, number: int) -> RootBlock:
    block = chain.web3.eth.get_block(number)
    return RootBlock(int(block["number"]), int.from_bytes(bytes(block["hash"]), "big"), int(block["timestamp"]))


def deploy_network(
    config_path: Path,
    account: LocalAccount,
    verifier_sources: Mapping[str, Path],
    *,
    redeploy: bool = False,
    progress: Callable[[str], None] = lambda _line: None,
) -> NetworkDeployment:
    """Deploy both sides for the network in `config_path` and record them there (see the module)."""
    config_path = Path(config_path)
    config = load_network_config(config_path)
    if not redeploy:
        refuse_recorded_deployment(config, config_path)
    child_config = config.child
    if child_config is None:
        raise ConfigError(f"{config_path}: no [child] section: the receiver needs a chain to live on")
    root_url, child_url = config.rootchain.rpc[0], child_config.rpc[0]
    root = connect_chain(root_url, account)
    child = connect_chain(child_url, account)
    _check_chain(root, config.rootchain.chain_id, "rootchain", account.address)
    _check_chain(child, child_config.chain_id, "child chain", account.address)

    # The genesis is a block already past the confirmation depth: validators never sign a range
    # that starts on a block that may still be reorganised away.
    head = int(root.web3.eth.block_number)
    genesis_block = read_root_block(root, max(0, head - config.rootchain.confirmations))
    genesis = derive_genesis(
        genesis_block, config.rootchain.chain_id, compute_configured_set_hash(config), config.circuits.depth
    )
    progress(f"genesis: rootchain block {genesis_block.number} (head {head})")
    try:
        exit_verifier = _deploy_exit_verifier(root, child, config, verifier_sources, progress)
        exit_path = None if exit_verifier is None else exit_verifier[0]
        rails = config.rails
        root_stack, child_stack = deploy_bridge(
            root,
            child,
            verifier_sources,
            genesis=genesis,
            batch_size=config.circuits.batch_size,
            exit_path=exit_path,
            rails=ReceiverRails(rails.governance, rails.guardian, rails.trusting_period, rails.max_pause_duration),
            rate_limit=RateLimit(rails.capacity, rails.refill_per_second, rails.large_transfer_delay),
        )
    except ZkStateSyncError:
        raise
    except Exception as exc:  # web3's errors (a node gone, a receipt that never came, funds run out)
        raise DeploymentRefused(
            f"the deployment failed part way, and nothing was recorded in {config_path} (contracts already "
            f"deployed are abandoned; deploy again): {type(exc).__name__}: {redact_text(str(exc))[:300]}"
        ) from exc
    verifiers = {c: v.address for c, v in child_stack.verifiers.items()}
    if exit_path is not None:
        verifiers[EXIT_CIRCUIT] = exit_path.checkpoint_verifier
    exits = root_stack.exits
    record = DeploymentRecord(
        root_bridge=root_stack.bridge.address,
        child_token=child_stack.token.address,
        verifiers=verifiers,
        rootchain_block=root_stack.sender.receipt.block_number,
        child_block=child_stack.receiver.receipt.block_number,
        deployer=account.address,
        deployed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    deployed = replace(
        config,
        rootchain=replace(
            config.rootchain,
            state_sender=root_stack.sender.address,
            checkpoint_manager=None if exits is None else exits.checkpoint_manager.address,
            exit_helper=None if exits is None else exits.exit_helper.address,
        ),
        child=replace(
            child_config,
            receiver=child_stack.receiver.address,
            l2_state_sender=None if child_stack.l2_sender is None else child_stack.l2_sender.address,
        ),
        genesis=genesis,
        checkpoint_genesis=None if exit_path is None else exit_path.genesis,
        deployment=record,
    )
    save_network_config(config_path, deployed)
    verifier = None if exit_verifier is None else exit_verifier[1]
    return NetworkDeployment(deployed, root_stack, child_stack, genesis_block, verifier)
