"""The relayer: its pure planning, its store and signature collection, then the whole bridge in processes.

The first tests need no chain: the plan is a function of a ChainView, the store a SQLite file,
the signature round a few loopback HTTP signers. The last ones run one module-wide scenario in
file order: two anvil nodes (rootchain and child chain), the sample bridge deployed with the test
preset's generated verifiers, four validator processes of unequal power, and the relayer as a
subprocess; deposits become mints on the child chain, each event executed exactly once and in
order, across a kill -9 of the relayer and with a validator down.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from eth_abi.abi import decode
from eth_account import Account
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from web3 import Web3
from web3.types import RPCEndpoint, Wei

from bridge.chain.chains import Chain, chain_url, find_free_port, run_anvil
from bridge.chain.deploy import call, transact
from bridge.chain.stack import VERIFIER_CIRCUITS, ChildStack, RootStack, deploy_bridge, read_state_synced
from bridge.config import (
    ChildConfig,
    CircuitsConfig,
    ConfigError,
    NetworkConfig,
    RootchainConfig,
    ValidatorEntry,
    render_network_config,
    save_network_config,
)
from bridge.relayer.plan import (
    AcceptedHeader,
    ChainView,
    Conflict,
    ExecuteEvents,
    HeaderRange,
    PlanError,
    ProposeHeader,
    ReceiverState,
    ReconstructionError,
    SubmitEvidence,
    Wait,
    build_proposal,
    measure_lag,
    plan_next_action,
    reconstruct_header,
    select_batch,
)
from bridge.relayer.process import RelayerProcess, kill_relayer, spawn_relayer, stop_relayer, wait_until_ready
from bridge.relayer.proving import ProofRunner, ProvingError, prune_finished_proofs
from bridge.relayer.settings import load_relayer_config
from bridge.relayer.signing import SignatureCollector, SigningError, ValidatorEndpoint, build_commit
from bridge.relayer.store import (
    OPEN_BATCHES,
    OPEN_TRANSACTIONS,
    BatchKey,
    BatchStatus,
    ProposalStatus,
    RelayerStore,
    StoreError,
    StoreIdentity,
    TxStatus,
    lock_data_dir,
)
from bridge.validator.local import LocalNetwork, make_local_network
from bridge.validator.process import ValidatorProcess, spawn_validator, stop_validator
from bridge.validator.process import wait_until_ready as wait_until_validator_ready
from bridge.validator.wire import SignResponse, encode_error, encode_sign_response, parse_sign_request
from prover.inputs import build_event_inclusion_inputs, event_shape
from prover.prove import load_prover
from prover.setup import export_solidity_verifier
from statesync.circuits import load_manifest
from statesync.committee import generate_committee
from statesync.eddsa import sign_poseidon
from statesync.model import (
    Header,
    Signed,
    StateSyncEvent,
    build_event_tree,
    compute_header_hash,
    compute_signed_hash,
    compute_signing_message,
    is_final,
)
from statesync.proposal import PendingEvent, ProposalRules, RootBlock

PRESET = "test"
CONFIRMATIONS = 3
CHILD_CHAIN_ID = 1002
POWERS = (4, 3, 2, 1)  # 10 in all: a quorum needs 7, so the 3 may be down, but not the 4
WORK_FACTOR = 2**10
RELAYER_KEY_ENV = "ZKSTATESYNC_RELAYER_KEY"
KEEP_PROOFS = 2
STATE_SYNC_RESULT = "0x" + keccak(text="StateSyncResult(uint256,bool,bytes)").hex()
WAIT_SECONDS = 300.0  # the most a step of the scenario may take (proofs run beside other builds)
PARAMS = load_manifest().preset(PRESET)
DEPTH, BATCH = PARAMS["D"], PARAMS["B"]
RULES = ProposalRules(confirmations=3, max_range=20, max_events=2**DEPTH, depth=DEPTH)
COMMITTEE = generate_committee([4, 3, 2, 1], PARAMS["V"], seed=b"relayer tests")
SET_HASH = COMMITTEE.set_hash
GENESIS = Header(
    chain_id=31337,
    number=100,
    parent_hash=0,
    timestamp=1_700_000_000,
    event_root=build_event_tree([], DEPTH).root,
    validator_set_hash=SET_HASH,
    next_validator_set_hash=SET_HASH,
    block_hash=0xAB,
)


def event(i: int) -> StateSyncEvent:
    return StateSyncEvent(i, 0x1111, 0x2222, i.to_bytes(4, "big"))


def pending(*pairs: tuple[int, int]) -> tuple[PendingEvent, ...]:
    """(event id, block) pairs as logs."""
    return tuple(PendingEvent(event(i), block) for i, block in pairs)


def view_of(
    *,
    trusted: Header = GENESIS,
    last_executed_id: int = 0,
    head: int = 200,
    logs: Sequence[PendingEvent] = (),
    open_range: HeaderRange | None = None,
    accepted: Sequence[AcceptedHeader] = (),
    sent_total: int | None = None,
) -> ChainView:
    total = max([p.event.id for p in logs] + [last_executed_id]) if sent_total is None else sent_total
    return ChainView(
        receiver=ReceiverState(compute_header_hash(trusted), trusted.number, last_executed_id, block=1),
        trusted=trusted,
        accepted=tuple(accepted),
        head=head,
        open_range=open_range,
        pending=tuple(logs),
        sent_total=total,
    )


# ---------------------------------------------------------------------------------------------
# Planning


def test_nothing_to_relay_is_a_wait_and_unconfirmed_events_wait_for_their_confirmations() -> None:
    assert plan_next_action(view_of(head=110), RULES, BATCH) == Wait("no event to relay")
    action = plan_next_action(view_of(head=110, logs=pending((1, 109))), RULES, BATCH)
    assert isinstance(action, Wait) and "confirmations" in action.reason


def test_the_next_header_covers_the_rules_range_and_carries_its_first_batch() -> None:
    logs = pending((1, 103), (2, 103), (3, 105), (4, 130))
    action = plan_next_action(view_of(head=125, logs=logs), RULES, BATCH)
    # E = min(125 - 3, 100 + 20) = 120: events 1..3, the first two proven with the header.
    assert action == ProposeHeader(GENESIS, 120, tuple(event(i) for i in (1, 2, 3)), (event(1), event(2)), False)


def test_a_range_with_more_events_than_a_header_holds_ends_before_the_first_that_does_not_fit() -> None:
    rules = replace(RULES, max_events=2)
    action = plan_next_action(view_of(logs=pending((1, 101), (2, 102), (3, 103))), rules, BATCH)
    assert isinstance(action, ProposeHeader) and action.end == 102 and len(action.events) == 2


def test_the_rest_of_an_accepted_header_is_executed_in_batches_of_b_before_anything_else() -> None:
    accepted = AcceptedHeader(number=120, header_hash=5, event_root=7)
    header_range = HeaderRange(accepted, 100, pending((1, 101), (2, 101), (3, 102), (4, 110), (5, 111)))
    view = view_of(last_executed_id=2, open_range=header_range, logs=pending((6, 130)), head=200)
    action = plan_next_action(view, RULES, BATCH)
    assert action == ExecuteEvents(accepted, header_range.events, (event(3), event(4)))
    assert measure_lag(view).blocks == 200 - 102  # the oldest unexecuted event is in block 102


def test_a_quiet_window_of_max_range_blocks_ends_in_an_empty_header() -> None:
    # (100, 120] holds no event and is max_range long: the empty header keeps later events in reach.
    assert plan_next_action(view_of(head=200), RULES, BATCH) == ProposeHeader(GENESIS, 120, (), (), False)
    assert isinstance(plan_next_action(view_of(head=122), RULES, BATCH), Wait)


def test_a_stored_proposal_is_resumed_while_it_is_still_signable() -> None:
    logs = pending((1, 103), (2, 106))
    parent = GENESIS
    stored = build_proposal(parent, RootBlock(104, 0xBEEF, 5), [event(1)], RULES, SET_HASH)
    action = plan_next_action(view_of(head=125, logs=logs), RULES, BATCH, [stored])
    assert action == ProposeHeader(parent, 104, (event(1),), (event(1),), True)
    # Too few confirmations at a lower head (a reorganised rootchain): derive anew.
    fresh = plan_next_action(view_of(head=106, logs=logs), RULES, BATCH, [stored])
    assert isinstance(fresh, ProposeHeader) and not fresh.resumed and fresh.end == 103


def test_the_rails_come_first_frozen_and_expired_wait_and_a_conflict_is_answered_with_evidence() -> None:
    logs = pending((1, 103))
    base = view_of(head=125, logs=logs)
    for state, word in (
        (replace(base.receiver, frozen=True), "frozen"),
        (replace(base.receiver, expired=True), "expired"),
    ):
        action = plan_next_action(replace(base, receiver=state), RULES, BATCH)
        assert isinstance(action, Wait) and word in action.reason
    conflict = Conflict(AcceptedHeader(120, 5, 7), GENESIS, "its event root is not the range's")
    assert plan_next_action(replace(base, conflict=conflict), RULES, BATCH) == SubmitEvidence(conflict)
    # Frozen wins: the evidence is in, nothing else is sent.
    frozen = replace(base, conflict=conflict, receiver=replace(base.receiver, frozen=True))
    assert isinstance(plan_next_action(frozen, RULES, BATCH), Wait)


def test_while_paused_headers_move_without_their_batches_and_events_wait() -> None:
    logs = pending((1, 103), (2, 103))
    paused = view_of(head=125, logs=logs)
    paused = replace(paused, receiver=replace(paused.receiver, paused=True, paused_until=1_800_000_000))
    assert plan_next_action(paused, RULES, BATCH) == ProposeHeader(GENESIS, 120, (event(1), event(2)), (), False)
    # Accepted events wait, yet the next header still moves (a pause never lets the receiver expire).
    checkpoint = build_proposal(GENESIS, RootBlock(120, 0xBEEF, 1_700_000_240), [event(1), event(2)], RULES, SET_HASH)
    accepted = AcceptedHeader(120, compute_header_hash(checkpoint), checkpoint.event_root)
    waiting = view_of(trusted=checkpoint, head=200, logs=pending((3, 125)), open_range=HeaderRange(accepted, 100, logs))
    assert plan_next_action(waiting, RULES, BATCH) == ExecuteEvents(
        accepted, (event(1), event(2)), (event(1), event(2))
    )
    waiting = replace(waiting, receiver=replace(waiting.receiver, paused=True, paused_until=1_800_000_000))
    assert plan_next_action(waiting, RULES, BATCH) == ProposeHeader(checkpoint, 140, (event(3),), (), False)
    quiet = replace(waiting, pending=(), sent_total=2, head=130)
    action = plan_next_action(quiet, RULES, BATCH)
    assert isinstance(action, Wait) and "paused until 1800000000" in action.reason


def test_a_missing_event_is_a_plan_error_never_a_skip() -> None:
    with pytest.raises(PlanError, match="event 3"):
        plan_next_action(view_of(last_executed_id=2, logs=pending((4, 103))), RULES, BATCH)
    with pytest.raises(PlanError, match="event 2 is missing"):
        select_batch([event(1), event(3)], 1, BATCH)


def test_an_accepted_header_is_rebuilt_from_the_chains_and_checked_against_its_hash() -> None:
    block = RootBlock(120, 0xC0FFEE, 1_700_000_300)
    header = build_proposal(GENESIS, block, [event(1)], RULES, SET_HASH)
    accepted = AcceptedHeader(120, compute_header_hash(header), header.event_root)
    common = {"parent_hash": compute_header_hash(GENESIS), "chain_id": GENESIS.chain_id, "next_set_hash": SET_HASH}
    assert reconstruct_header(accepted, block=block, set_hashes=[123, SET_HASH], **common) == header
    with pytest.raises(ReconstructionError, match="does not hash"):
        reconstruct_header(accepted, block=replace(block, hash=1), set_hashes=[SET_HASH], **common)


# ---------------------------------------------------------------------------------------------
# The store

IDENTITY = StoreIdentity(31337, 1002, "0x" + "ab" * 20, compute_header_hash(GENESIS))


def test_the_store_keeps_proposals_signatures_batches_and_transactions_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "relayer.sqlite"
    header = build_proposal(GENESIS, RootBlock(104, 0xBEEF, 5), [event(1)], RULES, SET_HASH)
    header_hash = compute_header_hash(header)
    store = RelayerStore(path, IDENTITY)
    store.record_proposal(header, 1, 1)
    signature = sign_poseidon(COMMITTEE.private_keys[0], compute_signing_message(header))
    store.add_signature(header_hash, 0, "validator0", signature)
    key = BatchKey("state_sync", header_hash, 104, compute_header_hash(GENESIS), 2**63 + 5, 1)
    batch = store.start_batch(key, tmp_path / "proof")
    store.set_batch_status(batch.id, BatchStatus.PROVEN, seconds=1.5)
    store.record_transaction(batch.id, b"\x01" * 32, "syncState", "0xme", 7, b"raw")
    store.close()

    store = RelayerStore(path, IDENTITY)
    assert store.header(header_hash) == header
    assert [p.status for p in store.open_proposals()] == [ProposalStatus.PROPOSED]
    assert store.signatures(header_hash) == {0: signature}
    (found,) = store.find_batches([BatchStatus.SENT], first_id=2**63 + 5, circuit="state_sync")
    assert found.key == key and found.seconds == 1.5
    (tx,) = store.transactions(statuses=[TxStatus.SIGNED])
    assert (tx.tx_hash, tx.nonce, tx.raw) == (b"\x01" * 32, 7, b"raw")
    store.set_proposal_status(header_hash, ProposalStatus.ABANDONED, "reorg")
    store.record_proposal(header, 1, 1)  # proposed again: back in progress, its signatures kept
    assert store.proposal(header_hash) is not None and store.signatures(header_hash) == {0: signature}
    assert store.summary()["batches"] == {"sent": 1}
    store.close()


def test_a_store_of_another_network_and_a_second_process_are_refused(tmp_path: Path) -> None:
    RelayerStore(tmp_path / "db", IDENTITY).close()
    with pytest.raises(StoreError, match="another network"):
        RelayerStore(tmp_path / "db", replace(IDENTITY, receiver="0x" + "cd" * 20))
    lock = lock_data_dir(tmp_path / "data")
    with pytest.raises(StoreError, match="another relayer"):
        lock_data_dir(tmp_path / "data")
    lock.release()
    lock_data_dir(tmp_path / "data").release()


# ---------------------------------------------------------------------------------------------
# Signatures, from loopback signers speaking the validator API

Behaviour = Callable[[Signed], tuple[int, dict[str, Any]]]


@contextlib.contextmanager
def signer(behaviour: Behaviour) -> Iterator[str]:
    """A loopback HTTP server answering POST /sign with `behaviour` (the validator's wire format)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            request = parse_sign_request(self.rfile.read(int(self.headers["Content-Length"])))
            status, body = behaviour(request.proposal)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def honest(slot: int) -> Behaviour:
    def answer(header: Signed) -> tuple[int, dict[str, Any]]:
        message = compute_signing_message(header)
        response = SignResponse(
            sign_poseidon(COMMITTEE.private_keys[slot], message), message, compute_signed_hash(header)
        )
        return 200, encode_sign_response(response)

    return answer


def refusing(code: str) -> Behaviour:
    return lambda _header: (409, encode_error(code, "no"))


def endpoints(urls: Sequence[str]) -> list[ValidatorEndpoint]:
    return [
        ValidatorEndpoint(slot, f"v{slot}", url, v.power, v.public_key)
        for slot, (url, v) in enumerate(zip(urls, COMMITTEE.validator_set.validators, strict=True))
    ]


def collector(urls: Sequence[str], deadline: float = 10.0) -> SignatureCollector:
    return SignatureCollector(
        endpoints(urls), request_timeout=2.0, deadline=deadline, attempts=2, stopping=threading.Event()
    )


PROPOSAL = build_proposal(GENESIS, RootBlock(104, 0xBEEF, 5), [event(1)], RULES, SET_HASH)


def test_a_quorum_of_verified_signatures_is_collected_without_the_validator_that_is_down() -> None:
    # Powers 4, 3, 2, 1 of 10: slots 0, 1 and 2 hold 9 > 20/3 while slot 3 is down (nothing listens).
    dead = f"http://127.0.0.1:{find_free_port()}"
    with signer(honest(0)) as a, signer(honest(1)) as b, signer(honest(2)) as c:
        kept: list[int] = []
        signed = collector([a, b, c, dead]).collect(PROPOSAL, GENESIS, {}, lambda e, _s: kept.append(e.slot))
    commit = build_commit(PROPOSAL, signed.signatures, 4)
    assert is_final(COMMITTEE.validator_set, commit)
    assert sorted(kept) == sorted(signed.signatures) and 3 not in signed.signatures


def test_a_bad_signature_does_not_count_and_refusals_that_make_a_quorum_impossible_are_final() -> None:
    def forged(header: Signed) -> tuple[int, dict[str, Any]]:
        status, body = honest(3)(header)  # slot 3's key answering for slot 0
        return status, body

    with signer(forged) as a, signer(honest(1)) as b, signer(refusing("already_signed_other")) as c:
        dead = f"http://127.0.0.1:{find_free_port()}"
        with pytest.raises(SigningError) as caught:
            collector([a, b, c, dead], deadline=5.0).collect(PROPOSAL, GENESIS, {}, lambda _e, _s: None)
    assert "bad signature" in caught.value.refusals["v0"] and caught.value.final
    assert caught.value.refusals["v2"].startswith("already_signed_other")


def test_stored_signatures_are_reused_and_nobody_is_asked_again() -> None:
    have = {slot: COMMITTEE.sign(PROPOSAL).signatures[slot] for slot in (0, 1)}
    assert all(s is not None for s in have.values())
    dead = [f"http://127.0.0.1:{find_free_port()}" for _ in range(4)]
    stored = {k: v for k, v in have.items() if v is not None}
    signed = collector(dead).collect(PROPOSAL, GENESIS, stored, lambda _e, _s: None)  # 4 + 3 = 7 > 20/3
    assert set(signed.signatures) == {0, 1}


# ---------------------------------------------------------------------------------------------
# Proofs and configuration


def test_finished_proofs_beyond_the_newest_kept_are_deleted_and_a_sweep_finishes_an_interrupted_prune(
    tmp_path: Path,
) -> None:
    directories = [tmp_path / f"proof-{i:02d}" for i in range(6)]  # newest first, as the store lists them
    for directory in directories:
        directory.mkdir()
        (directory / "proof.json").write_text("{}")
    assert prune_finished_proofs(directories, keep=2) == 4
    assert [d.exists() for d in directories] == [True, True, False, False, False, False]
    assert prune_finished_proofs(directories, keep=2) == 0
    # Many batches later, one old directory survived a prune cut short by kill -9: the walk
    # stops after PRUNE_MISSING_RUN gone in a row (it costs what it deletes); the sweep finds it.
    newest = [tmp_path / "proof-new-1", tmp_path / "proof-new-0"]
    history = [*newest, *(tmp_path / f"proof-{i:02d}" for i in range(38))]
    for directory in [*newest, tmp_path / "proof-37"]:
        directory.mkdir()
    assert prune_finished_proofs(history, keep=2) == 2  # proof-00 and proof-01
    assert (tmp_path / "proof-37").exists()
    assert prune_finished_proofs(history, keep=2, sweep=True) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proof-new-0", "proof-new-1"]
    assert prune_finished_proofs(history, keep=50, sweep=True) == 0  # fewer than kept: nothing to do


def test_a_proof_that_takes_too_long_is_stopped_and_retried_a_bounded_number_of_times(tmp_path: Path) -> None:
    runner = ProofRunner(PRESET, keys={}, timeout=0.02, attempts=2, should_stop=lambda: False)
    runner.prover("event_inclusion")  # compiled and keyed (cached) before the clock starts
    inputs = build_event_inclusion_inputs(shape=event_shape(PRESET), header_events=[event(1)], batch=[event(1)])
    out = tmp_path / "proofs" / "p"
    started = time.monotonic()
    with pytest.raises(ProvingError, match=r"2 attempts: .* ran past its deadline and was stopped"):
        runner.prove("event_inclusion", inputs, out)
    assert time.monotonic() - started < 20  # two bounded attempts, each prover's process group killed
    assert not out.exists() and not list(out.parent.iterdir())  # no half proof, no work directory
    # The next proof starts a new prover and succeeds within the time a proof takes.
    patient = ProofRunner(PRESET, keys={}, timeout=120, attempts=1, should_stop=lambda: False)
    checked, timing = patient.prove("event_inclusion", inputs, out)
    assert timing.attempts == 1 and checked.result.directory == out


def network_document(**child: object) -> dict[str, Any]:
    entries = tuple(
        ValidatorEntry(f"v{i}", f"http://127.0.0.1:{9100 + i}", v.power, v.public_key)
        for i, v in enumerate(COMMITTEE.validator_set.validators)
    )
    config = NetworkConfig(
        rootchain=RootchainConfig(
            chain_id=31337, rpc=("http://127.0.0.1:8545",), state_sender=Web3.to_checksum_address("0x" + "11" * 20)
        ),
        circuits=CircuitsConfig(PRESET, validator_slots=PARAMS["V"], depth=DEPTH, batch_size=BATCH),
        validators=entries,
        child=ChildConfig(chain_id=CHILD_CHAIN_ID, rpc=("http://127.0.0.1:8546",), **child),  # type: ignore[arg-type]
        genesis=GENESIS,
    )
    return tomllib.loads(render_network_config(config))


def test_the_relayer_section_is_read_from_the_network_file_or_a_file_naming_it(tmp_path: Path) -> None:
    document = network_document(receiver="0x" + "22" * 20)
    (tmp_path / "network.toml").write_text(tomli_w.dumps(document))
    (tmp_path / "relayer.toml").write_text(
        tomli_w.dumps(
            {"relayer": {"network": "network.toml", "data_dir": "data", "private_key_env": "KEY", "port": 9301}}
        )
    )
    config = load_relayer_config(tmp_path / "relayer.toml")
    assert config.node.data_dir == tmp_path / "data" and config.node.port == 9301 and config.node.poll_interval == 2.0
    assert config.network.genesis == GENESIS and config.child.receiver == "0x" + "22" * 20
    (tmp_path / "all.toml").write_text(
        tomli_w.dumps({**document, "relayer": {"data_dir": "d", "private_key_env": "K"}})
    )
    assert load_relayer_config(tmp_path / "all.toml").node.port is None
    assert load_relayer_config(tmp_path / "all.toml").node.evidence_only is False


@pytest.mark.parametrize(
    ("section", "child", "message"),
    [
        ({"private_key_env": "K"}, {"receiver": "0x" + "22" * 20}, r"missing key 'data_dir'"),
        ({"data_dir": "d", "private_key_env": "K", "pol_interval": 1}, {"receiver": "0x" + "22" * 20}, "unknown key"),
        ({"data_dir": "d", "private_key_env": "K", "host": "0.0.0.0"}, {"receiver": "0x" + "22" * 20}, "loopback"),
        ({"data_dir": "d", "private_key_env": "1K"}, {"receiver": "0x" + "22" * 20}, "environment variable"),
        ({"data_dir": "d", "private_key_env": "K", "keys": {"x": "k"}}, {"receiver": "0x" + "22" * 20}, "not one of"),
        ({"data_dir": "d", "private_key_env": "K", "prove_timeout": 0}, {"receiver": "0x" + "22" * 20}, "in \\[1.0"),
        ({"data_dir": "d", "private_key_env": "K"}, {}, r"\[child\] receiver is not set"),
        (
            {"data_dir": "d", "private_key_env": "K", "evidence_only": 1},
            {"receiver": "0x" + "22" * 20},
            "true or false",
        ),
        (
            {"data_dir": "d", "private_key_env": "K", "evidence_only": True, "root_private_key_env": "R"},
            {"receiver": "0x" + "22" * 20},
            "relays no checkpoints",
        ),
    ],
)
def test_relayer_config_errors_name_the_bad_key(
    tmp_path: Path, section: dict[str, object], child: dict[str, object], message: str
) -> None:
    (tmp_path / "net.toml").write_text(tomli_w.dumps({**network_document(**child), "relayer": section}))
    with pytest.raises(ConfigError, match=message):
        load_relayer_config(tmp_path / "net.toml")


def test_a_relayer_without_its_key_does_not_start_and_says_why_in_one_json_line(tmp_path: Path) -> None:
    document = {
        **network_document(receiver="0x" + "22" * 20),
        "relayer": {"data_dir": "d", "private_key_env": "NO_KEY"},
    }
    (tmp_path / "network.toml").write_text(tomli_w.dumps(document))
    command = [sys.executable, "-m", "bridge.relayer", "run", "--config", str(tmp_path / "network.toml")]
    env = {k: v for k, v in os.environ.items() if k != "NO_KEY"}
    answer = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert answer.returncode == 1
    (line,) = [json.loads(text) for text in answer.stderr.splitlines() if text.startswith("{")]
    assert line["event"] == "relayer.failed" and "$NO_KEY, which is not set" in line["message"]
    assert not (tmp_path / "d").exists()  # refused before anything was created


# ---------------------------------------------------------------------------------------------
# The bridge, in processes


def rpc(chain: Chain, method: str, params: Sequence[object]) -> Any:
    response = chain.web3.provider.make_request(RPCEndpoint(method), list(params))
    assert "error" not in response, response
    return response.get("result")


def endpoint_of(chain: Chain) -> str:
    return chain_url(chain)


@dataclass
class Bridge:
    """Both chains, the deployed bridge, the network's files, the validator and relayer processes."""

    root: Chain
    child: Chain
    root_stack: RootStack
    child_stack: ChildStack
    network: LocalNetwork
    directory: Path
    validators: dict[str, ValidatorProcess] = field(default_factory=dict)
    relayers: dict[str, RelayerProcess] = field(default_factory=dict)
    deposits: list[tuple[ChecksumAddress, int]] = field(default_factory=list)
    confirmed_at: dict[int, float] = field(default_factory=dict)  # event id -> when it had its confirmations
    relayer_keys: dict[str, str] = field(default_factory=dict)
    confirmations: int = CONFIRMATIONS
    figures: dict[str, object] = field(default_factory=dict)

    # --- the rootchain -----------------------------------------------------------------------

    def deposit(self, amounts: Sequence[int]) -> list[int]:
        """Deposits from accounts 1.. in turn; the new event ids."""
        ids = []
        for amount in amounts:
            user = self.root.accounts[1 + len(self.deposits) % 8]
            transact(self.root, self.root_stack.bridge, "deposit", user, sender=user, value=amount)
            self.deposits.append((user, amount))
            ids.append(self.sent())
        return ids

    def sent(self) -> int:
        return int(call(self.root, self.root_stack.sender, "counter"))

    def mine(self, blocks: int) -> None:
        rpc(self.root, "anvil_mine", [hex(blocks)])

    def confirm(self) -> None:
        """Mine past the confirmation depth; the events sent so far count as confirmed from now."""
        self.mine(self.confirmations + 1)
        now = time.monotonic()
        for i in range(1, self.sent() + 1):
            self.confirmed_at.setdefault(i, now)

    # --- the child chain ---------------------------------------------------------------------

    def last_executed_id(self) -> int:
        return int(call(self.child, self.child_stack.receiver, "lastExecutedId"))

    def results(self) -> list[tuple[int, bool]]:
        """Every StateSyncResult(id, success) the receiver emitted, in chain order."""
        logs = self.child.web3.eth.get_logs(
            {"address": self.child_stack.receiver.address, "fromBlock": 0, "topics": [STATE_SYNC_RESULT]}
        )
        return [(int.from_bytes(bytes(log["topics"][1]), "big"), bytes(log["topics"][2])[-1] == 1) for log in logs]

    def canonical_deposits(self) -> list[tuple[ChecksumAddress, int]]:
        """The deposits the rootchain holds now (after any reorganisation), in event id order."""
        events = read_state_synced(self.root, self.root_stack.sender)
        assert [e.id for e in events] == list(range(1, len(events) + 1))
        return [decode_deposit(e.data) for e in events]

    def balances(self, users: Sequence[ChecksumAddress]) -> dict[str, int]:
        return {u: int(call(self.child, self.child_stack.token, "balanceOf", u)) for u in set(users)}

    def wait_for_executed(self, last_id: int, timeout: float = WAIT_SECONDS) -> dict[int, float]:
        """Block until the receiver executed up to last_id; seconds from confirmation to execution, per id."""
        deadline = time.monotonic() + timeout
        latency: dict[int, float] = {}
        while True:
            executed = self.last_executed_id()
            now = time.monotonic()
            for i in range(1, executed + 1):
                if i in self.confirmed_at and i not in latency:
                    latency[i] = now - self.confirmed_at[i]
            if executed >= last_id:
                return latency
            for name, relayer in self.relayers.items():
                assert relayer.process.poll() is None, f"relayer {name} exited:\n{relayer.read_log()[-4000:]}"
            if now > deadline:
                logs = "\n".join(r.read_log()[-3000:] for r in self.relayers.values())
                raise AssertionError(f"only {executed} of {last_id} events executed in {timeout} s\n{logs}")
            time.sleep(0.2)

    def check_exactly_once_in_order(self) -> None:
        """Every rootchain event executed once, in id order, successfully; the mints are the deposits."""
        deposits = self.canonical_deposits()
        assert self.results() == [(i, True) for i in range(1, len(deposits) + 1)]
        expected: dict[str, int] = {}
        for user, amount in deposits:
            expected[user] = expected.get(user, 0) + amount
        assert self.balances([u for u, _ in deposits]) == expected

    # --- processes ---------------------------------------------------------------------------

    def start_validator(self, index: int) -> None:
        me = self.network.validators[index]
        process = spawn_validator(me.config_path, me.url, self.directory / f"{me.name}.log", me.env)
        wait_until_validator_ready(process)
        self.validators[me.name] = process

    def stop_validator(self, index: int) -> None:
        name = self.network.validators[index].name
        stop_validator(self.validators.pop(name))

    def write_relayer_config(self, name: str, **overrides: object) -> tuple[Path, int]:
        port = find_free_port()
        section: dict[str, object] = {
            "network": self.network.path.name,
            "data_dir": name,
            "private_key_env": RELAYER_KEY_ENV,
            "port": port,
            "poll_interval": 0.2,
            "sign_timeout": 5.0,
            "sign_deadline": 30.0,
            "sign_attempts": 3,
            "prove_timeout": 240.0,
            "receipt_timeout": 30.0,
            "max_backoff": 2.0,
            "keep_proofs": KEEP_PROOFS,
            **overrides,
        }
        path = self.directory / f"{name}.toml"
        path.write_text(tomli_w.dumps({"relayer": section}))
        return path, port

    def fund(self) -> str:
        """A fresh child-chain account with ether for gas; its private key (0x-hex)."""
        account = Account.create()
        self.child.web3.eth.send_transaction(
            {"from": self.child.accounts[0], "to": account.address, "value": Wei(10**20), "gas": 21_000}
        )
        return "0x" + bytes(account.key).hex()

    def start_relayer(self, name: str, key: str | None = None, **overrides: object) -> RelayerProcess:
        """Start (or restart, with its key and data) the relayer `name`."""
        key = self.relayer_keys.setdefault(name, key or self.fund())
        config, port = self.write_relayer_config(name, **overrides)
        relayer = spawn_relayer(config, port, self.directory / f"{name}.log", {RELAYER_KEY_ENV: key})
        wait_until_ready(relayer)
        self.relayers[name] = relayer
        return relayer

    def kill_relayer(self, name: str) -> int:
        return kill_relayer(self.relayers.pop(name))

    def open_store(self, name: str) -> RelayerStore:
        genesis = self.network.config.genesis
        assert genesis is not None
        identity = StoreIdentity(
            int(self.root.web3.eth.chain_id),
            CHILD_CHAIN_ID,
            self.child_stack.receiver.address,
            compute_header_hash(genesis),
        )
        return RelayerStore(self.directory / name / "relayer.sqlite", identity)

    def stop_all(self) -> None:
        for relayer in self.relayers.values():
            stop_relayer(relayer)
        for process in self.validators.values():
            stop_validator(process)
        self.relayers.clear()
        self.validators.clear()


def decode_deposit(data: bytes) -> tuple[ChecksumAddress, int]:
    """RootBridge's StateSynced data: abi.encode(to, amount)."""
    to, amount = decode(["address", "uint256"], data)
    return Web3.to_checksum_address(to), int(amount)


def verifier_sources() -> dict[str, Path]:
    return {c: export_solidity_verifier(load_prover(c, PRESET).keys) for c in VERIFIER_CIRCUITS}


@contextlib.contextmanager
def open_bridge(directory: Path, *, max_range: int = 64, confirmations: int = CONFIRMATIONS) -> Iterator[Bridge]:
    """Two anvil nodes, the bridge deployed, the network written, the four validators running."""
    sources = verifier_sources()
    with run_anvil() as root, run_anvil(extra_args=["--chain-id", str(CHILD_CHAIN_ID)]) as child:
        head = root.web3.eth.get_block("latest")
        genesis_block = RootBlock(
            int(head["number"]), int.from_bytes(bytes(head["hash"]), "big"), int(head["timestamp"])
        )
        dead = f"http://127.0.0.1:{find_free_port()}"  # nothing listens: every reader must fail over
        rootchain = RootchainConfig(
            chain_id=int(root.web3.eth.chain_id),
            rpc=(dead, endpoint_of(root)),
            confirmations=confirmations,
            max_range=max_range,
        )
        circuits = CircuitsConfig(PRESET, validator_slots=PARAMS["V"], depth=DEPTH, batch_size=BATCH)
        network = make_local_network(
            directory,
            rootchain=rootchain,
            circuits=circuits,
            genesis_block=genesis_block,
            powers=POWERS,
            seed=b"relayer scenario",
            work_factor=WORK_FACTOR,
        )
        assert network.config.genesis is not None
        root_stack, child_stack = deploy_bridge(root, child, sources, genesis=network.config.genesis, batch_size=BATCH)
        config = replace(
            network.config,
            rootchain=replace(rootchain, state_sender=root_stack.sender.address),
            child=ChildConfig(
                chain_id=CHILD_CHAIN_ID, rpc=(dead, endpoint_of(child)), receiver=child_stack.receiver.address
            ),
        )
        save_network_config(network.path, config)
        bridge = Bridge(root, child, root_stack, child_stack, replace(network, config=config), directory)
        bridge.confirmations = confirmations
        try:
            for index in range(len(POWERS)):
                bridge.start_validator(index)
            yield bridge
        finally:
            bridge.stop_all()


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    with open_bridge(tmp_path_factory.mktemp("relayer")) as opened:
        opened.start_relayer("relayer")
        yield opened
        if opened.figures:
            print("\nrelayer figures:", json.dumps(opened.figures))


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.1)


