"""A user's exit: from the child chain's logs to `ZkExitHelper.exit` on the rootchain, no prover needed.

    prepared = prepare_exit(child, manager, exit_id, genesis_number=..., ...)
    receipt = send_exit(root_chain, exit_helper_address, prepared)

The exit's L2StateSynced log gives its block; the first checkpoint the rootchain's
ZkCheckpointManager accepted at or after that block covers it (its range starts after the
checkpoint before it); the child chain's exits of that range, in id order, are the leaves of the
checkpoint's keccak exit tree (docs/PROTOCOL.md section 8). The tree is rebuilt here and its root
checked against the one the manager stores before anything is sent, so a wrong proof is refused
on this machine, not by a reverted transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from statesync.errors import ZkStateSyncError
from statesync.exits import ExitEvent, ExitProof, build_exit_tree, compute_exit_root_from_proof, get_exit_proof
from statesync.proposal import exit_events

from .chain.chains import Chain, ChainError, connect_chain
from .chain.deploy import Attached, Receipt, call, transact
from .chain.solc import compile_directory
from .config import NetworkConfig
from .receiver import AcceptedCheckpoint, CheckpointManager
from .rootchain import L2_STATE_SYNCED, RootchainReader
from .rpc import FailoverRpc, redact_url


class ExitError(ZkStateSyncError):
    """The exit cannot be made: unknown, not yet checkpointed, processed already, or inconsistent chains."""


class ExitNotReady(ExitError):
    """No accepted checkpoint covers the exit's block yet (the relayer has not got that far)."""


@dataclass(frozen=True)
class PreparedExit:
    event: ExitEvent
    exit_block: int  # the child block of its L2StateSynced log
    checkpoint_number: int  # the checkpoint whose exit tree holds it: `exit`'s first argument
    proof: ExitProof


def find_covering_checkpoint(
    accepted: Sequence[AcceptedCheckpoint], block: int, genesis_number: int
) -> tuple[int, AcceptedCheckpoint]:
    """(the previous checkpoint's number, the checkpoint) whose range (previous, number] holds `block`."""
    previous = genesis_number
    for entry in sorted(accepted, key=lambda a: a.number):
        if entry.number >= block:
            return previous, entry
        previous = entry.number
    raise ExitNotReady(
        f"no checkpoint covers child block {block} yet (the rootchain's last is at block {previous}); try again later"
    )


def prepare_exit(
    child: RootchainReader,
    manager: CheckpointManager,
    exit_id: int,
    *,
    genesis_number: int,
    child_from_block: int,
    manager_from_block: int,
) -> PreparedExit:
    """The exit with id `exit_id` and its proof under the checkpoint that covers it."""
    if exit_id < 1:
        raise ExitError(f"exit ids start at 1, got {exit_id}")
    seen = child.find(exit_id, max(child_from_block, genesis_number + 1), child.head())
    if seen is None:
        raise ExitError(f"the child chain's L2StateSender has no exit {exit_id}")
    block = seen.pending.block_number
    accepted = manager.accepted(manager_from_block, manager.block_number())
    previous, checkpoint = find_covering_checkpoint(accepted, block, genesis_number)
    view = child.read_range(previous, checkpoint.number)
    exits = list(exit_events([p.event for p in view.events]))
    tree = build_exit_tree(exits)
    if int.from_bytes(tree.root, "big") != checkpoint.exit_root:
        raise ExitError(
            f"the child chain's exits of blocks {previous + 1}..{checkpoint.number} do not give checkpoint "
            f"{checkpoint.number}'s exit root (a reorganisation below the confirmations?)"
        )
    ids = [e.id for e in exits]
    if exit_id not in ids:
        raise ExitError(
            f"exit {exit_id} is no longer in child blocks {previous + 1}..{checkpoint.number} (a reorganisation?)"
        )
    index = ids.index(exit_id)
    proof = get_exit_proof(tree, exits, index)
    if compute_exit_root_from_proof(proof) != tree.root:  # the tree's own path; kept as a self-check
        raise ExitError("the exit proof does not lead to its tree's root")
    return PreparedExit(exits[index], block, checkpoint.number, proof)


def exit_helper_at(address: ChecksumAddress) -> Attached:
    return Attached(compile_directory().get("ZkExitHelper"), address)


def is_processed(chain: Chain, helper: Attached, exit_id: int) -> bool:
    return bool(call(chain, helper, "processedExits", exit_id))


def connect_rootchain(network: NetworkConfig, account: LocalAccount) -> Chain:
    """The first of the rootchain's RPC URLs that answers with the configured chain id, sending as `account`."""
    failures = []
    for url in network.rootchain.rpc:
        try:
            chain = connect_chain(url, account)
        except ChainError as exc:
            failures.append(str(exc))
            continue
        chain_id = int(chain.web3.eth.chain_id)
        if chain_id == network.rootchain.chain_id:
            return chain
        failures.append(f"{redact_url(url)} serves chain {chain_id}, not {network.rootchain.chain_id}")
    raise ExitError("no rootchain node to send the exit to: " + "; ".join(failures))


def send_exit(chain: Chain, helper: Attached, prepared: PreparedExit) -> Receipt:
    """exit(checkpointNumber, leafIndex, unhashedLeaf, proof) from the chain's account."""
    if is_processed(chain, helper, prepared.event.id):
        raise ExitError(f"exit {prepared.event.id} was processed already")
    proof = prepared.proof
    return transact(
        chain,
        helper,
        "exit",
        prepared.checkpoint_number,
        proof.leaf_index,
        proof.unhashed_leaf,
        list(proof.siblings),
    )


def prepare_exit_from_network(network: NetworkConfig, exit_id: int) -> PreparedExit:
    """prepare_exit with the chains and contracts a (deployed) network file names."""
    root, child, genesis = network.rootchain, network.child, network.checkpoint_genesis
    if child is None or child.l2_state_sender is None or root.checkpoint_manager is None or genesis is None:
        raise ExitError(
            "the network has no exit direction: it needs [child] l2_state_sender, [rootchain] checkpoint_manager "
            "and [checkpoint_genesis] (zkstatesync deploy records them)"
        )
    child_rpc = FailoverRpc("child", child.rpc, child.chain_id, child.rpc_timeout)
    root_rpc = FailoverRpc("rootchain", root.rpc, root.chain_id, root.rpc_timeout)
    record = network.deployment
    return prepare_exit(
        RootchainReader(child_rpc, child.l2_state_sender, kind=L2_STATE_SYNCED),
        CheckpointManager(root_rpc, root.checkpoint_manager),
        exit_id,
        genesis_number=genesis.number,
        # Exits start after the checkpoint genesis (L2StateSender is deployed after that block).
        child_from_block=genesis.number + 1,
        manager_from_block=0 if record is None else record.rootchain_block,
    )


def describe_exit(prepared: PreparedExit) -> dict[str, object]:
    """The exit and its `exit` arguments as JSON (`zkstatesync exit --dry-run`)."""
    event, proof = prepared.event, prepared.proof
    return {
        "id": event.id,
        "sender": f"0x{event.sender:040x}",
        "receiver": f"0x{event.receiver:040x}",
        "data": "0x" + event.data.hex(),
        "exit_block": prepared.exit_block,
        "checkpoint_number": prepared.checkpoint_number,
        "leaf_index": proof.leaf_index,
        "unhashed_leaf": "0x" + proof.unhashed_leaf.hex(),
        "proof": ["0x" + s.hex() for s in proof.siblings],
    }
