"""The demo's exit direction: withdrawals out through proven checkpoints, and attacks on them refused.

Run on a devnet by bridge/demo_network.py: users burn child tokens, the relayer relays the child
chain's checkpoints, the exits are built from the child chain's logs (as `zkstatesync exit` does)
and executed by someone else; balances are checked on both chains. Then: an exit replayed, an
exit with a wrong proof, a checkpoint signed below the quorum, and a checkpoint of the old set
after a rotation, each refused (the last two by the circuit and the checkpoint client, with the
devnet's own validator keys, so nothing is submitted that would move the live bridge).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final

from prover.inputs import build_checkpoint_update_inputs
from prover.prove import load_prover
from prover.witness import WitnessError
from statesync.committee import Committee, generate_committee
from statesync.errors import ModelError
from statesync.model import Checkpoint, compute_checkpoint_hash, derive_validator_set, validate_header_update

from .chain.deploy import TransactionReverted, call, decode_events, transact
from .demo import DemoFailure
from .devnet import Devnet
from .exits import ExitError, ExitNotReady, PreparedExit, prepare_exit_from_network, send_exit
from .proving import prove_checked
from .receiver import CheckpointManager
from .relayer.checkpoints import rebuild_trusted_checkpoint
from .rootchain import L2_STATE_SYNCED, RootchainReader
from .rpc import FailoverRpc

WAIT_SECONDS: Final = 240.0


@dataclass
class ExitsReport:
    withdrawn: list[tuple[str, int]] = field(default_factory=list)  # (user, wei) released on the rootchain
    exit_gas: list[int] = field(default_factory=list)
    refusals: list[tuple[str, str]] = field(default_factory=list)
    seconds_to_checkpoint: float = 0.0


def wait_for_exit(devnet: Devnet, exit_id: int, timeout: float = WAIT_SECONDS) -> PreparedExit:
    """The exit once a checkpoint covering it is accepted on the rootchain (bounded: never hangs)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return prepare_exit_from_network(devnet.deployment.config, exit_id)
        except ExitNotReady:
            if time.monotonic() > deadline:
                raise DemoFailure(f"no checkpoint covered exit {exit_id} within {timeout:.0f} s") from None
            relayer = devnet.relayer
            if relayer is not None and not relayer.is_running():
                raise DemoFailure(f"the relayer exited:\n{relayer.read_log()[-2000:]}") from None
            time.sleep(0.5)