def wait_until_settled(store: RelayerStore, timeout: float = 30.0) -> None:
    """Until the relayer has recorded the outcome of everything it started (it records after the chain)."""
    deadline = time.monotonic() + timeout
    while store.find_batches(OPEN_BATCHES) or store.transactions(statuses=OPEN_TRANSACTIONS):
        assert time.monotonic() < deadline, store.summary()
        time.sleep(0.1)


def metric(relayer: RelayerProcess, name: str, **labels: str) -> float:
    """The sum of a metric's samples from /metrics, over those with the given label values."""
    code, body = relayer.get("/metrics")
    assert code == 200
    total, seen = 0.0, False
    for line in body.decode().splitlines():
        sample, _, value = line.rpartition(" ")
        metric_name, _, label_text = sample.partition("{")
        if line.startswith("#") or metric_name != name:
            continue
        found = dict(part.split("=", 1) for part in label_text.rstrip("}").split(",") if part)
        if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
            total, seen = total + float(value), True
    assert seen, f"{name} {labels} is not in /metrics"
    return total


@pytest.mark.anvil
def test_deposits_become_mints_each_event_executed_once_in_order(bridge: Bridge) -> None:
    started = time.monotonic()
    ids = bridge.deposit([10**18, 2 * 10**18, 3 * 10**18])  # three events: a batch of two, then one
    bridge.confirm()
    latency = bridge.wait_for_executed(ids[-1])
    seconds = time.monotonic() - started
    bridge.check_exactly_once_in_order()
    relayer = bridge.relayers["relayer"]
    # The relayer records and counts after the chain has it, and observes it on its next step.
    wait_for(lambda: metric(relayer, "zkstatesync_relayer_events_executed_total") == 3)
    wait_for(lambda: metric(relayer, "zkstatesync_relayer_last_executed_id") == 3)
    assert metric(relayer, "zkstatesync_relayer_proofs_total") == 2  # StateSync (1, 2), EventInclusion (3)
    assert metric(relayer, "zkstatesync_relayer_rpc_errors_total") >= 1  # the dead first node of each chain
    status = relayer.status()
    assert status["last_executed_id"] == 3 and status["store"]["batches"] == {"executed": 2}
    bridge.figures["first_header"] = {"events": 3, "seconds": round(seconds, 1), "latency": latency}


@pytest.mark.anvil
def test_a_kill_9_mid_run_loses_and_repeats_nothing_and_one_validator_down_does_not_stop_it(bridge: Bridge) -> None:
    # Slot 1 (power 3) goes down: 4 + 2 + 1 = 7 of 10 is still more than 2/3.
    bridge.stop_validator(1)
    relayer = bridge.relayers["relayer"]
    ids = bridge.deposit([4, 5, 6])
    bridge.confirm()
    deadline = time.monotonic() + WAIT_SECONDS
    while bridge.last_executed_id() < 5:  # the header and its first batch (4, 5) are in
        assert time.monotonic() < deadline and relayer.process.poll() is None, relayer.read_log()[-4000:]
        time.sleep(0.05)
    # Mid-run: the relayer is recording that transaction or proving event 6. kill -9 now.
    assert bridge.kill_relayer("relayer") == -9
    restarted = bridge.start_relayer("relayer")
    bridge.wait_for_executed(ids[-1])
    bridge.check_exactly_once_in_order()
    store = bridge.open_store("relayer")
    try:
        wait_until_settled(store)
        # Nothing was sent twice: one successful transaction per batch, never two for the same ids.
        executed = store.find_batches([BatchStatus.EXECUTED])
        assert sorted(b.key.first_id for b in executed) == [1, 3, 4, 6]
        assert len(store.transactions(statuses=[TxStatus.SUCCEEDED])) == 4
        assert not store.transactions(statuses=[TxStatus.REVERTED])
        (second,) = store.find_batches([BatchStatus.EXECUTED], first_id=4)
        assert 1 not in store.signatures(second.key.header_hash)  # the validator that was down did not sign
    finally:
        store.close()
    wait_for(lambda: metric(restarted, "zkstatesync_relayer_last_executed_id") == 6)
    bridge.start_validator(1)