def play_withdrawals(devnet: Devnet, report: ExitsReport, note: Callable[[str], None]) -> None:
    """The first depositors withdraw half of what they hold; a wrong proof is refused, then their
    exits are executed by anvil's account 0, then replays are refused."""
    root, child = devnet.root, devnet.child
    token, bridge = devnet.deployment.child.token, devnet.deployment.root.bridge
    exits = devnet.deployment.root.exits
    if exits is None:
        raise DemoFailure("the devnet was deployed without the exit direction")
    helper = exits.exit_helper
    users = list(dict.fromkeys(user for user, _ in devnet.deposits))[:3]
    held = {user: int(call(child, token, "balanceOf", user)) for user in users}
    started = time.monotonic()
    exit_ids = [devnet.withdraw(user, held[user] // 2)[0] for user in users]
    note(f"{len(users)} users burnt half their child tokens: exits {exit_ids[0]}..{exit_ids[-1]} on the child chain")
    prepared = [wait_for_exit(devnet, exit_id) for exit_id in exit_ids]
    report.seconds_to_checkpoint = time.monotonic() - started
    note(
        f"checkpoint {prepared[-1].checkpoint_number} accepted on the rootchain "
        f"{report.seconds_to_checkpoint:.1f} s after the withdrawals (signed, proven, submitted by the relayer)"
    )

    def raw_exit(item: PreparedExit, siblings: list[bytes]) -> object:
        proof = item.proof
        return transact(root, helper, "exit", item.checkpoint_number, proof.leaf_index, proof.unhashed_leaf, siblings)

    wrong = list(prepared[0].proof.siblings)
    wrong[0] = bytes(b ^ 0xFF for b in wrong[0])
    _expect_revert(
        report, "an exit with a wrong proof", "ZkExitHelper__InvalidProof", lambda: raw_exit(prepared[0], wrong)
    )
    locked = root.web3.eth.get_balance(bridge.address)
    for user, item in zip(users, prepared, strict=True):
        before = root.web3.eth.get_balance(user)
        receipt = send_exit(root, helper, item)
        [outcome] = decode_events(helper, receipt, "ExitProcessed")
        released = root.web3.eth.get_balance(user) - before
        if not outcome.args["success"] or released != held[user] // 2:
            raise DemoFailure(f"exit {item.event.id}: released {released} wei to {user}, expected {held[user] // 2}")
        if call(child, token, "balanceOf", user) != held[user] - held[user] // 2:
            raise DemoFailure(f"{user}'s child balance is not what remains after the burn")
        report.withdrawn.append((user, released))
        report.exit_gas.append(receipt.gas_used)
    total = sum(wei for _, wei in report.withdrawn)
    if locked - root.web3.eth.get_balance(bridge.address) != total:
        raise DemoFailure("RootBridge did not release exactly what the exits carried")
    note(f"{len(users)} exits executed by anvil's account 0 (anyone may): {total} wei released, balances exact")
    try:
        send_exit(root, helper, prepared[0])
    except ExitError as refused:
        report.refusals.append(("an exit replayed (zkstatesync exit)", str(refused)))
    else:
        raise DemoFailure("attack succeeded: an exit replayed")
    _expect_revert(
        report,
        "an exit replayed (sent raw)",
        "ZkExitHelper__AlreadyProcessed",
        lambda: raw_exit(prepared[0], list(prepared[0].proof.siblings)),
    )


def _expect_revert(report: ExitsReport, what: str, error: str, attempt: Callable[[], object]) -> None:
    try:
        attempt()
    except TransactionReverted as refused:
        if refused.reason.name != error:
            raise DemoFailure(f"{what}: refused for another reason than {error}: {refused.reason}") from refused
        report.refusals.append((what, str(refused.reason)))
        return
    raise DemoFailure(f"attack succeeded: {what}")


def refuse_checkpoint_attacks(devnet: Devnet, report: ExitsReport) -> None:
    """The next checkpoint, signed below the quorum or by the old set after a rotation, with the
    devnet's own validator keys: refused by the model and by the circuit (nothing is submitted)."""
    config = devnet.deployment.config
    keys = [v.private_key for v in devnet.network.validators]
    committee = Committee(
        tuple(keys), derive_validator_set(keys, [v.power for v in config.validators], config.circuits.validator_slots)
    )
    trusted = _trusted_checkpoint(devnet, committee)
    following = replace(
        trusted,
        number=trusted.number + 1,
        parent_hash=compute_checkpoint_hash(trusted),
        timestamp=trusted.timestamp + 1,
    )
    prover = load_prover("checkpoint_update", config.circuits.preset)
    below = {2, 3}  # carol and dave: 3 of 10

    def expect(what: str, attempt: Callable[[], object], errors: tuple[type[Exception], ...]) -> None:
        try:
            attempt()
        except errors as refused:
            report.refusals.append((what, str(refused).splitlines()[0][:160]))
            return
        raise DemoFailure(f"attack succeeded: {what}")

    def prove(trusted_: Checkpoint, commit_of: Checkpoint, signers: set[int] | None) -> object:
        inputs = build_checkpoint_update_inputs(
            trusted=trusted_, commit=committee.sign(commit_of, signers), validator_set=committee.validator_set
        )
        return prove_checked(prover, inputs)

    expect(
        "a checkpoint signed by 3 of 10 (the checkpoint rules)",
        lambda: validate_header_update(
            trusted=trusted, commit=committee.sign(following, below), validator_set=committee.validator_set
        ),
        (ModelError,),
    )
    expect("proving it anyway (the circuit's quorum)", lambda: prove(trusted, following, below), (WitnessError,))
    new_set = generate_committee([5, 5, 5], config.circuits.validator_slots)
    rotating = replace(following, next_validator_set_hash=new_set.set_hash)
    after = replace(
        rotating,
        number=rotating.number + 1,
        parent_hash=compute_checkpoint_hash(rotating),
        validator_set_hash=committee.set_hash,
    )
    expect(
        "a checkpoint by the old set after a rotation (the circuit)",
        lambda: prove(rotating, after, None),
        (WitnessError,),
    )


def _trusted_checkpoint(devnet: Devnet, committee: Committee) -> Checkpoint:
    """The checkpoint the rootchain trusts now, rebuilt as the relayer rebuilds it."""
    config = devnet.deployment.config
    root, child, genesis = config.rootchain, config.child, config.checkpoint_genesis
    if child is None or child.l2_state_sender is None or root.checkpoint_manager is None or genesis is None:
        raise DemoFailure("the network has no exit direction")
    manager = CheckpointManager(
        FailoverRpc("rootchain", root.rpc, root.chain_id, root.rpc_timeout), root.checkpoint_manager
    )
    reader = RootchainReader(
        FailoverRpc("child", child.rpc, child.chain_id, child.rpc_timeout), child.l2_state_sender, kind=L2_STATE_SYNCED
    )
    accepted = manager.accepted(0, manager.block_number())
    return rebuild_trusted_checkpoint(genesis, accepted, reader.block, (committee.set_hash,))