@pytest.mark.anvil
def test_a_relayer_joining_late_rebuilds_the_checkpoint_from_the_chains(bridge: Bridge) -> None:
    late = bridge.start_relayer("late")  # an empty store: it proposed none of the accepted headers
    wait_for(lambda: str(late.status().get("action", "")).startswith("wait"), 60)
    trusted = int(call(bridge.child, bridge.child_stack.receiver, "trustedHeaderHash"))
    assert late.status()["checkpoint"]["hash"] == str(trusted)
    assert any(e.get("event") == "chain.header_reconstructed" for e in late.log_events())
    assert stop_relayer(bridge.relayers.pop("late")) == 0
    store = bridge.open_store("late")
    try:
        header = store.header(trusted)  # number, root, parent from the receiver; block from the rootchain
        assert header is not None and compute_header_hash(header) == trusted
        assert store.summary() == {"proposals": {}, "batches": {}, "transactions": {}}
    finally:
        store.close()


@pytest.mark.anvil
def test_status_shows_the_relayer_caught_up_and_sigterm_stops_it_cleanly(bridge: Bridge) -> None:
    relayer = bridge.relayers["relayer"]
    command = [sys.executable, "-m", "bridge.relayer", "status", "--config", str(bridge.directory / "relayer.toml")]
    answer = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0, answer.stderr
    status = json.loads(answer.stdout)
    assert status["last_executed_id"] == 6 and status["pending_events"] == 0 and status["action"].startswith("wait")
    assert status["account"] == Account.from_key(bridge.relayer_keys["relayer"]).address
    assert metric(relayer, "zkstatesync_relayer_lag_blocks") == 0
    assert metric(relayer, "zkstatesync_relayer_last_header_accepted") == status["checkpoint"]["number"]
    # Disk use stays bounded: only the newest finished batches keep their proofs (none is open now).
    finished = sum(n for s, n in status["store"]["batches"].items() if s not in ("proving", "proven", "sent"))
    proofs = [p for p in (bridge.directory / "relayer" / "proofs").iterdir() if p.is_dir()]
    assert finished > KEEP_PROOFS and len(proofs) == KEEP_PROOFS, (status["store"], proofs)
    assert stop_relayer(bridge.relayers.pop("relayer")) == 0
    assert relayer.log_events()[-1]["event"] == "relayer.stopped"


@pytest.mark.anvil
def test_below_two_thirds_nothing_moves_and_it_resumes_when_the_validators_return(bridge: Bridge) -> None:
    # Slots 0 and 1 (powers 4 and 3) go down: 2 + 1 = 3 of 10 cannot make a quorum.
    relayer = bridge.start_relayer("relayer")
    bridge.stop_validator(0)
    bridge.stop_validator(1)
    executed = bridge.last_executed_id()
    ids = bridge.deposit([7, 8])
    bridge.confirm()
    # Watched until a signing round has failed for want of a quorum (and at least 5 s): nothing moves.
    started = time.monotonic()
    while True:
        assert bridge.last_executed_id() == executed and relayer.process.poll() is None
        status = relayer.status()
        refused = "more than 2/3 is needed" in str((status.get("last_error") or {}).get("message", ""))
        if refused and time.monotonic() - started > 5.0:
            break
        assert time.monotonic() - started < 60.0, status
        time.sleep(0.2)
    assert status["pending_events"] == 2
    bridge.start_validator(0)
    bridge.start_validator(1)
    bridge.wait_for_executed(ids[-1])
    bridge.check_exactly_once_in_order()


@pytest.mark.anvil
@pytest.mark.slow
def test_a_long_headers_batches_are_proven_on_the_dask_farm_and_executed_once_in_order(tmp_path: Path) -> None:
    # Seven events in one header: StateSync carries (1, 2); (3, 4), (5, 6) and (7) are proven at once
    # on two workers and must still reach the receiver in order, each once.
    with open_bridge(tmp_path) as bridge:
        relayer = bridge.start_relayer("farmed", prove_workers=2)
        ids = bridge.deposit([10**15 * (i + 1) for i in range(3 * BATCH + 1)])
        bridge.confirm()
        bridge.wait_for_executed(ids[-1])
        bridge.check_exactly_once_in_order()
        events = relayer.log_events()
        (farmed,) = [e for e in events if e.get("event") == "prove.farm"]
        assert farmed["batches"] == 3
        assert not [e for e in events if e.get("event") == "prove.farm_failed"]
        store = bridge.open_store("farmed")
        try:
            wait_until_settled(store)
            executed = store.find_batches([BatchStatus.EXECUTED])
            assert sorted(b.key.first_id for b in executed) == [1, 3, 5, 7]
            assert not store.find_batches([BatchStatus.FAILED])
        finally:
            store.close()
